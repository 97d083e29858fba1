import type { OptionReader } from './load';
import type { OptionSpec } from './option';

/** Most workers one host runs: well past any core count, low enough that a typo is caught. */
export const MAX_WORKERS = 64;

/** How many cloud nodes `im-cloud cloud` runs on this host, and how the primary restarts them. */
export interface WorkersConfig {
  readonly count: number;
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
}

export const workerOptions: readonly OptionSpec[] = [
  {
    path: 'workers.count', env: 'IM_CLOUD_WORKERS', kind: { type: 'int', min: 1, max: MAX_WORKERS }, default: 1,
    doc: 'Cloud nodes `im-cloud cloud` runs on this host (also `--workers N`). 1 is one process; more forks that many workers (node:cluster) sharing the tcp and ws ports, each with its own gRPC port, admin port and server id: worker i takes grpc.port + i and admin.port + i. A port given as 0 is picked by the primary at start and kept for the workers\' lifetime.',
  },
  {
    path: 'workers.maxRestarts', env: 'IM_CLOUD_WORKER_MAX_RESTARTS', kind: { type: 'int', min: 0 }, default: 5,
    doc: 'Unasked worker exits the primary restarts within workers.restartWindowMs (each after a backoff of 100 ms doubling per recent exit of its slot, up to 5 s); one more stops every worker and the primary exits 1.',
  },
  {
    path: 'workers.restartWindowMs', env: 'IM_CLOUD_WORKER_RESTART_WINDOW_MS', kind: { type: 'int', min: 1000 }, default: 60000,
    doc: 'The window workers.maxRestarts counts exits in.',
  },
];

export function readWorkersConfig(r: OptionReader): WorkersConfig {
  return { count: r.num('workers.count'), maxRestarts: r.num('workers.maxRestarts'), restartWindowMs: r.num('workers.restartWindowMs') };
}

/** The ports and id a set of workers is laid out from. */
export interface WorkerLayout {
  readonly tcp: number;
  readonly ws: number;
  readonly grpc: number;
  readonly admin: number;
  readonly serverId: string;
}

/**
 * What is wrong with running `workers.count` workers (an empty list when
 * nothing is): each takes a gRPC and an admin port of its own, counted up
 * from the configured ones, and its own server id.
 */
export function workerProblems(workers: WorkersConfig, layout: WorkerLayout): string[] {
  const n = workers.count;
  if (n === 1) return [];
  const problems: string[] = [];
  if (layout.serverId !== '') {
    problems.push(`grpc.serverId (${layout.serverId}) cannot be set with workers.count ${n}: each worker's server id is advertiseHost:its gRPC port`);
  }
  const ranges: Array<{ name: string; from: number; to: number }> = [];
  for (const [name, base] of [['grpc.port', layout.grpc], ['admin.port', layout.admin]] as const) {
    if (base === 0) continue;
    if (base + n - 1 > 65535) problems.push(`${name} ${base} + ${n} workers passes 65535 (worker i takes ${name} + i)`);
    ranges.push({ name: `${name} ${base}..${base + n - 1}`, from: base, to: base + n - 1 });
  }
  for (const [name, port] of [['tcp.port', layout.tcp], ['ws.port', layout.ws]] as const) {
    if (port === 0) continue;
    // A single port equal to a base is already reported by the config's own check.
    for (const range of ranges) if (port > range.from && port <= range.to) problems.push(`${name} ${port} is inside ${range.name}`);
  }
  if (ranges.length === 2 && ranges[0].from !== ranges[1].from && ranges[0].from <= ranges[1].to && ranges[1].from <= ranges[0].to) {
    problems.push(`${ranges[0].name} and ${ranges[1].name} overlap`);
  }
  return problems;
}

/**
 * One edge fuzz run from start to finish, as spec/fuzz-edges.spec.ts and
 * `npm run fuzz` both do it: nodes up, good clients online, a warm-up, the
 * baseline, the bad connections (with pushes to the good clients all along),
 * the checks, nodes down. Every check that fails adds a line to `problems`.
 *
 * Memory is read twice, each time after two full collections forced through
 * the inspector, with only the good clients connected and every closed
 * socket's linger timer run out. Objects: the bytes of the objects the node
 * holds (a heap snapshot less V8's own code and metadata). Measured growth
 * over 300 to 3,000 bad connections: 15 to 26 KiB, whatever the count; a
 * leak of 400 bytes per connection (a retained tcp client and its socket
 * measured about 2.8 KiB) passes the margin at 300 connections. heapUsed
 * also counts compiled code, which grows with each path the JIT optimizes
 * during the run (+0.2 to +2 MiB measured, all of it code by snapshot diff):
 * it only has to stay within a margin that tells a node gone wild from that
 * noise.
 */
import { CLOSE_LINGER_MS } from '../../../system/edges/socket-client';
import { sleep } from '../child-node';
import type { Exposition } from '../prometheus-text';
import { GOIM_TOKEN, TestClient } from '../test-client';
import {
  FuzzNodes, GoodClients, connectionsHeld, errorLogs, perClientLogFlood, expectedByCode, goodClientsOnline, goodClientsServed, planMismatches,
  protocolErrorDeltas, pushWhile, runPlans, samplePlans, settle, startFuzzNodes, stderrFaults, stopFuzzNodes,
} from './edge-fuzz';
import { edgePlanArb } from './edge-plans';

export const OBJECT_MARGIN_BYTES = 128 * 1024;
export const HEAP_MARGIN_BYTES = 4 * 1024 * 1024;

export interface EdgeFuzzOptions {
  readonly seed: number;
  /** Bad connections in the measured run. */
  readonly connections: number;
  /** Bad connections before the baseline (a different seed): paths, series and pools that exist once. */
  readonly warmup: number;
  readonly concurrency: number;
  /** Well-behaved clients, half ws and half tcp. */
  readonly good: number;
}

export interface EdgeFuzzReport {
  readonly problems: string[];
  readonly connections: number;
  /** Wall time of the measured run's connections, in ms. */
  readonly runMs: number;
  readonly pushesServed: number;
  readonly closesByCode: Record<string, number>;
  readonly heapUsed: { readonly baseline: number; readonly after: number };
  readonly objects: { readonly baseline: number; readonly after: number };
  /** The cloud node's tail of output, for a failure. */
  readonly describe: string;
}

function compareCounts(problems: string[], what: string, expected: Record<string, number>, actual: Record<string, number>): void {
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if ((expected[key] ?? 0) !== (actual[key] ?? 0)) problems.push(`${what} ${key}: expected ${expected[key] ?? 0}, counted ${actual[key] ?? 0}`);
  }
}

export async function runEdgeFuzz(options: EdgeFuzzOptions): Promise<EdgeFuzzReport> {
  let nodes: FuzzNodes | null = null;
  let good: GoodClients | null = null;
  try {
    nodes = await startFuzzNodes();
    const n = nodes;
    good = await goodClientsOnline(n, options.good, 'good');
    const quiet = (m: Exposition): boolean => connectionsHeld(m).phases === options.good && connectionsHeld(m).actors === options.good;
    const problems: string[] = [];

    await runPlans(n, samplePlans(edgePlanArb, options.seed + 1, options.warmup), options.concurrency, 'warm');
    const before = await settle(n, quiet);
    if (!quiet(before)) problems.push(`after the warm-up the node still holds ${JSON.stringify(connectionsHeld(before))}`);
    await sleep(CLOSE_LINGER_MS + 500);
    const heapBefore = await n.heap.heapUsedAfterGc();
    const objectsBefore = await n.heap.objectBytesAfterGc();

    const plans = samplePlans(edgePlanArb, options.seed, options.connections);
    const started = Date.now();
    const { value: results, bodies, refused } = await pushWhile(n, good, 100, runPlans(n, plans, options.concurrency, 'fuzz'));
    const runMs = Date.now() - started;
    const closedBefore = before.sum('im_connections_closed_total');
    const after = await settle(n, (m) => quiet(m) && m.sum('im_connections_closed_total') - closedBefore >= plans.length);
    // A closed socket's linger timer holds it until it fires: measure once the last one has.
    await sleep(CLOSE_LINGER_MS + 500);
    const heapAfter = await n.heap.heapUsedAfterGc();
    const objectsAfter = await n.heap.objectBytesAfterGc();

    // Every bad connection closed by the node, with op 6 and the expected code unless ws itself refused the framing.
    problems.push(...planMismatches(results));
    // Counted: one protocol_error close each and no other close; by code and transport exactly what was sent.
    const closes: Record<string, number> = {};
    for (const s of after.samples) {
      if (s.name !== 'im_connections_closed_total') continue;
      const delta = s.value - before.value('im_connections_closed_total', s.labels);
      if (delta !== 0) closes[s.labels.reason] = delta;
    }
    compareCounts(problems, 'im_connections_closed_total reason', { protocol_error: plans.length }, closes);
    const closesByCode = Object.fromEntries(protocolErrorDeltas(before, after));
    compareCounts(problems, 'im_protocol_errors_total code|transport', Object.fromEntries(expectedByCode(plans)), closesByCode);
    if (!quiet(after)) problems.push(`after the run the node still holds ${JSON.stringify(connectionsHeld(after))}`);

    // The others: every push during the run reached every good client, they answer heartbeats, a new client gets in.
    if (refused.length > 0) problems.push(`logic refused pushes during the run: ${refused.join(',')}`);
    if (bodies.length === 0) problems.push('no push was made during the run');
    problems.push(...await goodClientsServed(good, bodies));
    try {
      const fresh = await TestClient.online('tcp', n.tcp, { ...GOIM_TOKEN, key: 'fresh-after-fuzz' });
      if (fresh.auth.key !== 'fresh-after-fuzz') problems.push(`a new client got key ${fresh.auth.key}`);
      fresh.client.destroy();
    } catch (err) {
      problems.push(`a new client could not authenticate: ${err instanceof Error ? err.message : String(err)}`);
    }

    // No uncaught error: both processes alive, nothing on stderr but the inspector's banner, no error-level log line.
    if (!n.cloud.alive || !n.logic.alive) problems.push(`a node died: cloud ${JSON.stringify(n.cloud.exit)}, logic ${JSON.stringify(n.logic.exit)}`);
    problems.push(...stderrFaults(n.cloud).map((l) => `cloud stderr: ${l}`), ...stderrFaults(n.logic).map((l) => `logic stderr: ${l}`));
    problems.push(...errorLogs(n).map((l) => `error log: ${l}`));
    problems.push(...perClientLogFlood(n, plans.length));

    if (objectsAfter - objectsBefore > OBJECT_MARGIN_BYTES) {
      problems.push(`object bytes grew by ${objectsAfter - objectsBefore} over ${plans.length} bad connections (margin ${OBJECT_MARGIN_BYTES})`);
    }
    if (heapAfter - heapBefore > HEAP_MARGIN_BYTES) {
      problems.push(`heapUsed grew by ${heapAfter - heapBefore} over ${plans.length} bad connections (margin ${HEAP_MARGIN_BYTES})`);
    }
    return {
      problems, connections: plans.length, runMs, pushesServed: bodies.length, closesByCode,
      heapUsed: { baseline: heapBefore, after: heapAfter }, objects: { baseline: objectsBefore, after: objectsAfter },
      describe: n.cloud.describe(),
    };
  } finally {
    for (const c of good?.clients ?? []) c.destroy();
    await stopFuzzNodes(nodes);
  }
}

/** One line of figures for a run's report. */
export function describeEdgeRun(r: EdgeFuzzReport): string {
  const kib = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${Math.round(bytes / 1024)} KiB`;
  return `${r.connections} bad connections in ${(r.runMs / 1000).toFixed(1)} s (${Math.round(r.connections / (r.runMs / 1000))}/s), `
    + `${r.pushesServed} pushes to the good clients meanwhile; cloud after GC: objects ${Math.round(r.objects.baseline / 1024)} KiB `
    + `${kib(r.objects.after - r.objects.baseline)}, heapUsed ${Math.round(r.heapUsed.baseline / 1024)} KiB ${kib(r.heapUsed.after - r.heapUsed.baseline)}`;
}

/**
 * `im-cloud cloud --workers N` as a child process, for specs: where the
 * primary says each worker listens, a gRPC client per worker to push
 * through, and clients that authenticate with a key of the test's choosing.
 */
import * as grpc from '@grpc/grpc-js';
import type { CloudClient } from '../../proto/generated/im/cloud/Cloud';
import { closeClientChannel, loadWireProtos } from '../../system/proto-loader';
import { ChildNode, LogLine } from './child-node';
import { GOIM_TOKEN, TestClient } from './test-client';
import type { TestLogicNode } from './test-logic-node';

export interface WorkerInfo {
  readonly worker: number;
  readonly pid: number;
  readonly serverId: string;
  readonly grpc: number;
  readonly admin: number;
}

export interface WorkerCluster {
  readonly node: ChildNode;
  readonly tcp: number;
  readonly ws: number;
  readonly workers: readonly WorkerInfo[];
}

export interface KeyedClient {
  readonly client: TestClient;
  readonly key: string;
}

function numberField(value: object, name: string): number {
  const field: unknown = Object.getOwnPropertyDescriptor(value, name)?.value;
  if (typeof field !== 'number') throw new Error(`${name} is not a number in ${JSON.stringify(value)}`);
  return field;
}

function workerInfo(value: unknown): WorkerInfo {
  if (value === null || typeof value !== 'object') throw new Error(`not a worker: ${JSON.stringify(value)}`);
  const serverId: unknown = Object.getOwnPropertyDescriptor(value, 'serverId')?.value;
  if (typeof serverId !== 'string') throw new Error(`serverId is not a string in ${JSON.stringify(value)}`);
  return { worker: numberField(value, 'worker'), pid: numberField(value, 'pid'), serverId, grpc: numberField(value, 'grpc'), admin: numberField(value, 'admin') };
}

/** Env for `--workers` on free loopback ports that talks to `logic`. */
export function workersEnv(logic: TestLogicNode, extra: Record<string, string> = {}): Record<string, string> {
  return {
    IM_CLOUD_BIND_HOST: '127.0.0.1',
    IM_CLOUD_TCP_PORT: '0',
    IM_CLOUD_WS_PORT: '0',
    IM_CLOUD_GRPC_PORT: '0',
    IM_CLOUD_ADMIN_PORT: '0',
    IM_CLOUD_LOGIC_NODES: logic.address,
    IM_CLOUD_LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Waits for the primary's "cloud workers started" and reads where each worker is. */
export async function clusterStarted(node: ChildNode, timeoutMs = 20000): Promise<WorkerCluster> {
  const line = await node.waitForLog((l) => l.message === 'cloud workers started', timeoutMs, '"cloud workers started"');
  const workers = line.workers;
  if (!Array.isArray(workers)) throw new Error(`no workers in ${JSON.stringify(line)}`);
  return { node, tcp: Number(line.tcp), ws: Number(line.ws), workers: workers.map(workerInfo) };
}

/** The primary's "worker restarted" line for `worker`, logged after `after` lines. */
export async function workerRestarted(node: ChildNode, worker: number, after: number, timeoutMs = 15000): Promise<WorkerInfo> {
  const line = await node.waitForLog(
    (l) => l.message === 'worker restarted' && l.worker === worker && node.logs.indexOf(l) >= after, timeoutMs, `worker ${worker} restarted`,
  );
  return workerInfo(line);
}

export function isPrimaryLine(line: LogLine): boolean {
  return line.role === 'primary';
}

/** A client online on `port` whose token carries `key` (so the test knows which session is which). */
export async function keyedClient(transport: 'ws' | 'tcp', port: number, key: string): Promise<KeyedClient> {
  const { client } = await TestClient.online(transport, port, { ...GOIM_TOKEN, key });
  return { client, key };
}

/** `count` clients, ws and tcp in turn, `batch` connecting at a time. */
export async function keyedClients(ports: { ws: number; tcp: number }, count: number, prefix: string, batch = 1): Promise<KeyedClient[]> {
  const out: KeyedClient[] = [];
  for (let i = 0; i < count; i += batch) {
    const wave = Array.from({ length: Math.min(batch, count - i) }, (_, j) => {
      const n = i + j;
      return n % 2 === 0 ? keyedClient('ws', ports.ws, `${prefix}-${n}`) : keyedClient('tcp', ports.tcp, `${prefix}-${n}`);
    });
    out.push(...await Promise.all(wave));
  }
  return out;
}

/** The server id logic was given in each key's Connect. */
export function serverOfKeys(logic: TestLogicNode): Map<string, string> {
  const servers = new Map<string, string>();
  for (const call of logic.calls.connect) {
    const token: unknown = JSON.parse(call.token.toString('utf8'));
    const key: unknown = token !== null && typeof token === 'object' ? Object.getOwnPropertyDescriptor(token, 'key')?.value : undefined;
    if (typeof key === 'string') servers.set(key, call.server);
  }
  return servers;
}

/** An im.cloud.Cloud client of one worker's gRPC port. */
export class WorkerPusher {
  private readonly client: CloudClient;

  constructor(port: number) {
    this.client = new (loadWireProtos().im.cloud.Cloud)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  pushKeys(keys: readonly string[], body: string): Promise<void> {
    return this.unary((cb) => this.client.PushMsg({ keys: [...keys], protoOp: 1000, proto: { ver: 1, op: 1000, seq: 0, body: Buffer.from(body) } }, cb));
  }

  broadcast(body: string): Promise<void> {
    return this.unary((cb) => this.client.Broadcast({ protoOp: 1000, proto: { ver: 1, op: 1000, seq: 0, body: Buffer.from(body) }, speed: 0 }, cb));
  }

  close(): void {
    closeClientChannel(this.client);
  }

  private unary(call: (cb: (err: grpc.ServiceError | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
  }
}

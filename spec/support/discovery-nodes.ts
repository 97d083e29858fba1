/**
 * Real logic and cloud nodes in this process, discovering each other through
 * a Consul double (consul-double.ts), with their log lines captured: what the
 * discovery specs share.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { loadCloudConfig } from '../../config/cloud-config';
import { loadLogicConfig } from '../../config/logic-config';
import { CloudNode } from '../../system/cloud-node';
import { LogicNode } from '../../system/logic-node';
import type { Logger } from '../../system/logger';
import { adminRequest } from './admin-client';
import type { ConsulDouble } from './consul-double';
import { Exposition } from './prometheus-text';

/** One JSON log line. */
export interface Line {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** A winston logger whose JSON lines land in `lines` (and on stdout too with TEST_LOG set). */
export function capturingLogger(lines: Line[], node: string): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const transports: winston.transport[] = [new winston.transports.Stream({ stream: sink })];
  if (process.env.TEST_LOG) transports.push(new winston.transports.Console());
  return winston.createLogger({ level: 'debug', defaultMeta: { node }, format: winston.format.json(), transports });
}

/** Discovery options short enough for tests: a TTL of 900 ms, a GRPC check every 200 ms, 1 s blocking waits, fast retries. */
export function consulDiscovery(consul: ConsulDouble, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'consul', consulUrl: consul.url, ttlMs: 900, checkIntervalMs: 200, waitMs: 1000, minIntervalMs: 50,
    retryBaseMs: 50, retryMaxMs: 200, ...extra,
  };
}

export interface Ready {
  readonly status: string;
  readonly discovery: { readonly nodes: string[] | null; readonly stale: boolean; readonly registration: string; readonly source: string };
}

/** A node's /ready: its status code and its discovery detail. */
export async function ready(adminPort: number): Promise<{ status: number; json: Ready }> {
  const reply = await adminRequest(adminPort, '/ready');
  return { status: reply.status, json: JSON.parse(reply.text) as Ready };
}

/** A series' sum over its labels in a node's /metrics. */
export async function metric(adminPort: number, name: string): Promise<number> {
  const reply = await adminRequest(adminPort, '/metrics');
  return Exposition.parse(reply.text).sum(name);
}

/** The nodes one spec starts against one Consul double, and their log lines (each tagged `node`: logic or cloud). */
export class DiscoveryNodes {
  readonly logic: LogicNode[] = [];
  readonly cloud: CloudNode[] = [];
  readonly lines: Line[] = [];

  constructor(private readonly consul: ConsulDouble) {}

  /** A logic node on free ports with a ttl check; `cloudPorts` are the client ports its Nodes answer lists. */
  async startLogic(overrides: Record<string, unknown> = {}, cloudPorts = { tcp: 3101, ws: 3102 }): Promise<LogicNode> {
    const node = await LogicNode.start(loadLogicConfig({
      overrides: {
        node: { bindHost: '127.0.0.1' }, grpc: { port: 0, shutdownGraceMs: 500 }, http: { port: 0 }, admin: { port: 0 },
        push: { batchFlushMs: 0 }, nodes: { tcpPort: cloudPorts.tcp, wsPort: cloudPorts.ws },
        discovery: consulDiscovery(this.consul, { check: 'ttl' }), ...overrides,
      },
    }), { logger: capturingLogger(this.lines, 'logic') });
    this.logic.push(node);
    return node;
  }

  /** A cloud node on free ports with a grpc check. */
  async startCloud(overrides: Record<string, unknown> = {}): Promise<CloudNode> {
    const node = await CloudNode.start(loadCloudConfig({
      overrides: {
        node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0, shutdownGraceMs: 500 }, admin: { port: 0 },
        protocol: { sweepIntervalMs: 50 }, logic: { callTimeoutMs: 1000 }, discovery: consulDiscovery(this.consul), ...overrides,
      },
    }), { logger: capturingLogger(this.lines, 'cloud') });
    this.cloud.push(node);
    return node;
  }

  /** Stops every node, cloud nodes first (a node stopped already just answers: stop is idempotent). */
  async stop(): Promise<void> {
    await Promise.all(this.cloud.map((n) => n.stop()));
    await Promise.all(this.logic.map((n) => n.stop()));
  }
}

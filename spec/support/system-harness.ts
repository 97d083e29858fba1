/**
 * A whole system in this process: N logic nodes and M cloud nodes started
 * through their real entry points (LogicNode.start, CloudNode.start) on free
 * ports and wired to each other over real gRPC, plus an HTTP helper for the
 * logic nodes' push API and goim test clients for the cloud nodes.
 *
 * Wiring: a logic node needs the cloud nodes' gRPC addresses in its config
 * and a cloud node needs the logic nodes'. So the cloud nodes' gRPC ports are
 * picked first (bind 127.0.0.1:0, read, close), the logic nodes start on
 * port 0 with those addresses (they dial cloud nodes only when they push),
 * then the cloud nodes start on their picked ports with the logic addresses.
 * A cloud node's server id (advertiseHost:grpcPort) is then exactly the
 * address its logic nodes have in `cloud.nodes`, so key pushes and room
 * pushes to one cloud node share one link actor.
 *
 * Defaults chosen so tests can prove absence with sentinels (see
 * system-e2e.spec.ts): `cloud.maxInFlight` 1 (a logic node sends the next
 * push to a cloud node only once the previous one was answered, and a cloud
 * node tells its actors before it answers) and `push.batchFlushMs` 0 (room
 * pushes are not held back). Tests override either when they need to.
 *
 * Loggers are silent unless TEST_LOG names a level (TEST_LOG=debug).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { CloudNodeClient, SessionStore } from '../../actors/logic-ports';
import { loadCloudConfig } from '../../config/cloud-config';
import { loadLogicConfig, LogicConfig } from '../../config/logic-config';
import { CloudNode } from '../../system/cloud-node';
import { createLogger, Logger, silentLogger } from '../../system/logger';
import { LogicNode } from '../../system/logic-node';
import { MemorySessionStore, RedisSessionStore } from '../../system/sessions';
import { TEST_REDIS_URL } from './redis-scratch';
import { AuthReply, GOIM_TOKEN, TestClient } from './test-client';
import { freePorts } from './free-ports';

export type Overrides = Record<string, unknown>;
export type Transport = 'ws' | 'tcp';

export interface LogicSpec {
  /** Nested config values for this logic node (over the harness defaults and `logicOverrides`). */
  readonly overrides?: Overrides;
  /** Replaces the gRPC client this logic node opens to each cloud node (LogicNodeOptions.cloudClient). */
  readonly cloudClient?: (address: string) => CloudNodeClient;
  /** This logic node's logger (default: silent, or TEST_LOG's level). */
  readonly logger?: Logger;
}

export interface CloudSpec {
  readonly overrides?: Overrides;
  /** Indexes of the logic nodes this cloud node calls (its `logic.nodes`); default: all of them. */
  readonly logic?: readonly number[];
}

export interface SystemOptions {
  /** How many logic nodes, or one spec each. Default 1. */
  readonly logic?: number | readonly LogicSpec[];
  /** How many cloud nodes, or one spec each. Default 1. Every logic node's `cloud.nodes` lists all of them. */
  readonly cloud?: number | readonly CloudSpec[];
  /** Applied to every logic node. */
  readonly logicOverrides?: Overrides;
  /** Applied to every cloud node. */
  readonly cloudOverrides?: Overrides;
  /**
   * Sessions in Redis, shared by every logic node (each has its own connection,
   * all under this key prefix). Without it each logic node has its own memory store.
   */
  readonly redis?: { readonly keyPrefix: string; readonly url?: string };
}

export interface HttpOptions {
  /** Default: POST when there is a body, else GET. */
  readonly method?: string;
  /** Added to the path's own query string; arrays repeat the parameter. */
  readonly query?: Readonly<Record<string, string | number | ReadonlyArray<string | number>>>;
  /** A string or Buffer is sent as it is; an object is sent as JSON (content-type application/json). */
  readonly body?: string | Buffer | Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Which logic node to ask. Default 0. */
  readonly logic?: number;
}

/** The push API's JSON reply (wire.md §5). */
export interface ApiReply {
  readonly code: number;
  readonly message: string;
  readonly error?: string;
  readonly data?: unknown;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: ApiReply;
}

/** Every logic node pushes to every cloud node one push at a time: a later push is sent once the earlier one was answered. */
const LOGIC_DEFAULTS: Overrides = {
  node: { bindHost: '127.0.0.1' },
  grpc: { port: 0, shutdownGraceMs: 1000 },
  http: { port: 0 },
  admin: { port: 0 },
  cloud: { callTimeoutMs: 1000, maxInFlight: 1 },
  push: { batchFlushMs: 0 },
};

const CLOUD_DEFAULTS: Overrides = {
  node: { bindHost: '127.0.0.1', advertiseHost: '127.0.0.1' },
  tcp: { port: 0 },
  ws: { port: 0 },
  wss: { port: 0 },
  tls: { tcpPort: 0 },
  admin: { port: 0 },
  grpc: { shutdownGraceMs: 1000 },
  logic: { callTimeoutMs: 1000 },
  protocol: { sweepIntervalMs: 50 },
};

/** Attempts at starting when a picked port was taken by someone else in between. */
const START_ATTEMPTS = 3;

export class SystemHarness {
  readonly logic: LogicNode[] = [];
  readonly cloud: CloudNode[] = [];
  /** The session store of each logic node (the same Redis data when `redis` is set). */
  readonly stores: SessionStore[] = [];
  private readonly clients = new Set<TestClient>();
  private stopping: Promise<void> | null = null;

  private constructor(private readonly options: SystemOptions) {}

  static async start(options: SystemOptions = {}): Promise<SystemHarness> {
    for (let attempt = 1; ; attempt++) {
      const system = new SystemHarness(options);
      try {
        await system.boot();
        return system;
      } catch (err) {
        await system.stop();
        const inUse = err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
        if (!inUse || attempt >= START_ATTEMPTS) throw err;
      }
    }
  }

  /** `host:port` of cloud node i: its gRPC address and its server id in the session store. */
  cloudAddress(i: number): string {
    return this.cloud[i].serverId;
  }

  logicAddress(i: number): string {
    return `127.0.0.1:${this.logic[i].ports.grpc}`;
  }

  /** A connected, not yet authenticated client of cloud node `cloud` (closed by stop()). */
  async connect(cloud: number, transport: Transport): Promise<TestClient> {
    const ports = this.cloud[cloud].ports;
    const client = transport === 'ws' ? await TestClient.ws(ports.ws) : await TestClient.tcp(ports.tcp);
    this.clients.add(client);
    return client;
  }

  /** Connects to cloud node `cloud` and authenticates with `token` (an object is sent as JSON). */
  async online(cloud: number, transport: Transport, token: object | string = GOIM_TOKEN): Promise<{ client: TestClient; auth: AuthReply }> {
    const client = await this.connect(cloud, transport);
    const auth = await client.auth(token);
    return { client, auth };
  }

  /** One request to a logic node's HTTP push API; resolves with any status (a non-JSON answer rejects). */
  http(path: string, options: HttpOptions = {}): Promise<HttpReply> {
    const node = this.logic[options.logic ?? 0];
    const target = withQuery(path, options.query);
    const headers: Record<string, string | number> = { ...options.headers };
    let body: Buffer | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === 'string') body = Buffer.from(options.body, 'utf8');
      else if (Buffer.isBuffer(options.body)) body = options.body;
      else {
        body = Buffer.from(JSON.stringify(options.body), 'utf8');
        if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
      }
      if (!hasHeader(headers, 'content-length') && !hasHeader(headers, 'transfer-encoding')) headers['content-length'] = body.length;
    }
    const method = options.method ?? (body === undefined ? 'GET' : 'POST');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: node.ports.http, method, path: target, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = parseApiReply(text);
          if (json === null) reject(new Error(`${method} ${target}: not a JSON reply (${res.statusCode}): ${text.slice(0, 200)}`));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * POSTs `requests` back to back on one connection (HTTP/1.1 pipelining: all
   * written at once, before any answer) and resolves with the replies in
   * order. For tests that need several requests to land within a few
   * milliseconds whatever the machine's load. Bodies are sent raw.
   */
  pipelined(requests: ReadonlyArray<{ readonly path: string; readonly body: string }>, logic = 0): Promise<HttpReply[]> {
    const port = this.logic[logic].ports.http;
    const wire = requests.map(({ path, body }) => {
      const bytes = Buffer.from(body, 'utf8');
      return `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${bytes.length}\r\n\r\n${body}`;
    }).join('');
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const replies: HttpReply[] = [];
      let buffered = Buffer.alloc(0);
      const fail = (error: Error): void => {
        socket.destroy();
        reject(error);
      };
      socket.on('connect', () => socket.write(wire));
      socket.on('error', fail);
      socket.on('close', () => {
        if (replies.length < requests.length) reject(new Error(`connection closed after ${replies.length} of ${requests.length} replies`));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        for (;;) {
          const parsed = takeResponse(buffered);
          if (parsed === null) return;
          if (parsed instanceof Error) return fail(parsed);
          buffered = buffered.subarray(parsed.consumed);
          replies.push(parsed.reply);
          if (replies.length === requests.length) {
            socket.end();
            resolve(replies);
            return;
          }
        }
      });
    });
  }

  /** Stops cloud node i (drain: op 6 to its clients, Disconnect to logic), leaving the rest running. */
  stopCloud(i: number): Promise<void> {
    return this.cloud[i].stop();
  }

  /** Closes the clients, then stops the cloud nodes, then the logic nodes (which close their stores). Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    for (const client of this.clients) client.destroy();
    this.clients.clear();
    await Promise.all(this.cloud.map((node) => node.stop()));
    await Promise.all(this.logic.map((node) => node.stop()));
    // A logic node that failed to start never took its store.
    await Promise.all(this.stores.slice(this.logic.length).map((store) => store.close().catch(() => undefined)));
  }

  private async boot(): Promise<void> {
    const logicSpecs = specs<LogicSpec>(this.options.logic);
    const cloudSpecs = specs<CloudSpec>(this.options.cloud);
    const cloudPorts = await freePorts(cloudSpecs.length);
    const cloudAddresses = cloudPorts.map((port) => `127.0.0.1:${port}`);

    for (const [i, spec] of logicSpecs.entries()) {
      const config = loadLogicConfig({
        overrides: deepMerge(deepMerge(deepMerge(LOGIC_DEFAULTS, {
          cloud: { nodes: cloudAddresses },
          session: { store: this.options.redis ? 'redis' : 'memory' },
        }), this.options.logicOverrides ?? {}), spec.overrides ?? {}),
      });
      const store = this.createStore(config);
      this.stores.push(store);
      this.logic.push(await LogicNode.start(config, { logger: spec.logger ?? testLogger(`logic-${i}`), store, cloudClient: spec.cloudClient }));
    }

    for (const [i, spec] of cloudSpecs.entries()) {
      const logicIndexes = spec.logic ?? this.logic.map((_, j) => j);
      const config = loadCloudConfig({
        overrides: deepMerge(deepMerge(deepMerge(CLOUD_DEFAULTS, {
          grpc: { port: cloudPorts[i] },
          logic: { nodes: logicIndexes.map((j) => this.logicAddress(j)) },
        }), this.options.cloudOverrides ?? {}), spec.overrides ?? {}),
      });
      const node = await CloudNode.start(config, { logger: testLogger(`cloud-${i}`) });
      this.cloud.push(node);
      if (node.serverId !== cloudAddresses[i]) {
        throw new Error(`cloud node ${i} has server id ${node.serverId}; its logic nodes know it as ${cloudAddresses[i]}`);
      }
    }
  }

  private createStore(config: LogicConfig): SessionStore {
    const redis = this.options.redis;
    if (!redis) return new MemorySessionStore({ ttlSeconds: config.session.ttlSeconds });
    return new RedisSessionStore({ url: redis.url ?? TEST_REDIS_URL, ttlSeconds: config.session.ttlSeconds, keyPrefix: redis.keyPrefix });
  }
}

/** Polls an async condition until it holds; the failure names what was awaited and the last value seen. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function specs<S extends object>(given: number | readonly S[] | undefined): readonly S[] {
  if (given === undefined) return [{} as S];
  if (typeof given === 'number') return Array.from({ length: given }, () => ({}) as S);
  return given;
}

function testLogger(node: string): Logger {
  const level = process.env.TEST_LOG;
  return level ? createLogger(level, { node }) : silentLogger();
}

function withQuery(path: string, query: HttpOptions['query']): string {
  if (!query) return path;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    const values: ReadonlyArray<string | number> = Array.isArray(value) ? value : [value as string | number];
    for (const v of values) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(v))}`);
  }
  if (parts.length === 0) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${parts.join('&')}`;
}

/** One complete HTTP/1.1 response (content-length framed, as the push API answers) off the front of `data`; null: not all there yet. */
function takeResponse(data: Buffer): { reply: HttpReply; consumed: number } | Error | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) return new Error(`not an HTTP response: ${statusLine}`);
  const headers: http.IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length']);
  if (!Number.isInteger(length)) return new Error(`response without content-length: ${statusLine}`);
  const bodyStart = end + 4;
  if (data.length < bodyStart + length) return null;
  const text = data.subarray(bodyStart, bodyStart + length).toString('utf8');
  const json = parseApiReply(text);
  if (json === null) return new Error(`not a JSON reply (${status[1]}): ${text.slice(0, 200)}`);
  return { reply: { status: Number(status[1]), headers, text, json }, consumed: bodyStart + length };
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

function parseApiReply(text: string): ApiReply | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  if (typeof record.code !== 'number' || typeof record.message !== 'string') return null;
  return {
    code: record.code,
    message: record.message,
    ...(typeof record.error === 'string' ? { error: record.error } : {}),
    ...('data' in record ? { data: record.data } : {}),
  };
}

export function deepMerge(base: Overrides, extra: Overrides): Overrides {
  const out: Overrides = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    out[k] = isPlainObject(v) && isPlainObject(b) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(value: unknown): value is Overrides {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * A test double of the Consul agent's documented HTTP API. It is not Consul:
 * it is one process-local HTTP server that answers the few endpoints the
 * project's discovery code calls, the way the documentation (and the agent's
 * source, for error texts) says Consul answers them, so specs can run where
 * Consul cannot be installed.
 *
 * Files: this one (HTTP, blocking queries, fault injection),
 * consul-agent-state.ts (services, checks, indexes),
 * consul-service-definition.ts (the register body), grpc-health-probe.ts.
 *
 * Implemented:
 * - `PUT /v1/agent/service/register` (see consul-service-definition.ts for
 *   what is decoded and validated). Re-registering an ID replaces the
 *   service; a check whose CheckID exists keeps its status and output, and
 *   the service's other checks stay unless `?replace-existing-checks`, as
 *   in Consul
 * - `PUT /v1/agent/service/deregister/:id`
 * - `PUT /v1/agent/check/{pass,warn,fail}/:checkId` (`?note=`), TTL checks only
 * - `GET /v1/health/service/:service` with `passing`, `index`, `wait`
 *   (blocking queries); `dc`, `tag`, `near`, `filter` are recorded and ignored
 * - TTL checks (critical when the TTL passes), GRPC checks (really probed,
 *   see grpc-health-probe.ts), DeregisterCriticalServiceAfter
 * Anything else is 404; a known path with the wrong method is 405.
 *
 * Simplified:
 * - One node (`consul-double`, 127.0.0.1, dc1) with Consul's node check
 *   `serfHealth`, always passing. No catalog, KV, sessions or ACLs; an
 *   `X-Consul-Token` is recorded, never checked.
 * - One index counter (Raft's, in Consul) for everything; a service's health
 *   view carries the counter's value at its last change (an instance added
 *   or removed, a check's status changed), at least 1. Output changes alone
 *   never move it (Consul syncs them lazily). After resetIndex, a query
 *   whose index the view had before the reset answers at once with the
 *   lower index; an index the view never had is held like any other.
 * - The first GRPC probe runs at registration (Consul waits a random part of
 *   the interval); a probe's deadline is its Timeout (10 s by default) capped
 *   by the Interval, so probes never overlap. GRPCUseTLS probes trust the
 *   default roots; TLSSkipVerify and TLSServerName are not read.
 * - DeregisterCriticalServiceAfter is checked every 100 ms, without Consul's
 *   one-minute minimum and 30 s reaper period, so specs can use "1s".
 * - down()/up() keep every registration, and checks keep running while down.
 * - hold() keeps requests to a path from being carried out until released;
 *   a held request is carried out then even if its client gave up meanwhile
 *   (the agent had it: only its answer was late, as after a client timeout).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { ConsulAgentState, type RegisteredService } from './consul-agent-state';
import { ConsulHttpError, decodeServiceDefinition, parseGoDuration, type CheckStatus } from './consul-service-definition';

export type { RegisteredCheck, RegisteredService } from './consul-agent-state';
export type { CheckStatus } from './consul-service-definition';

export interface RecordedRequest {
  readonly method: string;
  /** Decoded path, without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Date.now() when the request arrived. */
  readonly at: number;
}

interface Waiter {
  readonly service: string;
  wake(): void;
}

interface Hold {
  readonly pathPrefix: string;
  readonly released: Promise<void>;
  release(): void;
  /** The held requests, each settled once carried out (or dropped by close). */
  readonly requests: Promise<void>[];
}

const NODE = { ID: '0c2f8a3e-6c1d-4f0a-9d35-2b7e4f1a6c90', Node: 'consul-double', Address: '127.0.0.1', Datacenter: 'dc1' };
const SERF_HEALTH = { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Notes: '', Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '' };
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;
const TTL_UPDATES: Record<string, CheckStatus> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export class ConsulDouble {
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private readonly holds = new Set<Hold>();
  private readonly state = new ConsulAgentState((service) => this.wake(service));
  private readonly recorded: RecordedRequest[] = [];
  private boundPort = 0;
  private delayMs = 0;
  private failStatus: number | null = null;
  private closed = false;

  private constructor() {
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: { port?: number } = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble();
    await double.listen(options.port ?? 0);
    return double;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Cuts blocked queries and open sockets, stops every check timer and probe. */
  async close(): Promise<void> {
    this.closed = true;
    for (const hold of this.holds) hold.release();
    this.holds.clear();
    this.state.stop();
    await this.down();
  }

  services(name?: string): RegisteredService[] {
    return this.state.services(name);
  }

  requests(): RecordedRequest[] {
    return [...this.recorded];
  }

  clearRequests(): void {
    this.recorded.length = 0;
  }

  /** The X-Consul-Index the service's health view answers with now. */
  index(service: string): number {
    return this.state.index(service);
  }

  /** Stops listening and destroys open sockets: clients get ECONNREFUSED or a reset; blocked queries are cut. */
  async down(): Promise<void> {
    if (!this.server.listening) return;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await stopped;
  }

  /** Listens again on the same port, with every registration kept. */
  async up(): Promise<void> {
    if (this.closed) throw new Error('the Consul double is closed');
    if (!this.server.listening) await this.listen(this.boundPort);
  }

  /** Delays every answer by `ms` (0 restores). */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /**
   * Holds each request whose path starts with `pathPrefix` (recorded at once, carried out later) until the
   * returned function releases them; it resolves once every held request was carried out and answered.
   */
  hold(pathPrefix: string): () => Promise<void> {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const hold: Hold = { pathPrefix, released, release, requests: [] };
    this.holds.add(hold);
    return async () => {
      this.holds.delete(hold);
      hold.release();
      await Promise.all(hold.requests);
    };
  }

  /** Answers every request with this status and a text body (null restores). */
  failWith(status: number | null): void {
    this.failStatus = status;
  }

  /** Makes every index go back to 1, as after a Consul restart or snapshot restore, and wakes blocked queries. */
  resetIndex(): void {
    this.state.resetIndex();
  }

  /**
   * Forces a check's status and always bumps its service's index (even when
   * the status does not change, as an unrelated write moves Consul's index).
   * The check's own mechanism may change it again: TTL expiry, the next probe.
   */
  setStatus(checkId: string, status: CheckStatus): void {
    this.state.setStatus(checkId, status);
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') return reject(new Error(`unexpected listening address ${address}`));
        this.boundPort = address.port;
        resolve();
      });
    });
  }

  private wake(service: string | undefined): void {
    for (const waiter of [...this.waiters]) if (service === undefined || waiter.service === service) waiter.wake();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    } catch {
      return; // the client went away mid-request
    }
    const path = safeDecode(url.pathname);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const body = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    this.recorded.push({ method, path, query: Object.fromEntries(url.searchParams), headers, body, at });
    const hold = [...this.holds].find((h) => path.startsWith(h.pathPrefix));
    if (!hold) return this.answer(method, path, url.searchParams, body, res);
    const carriedOut = hold.released.then(() => (this.closed ? undefined : this.answer(method, path, url.searchParams, body, res)));
    hold.requests.push(carriedOut);
    await carriedOut;
  }

  /** Carries a request out and answers it, after the delay and unless failing every request. */
  private async answer(method: string, path: string, params: URLSearchParams, body: string, res: http.ServerResponse): Promise<void> {
    if (this.delayMs > 0 && !(await pause(this.delayMs, res))) return;
    if (this.failStatus !== null) return sendText(res, this.failStatus, `consul double: failing every request with ${this.failStatus}`);
    try {
      this.route(method, path, params, body, res);
    } catch (err) {
      if (err instanceof ConsulHttpError) sendText(res, err.status, err.message);
      else sendText(res, 500, err instanceof Error ? err.message : String(err));
    }
  }

  private route(method: string, path: string, params: URLSearchParams, body: string, res: http.ServerResponse): void {
    const ttlUpdate = /^\/v1\/agent\/check\/(pass|warn|fail)\/(.*)$/.exec(path);
    if (path === '/v1/agent/service/register') {
      requireMethod(method, 'PUT');
      this.state.register(decodeServiceDefinition(body), params.has('replace-existing-checks'));
      sendText(res, 200, '');
    } else if (path.startsWith('/v1/agent/service/deregister/')) {
      requireMethod(method, 'PUT');
      this.state.deregister(path.slice('/v1/agent/service/deregister/'.length));
      sendText(res, 200, '');
    } else if (ttlUpdate) {
      requireMethod(method, 'PUT');
      this.state.updateTtl(ttlUpdate[2], TTL_UPDATES[ttlUpdate[1]], params.get('note') ?? '');
      sendText(res, 200, '');
    } else if (path.startsWith('/v1/health/service/')) {
      requireMethod(method, 'GET');
      this.healthService(path.slice('/v1/health/service/'.length), params, res);
    } else {
      sendText(res, 404, '404 page not found');
    }
  }

  /** Consul's blocking query: with an index the view has not moved past, hold until it moves or the wait (plus up to wait/16) ends. */
  private healthService(name: string, params: URLSearchParams, res: http.ServerResponse): void {
    if (name === '') throw new ConsulHttpError(400, 'Missing service name');
    const passingOnly = parseBoolParam(params, 'passing');
    if (passingOnly === undefined) throw new ConsulHttpError(400, 'Invalid value for ?passing');
    let waitMs = DEFAULT_WAIT_MS;
    const wait = params.get('wait');
    if (wait) {
      const ms = parseGoDuration(wait);
      if (ms === undefined) throw new ConsulHttpError(400, 'Invalid wait time');
      if (ms > 0) waitMs = Math.min(ms, MAX_WAIT_MS);
    }
    const indexParam = params.get('index');
    let minIndex = 0;
    if (indexParam) {
      if (!/^\d+$/.test(indexParam)) throw new ConsulHttpError(400, 'Invalid index');
      minIndex = Number(indexParam);
    }
    const answer = (): void => this.answerHealth(name, passingOnly, res);
    const current = this.state.index(name);
    // An index above the current one that this view did answer with before went backwards (resetIndex): answer at once.
    if (minIndex === 0 || minIndex < current || (minIndex > current && minIndex <= this.state.highest(name))) return answer();
    const timer = setTimeout(() => waiter.wake(), waitMs + Math.random() * (waitMs / 16));
    const waiter: Waiter = {
      service: name,
      wake: () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        res.off('close', cut);
        answer();
      },
    };
    const cut = (): void => {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    };
    res.once('close', cut);
    this.waiters.add(waiter);
  }

  private answerHealth(name: string, passingOnly: boolean, res: http.ServerResponse): void {
    if (res.destroyed || res.writableEnded) return;
    const instances = this.state.services(name).filter((s) => !passingOnly || s.checks.every((c) => c.status === 'passing'));
    const body = instances.map((s) => ({
      Node: NODE,
      Service: { ID: s.id, Service: s.name, Tags: s.tags, Address: s.address, Port: s.port, Meta: s.meta, EnableTagOverride: s.enableTagOverride, Weights: { Passing: 1, Warning: 1 } },
      // Node checks first, then the service's, as Consul lists them.
      Checks: [
        { Node: NODE.Node, ...SERF_HEALTH },
        ...s.checks.map((c) => ({
          Node: NODE.Node,
          CheckID: c.checkId,
          Name: c.name,
          Status: c.status,
          Notes: c.notes,
          Output: c.output,
          ServiceID: s.id,
          ServiceName: s.name,
          ServiceTags: s.tags,
          Type: c.type,
        })),
      ],
    }));
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'X-Consul-Index': String(this.state.index(name)),
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
    });
    res.end(JSON.stringify(body));
  }
}

/** Go's strconv.ParseBool as Consul applies it to ?passing: absent is false, present without a value is true; undefined when invalid. */
function parseBoolParam(params: URLSearchParams, name: string): boolean | undefined {
  if (!params.has(name)) return false;
  const value = params.get(name) ?? '';
  if (value === '' || ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

function requireMethod(method: string, allowed: string): void {
  if (method !== allowed) throw new ConsulHttpError(405, `method ${method} not allowed`);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, text === '' ? {} : { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** Resolves true after `ms`, or false as soon as the client goes away. */
function pause(ms: number, res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const gone = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', gone);
      resolve(true);
    }, ms);
    res.once('close', gone);
  });
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AdminConfig } from '../../config/admin-options';
import type { KindStats } from '../actor-cell';
import type { CloudInspection, ConnectionQuery } from '../cloud/connection-inspection';
import { closeHttpServer } from '../edges/close-http-server';
import { ErrorCode, ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { ActorInspector, InspectedRuntime, TOP_BY, TopBy } from './actor-inspector';
import { AdminAuth, originProblem } from './admin-auth';
import { adminPage, ADMIN_PAGE_SCRIPT_HASH } from './admin-page';

/**
 * Whether the node takes work: `/ready` answers 200 only when `ready`.
 * `unlisted`: started, but its discovery actor stopped for good while it renewed the node's TTL check, so the
 * registration lapses and the other side no longer knows the node (a logic node refuses Connects naming it).
 */
export type Readiness = 'starting' | 'ready' | 'draining' | 'unlisted';

/** What a node shows its operator through the admin endpoint. */
export interface AdminSurface {
  readonly node: 'cloud' | 'logic';
  /** The node's id: a cloud node's server id; a logic node's host (its bind address, or the machine's name when it binds all) and gRPC port. */
  id(): string;
  readiness(): Readiness;
  readonly runtime: InspectedRuntime & { kindStats(): Iterable<Readonly<KindStats>> };
  /** Connections and rooms: a cloud node's; null on a logic node. */
  readonly connections: CloudInspection | null;
  /** Client connections open now; null on a logic node. */
  openConnections(): number | null;
  /** The discovery actor's view (source, nodes, stale, registration); null before it runs. */
  discovery(): Record<string, unknown> | null;
}

const LIMIT_DEFAULT = 100;
/**
 * Largest page of children, rooms or connections: its JSON is written in one
 * go (about 2 ms for 300 connections at 19,000 held), so the page is kept
 * small enough for that to stay within a few milliseconds.
 */
const LIMIT_MAX = 500;
const TOP_DEFAULT = 20;
const TOP_MAX = LIMIT_MAX;
/** Longest a kick waits for the connection to handle it before answering. */
const KICK_WAIT_MS = 5000;
/** How long close() lets admin requests in flight finish. */
export const ADMIN_CLOSE_GRACE_MS = 1000;
/** Event-loop delay is reported over windows of this length. */
const DELAY_WINDOW_MS = 10_000;

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_ADMIN_UNAUTHORIZED: 401,
  E_ADMIN_FORBIDDEN: 403,
  E_ADMIN_NOT_FOUND: 404,
  E_ADMIN_NOT_SERVED: 404,
  E_ADMIN_BAD_PARAM: 400,
  E_ADMIN_METHOD: 405,
  E_ADMIN_BUSY: 503,
  E_ADMIN_BAD_ORIGIN: 403,
  E_ADMIN_BAD_REQUEST: 400,
  E_ADMIN_KICK_TIMEOUT: 504,
};

type Query = URLSearchParams;

/** An answer: JSON unless `type` says otherwise. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly type?: string;
}

const ok = (body: unknown): Answer => ({ status: 200, body });

function intParam(query: Query, name: string, fallback: number, max: number): number {
  if (query.getAll(name).length > 1) throw new ImError('ADMIN_BAD_PARAM', `${name} is given more than once`);
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new ImError('ADMIN_BAD_PARAM', `${name} must be an integer in 1..${max}`);
  const n = Number(raw);
  if (n < 1 || n > max) throw new ImError('ADMIN_BAD_PARAM', `${name} must be an integer in 1..${max}`);
  return n;
}

/** The one search field of /connections. */
function connectionQuery(query: Query): ConnectionQuery {
  const given = (['key', 'mid', 'room', 'ip'] as const).filter((field) => query.get(field) !== null);
  if (given.length !== 1) throw new ImError('ADMIN_BAD_PARAM', 'give exactly one of key, mid, room, ip');
  const by = given[0];
  if (query.getAll(by).length > 1) throw new ImError('ADMIN_BAD_PARAM', `${by} is given more than once`);
  const value = query.get(by) ?? '';
  if (value === '') throw new ImError('ADMIN_BAD_PARAM', `${by} must not be empty`);
  return { by, value };
}

/**
 * The admin endpoint of one node: the actor tree, connections and rooms
 * (cloud), the busiest actors, Prometheus metrics, health, readiness and the
 * page. Everything here pulls: a request reads the runtime's records when it
 * comes, walking big lists in slices, and nothing is pushed per event.
 */
export class AdminServer {
  readonly server: http.Server;
  private readonly auth: AdminAuth;
  private readonly inspector: ActorInspector;
  private readonly page: string;
  private readonly startedAt = Date.now();
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private lastWindowP99Ms = 0;
  private delayTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: AdminConfig,
    private readonly surface: AdminSurface,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.auth = new AdminAuth(config.token);
    this.inspector = new ActorInspector(surface.runtime);
    this.page = adminPage();
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        this.delay.enable();
        this.delayTimer = setInterval(() => {
          this.lastWindowP99Ms = this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
          this.delay.reset();
        }, DELAY_WINDOW_MS);
        this.delayTimer.unref();
        const port = (this.server.address() as AddressInfo).port;
        this.log.info('admin endpoint listening', {
          component: 'admin', host: this.config.host, port, token: this.auth.required, allowDestructive: this.config.allowDestructive,
        });
        resolve(port);
      });
    });
  }

  /** Stops serving; requests in flight get `graceMs` (shorter when a stop's deadline leaves less). */
  close(graceMs = ADMIN_CLOSE_GRACE_MS): Promise<void> {
    if (this.delayTimer) clearInterval(this.delayTimer);
    this.delay.disable();
    return closeHttpServer(this.server, graceMs);
  }

  /** Never rejects: whatever a request does, it gets an answer and the node goes on. */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let route = 'other';
    let answer: Answer;
    try {
      const url = parseTarget(req.url);
      route = routeName(url.pathname);
      answer = await this.answer(req, url.pathname, url.searchParams);
    } catch (err) {
      answer = this.failure(err, route, req);
    }
    try {
      this.metrics.inc('im_admin_requests_total', { route, status: String(answer.status) });
      this.send(req, res, answer);
    } catch (err) {
      this.log.error('admin answer could not be sent', { component: 'admin', route, error: errorMessage(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(new ImError('INTERNAL', 'the answer could not be written').toReason()));
    }
  }

  private failure(err: unknown, route: string, req: http.IncomingMessage): Answer {
    const error = err instanceof ImError ? err : new ImError('INTERNAL', errorMessage(err));
    const status = STATUS[error.code] ?? 500;
    if (status === 500) this.log.error('admin request failed', { component: 'admin', route, error: error.message });
    else if (status === 401 || error.code === 'E_ADMIN_BAD_ORIGIN') {
      this.log.info('admin request refused', { component: 'admin', route, code: error.code, error: error.message, remote: req.socket.remoteAddress });
    }
    return { status, body: error.toReason() };
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, answer: Answer): void {
    const headers: http.OutgoingHttpHeaders = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (answer.status === 401) headers['www-authenticate'] = 'Bearer realm="im-cloud admin"';
    let body: string;
    if (answer.type !== undefined) {
      headers['content-type'] = answer.type;
      body = String(answer.body);
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(answer.body);
    }
    if (answer.type?.startsWith('text/html')) {
      // The page runs only its own script (by hash), loads nothing from elsewhere and talks only to this endpoint.
      headers['content-security-policy'] =
        `default-src 'none'; script-src '${ADMIN_PAGE_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; ` +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }
    res.writeHead(answer.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async answer(req: http.IncomingMessage, path: string, query: Query): Promise<Answer> {
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const foreign = originProblem(req, this.auth.required);
    if (foreign) throw foreign;
    // The page is static and holds no data (every request it makes carries the token): a browser must be able to load it.
    if (path === '/') {
      if (!read) throw new ImError('ADMIN_METHOD', `${method} ${path}`);
      return { status: 200, body: this.page, type: 'text/html; charset=utf-8' };
    }
    if (!this.auth.allows(req)) throw new ImError('ADMIN_UNAUTHORIZED');
    const kick = /^\/connections\/([^/]+)\/kick$/.exec(path);
    if (kick) {
      if (method !== 'POST') throw new ImError('ADMIN_METHOD', `${method} ${path}`);
      return ok({ kicked: await this.kick(decodePathPart(kick[1])) });
    }
    if (!read) throw new ImError('ADMIN_METHOD', `${method} ${path}`);
    switch (path) {
      case '/health':
        return ok({ status: 'ok' });
      case '/ready': {
        const readiness = this.surface.readiness();
        // Discovery's state rides along: a node whose registry cannot be reached serves on its last list, and says so here.
        return { status: readiness === 'ready' ? 200 : 503, body: { status: readiness, discovery: this.surface.discovery() } };
      }
      case '/info':
        return ok(this.info());
      case '/metrics':
        return { status: 200, body: await this.metrics.exposition(), type: this.metrics.contentType };
      case '/actors':
        return ok(await this.inspector.actors(query.get('path'), intParam(query, 'limit', LIMIT_DEFAULT, LIMIT_MAX), query.get('cursor')));
      case '/top': {
        const by = query.get('by') ?? 'mailbox';
        if (!isTopBy(by)) throw new ImError('ADMIN_BAD_PARAM', `by must be one of ${TOP_BY.join(', ')}`);
        return ok(await this.inspector.top(by, intParam(query, 'n', TOP_DEFAULT, TOP_MAX)));
      }
      case '/connections':
        return ok(this.cloud().find(connectionQuery(query), intParam(query, 'limit', LIMIT_DEFAULT, LIMIT_MAX)));
      case '/rooms':
        return ok(await this.cloud().rooms(intParam(query, 'limit', LIMIT_DEFAULT, LIMIT_MAX), query.get('cursor')));
      default:
        throw new ImError('ADMIN_NOT_FOUND', `no endpoint ${path}`);
    }
  }

  private kick(key: string): Promise<{ key: string; path: string }> {
    if (!this.config.allowDestructive) return Promise.reject(new ImError('ADMIN_FORBIDDEN'));
    const cloud = this.cloud();
    this.log.warn('admin kick', { component: 'admin', key });
    return cloud.kick(key, KICK_WAIT_MS);
  }

  private cloud(): CloudInspection {
    if (!this.surface.connections) throw new ImError('ADMIN_NOT_SERVED', `a ${this.surface.node} node holds no client connections`);
    return this.surface.connections;
  }

  private info(): Record<string, unknown> {
    let actors = 0;
    let mailbox = 0;
    for (const stats of this.surface.runtime.kindStats()) {
      actors += stats.live;
      mailbox += stats.queued;
    }
    const memory = process.memoryUsage();
    const current = this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
    const now = Date.now();
    return {
      node: this.surface.node, id: this.surface.id(), startedAt: this.startedAt, uptimeMs: now - this.startedAt,
      readiness: this.surface.readiness(), allowDestructive: this.config.allowDestructive, root: this.inspector.rootPath(),
      discovery: this.surface.discovery(),
      headline: {
        actors, mailbox, connections: this.surface.openConnections(), rooms: this.surface.connections?.roomCount() ?? null,
        rssBytes: memory.rss, heapUsedBytes: memory.heapUsed,
        eventLoopDelayP99Ms: Math.round(Math.max(current, this.lastWindowP99Ms) * 100) / 100,
      },
    };
  }
}

/** The metric label of a request: the route, never the raw path (keys in kick paths would make series per key). */
function routeName(path: string): string {
  if (/^\/connections\/[^/]+\/kick$/.test(path)) return '/connections/:key/kick';
  return ['/', '/health', '/ready', '/info', '/metrics', '/actors', '/top', '/connections', '/rooms'].includes(path) ? path : 'other';
}

/** The request target as a URL; a target that is not one (`//`, `http://[`) is the caller's mistake. */
function parseTarget(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://admin.invalid');
  } catch {
    throw new ImError('ADMIN_BAD_REQUEST', JSON.stringify(target));
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isTopBy(value: string): value is TopBy {
  return TOP_BY.some((by) => by === value);
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ImError('ADMIN_BAD_PARAM', 'the key in the path is not valid percent-encoding');
  }
}

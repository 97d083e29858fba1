import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PushFailedError, PushReach } from '../../actors/push-outcome';
import { ErrorName, ImError } from '../errors';
import { closeHttpServer } from './close-http-server';
import type { InternalAuth } from './internal-auth';
import { logThrottled, LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { CounterHandle, HistogramHandle, Metrics } from '../metrics';
import {
  ParsedRequest,
  optionalInt,
  parseRequest,
  requireKeys,
  requireMids,
  requireOperation,
  requireRoom,
  requireRoomType,
  requireRooms,
} from './http-params';

/** What the HTTP push API asks of the logic node; the edge only parses and validates. */
export interface PushService {
  /** Resolves once every cloud node holding a target took the push; rejects with PushFailedError when one did not. */
  pushKeys(operation: number, keys: string[], msg: Buffer): Promise<PushReach>;
  pushMids(operation: number, mids: string[], msg: Buffer): Promise<PushReach>; // mids as decimal strings
  pushRoom(operation: number, roomId: string, msg: Buffer): Promise<void>; // roomId = `${type}://${room}`
  pushAll(operation: number, speed: number, msg: Buffer): Promise<void>;
  onlineTop(type: string, limit: number): Promise<Array<{ room_id: string; count: number }>>;
  onlineRoom(type: string, rooms: string[]): Promise<Record<string, number>>; // keyed by room (without type)
  onlineTotal(): Promise<{ conn_count: number; ip_count: number }>;
  nodes(platform: string, clientIp: string): NodesInfo;
}

export interface NodesInfo {
  domain: string;
  tcp_port: number;
  ws_port: number;
  wss_port: number;
  heartbeat: number;
  heartbeat_max: number;
  nodes: string[];
  backoff: { max_delay: number; base_delay: number; factor: number; jitter: number };
}

export interface HttpPushEdgeOptions {
  readonly maxBodyBytes: number;
  /** push.maxBatchBytes: a push message larger than this can never be sent and is refused. */
  readonly maxMessageBytes: number;
  readonly roomTypes: readonly string[];
  /** The security.token check every route but the node list passes first; none: every request passes. */
  readonly auth?: InternalAuth;
}

type Method = 'GET' | 'POST';

interface Route {
  readonly method: Method;
  /** Validates, calls the service; resolves to the reply's `data` (undefined: none). */
  run(request: ParsedRequest, clientIp: string): Promise<unknown>;
}

const PREFIXES = ['/im/', '/goim/'];
/** Open without the token: clients ask it where to connect, and clients never hold the cluster's token. */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['nodes']);
/** The push routes, by the kind their latency is observed under (im_logic_push_seconds). */
const PUSH_KINDS: ReadonlyMap<string, string> = new Map([['push/keys', 'keys'], ['push/mids', 'mids'], ['push/room', 'room'], ['push/all', 'all']]);
const INT32_MAX = 2147483647;
const JSON_TYPE = 'application/json; charset=utf-8';
/** The answer of a request with no data, and its text, made once. */
const OK_BODY = { code: 0, message: '' };
const OK_TEXT = JSON.stringify(OK_BODY);
const TOP_LIMIT_MAX = 1000;
/** How long close() lets in-flight requests finish before cutting their sockets. */
export const HTTP_CLOSE_GRACE_MS = 5000;

/** goim's result codes: RequestErr for bad input, ServerErr for the rest. */
const REQUEST_ERR = -400;
const SERVER_ERR = -500;

const STATUS_BY_ERROR: Partial<Record<ErrorName, number>> = {
  UNAUTHENTICATED: 401,
  HTTP_NOT_FOUND: 404,
  HTTP_METHOD: 405,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_MESSAGE_TOO_LARGE: 413,
  HTTP_INTERNAL: 500,
  CLOUD_UNAVAILABLE: 503,
  SESSION_STORE: 503,
};

function statusOf(error: ImError): number {
  return STATUS_BY_ERROR[error.name] ?? (error.name.startsWith('HTTP_') ? 400 : 500);
}

/** The request's client: the first X-Forwarded-For entry, else the socket's peer (IPv4-mapped IPv6 unwrapped). */
function clientIpOf(req: http.IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim();
  if (first) return first;
  const peer = req.socket.remoteAddress ?? '';
  return peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice('::ffff:'.length) : peer;
}

/** Thrown when the client went away mid-body: nobody is left to answer. */
class ClientGone extends Error {}

/**
 * The logic node's HTTP push API (wire.md §5), served under /im/ and /goim/.
 * Every request is fully validated before the service is called, so nothing
 * is pushed for a request that gets a 4xx.
 */
export class HttpPushEdge {
  /** Per-request failures: one line per route (or rpc) and code every 10 s at their level, the rest at debug; counters keep the numbers. */
  private readonly logs = new LogThrottle(10_000);
  readonly server: http.Server;
  private readonly routes: ReadonlyMap<string, Route>;
  /** The series every successful request bumps, resolved once: im_logic_push_seconds by push kind, im_http_requests_total by route. */
  private readonly pushedOk = new Map<string, HistogramHandle>();
  private readonly answeredOk = new Map<string, CounterHandle>();

  constructor(
    private readonly options: HttpPushEdgeOptions,
    private readonly service: PushService,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.routes = this.buildRoutes();
    for (const [route, kind] of PUSH_KINDS) this.pushedOk.set(route, metrics.histogramOf('im_logic_push_seconds', { edge: 'http', kind, outcome: 'ok' }));
    for (const route of this.routes.keys()) this.answeredOk.set(route, metrics.counterOf('im_http_requests_total', { route, status: '200' }));
    this.server = http.createServer((req, res) => void this.handle(req, res, false));
    this.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res, true));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting; in-flight requests get `graceMs` to finish (shorter when a stop's deadline leaves less). */
  close(graceMs = HTTP_CLOSE_GRACE_MS): Promise<void> {
    return closeHttpServer(this.server, graceMs);
  }

  private buildRoutes(): Map<string, Route> {
    const service = this.service;
    const roomTypes = this.options.roomTypes;
    const maxMessageBytes = this.options.maxMessageBytes;
    // Checked with the other parameters, so nothing is pushed for a message that could never be sent.
    const fitting = (message: Buffer): Buffer => {
      if (message.length > maxMessageBytes) throw new ImError('HTTP_MESSAGE_TOO_LARGE', `${message.length} > ${maxMessageBytes}`);
      return message;
    };
    const get = (run: Route['run']): Route => ({ method: 'GET', run });
    const post = (run: Route['run']): Route => ({ method: 'POST', run });
    return new Map<string, Route>([
      ['push/keys', post(async ({ params, message }) => {
        const keys = requireKeys(params);
        return service.pushKeys(requireOperation(params), keys, fitting(message));
      })],
      ['push/mids', post(async ({ params, message }) => {
        const mids = requireMids(params);
        return service.pushMids(requireOperation(params), mids, fitting(message));
      })],
      ['push/room', post(async ({ params, message }) => {
        const roomId = `${requireRoomType(params, roomTypes)}://${requireRoom(params)}`;
        await service.pushRoom(requireOperation(params), roomId, fitting(message));
      })],
      ['push/all', post(async ({ params, message }) => {
        const operation = requireOperation(params);
        await service.pushAll(operation, optionalInt(params, 'speed', 0, 0, INT32_MAX), fitting(message));
      })],
      ['online/top', get(async ({ params }) => {
        const type = requireRoomType(params, roomTypes);
        return service.onlineTop(type, optionalInt(params, 'limit', 10, 1, TOP_LIMIT_MAX));
      })],
      ['online/room', get(async ({ params }) => {
        const type = requireRoomType(params, roomTypes);
        return service.onlineRoom(type, requireRooms(params));
      })],
      ['online/total', get(async () => service.onlineTotal())],
      ['nodes', get(async ({ params }, clientIp) => service.nodes(params.first('platform') ?? '', clientIp))],
    ]);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): Promise<void> {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const prefix = PREFIXES.find((p) => path.startsWith(p));
    const name = prefix === undefined ? undefined : path.slice(prefix.length);
    const route = name === undefined ? undefined : this.routes.get(name);
    const label = route && name ? name : 'unknown';
    const push = PUSH_KINDS.get(label);
    try {
      const auth = this.options.auth;
      const open = route !== undefined && OPEN_ROUTES.has(label);
      if (auth && !open && !auth.admits(req.headers.authorization, 'http', label, req.socket.remoteAddress ?? '')) {
        // A body is left unread (never buffered for a caller without the token): the connection cannot carry another request.
        const unread = expectsContinue || req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
        const code = this.fail(res, label, new ImError('UNAUTHENTICATED'), { 'www-authenticate': 'Bearer', ...(unread ? { connection: 'close' } : {}) });
        this.observePush(push, code, started);
        return;
      }
      if (!route) throw new ImError('HTTP_NOT_FOUND', `${req.method ?? ''} ${path.slice(0, 200)}`);
      if (req.method !== route.method) {
        const code = this.fail(res, label, new ImError('HTTP_METHOD', `${req.method ?? ''} ${name}; use ${route.method}`), { allow: route.method });
        this.observePush(push, code, started);
        return;
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > this.options.maxBodyBytes) throw this.tooLarge(`content-length ${declared}`);
      if (expectsContinue) res.writeContinue();
      const body = await this.readBody(req);
      const request = parseRequest(q < 0 ? '' : url.slice(q + 1), req.headers['content-type'], body);
      const data = await route.run(request, clientIpOf(req));
      this.reply(res, label, 200, data === undefined ? OK_BODY : { code: 0, message: '', data });
      this.pushedOk.get(label)?.observe((performance.now() - started) / 1000);
    } catch (err) {
      if (err instanceof ClientGone) {
        res.destroy();
        return;
      }
      this.observePush(push, this.fail(res, label, err), started);
    }
  }

  /** A push request's time from arrival to answer (a room or push-all request is answered once queued). */
  private observePush(kind: string | undefined, outcome: string, started: number): void {
    if (kind !== undefined) this.metrics.observe('im_logic_push_seconds', { edge: 'http', kind, outcome }, (performance.now() - started) / 1000);
  }

  private tooLarge(detail: string): ImError {
    return new ImError('HTTP_BODY_TOO_LARGE', `${detail} > ${this.options.maxBodyBytes}`);
  }

  /** Reads the body, giving up as soon as it crosses maxBodyBytes (the rest is discarded unread into memory). */
  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const settle = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onGone);
        req.off('close', onGone);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > this.options.maxBodyBytes) {
          settle();
          req.resume();
          reject(this.tooLarge(`body of at least ${size} bytes`));
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        settle();
        resolve(Buffer.concat(chunks, size));
      };
      const onGone = (): void => {
        settle();
        reject(new ClientGone());
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onGone);
      req.on('close', onGone);
    });
  }

  /** Answers with the error (a catalogued one; anything else is E_HTTP_INTERNAL) and returns its code. */
  private fail(res: http.ServerResponse, route: string, err: unknown, headers: http.OutgoingHttpHeaders = {}): string {
    const error = err instanceof ImError ? err : new ImError('HTTP_INTERNAL');
    const status = statusOf(error);
    this.metrics.inc('im_http_errors_total', { code: error.code });
    if (status >= 500) {
      const cause = err instanceof Error ? err : new Error(String(err));
      logThrottled(this.log, this.logs, 'error', `${route} ${error.code}`, 'http request failed', {
        component: 'http-push-edge', route, status, code: error.code, error: cause.message, stack: cause.stack,
      });
    } else if (error.name !== 'UNAUTHENTICATED') {
      // Token refusals are logged by the auth check, rate-limited.
      logThrottled(this.log, this.logs, 'warn', `${route} ${error.code}`, 'http request rejected', {
        component: 'http-push-edge', route, status, code: error.code, reason: error.message,
      });
    }
    // An oversized body is left unread: the connection cannot carry another request.
    const close = error.name === 'HTTP_BODY_TOO_LARGE' ? { connection: 'close' } : {};
    const code = status >= 500 ? SERVER_ERR : REQUEST_ERR;
    // A push some cloud nodes failed: which nodes, and how many targets each held.
    const data = err instanceof PushFailedError ? { data: err.report } : {};
    this.reply(res, route, status, { code, error: error.code, message: error.message, ...data }, { ...headers, ...close });
    return error.code;
  }

  private reply(res: http.ServerResponse, route: string, status: number, body: object, headers?: http.OutgoingHttpHeaders): void {
    const ok = status === 200 ? this.answeredOk.get(route) : undefined;
    if (ok) ok.inc();
    else this.metrics.inc('im_http_requests_total', { route, status: String(status) });
    if (res.headersSent || res.destroyed) return;
    const text = body === OK_BODY ? OK_TEXT : JSON.stringify(body);
    // Headers as a flat array: node copies no object into its own for them.
    const length = String(Buffer.byteLength(text));
    if (headers === undefined) res.writeHead(status, ['content-type', JSON_TYPE, 'content-length', length]);
    else res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': length });
    res.end(text);
  }
}

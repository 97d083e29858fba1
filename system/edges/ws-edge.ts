import http from 'node:http';
import type https from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { ReconnectHint } from '../codec/disconnect-body';
import { decodeFrame } from '../codec/frame-decoder';
import { ownedPacket } from '../codec/owned-packet';
import { frameHeaderLength } from '../codec/ws-frame';
import type { Outbound } from '../codec/outbound';
import { ImError } from '../errors';
import { logThrottled, LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import { ClientAdmission, PendingRefusals, Refusal } from './client-admission';
import { endAndLinger } from './refusal-linger';
import { HttpServerKind, plainHttpServer, upgradeTimeouts, watchHandshakes } from './client-servers';
import type { Coalescer, PacketSequence } from './coalescer';
import type { ConnectionOpener } from './connection-opener';
import { ClientLimits, disconnectPacket, SocketClient, writeCounters, WriteCounters } from './socket-client';

/** The seed's check: 16 random bytes, base64 (RFC 6455 §4.1). */
const WS_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

const BINARY = { binary: true } as const;

/**
 * Pushes are written straight to the upgraded socket as pre-built frames: ws's
 * own send would frame and allocate per recipient. Safe beside ws's writes
 * (pongs, close) because compression is off, so ws never holds a partial
 * frame, and each write here is one whole frame.
 */
class WsClient extends SocketClient {
  /** The framing error ws reported, if any: ws then closes the socket itself, and the close is not the client's. */
  private frameError: ImError | undefined = undefined;

  constructor(
    readonly transport: 'ws' | 'wss', id: number, private readonly ws: WebSocket, socket: Duplex, remoteAddress: string, cookie: string,
    limits: ClientLimits, coalescer: Coalescer | null, counters: WriteCounters, private readonly edge: WsEdgeShared,
  ) {
    super(id, socket, remoteAddress, cookie, limits, coalescer, counters);
  }

  message(data: Buffer): void {
    const ref = this.ref;
    if (!ref) return;
    const decoded = decodeFrame(data, this.edge.maxBodySize);
    if (decoded instanceof ImError) {
      ref.tell({ type: 'protocolError', error: decoded });
      return;
    }
    this.received();
    ref.tell({ type: 'packet', packet: ownedPacket(decoded) });
  }

  error(err: Error & { code?: string }): void {
    if (!err.code?.startsWith('WS_ERR_')) {
      this.edge.log.debug('ws socket error', { component: 'ws-edge', transport: this.transport, conn: this.id, error: err.message });
      return;
    }
    // ws closes the socket itself after a framing error; report it as this connection's protocol error.
    this.frameError = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      ? new ImError('WS_FRAME_TOO_LARGE', err.message)
      : new ImError('WS_PROTOCOL', `${err.code}: ${err.message}`);
    this.ref?.tell({ type: 'protocolError', error: this.frameError });
  }

  socketClosed(): void {
    if (this.closed || this.frameError) return;
    this.closed = true;
    this.ref?.tell({ type: 'socketClosed', reason: 'client_closed' });
  }

  protected get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  protected bytesOf(out: Outbound): Buffer {
    return out.wsFrame;
  }

  protected bytesOfSequence(seq: PacketSequence): Buffer {
    return seq.wsFrames();
  }

  protected end(error?: ImError, reconnect?: ReconnectHint): void {
    if (error && this.open) {
      const packet = disconnectPacket(error, reconnect);
      this.ws.send(packet, BINARY);
      this.counted(1, frameHeaderLength(packet.length) + packet.length);
    }
    // ws then waits 30 s for the peer's close frame; the linger timer cuts that short: a descriptor is worth more.
    this.ws.close(1000);
  }

  protected kill(): void {
    this.ws.terminate();
  }

  protected pauseReading(): void {
    this.ws.pause();
  }

  protected resumeReading(): void {
    this.ws.resume();
  }
}

/** What every client of one edge reads: one object per edge, not per connection. */
interface WsEdgeShared {
  readonly maxBodySize: number;
  readonly log: Logger;
}

/**
 * Each accepted WebSocket's client, for the listeners below: they are the
 * same functions for every connection (ws calls them with the WebSocket as
 * `this`), where closures made per connection cost a few hundred bytes each.
 */
const clientOfWs = new WeakMap<WebSocket, WsClient>();

function wsMessage(this: WebSocket, data: Buffer): void {
  clientOfWs.get(this)?.message(data);
}

function wsError(this: WebSocket, err: Error & { code?: string }): void {
  clientOfWs.get(this)?.error(err);
}

function wsClose(this: WebSocket): void {
  clientOfWs.get(this)?.socketClosed();
}

export interface WsEdgeOptions {
  readonly path: string;
  readonly maxPayload: number;
  readonly maxBodySize: number;
  readonly limits: ClientLimits;
  readonly coalescer: Coalescer | null;
  /** The whole upgrade request must arrive within it. */
  readonly upgradeTimeoutMs: number;
  /** Lower-cased origins a browser may connect from; empty lets any in. */
  readonly allowedOrigins: readonly string[];
  /** Plain http (ws, the default) or https with the node's certificate (wss). */
  readonly server?: HttpServerKind;
}

/** An HTTP response that ends the exchange: a JSON reason, and when to try again if known. */
function httpRefusal(status: number, error: ImError, retryAfterMs?: number): string {
  const body = JSON.stringify(error.toReason());
  const retry = retryAfterMs === undefined ? '' : `retry-after: ${Math.max(1, Math.ceil(retryAfterMs / 1000))}\r\n`;
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n${retry}` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * WebSocket clients on one path (`/sub`). A socket is admitted or refused on
 * its TCP connection (ClientAdmission: draining, node full, per-IP, rate); a
 * refused one gets its status (503, 429) at once (wss: once its TLS
 * handshake is done) and is closed, whether or not its request came yet.
 * An admitted socket's upgrade request must arrive within ws.upgradeTimeoutMs.
 * The path, the key and the Origin are then checked on the raw upgrade
 * request, before any WebSocket state exists; a rejected upgrade costs one
 * HTTP response and is counted. The same edge serves ws and wss: only its
 * server differs (sockets are admitted from their TCP connection, before
 * the TLS handshake, and counted until it closes).
 */
export class WsEdge {
  readonly server: http.Server | https.Server;
  readonly transport: 'ws' | 'wss';
  private readonly wss: WebSocketServer;
  private readonly counters: WriteCounters;
  private readonly pending = new PendingRefusals();
  private readonly origins: ReadonlySet<string> | null;
  /** Bad upgrades come in floods: one warn line per code every 10 s, the count in im_ws_upgrade_rejected_total. */
  private readonly rejectLogs = new LogThrottle(10_000);
  private readonly shared: WsEdgeShared;

  constructor(
    private readonly options: WsEdgeOptions,
    private readonly opener: ConnectionOpener,
    private readonly admission: ClientAdmission,
    private readonly guard: AcceptGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const kind = options.server ?? plainHttpServer;
    this.transport = kind.transport;
    this.counters = writeCounters(metrics, this.transport);
    this.shared = { maxBodySize: options.maxBodySize, log };
    this.origins = options.allowedOrigins.length > 0 ? new Set(options.allowedOrigins) : null;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayload,
      // Text frames carrying packet bytes are accepted (wire.md §1); they need not be UTF-8.
      skipUTF8Validation: true,
      // Echo the client's protocol; a browser refuses any answer it did not offer.
      handleProtocols: (protocols) => protocols.values().next().value ?? false,
    });
    this.server = kind.create((req, res) => this.plainRequest(req, res), upgradeTimeouts(options.upgradeTimeoutMs));
    // After the server's own listener, which attached the HTTP parser: a request that still arrives finds the socket ended.
    const plain = this.transport === 'ws';
    this.server.on('connection', (socket: Socket) => {
      const refusal = this.admission.admitSocket(socket, this.transport);
      if (!refusal) return;
      if (plain) this.refuse(socket, refusal);
      else this.pending.hold(socket, refusal);
    });
    // wss: a refused socket is answered once its TLS handshake is done, as TLS tcp is.
    if (!plain) {
      this.server.on('secureConnection', (socket: Socket) => {
        const held = this.pending.of(socket);
        if (held) this.refuse(socket, held);
      });
    }
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.clientError(err, socket));
    if (this.transport === 'wss') watchHandshakes(this.server, 'wss', metrics, log);
  }

  listen(port: number, host: string): Promise<number> {
    return this.guard.listen(this.transport, this.server, port, host);
  }

  private reject(socket: Duplex, status: number, error: ImError): void {
    this.metrics.inc('im_ws_upgrade_rejected_total', { code: error.code });
    logThrottled(this.log, this.rejectLogs, 'warn', error.code, 'websocket upgrade rejected', {
      component: 'ws-edge', transport: this.transport, code: error.code, error: error.message,
    });
    endAndLinger(socket, httpRefusal(status, error));
  }

  /**
   * Carries out a refusal (already counted by the admission). The answer goes
   * out without waiting for the request (HTTP lets a server answer early), so
   * a refused socket, which no limit counts, never holds its descriptor for
   * ws.upgradeTimeoutMs: a client over its limit opening silent sockets would
   * otherwise hold as many as it opens in that time.
   */
  private refuse(socket: Duplex, refusal: Refusal): void {
    this.admission.linger.close(socket, httpRefusal(refusal.status, refusal.error, refusal.retryAfterMs), { drainInput: false });
  }

  /** Any request that is not an upgrade: 426 (a refused socket was answered already). */
  private plainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.socket.writableEnded) return;
    res.writeHead(426, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ code: 'E_WS_BAD_UPGRADE', reason: `upgrade to a WebSocket on ${this.options.path}` }));
  }

  /**
   * A request that failed before any handler saw it. Node answers these
   * itself unless the server listens for them; here a request that did not
   * arrive within ws.upgradeTimeoutMs is counted and told so (a socket
   * already refused was answered and is only dropped), and a malformed one gets 400
   * (431 for headers over Node's size limit).
   */
  private clientError(err: Error & { code?: string }, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const refusal = this.admission.refusal('upgrade_timeout');
      this.admission.refused('upgrade_timeout', this.transport, socket instanceof Socket ? socket.remoteAddress : undefined);
      return this.refuse(socket, refusal);
    }
    const error = new ImError('WS_BAD_UPGRADE', err.code);
    this.metrics.inc('im_ws_upgrade_rejected_total', { code: error.code });
    this.log.debug('bad http request', { component: 'ws-edge', transport: this.transport, errno: err.code, error: err.message });
    endAndLinger(socket, httpRefusal(err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400, error));
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // The socket was already answered (refused, or its request came too late).
    if (socket.writableEnded) return;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== this.options.path) return this.reject(socket, 404, new ImError('WS_BAD_PATH', path));
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || !WS_KEY.test(key) || Buffer.from(key, 'base64').length !== 16) {
      return this.reject(socket, 400, new ImError('WS_BAD_KEY'));
    }
    const origin = req.headers.origin;
    if (this.origins && origin !== undefined && !this.origins.has(origin.toLowerCase())) {
      return this.refuseNow(socket, 'origin', req.socket.remoteAddress);
    }
    // Admitted before the drain began, upgrading after.
    if (!this.opener.accepting) return this.refuseNow(socket, 'draining', req.socket.remoteAddress);
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    const cookie = req.headers.cookie ?? '';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, remote, cookie));
  }

  private refuseNow(socket: Duplex, reason: 'origin' | 'draining', address: string | undefined): void {
    this.admission.refused(reason, this.transport, address);
    this.refuse(socket, this.admission.refusal(reason));
  }

  private accept(ws: WebSocket, socket: Duplex, remote: string, cookie: string): void {
    this.metrics.inc('im_connections_opened_total', { transport: this.transport });
    const client = new WsClient(
      this.transport, this.opener.nextId(), ws, socket, remote, cookie, this.options.limits, this.options.coalescer, this.counters, this.shared,
    );
    client.ref = this.opener.open(client);
    clientOfWs.set(ws, client);
    ws.on('message', wsMessage);
    ws.on('error', wsError);
    // 'close' comes once: `on` spares the wrapper `once` makes per socket.
    ws.on('close', wsClose);
  }
}

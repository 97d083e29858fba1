import http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { ReconnectHint } from '../codec/disconnect-body';
import { decodeFrame } from '../codec/frame-decoder';
import { ownedPacket } from '../codec/owned-packet';
import { frameHeaderLength } from '../codec/ws-frame';
import type { Outbound } from '../codec/outbound';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import { HttpServerKind, plainHttpServer, watchHandshakes } from './client-servers';
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
  constructor(
    readonly transport: 'ws' | 'wss', id: number, private readonly ws: WebSocket, socket: Duplex, remoteAddress: string, cookie: string,
    limits: ClientLimits, coalescer: Coalescer | null, counters: WriteCounters,
  ) {
    super(id, socket, remoteAddress, cookie, limits, coalescer, counters);
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

export interface WsEdgeOptions {
  readonly path: string;
  readonly maxPayload: number;
  readonly maxBodySize: number;
  readonly limits: ClientLimits;
  readonly coalescer: Coalescer | null;
  /** Plain http (ws, the default) or https with the node's certificate (wss). */
  readonly server?: HttpServerKind;
}

/**
 * WebSocket clients on one path (`/sub`). The path and the key are checked on
 * the raw upgrade request, before any WebSocket state exists; a rejected
 * upgrade costs one HTTP response and is counted. The same edge serves ws
 * and wss: only its server differs (sockets are counted by the accept guard
 * from their TCP connection, TLS handshake included).
 */
export class WsEdge {
  readonly server: http.Server | https.Server;
  readonly transport: 'ws' | 'wss';
  private readonly wss: WebSocketServer;
  private readonly counters: WriteCounters;

  constructor(
    private readonly options: WsEdgeOptions,
    private readonly opener: ConnectionOpener,
    private readonly guard: AcceptGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const kind = options.server ?? plainHttpServer;
    this.transport = kind.transport;
    this.counters = writeCounters(metrics, this.transport);
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
    this.server = kind.create((_req, res) => {
      res.writeHead(426, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ code: 'E_WS_BAD_UPGRADE', reason: `upgrade to a WebSocket on ${options.path}` }));
    });
    this.server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress;
      this.guard.opened(address);
      socket.once('close', () => this.guard.closed(address));
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    if (this.transport === 'wss') watchHandshakes(this.server, 'wss', metrics, log);
  }

  listen(port: number, host: string): Promise<number> {
    return this.guard.listen(this.transport, this.server, port, host);
  }

  private reject(socket: Duplex, status: number, error: ImError): void {
    this.metrics.inc('im_ws_upgrade_rejected_total', { code: error.code });
    this.log.warn('websocket upgrade rejected', { component: 'ws-edge', transport: this.transport, code: error.code, error: error.message });
    const body = JSON.stringify(error.toReason());
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== this.options.path) return this.reject(socket, 404, new ImError('WS_BAD_PATH', path));
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || !WS_KEY.test(key) || Buffer.from(key, 'base64').length !== 16) {
      return this.reject(socket, 400, new ImError('WS_BAD_KEY'));
    }
    if (!this.opener.accepting) return this.reject(socket, 503, new ImError('NODE_DRAINING'));
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    const cookie = req.headers.cookie ?? '';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, remote, cookie));
  }

  private accept(ws: WebSocket, socket: Duplex, remote: string, cookie: string): void {
    this.metrics.inc('im_connections_opened_total', { transport: this.transport });
    const client = new WsClient(this.transport, this.opener.nextId(), ws, socket, remote, cookie, this.options.limits, this.options.coalescer, this.counters);
    const ref = this.opener.open(client);
    client.ref = ref;
    const maxBodySize = this.options.maxBodySize;
    ws.on('message', (data: Buffer) => {
      const decoded = decodeFrame(data, maxBodySize);
      if (decoded instanceof ImError) {
        ref.tell({ type: 'protocolError', error: decoded });
        return;
      }
      client.received();
      ref.tell({ type: 'packet', packet: ownedPacket(decoded) });
    });
    let frameError: ImError | undefined;
    ws.on('error', (err: Error & { code?: string }) => {
      if (!err.code?.startsWith('WS_ERR_')) {
        this.log.debug('ws socket error', { component: 'ws-edge', transport: this.transport, conn: client.id, error: err.message });
        return;
      }
      // ws closes the socket itself after a framing error; report it as this connection's protocol error.
      frameError = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? new ImError('WS_FRAME_TOO_LARGE', err.message)
        : new ImError('WS_PROTOCOL', `${err.code}: ${err.message}`);
      ref.tell({ type: 'protocolError', error: frameError });
    });
    ws.once('close', () => {
      if (client.closed || frameError) return;
      client.closed = true;
      ref.tell({ type: 'socketClosed', reason: 'client_closed' });
    });
  }
}

/**
 * A goim client for tests, over ws or tcp, either in plain text or inside
 * TLS (wss, TLS tcp: pass `tls`): sends packets, records every packet it
 * receives (op-9 batches are walked into their inner packets and marked),
 * and waits for what a test expects.
 */
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { walkBatch } from '../../system/codec/batch';
import { encodePacket, Op, readHeader } from '../../system/codec/packet';
import { StreamDecoder } from '../../system/codec/stream-decoder';

export interface Received {
  readonly ver: number;
  readonly op: number;
  readonly seq: number;
  readonly body: Buffer;
  /** Arrived inside an op-9 frame (ws only; tcp clients never see op 9). */
  readonly batched: boolean;
}

export interface AuthReply {
  key: string;
  mid: number;
  room_id: string;
  heartbeat: number;
  heartbeat_timeout: number;
}

export const GOIM_TOKEN = { mid: 123, room_id: 'live://1000', platform: 'web', accepts: [1000, 1001, 1002] };

/** What a TLS client trusts and presents. */
export interface TlsOptions {
  /** CAs the server's certificate must chain to (Node's own roots when absent). */
  ca?: Buffer;
  /** A client certificate and its key, presented when the server asks. */
  cert?: Buffer;
  key?: Buffer;
}

export interface WsOptions {
  /** Default 127.0.0.1. */
  host?: string;
  path?: string;
  headers?: Record<string, string>;
  protocols?: string[];
  /** Connects with wss:// instead of ws://. */
  tls?: TlsOptions;
  /** The source address (127.0.0.x on loopback): another client IP. */
  localAddress?: string;
}

export interface TcpOptions {
  /** Speaks the protocol inside TLS. */
  tls?: TlsOptions;
  /** The source address (127.0.0.x on loopback): another client IP. */
  localAddress?: string;
}

export class TestClient {
  readonly packets: Received[] = [];
  /** Raw ws frames / tcp chunks, as they arrived. */
  readonly frames: Buffer[] = [];
  closed = false;
  closeInfo: { code?: number; reason?: string } = {};
  private readonly waiters = new Set<() => void>();
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(readonly transport: 'ws' | 'tcp', private readonly ws: WebSocket | null, private readonly socket: net.Socket | null) {}

  static ws(port: number, options: WsOptions = {}): Promise<TestClient> {
    const url = `${options.tls ? 'wss' : 'ws'}://${options.host ?? '127.0.0.1'}:${port}${options.path ?? '/sub'}`;
    const ws = new WebSocket(url, options.protocols, { headers: options.headers, perMessageDeflate: false, localAddress: options.localAddress, ...options.tls });
    const client = new TestClient('ws', ws, null);
    ws.on('message', (data: Buffer) => client.onWsFrame(data));
    ws.on('close', (code, reason) => client.onClose({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode })));
      ws.once('error', reject);
    });
  }

  static tcp(port: number, options: TcpOptions = {}): Promise<TestClient> {
    const at = { port, host: '127.0.0.1', localAddress: options.localAddress };
    const socket = options.tls ? tls.connect({ ...at, ...options.tls }) : net.connect(at);
    const client = new TestClient('tcp', null, socket);
    const decoder = new StreamDecoder(64 * 1024 * 1024, {
      packet: (p) => client.push({ ...p, body: Buffer.from(p.body), batched: false }),
      error: (e) => { throw e; },
    });
    socket.on('data', (chunk: Buffer) => {
      client.frames.push(chunk);
      decoder.push(chunk);
    });
    socket.on('close', () => client.onClose({}));
    socket.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** Connects and authenticates with the goim token (or the one given); `tls` makes it wss or TLS tcp. */
  static async online(
    transport: 'ws' | 'tcp', port: number, token: object = GOIM_TOKEN, tls?: TlsOptions,
  ): Promise<{ client: TestClient; auth: AuthReply }> {
    const client = transport === 'ws' ? await TestClient.ws(port, { tls }) : await TestClient.tcp(port, { tls });
    const auth = await client.auth(token);
    return { client, auth };
  }

  send(op: number, body: Buffer | string = '', ver = 1, seq = 1): void {
    this.writeRaw(encodePacket(ver, op, seq, body));
  }

  /** Bytes exactly as given: one binary frame on ws, raw stream bytes on tcp. */
  writeRaw(bytes: Buffer): void {
    if (this.ws) this.ws.send(bytes, { binary: true });
    else this.socket?.write(bytes);
  }

  /**
   * Several packets in one socket write (pipelined): one binary frame each on
   * ws, back to back on tcp. The socket is corked around the frames so they
   * leave together and the server reads them in one chunk.
   */
  writeTogether(packets: readonly Buffer[]): void {
    const socket = this.rawSocket();
    socket.cork();
    for (const bytes of packets) this.writeRaw(bytes);
    socket.uncork();
  }

  writeText(text: string): void {
    this.ws?.send(text, { binary: false });
  }

  /** Bytes exactly as given, in one ws text frame (need not be UTF-8; the server skips validation). */
  writeRawText(bytes: Buffer): void {
    this.ws?.send(bytes, { binary: false });
  }

  async auth(token: object | string = GOIM_TOKEN): Promise<AuthReply> {
    this.send(Op.Auth, typeof token === 'string' ? token : JSON.stringify(token));
    const reply = await this.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8');
    return JSON.parse(reply.body.toString('utf8')) as AuthReply;
  }

  /** Sends op 2 and returns op 3's online count. */
  async heartbeat(): Promise<number> {
    const before = this.packets.length;
    this.send(Op.Heartbeat);
    const reply = await this.waitFor((p, i) => i >= before && p.op === Op.HeartbeatReply, 5000, 'op 3');
    return reply.body.readInt32BE(0);
  }

  received(op: number): Received[] {
    return this.packets.filter((p) => p.op === op);
  }

  bodies(op: number): string[] {
    return this.received(op).map((p) => p.body.toString('utf8'));
  }

  waitFor(predicate: (p: Received, index: number) => boolean, timeoutMs = 5000, what = 'a packet'): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.packets.findIndex(predicate);
        if (index === -1) return false;
        cleanup();
        resolve(this.packets[index]);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.transport} client: timed out waiting for ${what}; got ops [${this.packets.map((p) => p.op).join(',')}] closed=${this.closed}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      if (!check()) this.waiters.add(waiter);
    });
  }

  waitForClose(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.transport} client: not closed within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The op-6 reason the server sent before closing, if any. */
  disconnectReason(): { code: string; reason: string } | undefined {
    const p = this.received(Op.DisconnectReply)[0];
    return p ? (JSON.parse(p.body.toString('utf8')) as { code: string; reason: string }) : undefined;
  }

  close(): void {
    if (this.ws) this.ws.close();
    else this.socket?.end();
  }

  /** Stops reading and writing without closing: the server sees a silent peer. */
  goSilent(): void {
    this.rawSocket().pause();
  }

  /** Reads again after goSilent: the kernel's buffers, and then the server's queue, drain to this client. */
  resumeReading(): void {
    this.rawSocket().resume();
  }

  destroy(): void {
    if (this.ws) this.ws.terminate();
    else this.socket?.destroy();
  }

  /** The TCP socket under either transport (ws keeps its own private). */
  private rawSocket(): net.Socket {
    const socket = this.ws ? (this.ws as unknown as { _socket: net.Socket })._socket : this.socket;
    if (!socket) throw new Error(`${this.transport} client has no socket`);
    return socket;
  }

  private push(p: Received): void {
    this.packets.push(p);
    for (const waiter of [...this.waiters]) waiter();
  }

  private onWsFrame(frame: Buffer): void {
    this.frames.push(Buffer.from(frame));
    if (frame.length < 16) throw new Error(`ws frame shorter than a header: ${frame.length}`);
    const h = readHeader(frame, 0);
    if (h.op === Op.Raw) {
      const error = walkBatch(frame.subarray(16, h.packLen), (inner) => this.push({ ...inner, body: Buffer.from(inner.body), batched: true }));
      if (error) throw error;
      return;
    }
    this.push({ ver: h.ver, op: h.op, seq: h.seq, body: Buffer.from(frame.subarray(16, h.packLen)), batched: false });
  }

  private onClose(info: { code?: number; reason?: string }): void {
    this.closed = true;
    this.closeInfo = info;
    for (const waiter of this.closeWaiters.splice(0)) waiter();
    for (const waiter of [...this.waiters]) waiter();
  }
}

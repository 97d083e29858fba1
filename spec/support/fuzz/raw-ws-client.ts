/**
 * A WebSocket client that writes frames byte for byte (RFC 6455 §5.2), so
 * fuzz connections can send what no library would: bad opcodes, reserved
 * bits, unmasked frames, lying lengths, fragments out of order. It reads the
 * server's frames back into packets (op-9 batches are not expected: the
 * fuzz connections get no pushes).
 */
import net from 'node:net';
import { Op, encodePacket } from '../../../system/codec/packet';

export interface WsFrameSpec {
  readonly opcode: number;
  readonly payload: Buffer;
  readonly fin?: boolean;
  /** RSV1..3 as one 3-bit number (RSV1 is 4): a client may set none of them without an extension. */
  readonly rsv?: number;
  /** Masking key; null sends the frame unmasked (a client must not). */
  readonly mask?: Buffer | null;
  /** A length header that lies about the payload that follows. */
  readonly declaredLength?: number;
}

const ZERO_MASK = Buffer.alloc(4);

/** One client frame as it goes on the wire. */
export function clientFrame(f: WsFrameSpec): Buffer {
  const mask = f.mask === undefined ? ZERO_MASK : f.mask;
  const length = f.declaredLength ?? f.payload.length;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | (f.opcode & 0x0f)];
  const maskBit = mask === null ? 0 : 0x80;
  let lengthBytes: Buffer;
  if (length < 126) {
    head.push(maskBit | length);
    lengthBytes = Buffer.alloc(0);
  } else if (length < 65536) {
    head.push(maskBit | 126);
    lengthBytes = Buffer.alloc(2);
    lengthBytes.writeUInt16BE(length, 0);
  } else {
    head.push(maskBit | 127);
    lengthBytes = Buffer.alloc(8);
    lengthBytes.writeUInt32BE(Math.floor(length / 0x100000000), 0);
    lengthBytes.writeUInt32BE(length >>> 0, 4);
  }
  const payload = Buffer.from(f.payload);
  if (mask !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from(head), lengthBytes, mask ?? Buffer.alloc(0), payload]);
}

export interface ServerPacket {
  readonly op: number;
  readonly body: Buffer;
}

export class RawWsClient {
  readonly packets: ServerPacket[] = [];
  /** The close code in the server's close frame, when it sent one. */
  closeCode: number | null = null;
  closed = false;
  private rest = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: net.Socket) {}

  static connect(port: number, path = '/sub'): Promise<RawWsClient> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
          return;
        }
        const client = new RawWsClient(socket);
        socket.on('data', (more: Buffer) => client.onData(more));
        socket.on('close', () => client.onClose());
        const early = Buffer.from(head.slice(end + 4), 'latin1');
        if (early.length > 0) client.onData(early);
        resolve(client);
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('connect', () => {
        const key = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64');
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
    });
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends op 7 with the token in one masked binary frame and waits for op 8. */
  async auth(token: object): Promise<void> {
    this.write(clientFrame({ opcode: 2, payload: encodePacket(1, Op.Auth, 1, JSON.stringify(token)) }));
    await this.waitUntil(() => this.packets.some((p) => p.op === Op.AuthReply), 5000, 'op 8');
  }

  waitForClose(timeoutMs: number): Promise<void> {
    return this.waitUntil(() => this.closed, timeoutMs, 'the server to close');
  }

  /** The code in the server's op 6, if it sent one. */
  disconnectCode(): string | null {
    const p = this.packets.find((q) => q.op === Op.DisconnectReply);
    if (!p) return null;
    const parsed: unknown = JSON.parse(p.body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && 'code' in parsed && typeof parsed.code === 'string' ? parsed.code : null;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`raw ws client: timed out waiting for ${what}; ops [${this.packets.map((p) => p.op).join(',')}] closed=${this.closed}`));
      }, timeoutMs);
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private onData(chunk: Buffer): void {
    let buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    for (;;) {
      if (buf.length < 2) break;
      let length = buf[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        length = buf.readUInt32BE(2) * 0x100000000 + buf.readUInt32BE(6);
        at = 10;
      }
      if (buf.length < at + length) break;
      const opcode = buf[0] & 0x0f;
      const payload = buf.subarray(at, at + length);
      if (opcode === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        // Answer as a peer should (RFC 6455 §5.5.1), so the server ends the socket now rather than at its linger timeout.
        this.write(clientFrame({ opcode: 0x8, payload: payload.subarray(0, 2) }));
      }
      if ((opcode === 0x2 || opcode === 0x1) && payload.length >= 16) {
        this.packets.push({ op: payload.readInt32BE(8), body: Buffer.from(payload.subarray(16, payload.readUInt32BE(0))) });
      }
      buf = buf.subarray(at + length);
    }
    this.rest = Buffer.from(buf);
    this.notify();
  }

  private onClose(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

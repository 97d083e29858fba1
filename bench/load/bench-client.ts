/**
 * One load-generator client on a raw socket: goim over TCP, goim over a
 * WebSocket, or Socket.IO (engine.io v4) over a WebSocket. It does the
 * handshake and the auth, answers pings, and counts what arrives with a
 * minimal in-place parser: a read is copied only when a frame straddles two
 * reads.
 */
import net from 'node:net';
import type { ClientTarget } from '../lib/commands';
import { Recorder } from './recorder';
import { WS_BINARY, WS_CLOSE, WS_PING, WS_PONG, WS_TEXT, clientFrame } from './ws-frames';

const OP_HEARTBEAT_REPLY = 3;
const OP_DISCONNECT_REPLY = 6;
const OP_AUTH_REPLY = 8;
const OP_RAW = 9;
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_CARRY = 16 * 1024 * 1024;
const CH_0 = 0x30;
const CH_2 = 0x32;
const CH_4 = 0x34;
const CH_M = 0x6d;
const CH_B = 0x62;
const CH_BRACE = 0x7b;

/** Bytes every client of one worker sends alike, built once. */
export interface SharedFrames {
  readonly upgrade: Buffer;
  /** goim op 2 as the transport needs it (a masked frame, or a bare packet over TCP). */
  readonly heartbeat: Buffer;
  /** engine.io pong ("3"). */
  readonly sioPong: Buffer;
}

type Phase = 'connecting' | 'upgrade' | 'auth' | 'ready' | 'closed';

export class BenchClient {
  open = false;
  private phase: Phase = 'connecting';
  private carry: Buffer | null = null;
  private settled = false;
  private readonly socket: net.Socket;

  /** `auth` is the first thing sent after the upgrade (ws) or the connect (tcp), already framed. */
  constructor(
    private readonly target: ClientTarget,
    private readonly shared: SharedFrames,
    private readonly auth: Buffer,
    private readonly rec: Recorder,
    localAddress: string,
    private readonly onSettled: (err: Error | null) => void,
  ) {
    this.socket = net.connect({ host: '127.0.0.1', port: target.port, localAddress });
    this.socket.setNoDelay(true);
    this.socket.once('connect', () => this.onConnect());
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: Error) => this.fail(err));
    this.socket.on('close', () => {
      this.phase = 'closed';
      this.open = false;
      this.settle(new Error('closed before auth completed'));
    });
  }

  heartbeat(): void {
    if (this.open && this.target.protocol !== 'sio') this.socket.write(this.shared.heartbeat);
  }

  /** Closes with a TCP reset: no TIME_WAIT left behind. */
  reset(): void {
    this.open = false;
    this.phase = 'closed';
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private onConnect(): void {
    if (this.target.protocol === 'goim-tcp') {
      this.phase = 'auth';
      this.socket.write(this.auth);
    } else {
      this.phase = 'upgrade';
      this.socket.write(this.shared.upgrade);
    }
  }

  private onData(chunk: Buffer): void {
    this.rec.beginRead();
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    if (this.phase === 'upgrade') {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        this.keep(buf, 0);
        return;
      }
      if (buf.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
        this.fail(new Error(`upgrade refused: ${buf.toString('latin1', 0, Math.min(end, 80))}`));
        return;
      }
      pos = end + 4;
      this.phase = 'auth';
      if (this.target.protocol === 'goim-ws') this.socket.write(this.auth);
    }
    pos = this.target.protocol === 'goim-tcp' ? this.packets(buf, pos) : this.frames(buf, pos);
    if (pos < buf.length) this.keep(buf, pos);
  }

  private keep(buf: Buffer, from: number): void {
    if (buf.length - from > MAX_CARRY) {
      this.fail(new Error('unparsable input'));
      return;
    }
    this.carry = buf.subarray(from);
  }

  /** goim over TCP: packets framed on packLen. Returns where the unconsumed bytes start. */
  private packets(buf: Buffer, pos: number): number {
    while (buf.length - pos >= 4 && this.phase !== 'closed') {
      const n = buf.readUInt32BE(pos);
      if (n < 16) {
        this.fail(new Error(`bad packLen ${n}`));
        return buf.length;
      }
      if (buf.length - pos < n) break;
      this.packet(buf, pos, n);
      pos += n;
    }
    return pos;
  }

  /** Server WebSocket frames: unmasked, final; 7-bit, 16-bit or 64-bit lengths. */
  private frames(buf: Buffer, pos: number): number {
    while (buf.length - pos >= 2 && this.phase !== 'closed') {
      const opcode = buf[pos] & 0x0f;
      let length = buf[pos + 1] & 0x7f;
      let head = 2;
      if (length === 126) {
        if (buf.length - pos < 4) break;
        length = buf.readUInt16BE(pos + 2);
        head = 4;
      } else if (length === 127) {
        if (buf.length - pos < 10) break;
        length = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
        head = 10;
      }
      if (buf.length - pos < head + length) break;
      this.frame(opcode, buf, pos + head, length);
      pos += head + length;
    }
    return pos;
  }

  private frame(opcode: number, buf: Buffer, off: number, len: number): void {
    if (opcode === WS_BINARY || opcode === WS_TEXT) {
      if (this.target.protocol === 'sio') this.sio(buf, off, len);
      else if (len >= 16) this.packet(buf, off, Math.min(len, buf.readUInt32BE(off)));
    } else if (opcode === WS_PING) {
      this.socket.write(clientFrame(WS_PONG, buf.subarray(off, off + len)));
    } else if (opcode === WS_CLOSE) {
      this.phase = 'closed';
    }
  }

  /** One goim packet of `len` bytes at `off`; op 9 is walked by inner packLen. */
  private packet(buf: Buffer, off: number, len: number): void {
    const op = buf.readInt32BE(off + 8);
    if (op === OP_RAW) {
      const end = off + len;
      for (let p = off + 16; p + 16 <= end;) {
        const n = buf.readUInt32BE(p);
        if (n < 16 || p + n > end) break;
        this.rec.message(buf, p + 16, n - 16);
        p += n;
      }
    } else if (op === OP_AUTH_REPLY) {
      this.ready();
    } else if (op !== OP_HEARTBEAT_REPLY && op !== OP_DISCONNECT_REPLY) {
      this.rec.message(buf, off + 16, len - 16);
    }
  }

  /**
   * engine.io/socket.io text packets: "0{..}" open -> send the CONNECT with
   * auth; "2" ping -> "3"; "40.." connected; `42["m",X]` one message;
   * `42["b",[..]]` a batch, one message per object in it.
   */
  private sio(buf: Buffer, off: number, len: number): void {
    const c0 = buf[off];
    if (c0 === CH_0) {
      this.socket.write(this.auth);
    } else if (c0 === CH_2) {
      this.socket.write(this.shared.sioPong);
    } else if (c0 === CH_4 && len >= 2) {
      const c1 = buf[off + 1];
      if (c1 === CH_0) this.ready();
      else if (c1 === CH_4) this.fail(new Error(`socket.io refused: ${buf.toString('latin1', off, off + Math.min(len, 80))}`));
      else if (c1 === CH_2 && len >= 10) this.sioEvent(buf, off, len);
    }
  }

  private sioEvent(buf: Buffer, off: number, len: number): void {
    const name = buf[off + 4];
    if (name === CH_M) {
      // 42["m","<10 digits>"]: the body starts at 8 and is followed by `"]`.
      this.rec.message(buf, off + 8, len - 10);
    } else if (name === CH_B) {
      let n = 0;
      for (let i = off + 6; i < off + len; i++) if (buf[i] === CH_BRACE) n++;
      if (n > 0) this.rec.count(n);
    }
  }

  private ready(): void {
    if (this.phase !== 'auth') return;
    this.phase = 'ready';
    this.open = true;
    this.settle(null);
  }

  private settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled(err);
  }

  private fail(err: Error): void {
    this.settle(err);
    this.reset();
  }
}

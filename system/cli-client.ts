/**
 * `im-cloud client`: a terminal goim client. Connects over ws or tcp,
 * authenticates with the given token, heartbeats, sends the given upstream
 * messages (op 4), and prints every message it receives (op-9 batches are
 * opened) and each op 5 as an ack or an error ack, one line each.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { walkBatch } from './codec/batch';
import { parseErrorAck } from './codec/error-ack';
import { encodePacket, Op, Packet, readHeader } from './codec/packet';
import { StreamDecoder } from './codec/stream-decoder';

export interface ClientOptions {
  readonly token: string;
  readonly transport: 'ws' | 'tcp';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Bodies sent as op 4 once authenticated, in order (seq 2, 3, ...). */
  readonly send: readonly string[];
  readonly out: (line: string) => void;
}

/** The op-5 line: the echo of what was sent under that seq is an ack; an error-ack body that is not that echo is an error ack. */
function describeAck(p: Packet, sent: Buffer | undefined): string {
  const failure = sent !== undefined && p.body.equals(sent) ? null : parseErrorAck(p.body);
  if (failure) return `error ack seq=${p.seq} ${failure.error}: ${failure.message}`;
  return `ack seq=${p.seq} body=${p.body.toString('utf8')}`;
}

function describe(p: Packet): string {
  return `op=${p.op} ver=${p.ver} seq=${p.seq} body=${p.body.toString('utf8')}`;
}

/** Resolves with the exit code when the connection ends (1) or the process is interrupted (0). */
export function runClient(o: ClientOptions): Promise<number> {
  return new Promise((resolve) => {
    let heartbeat: NodeJS.Timeout | null = null;
    let send: (bytes: Buffer) => void = () => undefined;
    let closeSocket: () => void = () => undefined;
    const sent = new Map<number, Buffer>();
    const finish = (code: number, why: string): void => {
      if (heartbeat) clearInterval(heartbeat);
      o.out(`closed: ${why}`);
      resolve(code);
    };
    const onPacket = (p: Packet): void => {
      switch (p.op) {
        case Op.AuthReply: {
          const reply = JSON.parse(p.body.toString('utf8') || '{}') as { key?: string; mid?: number; room_id?: string; heartbeat?: number };
          o.out(`authenticated: key=${reply.key ?? '?'} mid=${reply.mid ?? '?'} room=${reply.room_id ?? ''}`);
          const every = Math.max(1, reply.heartbeat ?? 30) * 1000;
          heartbeat = setInterval(() => send(encodePacket(1, Op.Heartbeat, 1, '')), every);
          o.send.forEach((text, i) => {
            const seq = i + 2;
            const body = Buffer.from(text, 'utf8');
            sent.set(seq, body);
            send(encodePacket(1, Op.SendMsg, seq, body));
          });
          return;
        }
        case Op.HeartbeatReply:
          return;
        case Op.SendMsgReply:
          o.out(describeAck(p, sent.get(p.seq)));
          sent.delete(p.seq);
          return;
        case Op.Raw: {
          const bad = walkBatch(p.body, (inner) => o.out(`message ${describe(inner)}`));
          if (bad) o.out(`bad batch: ${bad.message}`);
          return;
        }
        case Op.DisconnectReply:
          o.out(`disconnected by server: ${p.body.toString('utf8')}`);
          return;
        default:
          o.out(`message ${describe(p)}`);
      }
    };
    const auth = encodePacket(1, Op.Auth, 1, o.token);
    if (o.transport === 'tcp') {
      const socket = net.connect(o.port, o.host);
      const decoder = new StreamDecoder(64 * 1024 * 1024, { packet: onPacket, error: (e) => o.out(`bad packet from server: ${e.message}`) });
      send = (bytes) => void socket.write(bytes);
      closeSocket = () => socket.end();
      socket.on('connect', () => {
        o.out(`connected: tcp ${o.host}:${o.port}`);
        send(auth);
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
      socket.on('error', (err) => o.out(`error: ${err.message}`));
      socket.on('close', () => finish(1, 'connection closed'));
    } else {
      const url = `ws://${o.host}:${o.port}${o.path}`;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      send = (bytes) => ws.send(bytes, { binary: true });
      closeSocket = () => ws.close();
      ws.on('open', () => {
        o.out(`connected: ${url}`);
        send(auth);
      });
      ws.on('message', (data: Buffer) => {
        if (data.length < 16) return;
        const h = readHeader(data, 0);
        onPacket({ ver: h.ver, op: h.op, seq: h.seq, body: data.subarray(16, Math.min(h.packLen, data.length)) });
      });
      ws.on('error', (err) => o.out(`error: ${err.message}`));
      ws.on('close', (code) => finish(1, `websocket closed (${code})`));
    }
    process.once('SIGINT', () => {
      closeSocket();
      resolve(0);
    });
  });
}

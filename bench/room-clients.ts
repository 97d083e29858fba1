/**
 * Load-generator process for the room checks: N ws clients join one room,
 * count every message (walking op-9 batches) and sample latency from the
 * send time each message carries. Reports over IPC: `done` once every client
 * has `expected` messages (room-batching), and, asked `count`, the messages
 * received so far and the latency since the last `count` (slow-consumer's
 * fixed windows; run with expected 0).
 */
import WebSocket from 'ws';
import { encodePacket, Op } from '../system/codec/packet';
import { spread } from './suite/stats';

const [portArg, countArg, expectedArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const expected = Number(expectedArg);
const SAMPLED_CLIENTS = 20;
const auth = encodePacket(1, Op.Auth, 1, JSON.stringify({ mid: 1, room_id: 'live://bench', platform: 'web', accepts: [1000] }));
const now = (): number => performance.timeOrigin + performance.now();

let received = 0;
let firstAt = 0;
let lastAt = 0;
const latencies: number[] = [];
const sockets: WebSocket[] = [];

/** Messages carry their send time as the first 8 bytes of the body (float64). */
function onMessage(sampled: boolean, frame: Buffer): void {
  const op = frame.readInt32BE(8);
  const t = now();
  const take = (body: Buffer): void => {
    received++;
    if (firstAt === 0) firstAt = t;
    lastAt = t;
    if (sampled && body.length >= 8) latencies.push(t - body.readDoubleBE(0));
  };
  if (op === Op.Raw) {
    for (let at = 16; at < frame.length;) {
      const len = frame.readUInt32BE(at);
      take(frame.subarray(at + 16, at + len));
      at += len;
    }
  } else if (op === 1000) {
    take(frame.subarray(16));
  }
}

async function main(): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/sub`, { perMessageDeflate: false });
      ws.once('open', () => ws.send(auth));
      ws.once('message', () => {
        ws.on('message', (d: Buffer) => onMessage(i < SAMPLED_CLIENTS, d));
        resolve();
      });
      ws.once('error', reject);
      sockets.push(ws);
    });
  }
  process.send?.({ type: 'ready' });
  if (expected === 0) return;
  const deadline = Date.now() + 60_000;
  while (received < count * expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const { p50, p99, max } = spread(latencies.sort((a, b) => a - b));
  process.send?.({ type: 'done', received, seconds: (lastAt - firstAt) / 1000, p50, p99, max });
}

/** Where the latencies of the current `count` window start. */
let windowFrom = 0;

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'count') {
    const { p50, p99, max } = spread(latencies.slice(windowFrom).sort((a, b) => a - b));
    windowFrom = latencies.length;
    // Stamped here: the reply may wait behind the clients' traffic before the asker reads it.
    process.send?.({ type: 'count', received, at: now(), p50, p99, max });
    return;
  }
  if (msg.type !== 'close') return;
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});

main().catch((err: Error) => {
  process.send?.({ type: 'error', message: err.message });
  process.exit(1);
});

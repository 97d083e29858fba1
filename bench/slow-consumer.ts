/**
 * One stalled client among readers: 5,000 ws clients (another process) and
 * one goim tcp client that stops reading at its socket (so the kernel's
 * buffers fill, then the node's queue), all in one room, under a steady
 * BroadcastRoom over real gRPC. Run twice in one process, without and with
 * the stalled client; prints the readers' delivered rate with it against
 * without (the goal: within 10%) and the node's RSS over the run.
 *
 *   node dist/bench/slow-consumer.js [--readers 5000] [--rate 20] [--seconds 15] [--body 1024]
 *
 * Also part of `npm run bench -- --full`.
 */
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { CloudClient } from '../proto/generated/im/cloud/Cloud';
import { encodePacket, Op } from '../system/codec/packet';
import { closeClientChannel, loadWireProtos } from '../system/proto-loader';
import { optionValue } from './lib/argv';
import { startCloudUnderTest } from './lib/cloud-under-test';

export interface SlowConsumerRun {
  readonly stalled: boolean;
  readonly sent: number;
  /** Messages per second per reader, from their first to their last message. */
  readonly readerRate: number;
  readonly delivered: number;
  readonly rssMiB: number[];
  readonly slowDrops: number;
  readonly slowClosed: number;
}

export interface SlowConsumerResult {
  readonly readers: number;
  readonly rate: number;
  readonly seconds: number;
  readonly bodyBytes: number;
  readonly without: SlowConsumerRun;
  readonly with: SlowConsumerRun;
  /** with.readerRate / without.readerRate. */
  readonly ratio: number;
}

const ROOM = 'live://bench';
const MiB = 1024 * 1024;

function stalledClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(encodePacket(1, Op.Auth, 1, JSON.stringify({ mid: 2, key: 'stalled', room_id: ROOM, accepts: [1000] })));
    });
    // After op 8 it never reads again: the kernel's receive buffer, then its send buffer, then the node's queue fill.
    socket.once('data', () => {
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function runOnce(readers: number, rate: number, seconds: number, bodyBytes: number, stalled: boolean, log: (l: string) => void): Promise<SlowConsumerRun> {
  const cloud = await startCloudUnderTest();
  const node = cloud.node;
  const total = rate * seconds;
  const child = fork(path.join(__dirname, 'room-clients.js'), [String(node.ports.ws), String(readers), String(total)]);
  const done = new Promise<{ received: number; seconds: number }>((resolve, reject) => {
    child.on('message', (msg: { type: string; received?: number; seconds?: number; message?: string }) => {
      if (msg.type === 'done') resolve({ received: msg.received ?? 0, seconds: msg.seconds ?? 0 });
      else if (msg.type === 'error') reject(new Error(msg.message));
    });
  });
  await new Promise<void>((resolve) => child.on('message', (msg: { type: string }) => msg.type === 'ready' && resolve()));
  const slow = stalled ? await stalledClient(node.ports.tcp) : null;
  const { im } = loadWireProtos();
  const client: CloudClient = new im.cloud.Cloud(`127.0.0.1:${node.ports.grpc}`, grpc.credentials.createInsecure());
  const rss: number[] = [];
  const padding = Buffer.alloc(Math.max(0, bodyBytes - 8), 'x');
  const started = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = started + (sent * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = Buffer.alloc(8 + padding.length);
    body.writeDoubleBE(performance.timeOrigin + performance.now(), 0);
    padding.copy(body, 8);
    await new Promise<void>((resolve, reject) => client.BroadcastRoom({ roomID: ROOM, proto: { ver: 1, op: 1000, seq: 0, body } }, (err) => (err ? reject(err) : resolve())));
    sent++;
    if (sent % rate === 0) rss.push(Math.round(process.memoryUsage().rss / MiB));
  }
  const result = await done;
  const run: SlowConsumerRun = {
    stalled, sent, delivered: result.received,
    readerRate: result.seconds > 0 ? result.received / readers / result.seconds : 0,
    rssMiB: rss,
    slowDrops: node.metrics.get('im_slow_consumer_drops_total', { transport: 'tcp' }),
    slowClosed: node.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' }),
  };
  log(`  ${stalled ? 'with' : 'without'} the stalled client: ${run.delivered}/${readers * total} delivered, ${run.readerRate.toFixed(2)} msg/s per reader, `
    + `RSS MiB ${rss.join(' ')}; slow-consumer drops ${run.slowDrops}, closed ${run.slowClosed}`);
  closeClientChannel(client);
  slow?.destroy();
  child.send({ type: 'close' });
  await cloud.stop();
  return run;
}

export async function measureSlowConsumer(readers: number, rate: number, seconds: number, bodyBytes: number, log: (l: string) => void): Promise<SlowConsumerResult> {
  log(`slow consumer: ${readers} readers + 1 stalled tcp client, one room, BroadcastRoom ${rate}/s × ${seconds} s, ${bodyBytes}-byte bodies`);
  const without = await runOnce(readers, rate, seconds, bodyBytes, false, log);
  const withStalled = await runOnce(readers, rate, seconds, bodyBytes, true, log);
  const ratio = without.readerRate > 0 ? withStalled.readerRate / without.readerRate : 0;
  return { readers, rate, seconds, bodyBytes, without, with: withStalled, ratio };
}

export function slowConsumerLine(r: SlowConsumerResult): string {
  const met = Math.abs(1 - r.ratio) <= 0.1 ? 'met' : 'NOT met';
  return `slow consumer (${r.readers} readers + 1 stalled): readers' rate with/without ${r.ratio.toFixed(3)} (goal within 10%: ${met}); `
    + `RSS at end ${r.without.rssMiB.at(-1) ?? '?'} MiB without, ${r.with.rssMiB.at(-1) ?? '?'} MiB with (max ${Math.max(...r.with.rssMiB)}); `
    + `stalled client: ${r.with.slowDrops} room pushes dropped, ${r.with.slowClosed} closed`;
}

if (require.main === module) {
  const num = (name: string, fallback: number): number => Number(optionValue(name) ?? fallback);
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  measureSlowConsumer(num('readers', 5000), num('rate', 20), num('seconds', 15), num('body', 1024), log).then(
    (r) => {
      process.stdout.write(`${slowConsumerLine(r)}\n`);
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}

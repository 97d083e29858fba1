/**
 * Child process of push-gc: PushMsg over real gRPC to keys idle-0 .. idle-(n-1)
 * at a steady rate, on request; answers with the calls' latency percentiles.
 *
 *   argv: <cloud gRPC host:port> <n> <rate per second> [streams: 0 calls PushMsg unary (as goim's job does); default 2, as our logic node]
 */
import { GrpcCloudClient } from '../system/cloud-client';
import { paced } from './suite/pacing';
import { spread } from './suite/stats';

export interface PusherRun {
  readonly type: 'run';
  readonly seconds: number;
}

export interface PusherResult {
  readonly type: 'done';
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const [address, nArg, rateArg, streamsArg] = process.argv.slice(2);
const n = Number(nArg);
const rate = Number(rateArg);
const streams = Number(streamsArg ?? '2');
const client = new GrpcCloudClient(address, 5000, null, undefined, null, streams > 0 ? { count: streams, reprobeMs: 60_000, log: console } : null);
const body = Buffer.from('{"test":1}');

async function run(seconds: number): Promise<PusherResult> {
  const latencies: number[] = [];
  const drive = await paced(rate, rate * seconds, 500, seconds * 1000 + 10_000, async (i) => {
    const started = performance.now();
    await client.pushMsg([`idle-${(i * 7919) % n}`], 1000, { ver: 1, op: 1000, seq: 0, body });
    latencies.push(performance.now() - started);
  });
  const { p50, p99, max } = spread(latencies.sort((a, b) => a - b));
  return { type: 'done', sent: drive.sent, failed: drive.failed, skipped: drive.skipped, p50Ms: p50, p99Ms: p99, maxMs: max };
}

process.on('message', (msg: PusherRun) => {
  if (msg.type !== 'run') return;
  run(msg.seconds).then(
    (result) => process.send?.(result),
    (err: Error) => process.send?.({ type: 'error', message: err.message }),
  );
});
process.on('disconnect', () => {
  client.close();
  process.exit(0);
});
process.send?.({ type: 'ready' });

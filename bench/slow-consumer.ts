/**
 * One stalled client among readers: N ws readers (another process) and one
 * goim tcp client that stops reading at its socket, all in one room, under a
 * steady BroadcastRoom over real gRPC. Runs without and with the stalled
 * client, alternating which comes first, `--repeats` times each, every run on
 * a fresh node; reports the readers' delivered rate over a fixed window after
 * warm-up against the target, the node's RSS, and what happened to the
 * stalled client (the node's counters, and the op 6 it read at the end).
 *
 * On loopback the kernel holds about 4 MB for a socket that does not read
 * (its receive buffer and the node's autotuned send buffer); a broadcast of
 * 20 KB/s would need minutes to get through that. So, as soon as it stops
 * reading, the stalled client is sent key pushes of its own (PushMsg) until
 * the node holds more than slowConsumer.softBytes for it (admin
 * /connections queuedBytes): from then on the broadcasts to it are dropped,
 * and slowConsumer.hardMs after its backlog began it is closed.
 *
 *   node --expose-gc dist/bench/slow-consumer.js [--readers 5000] [--rate 20] [--body 1024]
 *     [--warmup 3] [--seconds 15] [--repeats 3] [--slow-ms 2000] [--hard-ms 8000]
 *
 * Also part of `npm run bench -- --full`.
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { GrpcCloudClient } from '../system/cloud-client';
import { CloudNode } from '../system/cloud-node';
import { adminJson } from '../spec/support/admin-client';
import { optionValue } from './lib/argv';
import { sleep } from './lib/clock';
import { startCloudUnderTest } from './lib/cloud-under-test';
import { StalledClient, StalledReading } from './lib/stalled-client';
import { fullGc } from './servers/server-kit';
import { DriveResult, paced } from './suite/pacing';
import { MAX_IN_FLIGHT, SlowConsumerOptions, SlowConsumerResult, SlowConsumerRun, StalledOutcome, slowConsumerReport, summarize } from './slow-consumer-report';

const ROOM = 'live://bench';
const STALLED_KEY = 'stalled';
const MiB = 1024 * 1024;
/** Key pushes to the stalled client are this big, this many at a time, up to PREFILL_MAX in all. */
const PREFILL_BODY = 32 * 1024;
const PREFILL_BATCH = 8;
const PREFILL_MAX = 32 * MiB;
const RSS_EVERY_MS = 500;

export const SLOW_CONSUMER_DEFAULTS: SlowConsumerOptions = {
  readers: 5000, rate: 20, bodyBytes: 1024, warmupS: 3, windowS: 15, repeats: 3, slowMs: 2000, hardMs: 8000,
};

interface ReaderCount {
  readonly received: number;
  /** When the readers' process counted (ms, on the shared clock of performance.timeOrigin + now). */
  readonly at: number;
  readonly p50: number;
  readonly p99: number;
}

/** The readers' process (room-clients), asked for its running count at the window's edges. */
class Readers {
  private constructor(private readonly child: ChildProcess) {}

  static async open(port: number, n: number): Promise<Readers> {
    const child = fork(path.join(__dirname, 'room-clients.js'), [String(port), String(n), '0']);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (msg: { type: string; message?: string }) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'error') reject(new Error(`readers: ${msg.message}`));
      });
      child.once('exit', (code) => reject(new Error(`readers exited with ${code}`)));
    });
    return new Readers(child);
  }

  count(): Promise<ReaderCount> {
    return new Promise((resolve) => {
      const onMessage = (msg: { type: string; received?: number; at?: number; p50?: number; p99?: number }): void => {
        if (msg.type !== 'count') return;
        this.child.removeListener('message', onMessage);
        resolve({ received: msg.received ?? 0, at: msg.at ?? NaN, p50: msg.p50 ?? NaN, p99: msg.p99 ?? NaN });
      };
      this.child.on('message', onMessage);
      this.child.send({ type: 'count' });
    });
  }

  async close(): Promise<void> {
    this.child.removeAllListeners('exit');
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'close' });
    await exited;
  }
}

/** The node's RSS as its admin /info reports it, every RSS_EVERY_MS until stopped. */
function sampleRss(adminPort: number): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const info = await adminJson<{ headline: { rssBytes: number } }>(adminPort, '/info');
      samples.push(info.headline.rssBytes / MiB);
      await sleep(RSS_EVERY_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

async function queuedFor(adminPort: number, key: string): Promise<number> {
  const reply = await adminJson<{ connections: { queuedBytes: number }[] }>(adminPort, `/connections?key=${encodeURIComponent(key)}`);
  return reply.connections[0]?.queuedBytes ?? 0;
}

/** Key pushes to the stalled client alone until the node holds more than slowConsumer.softBytes for it. */
async function overSoftLimit(node: CloudNode, client: GrpcCloudClient): Promise<{ pushed: number; queued: number; seconds: number }> {
  const started = Date.now();
  const body = Buffer.alloc(PREFILL_BODY, 'p');
  const soft = node.config.slowConsumer.softBytes;
  let pushed = 0;
  let queued = 0;
  while (queued <= soft && pushed < PREFILL_MAX) {
    await Promise.all(Array.from({ length: PREFILL_BATCH }, () => client.pushMsg([STALLED_KEY], 1000, { ver: 1, op: 1000, seq: 0, body })));
    pushed += PREFILL_BATCH * body.length;
    queued = await queuedFor(node.adminPort, STALLED_KEY);
  }
  return { pushed, queued, seconds: (Date.now() - started) / 1000 };
}

/**
 * Watches the node's counter of slow-consumer closes until `until`; once it
 * moves, the stalled client reads what is left for it (the node lingers
 * CLOSE_LINGER_MS for that). Not closed by then: it reads what it can for 2 s.
 */
async function readWhenClosed(
  node: CloudNode, slow: StalledClient, stoppedReading: number, until: number,
): Promise<{ closedAfterS: number | null; reading: StalledReading }> {
  const closed = (): boolean => node.metrics.get('im_client_drops_total', { transport: 'tcp', reason: 'slow_consumer' }) > 0;
  while (!closed() && Date.now() < until) await sleep(100);
  if (!closed()) return { closedAfterS: null, reading: await slow.resume(2000) };
  const closedAfterS = (Date.now() - stoppedReading) / 1000;
  return { closedAfterS, reading: await slow.resume(10_000) };
}

async function runOnce(o: SlowConsumerOptions, stalled: boolean, log: (l: string) => void): Promise<SlowConsumerRun> {
  // Each run starts from the same heap, whatever the run before it left (the node runs in this process).
  fullGc();
  await sleep(1000);
  const cloud = await startCloudUnderTest({ slowConsumer: { ms: o.slowMs, hardMs: o.hardMs } });
  const node = cloud.node;
  const readers = await Readers.open(node.ports.ws, o.readers);
  const client = new GrpcCloudClient(`127.0.0.1:${node.ports.grpc}`, 5000);
  const slow = stalled ? await StalledClient.connect(node.ports.tcp, STALLED_KEY, ROOM) : null;
  const stoppedReading = Date.now();
  // Before the broadcasts start, so both kinds of run have the same timeline from there.
  const prefill = slow ? await overSoftLimit(node, client) : null;
  const rss = sampleRss(node.adminPort);
  const padding = Buffer.alloc(Math.max(0, o.bodyBytes - 8), 'x');
  const runS = o.warmupS + o.windowS;
  const started = Date.now();
  // One more second of broadcasts than the window, so the window's last messages are not the stragglers of the last push.
  const drive: Promise<DriveResult> = paced(o.rate, o.rate * (runS + 1), MAX_IN_FLIGHT, (runS + 1) * 1000 + 10_000, () => {
    const body = Buffer.alloc(8 + padding.length);
    body.writeDoubleBE(performance.timeOrigin + performance.now(), 0);
    padding.copy(body, 8);
    return client.broadcastRoom(ROOM, { ver: 1, op: 1000, seq: 0, body });
  });
  const watch = slow ? readWhenClosed(node, slow, stoppedReading, started + (runS + 1) * 1000) : null;
  await sleep(started + o.warmupS * 1000 - Date.now());
  const first = await readers.count();
  await sleep(started + runS * 1000 - Date.now());
  const last = await readers.count();
  const windowS = (last.at - first.at) / 1000;
  const pushes = await drive;
  const watched = watch ? await watch : null;
  const rssMiB = await rss.stop();
  const outcome: StalledOutcome | null = prefill && watched ? {
    prefillBytes: prefill.pushed, queuedAfterPrefill: prefill.queued, prefillS: prefill.seconds,
    softDrops: node.metrics.get('im_slow_consumer_drops_total', { transport: 'tcp' }),
    hardDrops: node.metrics.get('im_client_drops_total', { transport: 'tcp', reason: 'slow_consumer' }),
    closed: node.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' }),
    closedAfterS: watched.closedAfterS, reading: watched.reading,
  } : null;
  const run: SlowConsumerRun = {
    stalled, pushes, windowS, delivered: last.received - first.received,
    readerRate: (last.received - first.received) / windowS / o.readers,
    latencyP50Ms: last.p50, latencyP99Ms: last.p99, rssMiB, outcome,
  };
  client.close();
  slow?.destroy();
  await readers.close();
  await cloud.stop();
  log(`  ${stalled ? 'with' : 'without'} the stalled client: ${run.readerRate.toFixed(2)} msg/s per reader (target ${o.rate}) over ${windowS.toFixed(1)} s`);
  return run;
}

export async function measureSlowConsumer(o: SlowConsumerOptions, log: (l: string) => void): Promise<SlowConsumerResult> {
  log(`slow consumer: ${o.readers} ws readers + 1 stalled tcp client in one room, BroadcastRoom ${o.rate}/s of ${o.bodyBytes}-byte bodies; `
    + `window ${o.windowS} s after ${o.warmupS} s; slowConsumer.ms ${o.slowMs}, hardMs ${o.hardMs}; ${o.repeats} × (without, with), alternating`);
  if (o.hardMs >= (o.warmupS + o.windowS) * 1000) log(`  note: slowConsumer.hardMs ${o.hardMs} is longer than the ${o.warmupS + o.windowS} s run; the stalled client may not be closed in it`);
  const runs: SlowConsumerRun[] = [];
  for (let i = 0; i < o.repeats; i++) {
    // Alternating which comes first, so a machine getting busier or quieter does not favour one side.
    for (const stalled of i % 2 === 0 ? [false, true] : [true, false]) runs.push(await runOnce(o, stalled, log));
  }
  return summarize(o, runs);
}

if (require.main === module) {
  const num = (name: string, fallback: number): number => Number(optionValue(name) ?? fallback);
  const d = SLOW_CONSUMER_DEFAULTS;
  const options: SlowConsumerOptions = {
    readers: num('readers', d.readers), rate: num('rate', d.rate), bodyBytes: num('body', d.bodyBytes), warmupS: num('warmup', d.warmupS),
    windowS: num('seconds', d.windowS), repeats: num('repeats', d.repeats), slowMs: num('slow-ms', d.slowMs), hardMs: num('hard-ms', d.hardMs),
  };
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  measureSlowConsumer(options, log).then(
    (r) => {
      process.stdout.write(`${slowConsumerReport(r)}\n`);
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}

/**
 * Where a steady stream of key pushes spends a cloud node's event loop and
 * heap. The node runs here with N idle tcp clients (another process) and a
 * test logic node (another); a third process calls PushMsg at a steady rate.
 * After one unmeasured second, for `--seconds`: the pushes' call latency,
 * the node's event-loop delay, its GC pauses, the bytes it allocates per
 * push, and who allocates them (V8's sampling heap profiler, counting
 * objects the GC has already collected). Prints markdown tables.
 *
 *   node dist/bench/push-gc.js [--n 2000] [--rate 1000] [--seconds 8] [--top 15] [--streams 2] [--survivors]
 *
 * --streams: the pusher's im.cloud.CloudStream streams, as a logic node's
 * cloud.streams (default 2); 0 calls PushMsg unary, as goim's job does.
 *
 * --survivors: count only what outlived the scavenges (promoted to old
 * space, where only a full GC frees it): the bytes that make scavenges slow
 * and the old space grow.
 */
import { ChildProcess, fork } from 'node:child_process';
import inspector from 'node:inspector';
import path from 'node:path';
import { PerformanceEntry, PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import type { PusherResult, PusherRun } from './key-pusher';
import { argValue } from './lib/argv';
import { openIdleClients, startCloudUnderTest } from './lib/cloud-under-test';
import { table } from './lib/markdown';

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

interface GcPause {
  readonly minor: boolean;
  readonly ms: number;
}

function inspectorCall<T>(session: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

function pusherRun(pusher: ChildProcess, seconds: number): Promise<PusherResult> {
  return new Promise((resolve, reject) => {
    pusher.once('message', (msg: PusherResult | { type: 'error'; message: string }) => {
      if (msg.type === 'done') resolve(msg);
      else reject(new Error(`pusher: ${msg.message}`));
    });
    pusher.send({ type: 'run', seconds } satisfies PusherRun);
  });
}

/** Who allocated: our code, grpc-js, Node's internals (http2, streams, timers), or another package. */
function originOf(url: string): string {
  if (url.includes('@grpc/grpc-js')) return 'grpc-js';
  if (url.includes('protobufjs') || url.includes('@protobufjs')) return 'protobufjs';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/')) return 'im-cloud-ts';
  // Builtins (Map, Object.keys, ...) have no script: their caller is not in a self-size profile.
  return 'V8 builtins / native';
}

function siteOf(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${file || '(native)'}${file ? `:${frame.lineNumber + 1}` : ''}`;
}

function allocations(root: ProfileNode): { total: number; byOrigin: Map<string, number>; bySite: Map<string, number> } {
  const byOrigin = new Map<string, number>();
  const bySite = new Map<string, number>();
  let total = 0;
  const stack: ProfileNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as ProfileNode;
    stack.push(...node.children);
    if (node.selfSize === 0) continue;
    total += node.selfSize;
    const origin = originOf(node.callFrame.url);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + node.selfSize);
    const site = siteOf(node.callFrame);
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  }
  return { total, byOrigin, bySite };
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;
const ms = (v: number): string => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  const n = Number(argValue('n', '2000'));
  const rate = Number(argValue('rate', '1000'));
  const seconds = Number(argValue('seconds', '8'));
  const top = Number(argValue('top', '15'));
  const survivors = process.argv.includes('--survivors');
  const streams = Number(argValue('streams', '2'));
  const { node, stop } = await startCloudUnderTest();
  const clients = await openIdleClients(node, n, 'tcp');
  const pusher = fork(path.join(__dirname, 'key-pusher.js'), [`127.0.0.1:${node.ports.grpc}`, String(n), String(rate), String(streams)]);
  await new Promise((resolve) => pusher.once('message', resolve));
  await pusherRun(pusher, 1);

  const pauses: GcPause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      pauses.push({ minor: kind === constants.NODE_PERFORMANCE_GC_MINOR, ms: e.duration });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const session = new inspector.Session();
  session.connect();
  await inspectorCall(session, 'HeapProfiler.startSampling', {
    samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivors,
  });
  delay.enable();
  const result = await pusherRun(pusher, seconds);
  delay.disable();
  const { profile } = await inspectorCall<{ profile: { head: ProfileNode } }>(session, 'HeapProfiler.stopSampling');
  session.disconnect();
  observer.disconnect();
  pusher.disconnect();

  const pushes = Math.max(1, result.sent);
  const minor = pauses.filter((p) => p.minor);
  const major = pauses.filter((p) => !p.minor);
  const sum = (xs: GcPause[]): number => xs.reduce((s, p) => s + p.ms, 0);
  const worst = (xs: GcPause[]): number => xs.reduce((m, p) => Math.max(m, p.ms), 0);
  const alloc = allocations(profile.head);
  const out = [
    `${n} idle tcp clients; PushMsg to one key at ${rate}/s for ${seconds} s (after 1 s unmeasured), from another process, ${streams > 0 ? `on ${streams} im.cloud.CloudStream streams` : 'unary'}`,
    '',
    table(['figure', 'value'], [
      ['pushes sent / failed / skipped', `${result.sent} / ${result.failed} / ${result.skipped}`],
      ['PushMsg call latency p50 / p99 / max', `${ms(result.p50Ms)} / ${ms(result.p99Ms)} / ${ms(result.maxMs)}`],
      ['node event-loop delay p50 / p99 / max', `${ms(delay.percentile(50) / 1e6)} / ${ms(delay.percentile(99) / 1e6)} / ${ms(delay.max / 1e6)}`],
      ['scavenges: count / mean / max pause', `${minor.length} / ${ms(sum(minor) / Math.max(1, minor.length))} / ${ms(worst(minor))}`],
      ['full GCs: count / max pause', `${major.length} / ${ms(worst(major))}`],
      [survivors ? 'node allocated per push that outlived the scavenges (sampled)' : 'node allocated per push (sampled)', kb(alloc.total / pushes)],
    ]),
    '',
    table(['allocated by', 'per push', 'share'], [...alloc.byOrigin].sort((a, b) => b[1] - a[1])
      .map(([origin, bytes]) => [origin, kb(bytes / pushes), `${((100 * bytes) / alloc.total).toFixed(1)}%`])),
    '',
    table(['allocation site', 'per push', 'share'], [...alloc.bySite].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([site, bytes]) => [`\`${site}\``, kb(bytes / pushes), `${((100 * bytes) / alloc.total).toFixed(1)}%`])),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await clients.close();
  await stop();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

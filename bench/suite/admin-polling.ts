/**
 * What an operator watching the node costs it: the key pushes of the
 * key-push scenario, on a node holding the plan's n2 clients, for a window
 * without admin requests and then a window as long while `/actors` of the
 * biggest connection shard and `/top` (by mailbox and by processed) are
 * polled once per second, as the admin page refreshes. The node measures
 * its own event-loop delay in each window. Both follow an unmeasured window
 * of the same load, and each starts after a forced full GC.
 */
import type { LoopDelay } from '../lib/commands';
import { sleep } from '../lib/clock';
import type { Fleet } from './fleet';
import { get } from './http-client';
import { KeyLatency, PushKey, Send, driveKeys, keyLatencyOf, stampedSend, warmUpKeys } from './key-pushes';
import type { Plan } from './plan';
import { spread } from './stats';
import type { AdminAccess } from './targets';

export interface PollingWindow {
  readonly keys: KeyLatency;
  /** The node's event-loop delay from the window's start (1 s after a forced full GC) to its last push and poll answered. */
  readonly loop: LoopDelay;
}

/** One admin request, polled once per second in the window with polling. */
export interface RoutePolls {
  readonly route: string;
  readonly polls: number;
  readonly failed: number;
  readonly firstError: string;
  /** Ticks that found this route's previous request still unanswered, and sent none. */
  readonly skipped: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanBytes: number;
  readonly maxBytes: number;
}

export interface AdminPolling {
  /** Client connections the node held, by its own count. */
  readonly connections: number;
  readonly seconds: number;
  /** The connection shard with the most children, the one whose children are polled. */
  readonly shard: { readonly path: string; readonly children: number; readonly shards: number };
  readonly without: PollingWindow;
  readonly with: PollingWindow;
  readonly routes: RoutePolls[];
}

const POLL_INTERVAL_MS = 1000;
const SHARD_PAGE = 500;
const TOP_N = 20;
/** Lets the node catch up (after the warm-up, after a forced GC) before a window starts. */
const SETTLE_MS = 1000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const parsed: unknown = JSON.parse((await get(port, path)).toString('utf8'));
  if (!isRecord(parsed)) throw new Error(`GET ${path}: not a JSON object`);
  return parsed;
}

/** The node's connection count and the child of its `connections` group with the most children, paging through the group. */
async function discover(port: number): Promise<{ connections: number; shard: AdminPolling['shard'] }> {
  const info = await getJson(port, '/info');
  const root = info.root;
  const headline = info.headline;
  if (typeof root !== 'string' || !isRecord(headline)) throw new Error('/info names no root actor');
  const group = `${root}/connections`;
  let best: { path: string; children: number } | null = null;
  let shards = 0;
  let cursor: string | null = null;
  do {
    const page = await getJson(port, `/actors?path=${encodeURIComponent(group)}&limit=${SHARD_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const children = Array.isArray(page.children) ? page.children : [];
    for (const child of children) {
      if (!isRecord(child) || typeof child.path !== 'string' || typeof child.childCount !== 'number') continue;
      shards++;
      if (!best || child.childCount > best.children) best = { path: child.path, children: child.childCount };
    }
    cursor = typeof page.nextCursor === 'string' ? page.nextCursor : null;
  } while (cursor !== null);
  if (!best) throw new Error(`${group} has no shards`);
  const connections = typeof headline.connections === 'number' ? headline.connections : 0;
  return { connections, shard: { ...best, shards } };
}

/** One route's polls: at most one request in flight, as the page does not refresh over an unanswered request. */
class RoutePoller {
  private readonly ms: number[] = [];
  private readonly bytes: number[] = [];
  private failed = 0;
  private skipped = 0;
  private firstError = '';
  private inFlight: Promise<void> | null = null;

  constructor(readonly route: string, private readonly port: number, private readonly path: string) {}

  /** One request, not recorded. */
  async warm(): Promise<void> {
    await get(this.port, this.path);
  }

  tick(): void {
    if (this.inFlight) {
      this.skipped++;
      return;
    }
    const started = performance.now();
    this.inFlight = get(this.port, this.path).then(
      (body) => {
        this.ms.push(performance.now() - started);
        this.bytes.push(body.length);
      },
      (err: Error) => {
        this.failed++;
        if (this.firstError === '') this.firstError = err.message;
      },
    ).finally(() => {
      this.inFlight = null;
    });
  }

  async settled(): Promise<void> {
    await this.inFlight;
  }

  result(): RoutePolls {
    const ms = spread(Float64Array.from(this.ms).sort());
    const total = this.bytes.reduce((n, b) => n + b, 0);
    return {
      route: this.route, polls: this.ms.length, failed: this.failed, firstError: this.firstError, skipped: this.skipped,
      p50Ms: ms.p50, p99Ms: ms.p99, maxMs: ms.max,
      meanBytes: this.bytes.length > 0 ? total / this.bytes.length : NaN, maxBytes: this.bytes.reduce((m, b) => Math.max(m, b), 0),
    };
  }
}

/** Ticks every poller now and once per POLL_INTERVAL_MS; the returned stop waits for the requests in flight. */
function startPolling(pollers: readonly RoutePoller[]): () => Promise<void> {
  const tick = (): void => {
    for (const p of pollers) p.tick();
  };
  tick();
  const timer = setInterval(tick, POLL_INTERVAL_MS);
  return async () => {
    clearInterval(timer);
    await Promise.all(pollers.map((p) => p.settled()));
  };
}

async function measureWindow(fleet: Fleet, plan: Plan, admin: AdminAccess, send: Send, pollers: readonly RoutePoller[] | null): Promise<PollingWindow> {
  // At 19,000 connections the forced GC stops the loop for about 0.6 s, and the node spends the second after it
  // catching up (stalls of 30-80 ms, measured): a window starting right away would count them.
  await admin.fullGc();
  await sleep(SETTLE_MS);
  await fleet.reset(true);
  await admin.resetLoopDelay();
  const stop = pollers ? startPolling(pollers) : null;
  const drive = await driveKeys(plan, send, plan.adminSeconds);
  if (stop) await stop();
  const loop = await admin.loopDelay();
  return { keys: await keyLatencyOf(fleet, drive), loop };
}

/** `fleet` holds the clients the pushes go to (keys `bench-0` … `bench-<n1 - 1>`); other fleets may hold more. */
export async function adminPolling(fleet: Fleet, plan: Plan, admin: AdminAccess, push: PushKey): Promise<AdminPolling> {
  const { connections, shard } = await discover(admin.port);
  const top = (by: string): RoutePoller => new RoutePoller(`/top?by=${by}&n=${TOP_N}`, admin.port, `/top?by=${by}&n=${TOP_N}`);
  const pollers = [
    new RoutePoller(`/actors?path=<biggest shard>&limit=${SHARD_PAGE}`, admin.port, `/actors?path=${encodeURIComponent(shard.path)}&limit=${SHARD_PAGE}`),
    top('mailbox'),
    top('processed'),
  ];
  // One unmeasured round, as for the pushes: a page that keeps polling runs warm code.
  await Promise.all(pollers.map((p) => p.warm()));
  const send = stampedSend(plan, push);
  await warmUpKeys(fleet, plan, send);
  // Unmeasured: the first window after the idle measurement's forced GCs takes a major GC (a stall of
  // hundreds of ms at 19,000 connections) that later windows do not, whichever of them comes first.
  await measureWindow(fleet, plan, admin, send, null);
  const without = await measureWindow(fleet, plan, admin, send, null);
  const withPolling = await measureWindow(fleet, plan, admin, send, pollers);
  return { connections, seconds: plan.adminSeconds, shard, without, with: withPolling, routes: pollers.map((p) => p.result()) };
}

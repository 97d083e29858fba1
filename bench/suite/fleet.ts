/**
 * The load generator as seen from the orchestrator: worker processes each
 * holding a slice of the clients (client i has key `bench-i`), each with
 * its own source address 127.0.0.x so ephemeral ports never run out.
 */
import type { ClientTarget, ConnectResult, WorkerCommands, WorkerReport } from '../lib/commands';
import { monoUs, sleep } from '../lib/clock';
import type { Peer } from '../lib/ipc';
import { spawn, stopChild } from '../lib/processes';

/** One process may hold 20,000 open files; leave room for everything else. */
export const MAX_CLIENTS_PER_WORKER = 9000;
const CONNECT_CONCURRENCY = 100;
const CLIENT_TIMEOUT_MS = 30_000;
let addressSerial = 0;

interface Slice {
  readonly peer: Peer<WorkerCommands>;
  readonly firstIndex: number;
  readonly count: number;
  readonly localAddress: string;
}

export interface WaitResult {
  readonly received: number;
  readonly complete: boolean;
}

export class Fleet {
  private constructor(private readonly slices: Slice[]) {}

  /** `count` clients from index `firstIndex`, spread evenly over `workers` processes. */
  static async start(name: string, firstIndex: number, count: number, workers: number): Promise<Fleet> {
    const n = Math.max(workers, Math.ceil(count / MAX_CLIENTS_PER_WORKER));
    const slices: Slice[] = [];
    let at = firstIndex;
    for (let w = 0; w < n; w++) {
      const share = Math.floor(count / n) + (w < count % n ? 1 : 0);
      const localAddress = `127.0.0.${10 + (addressSerial++ % 240)}`;
      slices.push({ peer: spawn<WorkerCommands, unknown>('load-client', `${name}-${w}`, null), firstIndex: at, count: share, localAddress });
      at += share;
    }
    await Promise.all(slices.map((s) => s.peer.ready()));
    return new Fleet(slices);
  }

  /** The worker processes' pids (for their CPU time). */
  get pids(): number[] {
    return this.slices.flatMap((s) => (s.peer.child.pid === undefined ? [] : [s.peer.child.pid]));
  }

  get size(): number {
    return this.slices.reduce((n, s) => n + s.count, 0);
  }

  /** Opens and authenticates every client; all workers at once. `roomSize` 0: all in the shared room; else rooms of that many (ConnectArgs). */
  async connect(target: ClientTarget, roomSize = 0): Promise<ConnectResult> {
    const started = monoUs();
    const results = await Promise.all(this.slices.map((s) => s.peer.ask('connect', {
      target, firstIndex: s.firstIndex, count: s.count, localAddress: s.localAddress,
      concurrency: CONNECT_CONCURRENCY, timeoutMs: CLIENT_TIMEOUT_MS, roomSize,
    }, CLIENT_TIMEOUT_MS * Math.ceil(s.count / CONNECT_CONCURRENCY) + 10_000)));
    return {
      opened: results.reduce((n, r) => n + r.opened, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      ms: (monoUs() - started) / 1000,
      firstError: results.find((r) => r.firstError !== '')?.firstError ?? '',
    };
  }

  /** Zeroes the counters; returns the histogram start. */
  async reset(latency: boolean): Promise<number> {
    const t0Us = monoUs();
    await Promise.all(this.slices.map((s) => s.peer.ask('reset', { t0Us, latency })));
    return t0Us;
  }

  async received(): Promise<number> {
    const counts = await Promise.all(this.slices.map((s) => s.peer.ask('count', null)));
    return counts.reduce((n, c) => n + c.received, 0);
  }

  /** Polls until `expected` messages arrived, nothing arrived for `idleMs`, or `maxMs` passed. */
  async waitFor(expected: number, idleMs: number, maxMs: number): Promise<WaitResult> {
    const deadline = Date.now() + maxMs;
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const received = await this.received();
      if (received >= expected) return { received, complete: true };
      if (received !== last) {
        last = received;
        lastChange = Date.now();
      }
      if (Date.now() - lastChange > idleMs || Date.now() > deadline) return { received, complete: false };
      await sleep(100);
    }
  }

  reports(): Promise<WorkerReport[]> {
    return Promise.all(this.slices.map((s) => s.peer.ask('report', null)));
  }

  /** Resets every client (RST, no TIME_WAIT) and ends the workers. */
  async close(): Promise<void> {
    await Promise.all(this.slices.map(async (s) => {
      await s.peer.ask('close', null).catch(() => undefined);
      await stopChild(s.peer.child, 5000);
    }));
  }
}

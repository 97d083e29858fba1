/** Summaries of what the workers recorded. */
import { BUCKET_MS, WorkerReport } from '../lib/commands';

export interface Latency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** p50, p99 and max of values sorted ascending; NaN when there are none. */
export function spread(sorted: ArrayLike<number>): { readonly p50: number; readonly p99: number; readonly max: number } {
  const at = (p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

export function latencyOf(reports: readonly WorkerReport[]): Latency {
  const all = Float64Array.from(reports.flatMap((r) => r.latenciesUs)).sort();
  const us = spread(all);
  return { samples: all.length, p50Ms: us.p50 / 1000, p99Ms: us.p99 / 1000, maxMs: us.max / 1000 };
}

export function receivedOf(reports: readonly WorkerReport[]): number {
  return reports.reduce((n, r) => n + r.received, 0);
}

export function lastUsOf(reports: readonly WorkerReport[]): number {
  return reports.reduce((m, r) => Math.max(m, r.lastUs), 0);
}

export function firstUsOf(reports: readonly WorkerReport[]): number {
  const firsts = reports.filter((r) => r.firstUs > 0).map((r) => r.firstUs);
  return firsts.length === 0 ? 0 : Math.min(...firsts);
}

/** The most messages received in any window of `windowMs`, over all workers. */
export function peakPerWindow(reports: readonly WorkerReport[], windowMs: number): number {
  const length = reports.reduce((n, r) => Math.max(n, r.buckets.length), 0);
  const sum = new Array<number>(length).fill(0);
  for (const r of reports) r.buckets.forEach((v, i) => { sum[i] += v; });
  const width = Math.max(1, Math.round(windowMs / BUCKET_MS));
  let running = 0;
  let peak = 0;
  for (let i = 0; i < length; i++) {
    running += sum[i] - (i >= width ? sum[i - width] : 0);
    peak = Math.max(peak, running);
  }
  return peak;
}

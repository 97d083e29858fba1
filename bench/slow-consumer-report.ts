/** What the slow-consumer scenario measured, and its markdown: one row per run, then the goals. */
import { table } from './lib/markdown';
import type { StalledReading } from './lib/stalled-client';
import type { DriveResult } from './suite/pacing';

/** Broadcasts outstanding at once; a tick due while this many are unanswered is skipped (and counted). */
export const MAX_IN_FLIGHT = 32;

export interface SlowConsumerOptions {
  readonly readers: number;
  /** Broadcasts per second. */
  readonly rate: number;
  readonly bodyBytes: number;
  /** Seconds of broadcasting before the measured window. */
  readonly warmupS: number;
  readonly windowS: number;
  /** Runs of each kind (without and with the stalled client). */
  readonly repeats: number;
  /** The node's slowConsumer.ms and slowConsumer.hardMs. */
  readonly slowMs: number;
  readonly hardMs: number;
}

/** What happened to the stalled client, by the node's counters and by what it read in the end. */
export interface StalledOutcome {
  /** Bytes of key pushes sent to it alone, and what the node then held for it. */
  readonly prefillBytes: number;
  readonly queuedAfterPrefill: number;
  readonly prefillS: number;
  /** im_slow_consumer_drops_total{transport="tcp"}: broadcasts not written to it. */
  readonly softDrops: number;
  /** im_client_drops_total{transport="tcp",reason="slow_consumer"}: the push that found it over the hard limit. */
  readonly hardDrops: number;
  /** im_connections_closed_total{reason="slow_consumer"}. */
  readonly closed: number;
  /** Seconds from when it stopped reading to when the bench saw it closed; null: not closed in the run. */
  readonly closedAfterS: number | null;
  readonly reading: StalledReading;
}

export interface SlowConsumerRun {
  readonly stalled: boolean;
  readonly pushes: DriveResult;
  readonly windowS: number;
  /** Messages all readers received in the window. */
  readonly delivered: number;
  /** delivered / window / readers. */
  readonly readerRate: number;
  /** Of 20 sampled readers, in the window: send to receipt. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** The node's RSS over the run (MiB). */
  readonly rssMiB: readonly number[];
  readonly outcome: StalledOutcome | null;
}

export interface SlowConsumerResult {
  readonly options: SlowConsumerOptions;
  /** In the order they ran. */
  readonly runs: readonly SlowConsumerRun[];
  /** Per repeat: the readers' rate with ÷ without the stalled client. */
  readonly ratios: readonly number[];
  readonly medianRatio: number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(options: SlowConsumerOptions, runs: readonly SlowConsumerRun[]): SlowConsumerResult {
  const without = runs.filter((r) => !r.stalled);
  const withStalled = runs.filter((r) => r.stalled);
  const ratios = withStalled.map((w, i) => (without[i] && without[i].readerRate > 0 ? w.readerRate / without[i].readerRate : 0));
  return { options, runs, ratios, medianRatio: median(ratios) };
}

const n = (v: number, digits = 0): string => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function rssCell(rss: readonly number[]): string {
  if (rss.length === 0) return '?';
  return `${n(rss[0])} / ${n(Math.max(...rss))} / ${n(rss[rss.length - 1])} MiB`;
}

function stalledCell(o: StalledOutcome | null): string {
  if (!o) return '—';
  const r = o.reading;
  const op6 = r.disconnect ? `op 6 ${r.disconnect.code} read` : `no op 6 read (${r.ended})`;
  const closed = o.closedAfterS === null ? 'not closed' : `closed ${n(o.closedAfterS, 1)} s after it stopped reading`;
  return `key pushes ${n(o.prefillBytes / 1024)} KiB in ${n(o.prefillS, 1)} s → ${n(o.queuedAfterPrefill / 1024)} KiB queued at the node; ${n(o.softDrops)} broadcasts dropped; `
    + `${closed} (closes ${n(o.closed)}, hard drops ${n(o.hardDrops)}); ${op6} after ${n(r.bytes / 1024)} KiB`;
}

function runRow(o: SlowConsumerOptions, r: SlowConsumerRun, i: number): string[] {
  const p = r.pushes;
  return [
    String(i + 1), r.stalled ? 'with' : 'without',
    `${n(r.readerRate, 2)} / ${n(o.rate)} msg/s`,
    `${n(r.delivered)} in ${n(r.windowS, 1)} s`,
    `${n(r.latencyP50Ms, 1)} / ${n(r.latencyP99Ms, 1)} ms`,
    `${n(p.sent)} / ${n(p.failed)} / ${n(p.skipped)}${p.firstError ? ` (${p.firstError})` : ''}`,
    rssCell(r.rssMiB),
    stalledCell(r.outcome),
  ];
}

export function slowConsumerReport(r: SlowConsumerResult): string {
  const o = r.options;
  const head = `Slow consumer: ${n(o.readers)} ws readers + 1 stalled tcp client in one room; BroadcastRoom ${o.rate}/s, ${n(o.bodyBytes)}-byte bodies, `
    + `paced by a timer with at most ${MAX_IN_FLIGHT} in flight (a tick due with ${MAX_IN_FLIGHT} unanswered is skipped); window ${o.windowS} s after ${o.warmupS} s of warm-up; slowConsumer.ms ${o.slowMs}, hardMs ${o.hardMs} (softBytes, hardBytes: defaults)`;
  const rows = table(
    ['run', 'stalled client', "readers' rate / target", 'delivered in window', 'latency p50 / p99', 'pushes sent / failed / skipped', 'node RSS start / max / end', 'stalled client'],
    r.runs.map((run, i) => runRow(o, run, i)),
  );
  const outcomes = r.runs.flatMap((run) => (run.outcome ? [run.outcome] : []));
  const crossed = outcomes.filter((x) => x.softDrops > 0 && x.closed > 0 && x.reading.disconnect?.code === 'E_SLOW_CONSUMER').length;
  const rssMax = (stalled: boolean): number => Math.max(...r.runs.filter((run) => run.stalled === stalled).flatMap((run) => run.rssMiB));
  const goals = table(['goal', 'this run', ''], [
    ["readers' rate with the stalled client within 10% of without",
      `median ratio ${n(r.medianRatio, 3)} (per repeat: ${r.ratios.map((x) => n(x, 3)).join(', ')})`, Math.abs(1 - r.medianRatio) <= 0.1 ? 'met' : 'missed'],
    ['stalled client: broadcasts dropped over the soft limit, then closed with op 6 E_SLOW_CONSUMER',
      `${crossed} of ${outcomes.length} runs`, crossed === outcomes.length && crossed > 0 ? 'met' : 'missed'],
    ['node RSS bounded with the stalled client', `max ${n(rssMax(true))} MiB with, ${n(rssMax(false))} MiB without`, '—'],
  ]);
  return `${head}\n\n${rows}\n\n${goals}\n`;
}

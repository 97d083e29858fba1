/**
 * Seeds and run counts of the fuzz runs, from the environment, so a failure
 * replays exactly: FUZZ_SEED (an integer; a fresh one is drawn and printed
 * when absent), FUZZ_RUNS (a run count in place of the default: inputs per
 * codec property in the spec, bad connections in the edge spec, codec inputs
 * in all in `npm run fuzz`), FUZZ_PATH (fast-check's
 * path to one counterexample, printed with every failure).
 */
import fc from 'fast-check';

export interface FuzzSettings {
  readonly seed: number;
  /** FUZZ_RUNS: replaces the caller's run count (null: the caller's default). */
  readonly runs: number | null;
  readonly path: string | undefined;
}

function intFromEnv(name: string): number | null {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return null;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

export function fuzzSettings(): FuzzSettings {
  const seed = intFromEnv('FUZZ_SEED') ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const runs = intFromEnv('FUZZ_RUNS');
  if (runs !== null && runs < 1) throw new Error(`FUZZ_RUNS must be at least 1, got ${runs}`);
  const path = process.env.FUZZ_PATH || undefined;
  return { seed, runs, path };
}

/** The run count: FUZZ_RUNS when set, else the caller's default. */
export function runsOr(settings: FuzzSettings, fallback: number): number {
  return settings.runs ?? fallback;
}

export interface Verdict {
  readonly failed: boolean;
  readonly numRuns: number;
  /** fast-check's report (counterexample, seed, path) plus the command line that replays it. */
  readonly report: string;
}

/** Runs one property; a throw inside it is a failure like any other, reported with its replay line. */
export function checkProperty<T>(
  name: string, property: fc.IProperty<[T]>, settings: FuzzSettings, numRuns: number, replayCommand: (env: string) => string,
): Verdict {
  const details = fc.check(property, { seed: settings.seed, numRuns, path: settings.path, endOnFailure: false });
  if (!details.failed) return { failed: false, numRuns: details.numRuns, report: '' };
  const replay = `FUZZ_SEED=${details.seed}${details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : ''}`;
  const message = fc.defaultReportMessage(details) ?? 'failed';
  return { failed: true, numRuns: details.numRuns, report: `${name}: ${message}\nreplay: ${replayCommand(replay)}` };
}

/**
 * The long fuzz run: the codec properties of spec/fuzz-codec.spec.ts over a
 * million inputs (by default), then the edge run of spec/fuzz-edges.spec.ts
 * with many more connections. Prints the seed first and the figures as it
 * goes; exits 1 with fast-check's report (seed, path, counterexample) on
 * the first failure.
 *
 *   npm run fuzz                                  1,000,000 codec inputs, 3,000 bad connections
 *   npm run fuzz -- --codec 200000 --edges 500    other counts
 *   npm run fuzz -- --only stream                 one property (stream, frame, batch, ws-frame) or edges
 *   env: FUZZ_SEED (replay), FUZZ_PATH (with --only: straight to one codec counterexample), FUZZ_RUNS (codec inputs)
 */
import { optionValue } from './lib/argv';
import { CODEC_PROPERTIES } from '../spec/support/fuzz/codec-properties';
import { describeEdgeRun, runEdgeFuzz } from '../spec/support/fuzz/edge-fuzz-run';
import { fuzzSettings } from '../spec/support/fuzz/fuzz-seed';

const CODEC_INPUTS = 1_000_000;
const EDGE_CONNECTIONS = 3000;

function count(name: string, fallback: number): number {
  const raw = optionValue(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${raw}`);
  return n;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const settings = fuzzSettings();
  const codecInputs = settings.runs ?? count('codec', CODEC_INPUTS);
  const edgeConnections = count('edges', EDGE_CONNECTIONS);
  const only = optionValue('only');
  log(`fuzz seed ${settings.seed} (FUZZ_SEED=${settings.seed} replays this run)`);

  let total = 0;
  const codecStarted = Date.now();
  for (const p of CODEC_PROPERTIES) {
    if (only !== undefined && only !== p.name) continue;
    const runs = only === undefined ? Math.round(codecInputs * p.share) : codecInputs;
    const started = Date.now();
    const verdict = p.check(settings, runs, (env) => `${env} npm run fuzz -- --only ${p.name}`);
    const seconds = (Date.now() - started) / 1000;
    total += verdict.numRuns;
    log(`codec ${p.name}: ${verdict.numRuns} inputs in ${seconds.toFixed(1)} s (${Math.round(verdict.numRuns / seconds)}/s)${verdict.failed ? ' FAILED' : ''}`);
    if (verdict.failed) {
      log(verdict.report);
      return 1;
    }
  }
  if (total > 0) {
    const seconds = (Date.now() - codecStarted) / 1000;
    log(`codec total: ${total} inputs in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s), no failure`);
  }

  if ((only === undefined || only === 'edges') && edgeConnections > 0) {
    const report = await runEdgeFuzz({ seed: settings.seed, connections: edgeConnections, warmup: 200, concurrency: 64, good: 16 });
    log(`edges: ${describeEdgeRun(report)}`);
    log(`edges: closes by code|transport ${JSON.stringify(report.closesByCode)}`);
    if (report.problems.length > 0) {
      log(`edges FAILED (FUZZ_SEED=${settings.seed} npm run fuzz -- --only edges --edges ${edgeConnections} replays it):`);
      for (const p of report.problems.slice(0, 50)) log(`  ${p}`);
      if (report.problems.length > 50) log(`  ... and ${report.problems.length - 50} more`);
      log(report.describe);
      return 1;
    }
    log('edges: no failure');
  }
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

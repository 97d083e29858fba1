/**
 * The benchmark suite: ours (cloud + logic node), the floor (bare ws) and
 * the peer (Socket.IO), one after another, with the same clients and
 * messages; prints a markdown table and writes BENCHMARKS.md.
 *
 *   npm run bench                  quick (2,000 / 4,000 clients; under 3 minutes)
 *   npm run bench -- --full        10,000 / 19,000 clients, and the slow-consumer scenario (bench/slow-consumer.ts)
 *   options: --transport tcp (ours' clients over goim tcp), --only ours,floor, --profile (CPU-profile the servers)
 *   env: BENCH_NODE_ARGS="--trace-gc" adds node flags to every child process (their output goes to the children's logs)
 */
import fs from 'node:fs';
import path from 'node:path';
import { optionValue } from './lib/argv';
import { summarizeLogs } from './lib/logs';
import { LOG_DIR, PROFILE_DIR, killAll, resetLogs } from './lib/processes';
import { closeHttp } from './suite/http-client';
import { planFor, describePlan } from './suite/plan';
import { goalLines, goalsMarkdown } from './suite/goals';
import { benchmarksMarkdown, buildRows, machineLine, markdownTable } from './suite/report';
import { TargetResult, measureTarget } from './suite/scenarios';
import { TARGETS, TargetName } from './suite/targets';
import { SLOW_CONSUMER_DEFAULTS, measureSlowConsumer } from './slow-consumer';
import { slowConsumerReport } from './slow-consumer-report';

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node --expose-gc dist/bench/run.js${args ? ` ${args}` : ''}`;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<void> {
  const started = Date.now();
  const plan = planFor(process.argv.includes('--full'), optionValue('transport') === 'tcp' ? 'goim-tcp' : 'goim-ws', process.argv.includes('--profile'));
  const only = optionValue('only')?.split(',') ?? [...TARGETS];
  const targets = TARGETS.filter((t) => only.includes(t));
  log(`bench ${describePlan(plan)}`);
  log(`machine: ${machineLine()}; node ${process.version}`);
  resetLogs();
  const results: TargetResult[] = [];
  for (const name of targets) {
    log(`${name}:`);
    results.push(await measureTarget(name as TargetName, plan, log));
  }
  closeHttp();
  // One stalled client among 5,000 readers, with and without it (also runnable alone: node dist/bench/slow-consumer.js).
  const slow = plan.mode === 'full' ? slowConsumerReport(await measureSlowConsumer(SLOW_CONSUMER_DEFAULTS, log)) : null;
  const seconds = (Date.now() - started) / 1000;
  const rows = buildRows(plan, results);
  process.stdout.write(`\n${describePlan(plan)}\n\n${markdownTable(rows)}\n\n${goalsMarkdown(plan, goalLines(plan, results))}\n${slow ? `\n${slow}\n` : ''}`);
  const file = path.resolve(__dirname, '..', '..', 'BENCHMARKS.md');
  const logs = summarizeLogs();
  fs.writeFileSync(file, benchmarksMarkdown(plan, rows, results, commandLine(), seconds, logs, slow));
  for (const l of logs) log(`${l.errorLines} error lines in ${l.file}; first: ${l.first}`);
  log(`children's logs: ${LOG_DIR}${plan.profile ? `; CPU profiles: ${PROFILE_DIR} (node dist/bench/profile-top.js FILE)` : ''}`);
  log(`wrote ${file} (${seconds.toFixed(0)} s)`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    killAll();
    process.exit(1);
  },
);

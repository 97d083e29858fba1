/**
 * Forks the bench's child processes and makes sure none outlives the run:
 * every child is recorded and SIGKILLed on exit, on a signal and on an
 * uncaught error. Children also exit by themselves when the IPC channel
 * closes (serveIpc).
 */
import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandMap, Peer } from './ipc';

/** Children's stdout and stderr go to <LOG_DIR>/<name>.log, not to the table's terminal. */
export const LOG_DIR = path.join(os.tmpdir(), 'im-cloud-bench');
export const PROFILE_DIR = path.join(LOG_DIR, 'profiles');

export interface SpawnOptions {
  /** Write a V8 CPU profile (--cpu-prof) into PROFILE_DIR when the child exits. */
  readonly profile?: boolean;
}

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function extraNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** Empties LOG_DIR; call once at the start of a run. */
export function resetLogs(): void {
  fs.rmSync(LOG_DIR, { recursive: true, force: true });
  fs.mkdirSync(PROFILE_DIR, { recursive: true });
}

/**
 * Forks `dist/bench/<script>.js` with --expose-gc (and the node flags in
 * BENCH_NODE_ARGS, e.g. `--trace-gc`, output in LOG_DIR); `arg` travels as JSON in argv.
 */
export function spawn<C extends CommandMap, R>(script: string, name: string, arg: unknown, options: SpawnOptions = {}): Peer<C, R> {
  hookExit();
  fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const out = fs.openSync(path.join(LOG_DIR, `${name}.log`), 'a');
  const profile = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = fork(path.join(__dirname, '..', `${script}.js`), [JSON.stringify(arg)], {
    execArgv: ['--expose-gc', '--max-old-space-size=4096', ...profile, ...extraNodeArgs()],
    stdio: ['ignore', out, out, 'ipc'],
  });
  fs.closeSync(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Peer<C, R>(child, name);
}

/** Asks a child to stop, then kills it if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export { killAll };

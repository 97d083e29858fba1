/**
 * Forks the bench's child processes and makes sure none outlives the run:
 * every child is recorded and SIGKILLed on exit, on a signal and on an
 * uncaught error. Children also exit by themselves when the IPC channel
 * closes (serveIpc).
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { CommandMap, Peer } from './ipc';

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

/** Forks `dist/bench/<script>.js` with --expose-gc; `arg` travels as JSON in argv. */
export function spawn<C extends CommandMap, R>(script: string, name: string, arg: unknown): Peer<C, R> {
  hookExit();
  const child = fork(path.join(__dirname, '..', `${script}.js`), [JSON.stringify(arg)], {
    execArgv: ['--expose-gc', '--max-old-space-size=4096'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
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

/**
 * The last line of a node process that meets a fault nothing caught (an
 * exception thrown from a callback, a promise rejection nobody handled):
 * one JSON line at error with a stable code, then exit 1 as Node itself
 * would, instead of Node's bare stack on stderr, which log pipelines that
 * parse JSON lines drop or split. Nothing is drained: after such a fault the
 * process's state is unknown, and clients reconnect elsewhere (goim's
 * clients retry on a closed socket).
 */
import { ErrorCodes } from './errors';

export interface CrashLog {
  error(message: string, meta: Record<string, unknown>): unknown;
}

/** Installs the handler for the rest of the process (node processes only: a test runner keeps its own). */
export function logUncaughtFaults(log: CrashLog, exit: (code: number) => void = (code) => process.exit(code)): void {
  let exiting = false;
  process.on('uncaughtException', (fault: unknown, origin: NodeJS.UncaughtExceptionOrigin) => {
    if (exiting) return;
    exiting = true;
    const error = fault instanceof Error ? fault : new Error(String(fault));
    log.error('uncaught fault; exiting', {
      component: 'process', code: ErrorCodes.UNCAUGHT_FAULT.code, origin, error: error.message, stack: error.stack,
    });
    // The line leaves on this turn's write; exit on the next, as the stop-deadline line does.
    setImmediate(() => exit(1));
  });
}

/**
 * One cloud worker: a full CloudNode in a process forked by the primary
 * (see cloud-primary.ts), on its slot's ports, logging with its index.
 *
 * Signals: a worker ignores SIGINT. Ctrl-C in a terminal reaches the whole
 * process group; the primary alone answers it, by asking each worker to
 * drain over the IPC channel, so a second Ctrl-C still means "now" to the
 * primary instead of racing each worker's own drain. SIGTERM sent to one
 * worker drains that worker, as it would a single node (it exits 0 and the
 * primary starts a new one in its slot): a way to restart one worker.
 */
import type { CloudConfig } from '../../config/cloud-config';
import { CloudNode } from '../cloud-node';
import { ImError } from '../errors';
import { logUncaughtFaults } from '../crash-log';
import { createLogger } from '../logger';
import { isWorkerStop, parseSlot, slotConfig, WORKER_SLOT_ENV, WorkerStarted } from './worker-protocol';

export async function runCloudWorker(config: CloudConfig, slotText: string | undefined): Promise<number> {
  const slot = parseSlot(slotText);
  if (!slot) throw new ImError('CONFIG_INVALID', `${WORKER_SLOT_ENV} is not a worker slot: ${slotText ?? '(unset)'}`);
  const log = createLogger(config.log.level, { node: 'cloud', worker: slot.index });
  // A worker that meets an uncaught fault says so in a JSON line and exits 1; the primary restarts it.
  logUncaughtFaults(log);
  let node: CloudNode | null = null;
  let stopAsked = false;
  let signals = 0;
  const stop = (why: string, meta: Record<string, unknown> = {}): void => {
    if (stopAsked) return;
    stopAsked = true;
    log.info(`${why}; draining`, { component: 'cloud-worker', ...meta });
    if (node) void node.stop();
  };
  process.on('SIGINT', () => log.info('SIGINT ignored: the primary drains its workers', { component: 'cloud-worker' }));
  process.on('SIGTERM', () => {
    if (++signals > 1) {
      log.info('second signal; exiting without drain', { component: 'cloud-worker', signal: 'SIGTERM' });
      process.exit(1);
    }
    stop('signal received', { signal: 'SIGTERM' });
  });
  process.on('message', (message: unknown) => {
    if (isWorkerStop(message)) stop('the primary asked this worker to stop');
  });

  log.info('worker starting', { component: 'cloud-worker', pid: process.pid, restarts: slot.restarts });
  let started: CloudNode;
  try {
    started = await CloudNode.start(slotConfig(config, slot), { logger: log });
  } catch (err) {
    log.error('worker failed to start', { component: 'cloud-worker', error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
  node = started;
  const report: WorkerStarted = {
    type: 'im-cloud-worker-started', index: slot.index, serverId: started.serverId, grpc: started.ports.grpc, admin: started.adminPort,
  };
  process.send?.(report);
  // A stop asked for while the node was starting.
  if (stopAsked) void started.stop();
  await started.stopped;
  return started.failure ? 1 : 0;
}

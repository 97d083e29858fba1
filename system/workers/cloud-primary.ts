/**
 * The primary of `im-cloud cloud --workers N`: forks N cloud workers with
 * node:cluster (Node 20 has no `reusePort`), keeps each in its slot
 * (ports, server id), restarts one that exits unasked, and drains them all
 * on SIGTERM/SIGINT. It serves nothing itself: node:cluster's primary holds
 * the listeners and, under its default round-robin policy, hands each
 * accepted socket to a worker, holding it only until the worker takes it.
 */
import cluster, { Worker } from 'node:cluster';
import type { CloudConfig } from '../../config/cloud-config';
import { ErrorCodes } from '../errors';
import type { Logger } from '../logger';
import { RestartBudget } from './restart-budget';
import { layoutSlots } from './slot-ports';
import { encodeSlot, isWorkerStarted, WORKER_SLOT_ENV, WorkerSlot, WorkerStarted, WorkerStop } from './worker-protocol';

/** The exit code of a worker whose configuration is bad: restarting it would fail the same way. */
const CONFIG_EXIT_CODE = 2;

interface Slot {
  place: WorkerSlot;
  worker: Worker | null;
  /** What the slot's current worker reported once it served. */
  started: WorkerStarted | null;
  /** Whether any worker in this slot has ever served. */
  everStarted: boolean;
  stopAsked: boolean;
  restartTimer: NodeJS.Timeout | null;
}

type Phase = 'starting' | 'running' | 'stopping';

export class CloudPrimary {
  private readonly slots: Slot[];
  private readonly budget: RestartBudget;
  private phase: Phase = 'starting';
  private exitCode = 0;
  private signals = 0;
  private resolveDone: (code: number) => void = () => undefined;
  /** Resolves with the primary's exit code once every worker is gone. */
  readonly done: Promise<number>;

  private constructor(
    private readonly config: CloudConfig, places: readonly WorkerSlot[], private readonly log: Logger,
  ) {
    this.slots = places.map((place) => ({ place, worker: null, started: null, everStarted: false, stopAsked: false, restartTimer: null }));
    this.budget = new RestartBudget(config.workers.maxRestarts, config.workers.restartWindowMs);
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
  }

  /**
   * Lays out the slots, forks a worker into each and answers signals from
   * then on. `exec` and `args` start a worker: the CLI with the primary's
   * own command line (each worker loads the same configuration).
   */
  static async start(config: CloudConfig, exec: string, args: readonly string[], log: Logger): Promise<CloudPrimary> {
    const places = await layoutSlots(config);
    const primary = new CloudPrimary(config, places, log);
    cluster.setupPrimary({ exec, args: [...args] });
    process.on('SIGTERM', (signal) => primary.onSignal(signal));
    process.on('SIGINT', (signal) => primary.onSignal(signal));
    log.info('starting cloud workers', {
      component: 'cloud-primary', pid: process.pid, workers: places.length, tcp: places[0].tcp, ws: places[0].ws,
      scheduling: cluster.schedulingPolicy === cluster.SCHED_RR ? 'round-robin' : 'shared',
    });
    for (const slot of primary.slots) primary.fork(slot);
    return primary;
  }

  /** Asks every worker to drain (each runs its own graceful stop); `done` resolves once all are gone. */
  stop(): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      if (slot.worker) this.askToStop(slot, slot.worker);
    }
    this.finishIfAllGone();
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (++this.signals > 1) {
      this.log.warn('second signal; killing the workers and exiting without drain', { component: 'cloud-primary', signal });
      for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    this.log.info('signal received; draining every worker', { component: 'cloud-primary', signal });
    this.stop();
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: encodeSlot(slot.place) });
    slot.worker = worker;
    slot.started = null;
    slot.stopAsked = false;
    worker.on('message', (message: unknown) => {
      if (isWorkerStarted(message)) this.onStarted(slot, worker, message);
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => this.onExit(slot, worker, code, signal));
  }

  private askToStop(slot: Slot, worker: Worker): void {
    slot.stopAsked = true;
    if (!worker.isConnected()) return;
    const stop: WorkerStop = { type: 'im-cloud-worker-stop' };
    // The worker may be gone by now: its exit is handled where it is seen.
    worker.send(stop, () => undefined);
  }

  private onStarted(slot: Slot, worker: Worker, started: WorkerStarted): void {
    if (slot.worker !== worker) return;
    slot.started = started;
    const place = slot.place;
    const where = { worker: place.index, pid: worker.process.pid, serverId: started.serverId, grpc: started.grpc, admin: started.admin };
    if (slot.everStarted) {
      this.log.info('worker restarted', { component: 'cloud-primary', ...where, restarts: place.restarts });
    } else {
      this.log.info('worker started', { component: 'cloud-primary', ...where });
    }
    slot.everStarted = true;
    if (this.phase === 'stopping') this.askToStop(slot, worker);
    if (this.phase !== 'starting' || this.slots.some((s) => s.started === null)) return;
    this.phase = 'running';
    this.log.info('cloud workers started', {
      component: 'cloud-primary', tcp: place.tcp, ws: place.ws, wsPath: this.config.ws.path,
      workers: this.slots.map((s) => ({
        worker: s.place.index, pid: s.worker?.process.pid, serverId: s.started?.serverId, grpc: s.started?.grpc, admin: s.started?.admin,
      })),
    });
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.started = null;
    const meta = { component: 'cloud-primary', worker: slot.place.index, pid: worker.process.pid, exitCode: code, signal };
    if (slot.stopAsked || this.phase === 'stopping') {
      if (code !== 0) this.exitCode = Math.max(this.exitCode, 1);
      this.log.info('worker stopped', meta);
      this.finishIfAllGone();
      return;
    }
    if (code === CONFIG_EXIT_CODE) {
      this.giveUp(CONFIG_EXIT_CODE, 'worker refused its configuration; stopping every worker', { ...meta, code: ErrorCodes.WORKER_START_FAILED.code });
      return;
    }
    if (!slot.everStarted) {
      this.giveUp(1, 'worker failed to start; stopping every worker', { ...meta, code: ErrorCodes.WORKER_START_FAILED.code });
      return;
    }
    const decision = this.budget.exited(slot.place.index, Date.now());
    if (!decision.restart) {
      this.giveUp(1, 'workers exited too often; stopping every worker', {
        ...meta, code: ErrorCodes.WORKER_RESTART_LIMIT.code, exitsInWindow: decision.exitsInWindow,
        maxRestarts: this.config.workers.maxRestarts, windowMs: this.config.workers.restartWindowMs,
      });
      return;
    }
    slot.place = { ...slot.place, restarts: slot.place.restarts + 1 };
    this.log.warn('worker exited unasked; restarting it', {
      ...meta, code: ErrorCodes.WORKER_EXITED.code, restartInMs: decision.delayMs, exitsInWindow: decision.exitsInWindow, restarts: slot.place.restarts,
    });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.phase !== 'stopping') this.fork(slot);
    }, decision.delayMs);
  }

  private giveUp(exitCode: number, message: string, meta: Record<string, unknown>): void {
    this.exitCode = Math.max(this.exitCode, exitCode);
    this.log.error(message, meta);
    this.stop();
  }

  private finishIfAllGone(): void {
    if (this.phase !== 'stopping' || this.slots.some((s) => s.worker !== null)) return;
    this.log.info('cloud workers stopped', { component: 'cloud-primary', exitCode: this.exitCode });
    this.resolveDone(this.exitCode);
  }
}

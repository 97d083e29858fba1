/**
 * The time a stopping node has, from the signal to `shutdown.deadlineMs`,
 * shared among the steps of its stop. Each step that waits has a bound of
 * its own (grpc.shutdownGraceMs, one logic answer, ...); added blindly they
 * could outlast the deadline, so here they are fitted into it: scaled down
 * together when their sum does not fit, and each one cut short rather than
 * eat into the steps after it. A small margin at the end is left for what
 * follows the last wait (stopping the actors, the process exiting).
 *
 * Pure: every answer is a function of the times it is given.
 */

export interface ShutdownStage {
  readonly name: string;
  /** The step's own bound, from its option. */
  readonly boundMs: number;
}

export interface ShutdownBudgetOptions {
  /**
   * Part of the time (0..1) an open-ended first phase keeps at the least,
   * whatever the stages ask: the cloud node's paced drain, whose length
   * grows with its connections. 0 when there is no such phase.
   */
  readonly openShare: number;
}

/** What the last wait leaves, at most, for stopping the actors and exiting: 500 ms, or a tenth of a short deadline. */
export const SHUTDOWN_MARGIN_MS = 500;

export class ShutdownBudget {
  readonly deadlineAt: number;
  readonly marginMs: number;
  /** How much the stages' bounds were scaled by to fit (1: they fit as configured). */
  readonly scale: number;
  /** When the open-ended first phase must end, so that every stage keeps its time. */
  readonly openPhaseEndsAt: number;
  private readonly bounds = new Map<string, number>();
  /** For each stage, the time the stages after it keep. */
  private readonly after = new Map<string, number>();

  constructor(startedAt: number, deadlineAt: number, stages: readonly ShutdownStage[], options: ShutdownBudgetOptions) {
    const total = Math.max(0, deadlineAt - startedAt);
    this.deadlineAt = deadlineAt;
    this.marginMs = Math.min(SHUTDOWN_MARGIN_MS, Math.floor(total / 10));
    const asked = stages.reduce((sum, s) => sum + Math.max(0, s.boundMs), 0);
    const room = (total - this.marginMs) * (1 - Math.min(1, Math.max(0, options.openShare)));
    this.scale = asked > room ? Math.max(0, room) / asked : 1;
    let later = 0;
    for (let i = stages.length - 1; i >= 0; i--) {
      const bound = Math.floor(Math.max(0, stages[i].boundMs) * this.scale);
      this.bounds.set(stages[i].name, bound);
      this.after.set(stages[i].name, later);
      later += bound;
    }
    this.openPhaseEndsAt = deadlineAt - this.marginMs - later;
  }

  /** Time left before the deadline (never below 0). */
  left(now: number): number {
    return Math.max(0, this.deadlineAt - now);
  }

  /** A stage's bound once fitted into the deadline. */
  boundOf(stage: string): number {
    return this.bounds.get(stage) ?? this.unknown(stage);
  }

  /**
   * How long `stage`, starting at `now`, may wait: its fitted bound, and never
   * into the time the stages after it and the margin keep (so a step that
   * starts late is cut short, not the ones after it).
   */
  allow(stage: string, now: number): number {
    const later = this.after.get(stage) ?? this.unknown(stage);
    return Math.max(0, Math.min(this.boundOf(stage), this.deadlineAt - now - this.marginMs - later));
  }

  private unknown(stage: string): never {
    throw new Error(`shutdown budget has no stage ${stage}`);
  }
}

/** Waits for `work` at most `ms`; a stop goes on without it after that (what it was doing is cut, not awaited). */
export function within(work: Promise<unknown>, ms: number): Promise<'done' | 'timedOut'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timedOut'), Math.max(0, ms));
    void work.then(
      () => {
        clearTimeout(timer);
        resolve('done');
      },
      () => {
        clearTimeout(timer);
        resolve('done');
      },
    );
  });
}

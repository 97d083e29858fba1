/**
 * How fast a draining cloud node tells its clients to reconnect elsewhere.
 * Telling them all at once sends every one of them to the other nodes (and
 * to logic's Connect) in the same instant; instead they are told at most
 * `ratePerSec` a second, round-robin over the connection shards, each with a
 * reconnect hint that spreads the returns further. A deadline beats the
 * rate: when the connections cannot all be told at that rate within the
 * time the drain has, the rate is raised so that they are.
 *
 * Pure: the caller says how much time has passed, so a test drives it
 * without timers.
 */

/** Returns are spread over this much time at least, so clients told in one tick do not come back in one instant. */
export const RECONNECT_JITTER_MS = 1000;

export interface DrainPlan {
  /** Connections waiting to be told, by shard. */
  readonly waiting: readonly number[];
  /** Connections told per second at most, unless the budget needs more. */
  readonly ratePerSec: number;
  /** Time the telling may take, from elapsed 0. */
  readonly budgetMs: number;
  /** Spread of the reconnect hints; RECONNECT_JITTER_MS unless given. */
  readonly jitterMs?: number;
}

export class DrainPace {
  readonly total: number;
  /** The configured rate. */
  readonly configuredRate: number;
  /** The rate the connections are told at: the configured one, or higher to end within the budget. */
  readonly ratePerSec: number;
  /** The configured rate could not tell them all within the budget. */
  readonly raised: boolean;
  /** How long telling them all takes at `ratePerSec`. */
  readonly expectedMs: number;
  private readonly waiting: number[];
  private readonly budgetMs: number;
  private readonly jitterMs: number;
  private handedOut = 0;
  /** The shard the next round-robin pass starts at, so no shard always goes first. */
  private cursor = 0;

  constructor(plan: DrainPlan, private readonly random: () => number) {
    this.waiting = plan.waiting.map((n) => Math.max(0, Math.floor(n)));
    this.total = this.waiting.reduce((sum, n) => sum + n, 0);
    this.configuredRate = plan.ratePerSec;
    this.budgetMs = Math.max(0, plan.budgetMs);
    this.jitterMs = plan.jitterMs ?? RECONNECT_JITTER_MS;
    const needed = this.total === 0 ? 0 : this.budgetMs === 0 ? Infinity : (this.total * 1000) / this.budgetMs;
    this.raised = needed > plan.ratePerSec;
    this.ratePerSec = Math.max(plan.ratePerSec, needed);
    this.expectedMs = this.total === 0 ? 0 : Math.min(this.budgetMs, Math.ceil((this.total * 1000) / this.ratePerSec));
  }

  /** Every connection of the plan has been handed out. */
  get finished(): boolean {
    return this.handedOut >= this.total;
  }

  /** Connections handed out so far. */
  get told(): number {
    return this.handedOut;
  }

  /**
   * The connections to tell now, `elapsedMs` after the start, that were not
   * handed out before: for each shard, one reconnect hint (ms) per
   * connection to tell there (an empty list: none this time).
   */
  next(elapsedMs: number): number[][] {
    const due = elapsedMs >= this.budgetMs ? this.total : Math.min(this.total, Math.floor((this.ratePerSec * elapsedMs) / 1000));
    let quota = due - this.handedOut;
    const out: number[][] = this.waiting.map(() => []);
    if (quota <= 0) return out;
    const shards = this.waiting.length;
    let active: number[] = [];
    for (let i = 0; i < shards; i++) {
      const shard = (this.cursor + i) % shards;
      if (this.waiting[shard] > 0) active.push(shard);
    }
    while (quota > 0 && active.length > 0) {
      const still: number[] = [];
      for (const shard of active) {
        if (quota === 0) break;
        out[shard].push(this.hint(elapsedMs));
        this.waiting[shard]--;
        quota--;
        this.cursor = (shard + 1) % shards;
        if (this.waiting[shard] > 0) still.push(shard);
      }
      active = quota > 0 ? still : [];
    }
    return out;
  }

  /** Hints for connections found after the plan was made (told at once). */
  extra(count: number, elapsedMs: number): number[] {
    return Array.from({ length: count }, () => this.hint(elapsedMs));
  }

  /**
   * When the client should come back: a random spread, plus, when the
   * deadline made the drain faster than the configured rate, the time it
   * would have waited at that rate, so the rest of the cluster still sees
   * the returns at about the configured rate.
   */
  private hint(elapsedMs: number): number {
    const slotMs = (this.handedOut * 1000) / this.configuredRate;
    this.handedOut++;
    return Math.round(Math.max(0, slotMs - elapsedMs) + this.random() * this.jitterMs);
  }
}

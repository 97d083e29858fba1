/**
 * A cloud node's drain, in the order the stop runs it: tell the clients to
 * go (op 6 E_NODE_DRAINING with a reconnect hint), at most
 * `shutdown.drainRatePerSec` a second and round-robin over the connection
 * shards; wait for them to close; wait for logic to have heard their
 * Disconnects. Every wait is fitted into the stop's ShutdownBudget, and
 * whatever a wait cuts short is logged and counted (im_drain_cut_total).
 */
import type { BucketMsg } from '../../actors/bucket-actor';
import { connectionActor } from '../../actors/connection-actor';
import { connectionShardActor, ConnectionShardMsg } from '../../actors/connection-shard-actor';
import { logicGatewayActor, GatewayMsg } from '../../actors/logic-gateway-actor';
import type { CloudConfig } from '../../config/cloud-config';
import type { ActorRef } from '../actor-kind';
import type { ActorRuntime } from '../actor-runtime';
import { ADMIN_CLOSE_GRACE_MS } from '../admin/admin-server';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { ShutdownBudget } from '../shutdown-budget';
import { DrainPace } from './drain-pace';

/** How often the paced telling hands out what is due. */
const TICK_MS = 10;
/** Longest the drain waits for the shards to adopt the sockets accepted just before it began. */
const SETTLE_MS = 1000;
/** However many connections there are, the paced telling keeps at least this share of the deadline. */
const TELLING_SHARE = 0.5;

export interface CloudDrainDeps {
  readonly runtime: ActorRuntime;
  /** The deadline keepers: each knows its slice of the connections. */
  readonly shards: readonly ActorRef<ConnectionShardMsg>[];
  readonly buckets: readonly ActorRef<BucketMsg>[];
  readonly gateway: ActorRef<GatewayMsg>;
  readonly ratePerSec: number;
  /** grpc.shutdownGraceMs: how long clients get to close once all were told. */
  readonly graceMs: number;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * How long logic may take to answer one call through the gateway: each
 * call, failover to other nodes included, ends within its deadline (one
 * attempt's time per logic node), counted from when the gateway got it.
 */
export function logicAnswerBoundMs(config: CloudConfig, logicNodes: number): number {
  return config.logic.callTimeoutMs * Math.max(1, logicNodes);
}

/**
 * A cloud node's stop within `deadlineAt`: the paced telling first (at
 * least half the time), then the waits, each with its own bound, scaled
 * together when they would not fit.
 */
export function cloudStopBudget(config: CloudConfig, logicNodes: number, startedAt: number, deadlineAt: number): ShutdownBudget {
  const grace = config.grpc.shutdownGraceMs;
  const logic = logicAnswerBoundMs(config, logicNodes);
  return new ShutdownBudget(startedAt, deadlineAt, [
    // Clients close once told; those whose Connect answer is still with logic get one logic answer more.
    { name: 'connections', boundMs: grace + logic },
    { name: 'disconnects', boundMs: logic },
    { name: 'grpc', boundMs: grace },
    { name: 'admin', boundMs: ADMIN_CLOSE_GRACE_MS },
  ], { openShare: TELLING_SHARE });
}

export class CloudDrain {
  private pace: DrainPace | null = null;
  private startedAt = 0;
  private readonly cut = { connections: 0, logicCalls: 0 };

  constructor(private readonly deps: CloudDrainDeps) {}

  /**
   * Tells every connection to go, paced, ending by the budget's end of the
   * telling: the rate is raised (and that logged) when the configured one
   * could not tell them all by then.
   */
  async tellClients(budget: ShutdownBudget): Promise<void> {
    const { runtime, shards, log, now } = this.deps;
    this.startedAt = now();
    const settle = Math.max(1, Math.min(SETTLE_MS, budget.openPhaseEndsAt - now()));
    await Promise.all(shards.map((shard) => runtime.barrier(shard, settle)));
    const pace = new DrainPace({ waiting: this.waitingByShard(), ratePerSec: this.deps.ratePerSec, budgetMs: budget.openPhaseEndsAt - now() }, this.deps.random);
    this.pace = pace;
    log.info('drain started', {
      component: 'cloud-drain', connections: pace.total, ratePerSec: Math.round(pace.ratePerSec), expectedMs: pace.expectedMs,
      deadlineInMs: budget.left(now()),
    });
    if (pace.raised) {
      log.warn('drain rate raised so the stop ends within shutdown.deadlineMs', {
        component: 'cloud-drain', connections: pace.total, configuredRatePerSec: pace.configuredRate, ratePerSec: Math.round(pace.ratePerSec),
        tellingMs: Math.max(0, budget.openPhaseEndsAt - now()),
      });
    }
    const from = now();
    for (;;) {
      this.hand(pace.next(now() - from));
      if (pace.finished) break;
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    // A socket a shard adopted after the plan was made (its adopt lagged the barrier) is told now.
    await Promise.all(shards.map((shard) => runtime.barrier(shard, Math.max(1, Math.min(SETTLE_MS, budget.openPhaseEndsAt - now())))));
    const elapsed = now() - from;
    this.hand(this.waitingByShard().map((n) => pace.extra(n, elapsed)));
  }

  /**
   * Waits for the told connections to stop: up to the grace period, and
   * then, while some still await logic's answer to Connect (they must hear
   * it to tell logic Disconnect), up to one logic answer bound more, all
   * within the budget. Connections left when the wait ends are stopped here,
   * before anything they need, and close with the draining reason all the same.
   */
  async awaitConnections(budget: ShutdownBudget): Promise<void> {
    const { runtime, metrics, log, now } = this.deps;
    const started = now();
    const until = started + budget.allow('connections', started);
    const gone = (): boolean => runtime.count(connectionActor.kind) === 0;
    await this.waitFor(gone, Math.min(this.deps.graceMs, until - now()));
    let awaitingLogic = 0;
    if (!gone()) {
      awaitingLogic = this.connectionsAwaitingLogic();
      if (awaitingLogic > 0) await this.waitFor(gone, until - now());
    }
    const left = runtime.list({ kind: connectionActor.kind });
    if (left.length === 0) return;
    this.cut.connections = left.length;
    metrics.inc('im_drain_cut_total', { stage: 'connections' }, left.length);
    log.warn('drain wait ended; stopping the connections still open', {
      component: 'cloud-drain', connections: left.length, awaitingLogic, waitedMs: now() - started,
    });
    for (const connection of left) {
      const ref = runtime.refAt(connection.path);
      if (ref) runtime.stop(ref);
    }
  }

  /**
   * A closed connection tells its bucket, which tells the gateway
   * (Disconnect); those tells may still sit in mailboxes, unseen by the
   * gateway's in-flight count. Lets both hops happen, then waits for the
   * gateway to have no call in flight, all within the budget's bound for it
   * (one logic answer, or less when the deadline is near). Logs the drain's end.
   */
  async awaitDisconnects(budget: ShutdownBudget): Promise<void> {
    const { runtime, metrics, log, now } = this.deps;
    const started = now();
    const until = started + budget.allow('disconnects', started);
    const left = (): number => Math.max(1, until - now());
    await Promise.all(this.deps.buckets.map((bucket) => runtime.barrier(bucket, left())));
    await runtime.barrier(this.deps.gateway, left());
    await this.waitFor(() => this.gatewayCalls() === 0, Math.max(0, until - now()));
    const calls = this.gatewayCalls();
    if (calls > 0) {
      this.cut.logicCalls = calls;
      metrics.inc('im_drain_cut_total', { stage: 'logic_calls' }, calls);
      log.warn('drain wait ended; cutting the logic calls still in flight', { component: 'cloud-drain', calls, waitedMs: now() - started });
    }
    log.info('drain finished', {
      component: 'cloud-drain', told: this.pace?.told ?? 0, tookMs: now() - this.startedAt,
      cutConnections: this.cut.connections, cutLogicCalls: this.cut.logicCalls,
    });
  }

  /** What the drain still waits for, for the log line of a stop that overran its deadline. */
  pending(): Record<string, unknown> {
    return {
      connections: this.deps.runtime.count(connectionActor.kind),
      toldOfPlanned: this.pace ? `${this.pace.told}/${this.pace.total}` : 'not started',
      logicCalls: this.gatewayCalls(),
    };
  }

  /** Connections each shard still has to tell, read from the shards' own state. */
  private waitingByShard(): number[] {
    return this.deps.shards.map((shard) => this.deps.runtime.stateOf(shard, connectionShardActor)?.connections.size ?? 0);
  }

  private hand(hints: readonly (readonly number[])[]): void {
    hints.forEach((reconnectAfterMs, i) => {
      if (reconnectAfterMs.length > 0) this.deps.shards[i].tell({ type: 'drain', reconnectAfterMs });
    });
  }

  /** Connections whose Connect is still with logic (authenticating, or closing until its answer arrives). */
  private connectionsAwaitingLogic(): number {
    let n = 0;
    for (const connection of this.deps.runtime.list({ kind: connectionActor.kind, withState: true })) {
      const phase = connection.state?.phase;
      if (phase === 'authenticating' || phase === 'closing') n++;
    }
    return n;
  }

  /** Calls the gateway has in flight or queued; 0 once it is gone. */
  private gatewayCalls(): number {
    const [gateway] = this.deps.runtime.list({ kind: logicGatewayActor.kind, withState: true });
    return Number(gateway?.state?.inFlight ?? 0) + Number(gateway?.state?.queued ?? 0);
  }

  private async waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = this.deps.now() + timeoutMs;
    while (!done() && this.deps.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
}

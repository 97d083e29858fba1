/**
 * Logic gateway: the node's one way to logic. Calls go round-robin over the
 * configured logic nodes; a node that is unavailable or misses the deadline
 * is skipped for the next one; when none answers the caller gets
 * E_LOGIC_UNAVAILABLE. Every RenewOnline interval it gathers the room counts
 * from the room directories, reports them, and hands the cluster totals back
 * to them.
 *
 * Bounds (so a slow or absent logic costs bounded memory and bounded waits):
 *  - at most `maxInFlight` calls are in flight; excess calls wait in a FIFO
 *    queue of at most `maxQueued`; a call finding it full fails at once with
 *    E_LOGIC_BUSY (a Connect's client is closed with it; a Disconnect or
 *    Heartbeat is dropped);
 *  - each attempt on one node gets at most `callTimeoutMs`, so a node that
 *    hangs costs one attempt and the next node is tried; the call as a whole
 *    has one deadline, `callTimeoutMs` × the number of logic nodes from when
 *    it reached the gateway: a call still queued at its deadline fails with
 *    E_LOGIC_UNAVAILABLE without being sent, and one sent late gets only
 *    what is left, failover included;
 *  - a Receive whose attempt ran out of time is not sent to another node:
 *    logic may have taken it already, and a second node would take it
 *    again. Its caller gets E_RECEIVE_TIMEOUT (outcome unknown), while a
 *    Receive a node was unavailable for still moves on to the next node;
 *  - a Connect whose client socket has closed meanwhile is dropped before it
 *    is sent (E_LOGIC_CALL_CANCELLED): logic never creates that session, so
 *    no Disconnect is owed.
 * Calls never sent are counted in `im_logic_calls_rejected_total{rpc,cause}`
 * (cause queue_full, expired or caller_gone) and logged at most once a second.
 */
import type { ActorKind, ActorRef, Reply } from '../system/actor-kind';
import { ErrorName, ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import type { RoomDirectoryMsg } from './room-directory-actor';
import { ConnectResult, Log, LogicCallError, LogicNodeClient, NodeStats, Outcome, ProtoMessage } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export type GatewayMsg =
  | {
    readonly type: 'connect';
    readonly cookie: string;
    readonly token: Buffer;
    /** The id logic keeps with the session (see ConnectReq.connId). */
    readonly connId: string;
    /** Checked just before the call is sent: false drops it (the client is gone). */
    readonly alive?: () => boolean;
    readonly reply: Reply<Outcome<ConnectResult>>;
  }
  | { readonly type: 'disconnect'; readonly mid: string; readonly key: string; readonly connId: string }
  | { readonly type: 'heartbeat'; readonly mid: string; readonly key: string; readonly connId: string }
  | { readonly type: 'receive'; readonly mid: string; readonly proto: ProtoMessage; readonly reply: Reply<Outcome<void>> }
  | { readonly type: 'renewOnline' }
  | { readonly type: 'roomCounts'; readonly round: number; readonly counts: Map<string, number> }
  | { readonly type: 'callDone' }
  /** The queue's head may have reached its deadline. */
  | { readonly type: 'expireQueued' };

// ── state ───────────────────────────────────────────────────────────────────

/** One attempt on one node, given the time left of the call's deadline. */
type Call = (node: LogicNodeClient, timeoutMs: number) => Promise<unknown>;

/** Why a call was never sent (the `cause` label of im_logic_calls_rejected_total). */
type RejectCause = 'queue_full' | 'expired' | 'caller_gone';

interface PendingCall {
  readonly rpc: string;
  readonly call: Call;
  /** `sent`: whether any logic node was asked (false: the gateway refused or dropped the call). */
  readonly settle: (outcome: Outcome<unknown>, sent: boolean) => void;
  /** Absolute time (deps.now) past which the call is not worth making. */
  readonly deadline: number;
  readonly alive?: () => boolean;
}

interface RenewRound {
  readonly round: number;
  readonly counts: Map<string, number>;
  awaiting: number;
}

export interface GatewayState {
  cursor: number;
  inFlight: number;
  /** FIFO; every call has the same timeout, so it is also in deadline order. */
  readonly queue: PendingCall[];
  /** Fires at the queue head's deadline. */
  expiryTimer: NodeJS.Timeout | null;
  renew: RenewRound | null;
  renewRound: number;
  lastRenewAt: number;
  /** Rejections not yet reported in a log line, and when the last line went out. */
  unloggedRejections: number;
  lastRejectionLogAt: number;
  readonly deps: GatewayDeps;
}

export interface GatewayDeps {
  readonly nodes: readonly LogicNodeClient[];
  /** This node's id in logic's routing table (its gRPC address). */
  readonly serverId: () => string;
  readonly roomDirectories: readonly ActorRef<RoomDirectoryMsg>[];
  /** Open sockets and distinct client IPs, sent with each RenewOnline. */
  readonly stats: () => NodeStats;
  readonly maxInFlight: number;
  /** Calls that may wait for a free in-flight slot; 0: none wait. */
  readonly maxQueued: number;
  /** Longest one attempt on one node may take; a call's deadline is this × the number of nodes, counted from when the gateway got it. */
  readonly callTimeoutMs: number;
  readonly now: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** Rejections are logged at most this often (each line says how many there were since the last). */
const REJECTION_LOG_INTERVAL_MS = 1000;

/**
 * Less than this left of a call's deadline and it is not sent (nor handed to
 * the next node): the answer could not come back in time anyway.
 */
export const MIN_CALL_TIME_MS = 10;

// ── behaviour ───────────────────────────────────────────────────────────────

/** What a failure logic answered (one not worth retrying on another node) is reported as; other rpcs report E_LOGIC_UNAVAILABLE. */
const REFUSED_BY_RPC: Readonly<Record<string, ErrorName>> = { Connect: 'AUTH_REFUSED', Receive: 'RECEIVE_REFUSED' };

/**
 * Rpcs that are not sent to another node after an attempt ran out of time,
 * and what their caller is told: logic may have acted on the timed-out
 * attempt, and acting twice is worse than an honest "unknown".
 */
const UNKNOWN_AFTER_TIMEOUT: Readonly<Record<string, ErrorName>> = { Receive: 'RECEIVE_TIMEOUT' };

/** A call's whole deadline: one attempt's worth of time per logic node. */
export function callBudgetMs(deps: Pick<GatewayDeps, 'callTimeoutMs' | 'nodes'>): number {
  return deps.callTimeoutMs * Math.max(1, deps.nodes.length);
}

/**
 * Tries each node once, starting at `first`, each attempt within
 * `callTimeoutMs` and all of them within the call's deadline: a
 * retryable failure moves to the next node while time is left (a timeout
 * too, unless the rpc is in UNKNOWN_AFTER_TIMEOUT), a refusal ends the call. Runs outside the actor's turn and touches no actor state.
 */
async function withFailover(deps: GatewayDeps, first: number, pending: PendingCall): Promise<Outcome<unknown>> {
  const { nodes } = deps;
  const { rpc } = pending;
  let lastError = 'no logic node configured';
  for (let i = 0; i < nodes.length; i++) {
    const left = pending.deadline - deps.now();
    if (left < MIN_CALL_TIME_MS) {
      lastError = `${lastError}; the ${callBudgetMs(deps)} ms deadline passed`;
      break;
    }
    const node = nodes[(first + i) % nodes.length];
    try {
      return { ok: true, value: await pending.call(node, Math.min(deps.callTimeoutMs, left)) };
    } catch (err) {
      const failure = err instanceof LogicCallError ? err : new LogicCallError(String(err), false, 'UNKNOWN', node.address);
      deps.metrics.inc('im_logic_call_failures_total', { rpc, status: failure.status });
      deps.log.warn('logic call failed', { component: 'logic-gateway', rpc, node: node.address, status: failure.status, error: failure.message });
      if (!failure.retryable) {
        return { ok: false, error: new ImError(REFUSED_BY_RPC[rpc] ?? 'LOGIC_UNAVAILABLE', `${failure.status}: ${failure.message}`) };
      }
      const unknown = failure.status === 'DEADLINE_EXCEEDED' ? UNKNOWN_AFTER_TIMEOUT[rpc] : undefined;
      if (unknown) return { ok: false, error: new ImError(unknown, `${failure.status}: ${failure.message}`) };
      lastError = `${node.address}: ${failure.status}`;
    }
  }
  return { ok: false, error: new ImError('LOGIC_UNAVAILABLE', lastError) };
}

function reject(state: GatewayState, deps: GatewayDeps, pending: PendingCall, cause: RejectCause, error: ImError): void {
  deps.metrics.inc('im_logic_calls_rejected_total', { rpc: pending.rpc, cause });
  if (cause !== 'caller_gone') {
    state.unloggedRejections++;
    const now = deps.now();
    if (now - state.lastRejectionLogAt >= REJECTION_LOG_INTERVAL_MS) {
      deps.log.warn('logic calls rejected', {
        component: 'logic-gateway', rpc: pending.rpc, cause, code: error.code, error: error.message,
        rejected: state.unloggedRejections, inFlight: state.inFlight, queued: state.queue.length,
      });
      state.unloggedRejections = 0;
      state.lastRejectionLogAt = now;
    }
  }
  pending.settle({ ok: false, error }, false);
}

/** Sends the call, unless its caller is gone or its deadline passed; returns whether it was sent. */
function launch(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, pending: PendingCall): boolean {
  if (pending.alive && !pending.alive()) {
    reject(state, deps, pending, 'caller_gone', new ImError('LOGIC_CALL_CANCELLED', pending.rpc));
    return false;
  }
  if (pending.deadline - deps.now() < MIN_CALL_TIME_MS) {
    reject(state, deps, pending, 'expired', new ImError('LOGIC_UNAVAILABLE', `${pending.rpc} waited its whole ${callBudgetMs(deps)} ms deadline for a free slot`));
    return false;
  }
  state.inFlight++;
  const first = state.cursor;
  state.cursor = (state.cursor + 1) % Math.max(1, deps.nodes.length);
  void withFailover(deps, first, pending).then((outcome) => {
    self.tell({ type: 'callDone' });
    pending.settle(outcome, true);
  });
  return true;
}

function submit(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, rpc: string, call: Call,
  settle: PendingCall['settle'], alive?: () => boolean): void {
  const pending: PendingCall = { rpc, call, settle, deadline: deps.now() + callBudgetMs(deps), alive };
  if (state.inFlight < deps.maxInFlight) {
    launch(state, deps, self, pending);
  } else if (state.queue.length >= deps.maxQueued) {
    reject(state, deps, pending, 'queue_full', new ImError('LOGIC_BUSY', `${state.inFlight} in flight, ${state.queue.length} waiting`));
  } else {
    state.queue.push(pending);
    armExpiry(state, deps, self);
  }
}

/** Starts queued calls while slots are free (skipping those that are no longer worth sending). */
function drain(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  while (state.inFlight < deps.maxInFlight) {
    const next = state.queue.shift();
    if (!next) break;
    launch(state, deps, self, next);
  }
  armExpiry(state, deps, self);
}

function armExpiry(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  const head = state.queue[0];
  if (!head || state.expiryTimer !== null) return;
  state.expiryTimer = setTimeout(() => self.tell({ type: 'expireQueued' }), Math.max(0, head.deadline - MIN_CALL_TIME_MS - deps.now()));
  state.expiryTimer.unref();
}

function expireQueued(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  state.expiryTimer = null;
  const now = deps.now();
  while (state.queue.length > 0 && state.queue[0].deadline - now < MIN_CALL_TIME_MS) {
    const expired = state.queue.shift() as PendingCall;
    reject(state, deps, expired, 'expired', new ImError('LOGIC_UNAVAILABLE', `${expired.rpc} waited its whole ${callBudgetMs(deps)} ms deadline for a free slot`));
  }
  armExpiry(state, deps, self);
}

function ignoreOutcome(deps: GatewayDeps, rpc: string): PendingCall['settle'] {
  return (outcome, sent) => {
    // Calls the gateway refused are counted and logged by reject().
    if (!outcome.ok && sent) deps.log.warn('logic call dropped', { component: 'logic-gateway', rpc, code: outcome.error.code, error: outcome.error.message });
  };
}

function finishRenewRound(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, round: RenewRound): void {
  state.renew = null;
  const reported = round.counts;
  const roomCount: Record<string, number> = {};
  for (const [roomId, n] of reported) roomCount[roomId] = n;
  submit(state, deps, self, 'RenewOnline', (node, timeoutMs) => node.renewOnline(deps.serverId(), roomCount, deps.stats(), timeoutMs), (outcome) => {
    if (!outcome.ok) {
      // Rooms' op-3 counts go stale and the cluster's totals lose this node until a round gets through.
      deps.metrics.inc('im_renew_online_failures_total', { code: outcome.error.code });
      deps.log.error('room counts not reported to logic', {
        component: 'logic-gateway', code: outcome.error.code, error: outcome.error.message, rooms: reported.size,
      });
      return;
    }
    const all = outcome.value as Record<string, number>;
    for (const directory of deps.roomDirectories) directory.tell({ type: 'clusterCounts', all, reported });
  });
}

function stopTimer(state: GatewayState): void {
  if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
  state.expiryTimer = null;
}

export const logicGatewayActor: ActorKind<GatewayState, GatewayMsg, GatewayDeps> = {
  kind: 'logic-gateway',
  init: (deps) => ({
    cursor: 0, inFlight: 0, queue: [], expiryTimer: null, renew: null, renewRound: 0, lastRenewAt: 0,
    unloggedRejections: 0, lastRejectionLogAt: -Infinity, deps,
  }),

  receive(state, msg, ctx) {
    const self = ctx.self;
    const deps = state.deps;
    switch (msg.type) {
      case 'connect':
        submit(state, deps, self, 'Connect',
          (node, timeoutMs) => node.connect(deps.serverId(), msg.cookie, msg.token, msg.connId, timeoutMs),
          (outcome) => msg.reply(outcome as Outcome<ConnectResult>), msg.alive);
        return state;
      case 'disconnect':
        submit(state, deps, self, 'Disconnect',
          (node, timeoutMs) => node.disconnect(msg.mid, msg.key, deps.serverId(), msg.connId, timeoutMs), ignoreOutcome(deps, 'Disconnect'));
        return state;
      case 'heartbeat':
        submit(state, deps, self, 'Heartbeat',
          (node, timeoutMs) => node.heartbeat(msg.mid, msg.key, deps.serverId(), msg.connId, timeoutMs), ignoreOutcome(deps, 'Heartbeat'));
        return state;
      case 'receive':
        submit(state, deps, self, 'Receive',
          (node, timeoutMs) => node.receive(msg.mid, msg.proto, timeoutMs), (outcome) => msg.reply(outcome as Outcome<void>));
        return state;
      case 'callDone':
        state.inFlight--;
        drain(state, deps, self);
        return state;
      case 'expireQueued':
        expireQueued(state, deps, self);
        return state;
      case 'renewOnline': {
        // A round still waiting for directories is abandoned: its counts would be stale anyway.
        const round: RenewRound = { round: ++state.renewRound, counts: new Map(), awaiting: deps.roomDirectories.length };
        state.renew = round;
        state.lastRenewAt = Date.now();
        if (round.awaiting === 0) finishRenewRound(state, deps, self, round);
        for (const directory of deps.roomDirectories) {
          directory.tell({ type: 'counts', reply: (counts) => self.tell({ type: 'roomCounts', round: round.round, counts }) });
        }
        return state;
      }
      case 'roomCounts': {
        const round = state.renew;
        if (!round || round.round !== msg.round) return state;
        for (const [roomId, n] of msg.counts) round.counts.set(roomId, n);
        round.awaiting--;
        if (round.awaiting === 0) finishRenewRound(state, deps, self, round);
        return state;
      }
    }
  },

  supervision: {
    // Handlers change the counts only where nothing after can throw (calls run asynchronously, outside the
    // turn): a fault leaves the cursor, the queue and the in-flight count as they were.
    onFault: 'resume',
    maxRestarts: 20,
    windowMs: 60_000,
    critical: true,
    giveUp: stopTimer,
  },

  onStop: stopTimer,

  inspect: (state) => ({
    nodes: state.deps.nodes.map((n) => n.address), inFlight: state.inFlight, queued: state.queue.length, lastRenewAt: state.lastRenewAt,
  }),
};

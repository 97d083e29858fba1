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
 *    E_LOGIC_BUSY (a Connect's client is closed with it; a Heartbeat is
 *    dropped);
 *  - Disconnects are owed, not optional (without one the session stays at
 *    logic until its TTL): they wait in a FIFO of their own that `maxQueued`
 *    does not bound (the sessions this node holds do) and where nothing
 *    expires; an owed call's deadline starts when it is sent. Both queues
 *    share the in-flight slots: while both hold calls, freed slots alternate
 *    between them (a slot goes to the queue not served last), so neither
 *    starves and each call waits behind at most one call of the other per
 *    slot. The ordinary queue starts, because its callers are waiting and
 *    its deadlines run while they wait, where an owed call loses nothing;
 *  - each attempt on one node gets at most `callTimeoutMs`, so a node that
 *    hangs costs one attempt and the next node is tried; the call as a whole
 *    has one deadline, `callTimeoutMs` × the number of logic nodes from when
 *    it reached the gateway: a call still queued at its deadline fails with
 *    E_LOGIC_UNAVAILABLE without being sent, and one sent late gets only
 *    what is left, failover included;
 *  - RenewOnline, whose answer grows with the node's rooms, gets
 *    `renewOnlineTimeoutMs` per attempt and at most `renewOnlineIntervalMs`
 *    in all, so a round never outlives the next one; it waits for a slot no
 *    longer than other calls do;
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
import { ImError } from '../system/errors';
import { logThrottled } from '../system/log-throttle';
import type { Metrics } from '../system/metrics';
import { Call, CallSpec, LogicNodeHealth, MIN_CALL_TIME_MS, withFailover } from './logic-failover';
import type { RoomDirectoryMsg } from './room-directory-actor';
import type { ConnectResult, Log, LogicNodeClient, NodeStats, Outcome, ProtoMessage } from './ports';

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
  /** Replaces the logic nodes (discovery): calls from now on go to these; calls already sent finish where they are. */
  | { readonly type: 'setNodes'; readonly nodes: readonly LogicNodeClient[] }
  /** The (ordinary) queue's head may have reached its deadline. */
  | { readonly type: 'expireQueued' };

// ── state ───────────────────────────────────────────────────────────────────

/** Why a call was never sent (the `cause` label of im_logic_calls_rejected_total). */
type RejectCause = 'queue_full' | 'expired' | 'caller_gone';

/** A call under the ordinary rules: its deadline counts from when the gateway got it. */
interface PendingCall extends CallSpec {
  /** When (deps.now) the gateway got it. */
  readonly madeAt: number;
}

interface RenewRound {
  readonly round: number;
  readonly counts: Map<string, number>;
  awaiting: number;
}

export interface GatewayState {
  /** The logic nodes calls go to: deps.nodes at first, then what discovery says. */
  nodes: readonly LogicNodeClient[];
  cursor: number;
  inFlight: number;
  /**
   * FIFO of ordinary calls, at most `maxQueued`. Every call here may wait
   * the same time for a slot (waitBoundMs), so it is also in the order they
   * expire; a call whose own deadline is shorter (see RenewOnline) is dropped
   * when it reaches a slot, or at that common bound.
   */
  readonly queue: PendingCall[];
  /** FIFO of owed calls (Disconnects): no bound but the sessions held, no expiry while waiting. */
  readonly owed: CallSpec[];
  /** Which queue the last queued call was taken from, so that slots alternate while both hold calls ('owed' at first: the ordinary queue starts). */
  lastServed: 'queue' | 'owed';
  /** Fires at the ordinary queue head's deadline. */
  expiryTimer: NodeJS.Timeout | null;
  renew: RenewRound | null;
  renewRound: number;
  lastRenewAt: number;
  /** Rejections not yet reported in a log line, and when the last line went out. */
  unloggedRejections: number;
  lastRejectionLogAt: number;
  /** How each logic node answered lately (inspection only). */
  readonly health: LogicNodeHealth;
  readonly deps: GatewayDeps;
}

export interface GatewayDeps {
  /** The logic nodes at start; `setNodes` replaces them. */
  readonly nodes: readonly LogicNodeClient[];
  /** This node's id in logic's routing table (its gRPC address). */
  readonly serverId: () => string;
  readonly roomDirectories: readonly ActorRef<RoomDirectoryMsg>[];
  /** Open sockets and distinct client IPs, sent with each RenewOnline. */
  readonly stats: () => NodeStats;
  readonly maxInFlight: number;
  /** Calls that may wait for a free in-flight slot; 0: none wait. */
  readonly maxQueued: number;
  /** Longest one attempt on one node may take; a call's deadline is this × the number of nodes (when it is made), counted from when the gateway got it. */
  readonly callTimeoutMs: number;
  /** Longest one RenewOnline attempt may take. */
  readonly renewOnlineTimeoutMs: number;
  /** How often rounds start: the longest a RenewOnline call may take in all. */
  readonly renewOnlineIntervalMs: number;
  readonly now: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** Rejections are logged at most this often (each line says how many there were since the last). */
const REJECTION_LOG_INTERVAL_MS = 1000;

// ── behaviour ───────────────────────────────────────────────────────────────

/** A call's whole deadline: one attempt's worth of time per logic node. */
export function callBudgetMs(state: Pick<GatewayState, 'deps' | 'nodes'>): number {
  return state.deps.callTimeoutMs * Math.max(1, state.nodes.length);
}

/** The longest any ordinary call waits for a slot: the whole deadline of a call under `callTimeoutMs`. */
function waitBoundMs(state: GatewayState): number {
  return callBudgetMs(state);
}

/** A RenewOnline's whole deadline: one attempt per node, but never past the start of the next round. */
export function renewBudgetMs(state: Pick<GatewayState, 'deps' | 'nodes'>): number {
  const { deps } = state;
  return Math.min(deps.renewOnlineTimeoutMs * Math.max(1, state.nodes.length), deps.renewOnlineIntervalMs);
}

function reject(state: GatewayState, deps: GatewayDeps, pending: CallSpec, cause: RejectCause, error: ImError): void {
  deps.metrics.inc('im_logic_calls_rejected_total', { rpc: pending.rpc, cause });
  if (cause !== 'caller_gone') {
    state.unloggedRejections++;
    const now = deps.now();
    if (now - state.lastRejectionLogAt >= REJECTION_LOG_INTERVAL_MS) {
      deps.log.warn('logic calls rejected', {
        component: 'logic-gateway', rpc: pending.rpc, cause, code: error.code, error: error.message,
        rejected: state.unloggedRejections, inFlight: state.inFlight, queued: state.queue.length, owed: state.owed.length,
      });
      state.unloggedRejections = 0;
      state.lastRejectionLogAt = now;
    }
  }
  pending.settle({ ok: false, error }, false);
}

/** Until when (deps.now) a queued ordinary call may still be sent: its own deadline or the common wait bound, whichever is first. */
function sendBy(state: GatewayState, pending: PendingCall): number {
  return pending.madeAt + Math.min(pending.budgetMs, waitBoundMs(state));
}

function expiredError(pending: PendingCall, state: GatewayState): ImError {
  return new ImError('LOGIC_UNAVAILABLE', `${pending.rpc} waited its whole ${Math.min(pending.budgetMs, waitBoundMs(state))} ms deadline for a free slot`);
}

/** Sends the call with the given deadline (deps.now); every attempt, failover included, ends by it. */
function send(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, pending: CallSpec, deadline: number): void {
  state.inFlight++;
  const first = state.cursor;
  state.cursor = (state.cursor + 1) % Math.max(1, state.nodes.length);
  void withFailover({ ...deps, nodes: state.nodes }, state.health, first, pending, deadline).then((outcome) => {
    self.tell({ type: 'callDone' });
    pending.settle(outcome, true);
  });
}

/** Sends an ordinary call, unless its caller is gone or its deadline passed. */
function launch(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, pending: PendingCall): void {
  if (pending.alive && !pending.alive()) {
    reject(state, deps, pending, 'caller_gone', new ImError('LOGIC_CALL_CANCELLED', pending.rpc));
  } else if (sendBy(state, pending) - deps.now() < MIN_CALL_TIME_MS) {
    reject(state, deps, pending, 'expired', expiredError(pending, state));
  } else {
    send(state, deps, self, pending, pending.madeAt + pending.budgetMs);
  }
}

/** Sends an owed call: its deadline starts now, however long it waited. */
function launchOwed(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, owed: CallSpec): void {
  send(state, deps, self, owed, deps.now() + owed.budgetMs);
}

/** An ordinary call: sent at once when a slot is free, else queued within `maxQueued`, else refused. */
function submit(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, spec: CallSpec): void {
  const pending: PendingCall = { ...spec, madeAt: deps.now() };
  if (state.inFlight < deps.maxInFlight) {
    launch(state, deps, self, pending);
  } else if (state.queue.length >= deps.maxQueued) {
    reject(state, deps, pending, 'queue_full', new ImError('LOGIC_BUSY', `${state.inFlight} in flight, ${state.queue.length} waiting`));
  } else {
    state.queue.push(pending);
    armExpiry(state, deps, self);
  }
}

/** An owed call: sent at once when a slot is free, else queued without refusal. */
function submitOwed(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, spec: CallSpec): void {
  // A free slot means both queues are empty (drain fills slots while either holds calls).
  if (state.inFlight < deps.maxInFlight) launchOwed(state, deps, self, spec);
  else state.owed.push(spec);
}

/**
 * Starts queued calls while slots are free (skipping ordinary ones no longer
 * worth sending), alternating between the two queues while both hold calls.
 */
function drain(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  while (state.inFlight < deps.maxInFlight) {
    const fromOwed = state.owed.length > 0 && (state.queue.length === 0 || state.lastServed === 'queue');
    const owed = fromOwed ? state.owed.shift() : undefined;
    if (owed) {
      state.lastServed = 'owed';
      launchOwed(state, deps, self, owed);
      continue;
    }
    const next = state.queue.shift();
    if (!next) break;
    state.lastServed = 'queue';
    launch(state, deps, self, next);
  }
  armExpiry(state, deps, self);
}

/**
 * Arms the timer for the ordinary queue's head. The head is the next to
 * reach the common wait bound (FIFO, one bound for all); a timer already
 * armed is for an earlier head, so it fires no later than this one's bound
 * and re-arms for whatever head is left then.
 */
function armExpiry(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  const head = state.queue[0];
  if (!head || state.expiryTimer !== null) return;
  state.expiryTimer = setTimeout(() => self.tell({ type: 'expireQueued' }), Math.max(0, sendBy(state, head) - MIN_CALL_TIME_MS - deps.now()));
  state.expiryTimer.unref();
}

function expireQueued(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>): void {
  state.expiryTimer = null;
  const now = deps.now();
  for (let head = state.queue[0]; head && sendBy(state, head) - now < MIN_CALL_TIME_MS; head = state.queue[0]) {
    state.queue.shift();
    reject(state, deps, head, 'expired', expiredError(head, state));
  }
  armExpiry(state, deps, self);
}

/** A failed Disconnect or Heartbeat is one per client: one warn line per rpc and code every 10 s, the rest at debug. */
function ignoreOutcome(state: GatewayState, rpc: string): CallSpec['settle'] {
  return (outcome, sent) => {
    // Calls the gateway refused are counted and logged by reject().
    if (outcome.ok || !sent) return;
    const { code, message } = outcome.error;
    logThrottled(state.deps.log, state.health.warnings, 'warn', `dropped ${rpc} ${code}`, 'logic call dropped', { component: 'logic-gateway', rpc, code, error: message });
  };
}

function finishRenewRound(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, round: RenewRound): void {
  state.renew = null;
  const reported = round.counts;
  const roomCount: Record<string, number> = {};
  for (const [roomId, n] of reported) roomCount[roomId] = n;
  const call: Call = (node, timeoutMs) => node.renewOnline(deps.serverId(), roomCount, deps.stats(), timeoutMs);
  submit(state, deps, self, { rpc: 'RenewOnline', call, attemptMs: deps.renewOnlineTimeoutMs, budgetMs: renewBudgetMs(state), settle: (outcome) => {
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
  } });
}

/** A call under `callTimeoutMs`: one attempt's time per try, that times the nodes in all. */
function ordinary(state: GatewayState, rpc: string, call: Call, settle: CallSpec['settle'], alive?: () => boolean): CallSpec {
  return { rpc, call, settle, attemptMs: state.deps.callTimeoutMs, budgetMs: callBudgetMs(state), alive };
}

function stopTimer(state: GatewayState): void {
  if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
  state.expiryTimer = null;
}

export const logicGatewayActor: ActorKind<GatewayState, GatewayMsg, GatewayDeps> = {
  kind: 'logic-gateway',
  init: (deps) => ({
    nodes: deps.nodes, cursor: 0, inFlight: 0, queue: [], owed: [], lastServed: 'owed', expiryTimer: null, renew: null, renewRound: 0, lastRenewAt: 0,
    unloggedRejections: 0, lastRejectionLogAt: -Infinity, health: new LogicNodeHealth(), deps,
  }),

  receive(state, msg, ctx) {
    const self = ctx.self;
    const deps = state.deps;
    switch (msg.type) {
      case 'connect':
        submit(state, deps, self, ordinary(state, 'Connect',
          (node, timeoutMs) => node.connect(deps.serverId(), msg.cookie, msg.token, msg.connId, timeoutMs),
          (outcome) => msg.reply(outcome as Outcome<ConnectResult>), msg.alive));
        return state;
      case 'disconnect':
        submitOwed(state, deps, self, ordinary(state, 'Disconnect',
          (node, timeoutMs) => node.disconnect(msg.mid, msg.key, deps.serverId(), msg.connId, timeoutMs), ignoreOutcome(state, 'Disconnect')));
        return state;
      case 'heartbeat':
        submit(state, deps, self, ordinary(state, 'Heartbeat',
          (node, timeoutMs) => node.heartbeat(msg.mid, msg.key, deps.serverId(), msg.connId, timeoutMs), ignoreOutcome(state, 'Heartbeat')));
        return state;
      case 'receive':
        submit(state, deps, self, ordinary(state, 'Receive',
          (node, timeoutMs) => node.receive(msg.mid, msg.proto, timeoutMs), (outcome) => msg.reply(outcome as Outcome<void>)));
        return state;
      case 'setNodes':
        state.health.keepOnly(msg.nodes.map((n) => n.address));
        state.nodes = msg.nodes;
        state.cursor = 0;
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
    // `queued` counts the owed calls too: a drain waits until it is 0.
    nodes: state.health.view(state.nodes.map((n) => n.address), state.deps.now()),
    inFlight: state.inFlight, queued: state.queue.length + state.owed.length,
    owed: state.owed.length, lastRenewAt: state.lastRenewAt,
  }),
};

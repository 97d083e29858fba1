/**
 * Logic gateway: the node's one way to logic. Calls go round-robin over the
 * configured logic nodes; a node that is unavailable or misses the deadline
 * is skipped for the next one; when none answers the caller gets
 * E_LOGIC_UNAVAILABLE. In-flight calls are bounded: excess calls wait here.
 * Every RenewOnline interval it gathers the room counts from the room
 * directories, reports them, and hands the cluster totals back to them.
 */
import type { ActorKind, ActorRef, Reply } from '../system/actor-kind';
import { ErrorName, ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import type { RoomDirectoryMsg } from './room-directory-actor';
import { ConnectResult, Log, LogicCallError, LogicNodeClient, NodeStats, Outcome, ProtoMessage } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export type GatewayMsg =
  | { readonly type: 'connect'; readonly cookie: string; readonly token: Buffer; readonly reply: Reply<Outcome<ConnectResult>> }
  | { readonly type: 'disconnect'; readonly mid: string; readonly key: string }
  | { readonly type: 'heartbeat'; readonly mid: string; readonly key: string }
  | { readonly type: 'receive'; readonly mid: string; readonly proto: ProtoMessage; readonly reply: Reply<Outcome<void>> }
  | { readonly type: 'renewOnline' }
  | { readonly type: 'roomCounts'; readonly round: number; readonly counts: Map<string, number> }
  | { readonly type: 'callDone' };

// ── state ───────────────────────────────────────────────────────────────────

type Call = (node: LogicNodeClient) => Promise<unknown>;

interface PendingCall {
  readonly rpc: string;
  readonly call: Call;
  readonly settle: (outcome: Outcome<unknown>) => void;
}

interface RenewRound {
  readonly round: number;
  readonly counts: Map<string, number>;
  awaiting: number;
}

export interface GatewayState {
  cursor: number;
  inFlight: number;
  readonly queue: PendingCall[];
  renew: RenewRound | null;
  renewRound: number;
  lastRenewAt: number;
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
  readonly metrics: Metrics;
  readonly log: Log;
}

// ── behaviour ───────────────────────────────────────────────────────────────

/** What a failure logic answered (one not worth retrying on another node) is reported as; other rpcs report E_LOGIC_UNAVAILABLE. */
const REFUSED_BY_RPC: Readonly<Record<string, ErrorName>> = { Connect: 'AUTH_REFUSED', Receive: 'RECEIVE_REFUSED' };

/**
 * Tries each node once, starting at `first`: a retryable failure moves to the
 * next node, a refusal ends the attempt. Runs outside the actor's turn and
 * touches no actor state.
 */
async function withFailover(deps: GatewayDeps, first: number, rpc: string, call: Call): Promise<Outcome<unknown>> {
  const { nodes } = deps;
  let lastError = 'no logic node configured';
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[(first + i) % nodes.length];
    try {
      return { ok: true, value: await call(node) };
    } catch (err) {
      const failure = err instanceof LogicCallError ? err : new LogicCallError(String(err), false, 'UNKNOWN', node.address);
      deps.metrics.inc('im_logic_call_failures_total', { rpc, status: failure.status });
      deps.log.warn('logic call failed', { component: 'logic-gateway', rpc, node: node.address, status: failure.status, error: failure.message });
      if (!failure.retryable) {
        return { ok: false, error: new ImError(REFUSED_BY_RPC[rpc] ?? 'LOGIC_UNAVAILABLE', `${failure.status}: ${failure.message}`) };
      }
      lastError = `${node.address}: ${failure.status}`;
    }
  }
  return { ok: false, error: new ImError('LOGIC_UNAVAILABLE', lastError) };
}

function start(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, pending: PendingCall): void {
  state.inFlight++;
  const first = state.cursor;
  state.cursor = (state.cursor + 1) % Math.max(1, deps.nodes.length);
  void withFailover(deps, first, pending.rpc, pending.call).then((outcome) => {
    self.tell({ type: 'callDone' });
    pending.settle(outcome);
  });
}

function submit(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, pending: PendingCall): void {
  if (state.inFlight < deps.maxInFlight) start(state, deps, self, pending);
  else state.queue.push(pending);
}

function ignoreOutcome(deps: GatewayDeps, rpc: string): (outcome: Outcome<unknown>) => void {
  return (outcome) => {
    if (!outcome.ok) deps.log.warn('logic call dropped', { component: 'logic-gateway', rpc, code: outcome.error.code, error: outcome.error.message });
  };
}

function finishRenewRound(state: GatewayState, deps: GatewayDeps, self: ActorRef<GatewayMsg>, round: RenewRound): void {
  state.renew = null;
  const reported = round.counts;
  const roomCount: Record<string, number> = {};
  for (const [roomId, n] of reported) roomCount[roomId] = n;
  submit(state, deps, self, {
    rpc: 'RenewOnline',
    call: (node) => node.renewOnline(deps.serverId(), roomCount, deps.stats()),
    settle: (outcome) => {
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
    },
  });
}

export const logicGatewayActor: ActorKind<GatewayState, GatewayMsg, GatewayDeps> = {
  kind: 'logic-gateway',
  init: (deps) => ({ cursor: 0, inFlight: 0, queue: [], renew: null, renewRound: 0, lastRenewAt: 0, deps }),

  receive(state, msg, ctx) {
    const self = ctx.self;
    const deps = state.deps;
    switch (msg.type) {
      case 'connect':
        submit(state, deps, self, {
          rpc: 'Connect',
          call: (node) => node.connect(deps.serverId(), msg.cookie, msg.token),
          settle: msg.reply as (o: Outcome<unknown>) => void,
        });
        return state;
      case 'disconnect':
        submit(state, deps, self, {
          rpc: 'Disconnect', call: (node) => node.disconnect(msg.mid, msg.key, deps.serverId()), settle: ignoreOutcome(deps, 'Disconnect'),
        });
        return state;
      case 'heartbeat':
        submit(state, deps, self, {
          rpc: 'Heartbeat', call: (node) => node.heartbeat(msg.mid, msg.key, deps.serverId()), settle: ignoreOutcome(deps, 'Heartbeat'),
        });
        return state;
      case 'receive':
        submit(state, deps, self, {
          rpc: 'Receive', call: (node) => node.receive(msg.mid, msg.proto), settle: msg.reply as (o: Outcome<unknown>) => void,
        });
        return state;
      case 'callDone': {
        state.inFlight--;
        const next = state.queue.shift();
        if (next) start(state, deps, self, next);
        return state;
      }
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
  },

  inspect: (state) => ({
    nodes: state.deps.nodes.map((n) => n.address), inFlight: state.inFlight, queued: state.queue.length, lastRenewAt: state.lastRenewAt,
  }),
};

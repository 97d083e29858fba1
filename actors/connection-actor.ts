/**
 * Connection actor: one per client socket, from accept to close.
 *
 *   awaitingAuth ──op 7──► authenticating ──Connect ok──► online ──► closed
 *        │                      │ (socket gone or logic too slow: │
 *        │                      │  'closing', Disconnect once     │
 *        └── timeout / bad op ──┴── answered, if it succeeded) ───┘
 *
 * Logic knows each connection by an id unique across the node's restarts
 * (`logicConnId`: the node's boot id and the socket's serial), sent with
 * Connect, Heartbeat and Disconnect, so a late Disconnect of this connection
 * never removes the session of a successor that took the same key.
 *
 * Waiting for logic is bounded: once op 7 is handed to the gateway, logic's
 * answer has `logicConnectWaitMs`; past it the client is closed with
 * E_LOGIC_TIMEOUT (and a session logic creates later is disconnected). A
 * Connect still queued in the gateway when the socket closes is not sent
 * at all, and then no Disconnect is owed.
 *
 * Every way out (client close, protocol error, timeouts, kick, drain, crash)
 * goes through `release`: leave bucket and room, tell logic once, close the
 * socket, forget the deadline. Pushes never pass through here: buckets and
 * rooms write to the handle directly.
 */
import type { ActorContext, ActorKind, ActorRef } from '../system/actor-kind';
import { Op, Packet } from '../system/codec/packet';
import { errorAckBody } from '../system/codec/error-ack';
import { authReplyBody } from '../system/codec/reply-bodies';
import { ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import { acceptsSet } from './accepts-sets';
import { acceptsProblem, ConnectionLimits, fullBucket, roomIdProblem, UpstreamBucket } from './connection-limits';
import { close, enter, overLimit, release, reply } from './connection-lifecycle';
import { handleOnlinePacket, logicBeatDelay } from './connection-online';
import type { Phase, PhaseGauges } from './connection-phases';
import type { BucketMsg, ReplacedNotice } from './bucket-actor';
import type { ConnectionShardMsg, ShardNotice } from './connection-shard-actor';
import type { GatewayMsg } from './logic-gateway-actor';
import type { ClientHandle, CloseReason, ConnectionIndex, ConnectResult, Log, Outcome } from './ports';
import type { RoomDirectoryMsg } from './room-directory-actor';
import type { ShardRouter } from './shard-router';
import type { LogThrottle } from '../system/log-throttle';

// ── messages ────────────────────────────────────────────────────────────────

export type ConnectionMsg =
  | { readonly type: 'packet'; readonly packet: Packet }
  | { readonly type: 'protocolError'; readonly error: ImError }
  /** The edge saw the socket end (client close, socket error, slow consumer). */
  | { readonly type: 'socketClosed'; readonly reason: CloseReason; readonly error?: ImError }
  | { readonly type: 'authResult'; readonly outcome: Outcome<ConnectResult> }
  /** Logic's answer to an upstream message: `error` null when Receive took it. */
  | { readonly type: 'received'; readonly ver: number; readonly seq: number; readonly body: Buffer; readonly error: ImError | null }
  /** An operator closes the connection (admin kick): op 6 E_KICKED, and logic hears Disconnect. */
  | { readonly type: 'kick'; readonly closing: () => void }
  | ShardNotice
  | ReplacedNotice;

// ── state ───────────────────────────────────────────────────────────────────

export { phaseGauges } from './connection-phases';
export type { LivePhase, Phase, PhaseGauges } from './connection-phases';
export interface Session {
  readonly mid: string;
  readonly key: string;
  roomId: string;
  accepts: ReadonlySet<number>;
  readonly heartbeatMs: number;
}

export interface ConnectionState {
  phase: Phase;
  session: Session | null;
  /** The id logic keeps with this connection's session (unique across the node's restarts). */
  readonly logicConnId: string;
  /** While authenticating: when logic's answer is no longer waited for. */
  authDeadline: number;
  /** Packets that arrived while logic was deciding; replayed once online. */
  early: Packet[] | null;
  lastBeatAt: number;
  nextLogicBeatAt: number;
  /** Upstream messages this connection may still send now (limits.upstreamPerSec). */
  readonly upstream: UpstreamBucket;
  /** Control packets in the current second (limits.controlPerSec). */
  controlSecond: number;
  controlCount: number;
  /** Upstream messages at logic's Receive, not yet answered: each holds its packet unsettled. */
  atLogic: number;
  readonly openedAt: number;
  readonly deps: ConnectionDeps;
}

/** What every connection of a node shares. */
export interface ConnectionServices {
  readonly gateway: ActorRef<GatewayMsg>;
  readonly buckets: ShardRouter<BucketMsg>;
  readonly rooms: ShardRouter<RoomDirectoryMsg>;
  readonly handshakeTimeoutMs: number;
  /** How long logic's answer to op 7 is waited for, from when it is asked. */
  readonly logicConnectWaitMs: number;
  /** This node's boot id: with a socket's serial, the connection's id at logic. */
  readonly bootId: string;
  readonly defaultHeartbeatMs: number;
  readonly logicHeartbeatMinMs: number;
  readonly logicHeartbeatMaxMs: number;
  readonly limits: ConnectionLimits;
  readonly metrics: Metrics;
  /** Kept exact by `enter`, the one place a connection changes phase. */
  readonly phases: PhaseGauges;
  readonly log: Log;
  /**
   * Closes with an error are logged once per reason and code per window (the
   * rest at debug): a flood of bad clients, or a drain telling every client
   * to go, must not become the log. im_connections_closed_total counts each.
   */
  readonly closeLogs: LogThrottle;
  /** Where inspection finds connections by user and by address. */
  readonly index: ConnectionIndex;
  readonly now: () => number;
  readonly random: () => number;
}

export interface ConnectionDeps {
  readonly handle: ClientHandle;
  readonly shard: ActorRef<ConnectionShardMsg>;
  readonly services: ConnectionServices;
}

/** The actor's context, handed down to each helper (its methods are called on it, never detached). */
export type Ctx = ActorContext<ConnectionMsg>;

/** Packets a client may send while its auth is in flight before that counts as abuse. */
export const MAX_EARLY_PACKETS = 16;

// ── behaviour ───────────────────────────────────────────────────────────────
/**
 * Handles a packet the edge read, then settles it with the edge, unless the
 * early queue or logic's Receive holds it now (it is settled when they are
 * done with it): what the edge counts to pause reading (limits.readPauseDepth).
 */
function handleSocketPacket(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, p: Packet): ConnectionState {
  const early = state.early?.length ?? 0;
  const atLogic = state.atLogic;
  handlePacket(state, deps, ctx, p);
  if ((state.early?.length ?? 0) <= early && state.atLogic === atLogic) deps.handle.settled();
  return state;
}

function handleAuthResult(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, outcome: Outcome<ConnectResult>): ConnectionState {
  const s = deps.services;
  if (state.phase === 'closing') {
    // Logic created a session for a connection that is gone: undo it. A failed (or never sent) Connect created none.
    if (outcome.ok) s.gateway.tell({ type: 'disconnect', mid: outcome.value.mid, key: outcome.value.key, connId: state.logicConnId });
    enter(state, 'closed');
    ctx.stopSelf();
    return state;
  }
  if (state.phase !== 'authenticating') return state;
  if (!outcome.ok) {
    if (outcome.error.name === 'LOGIC_CALL_CANCELLED') {
      // The gateway saw the socket closed before this actor did: the close is the client's.
      release(state, deps, 'client_closed');
      enter(state, 'closed');
      ctx.stopSelf();
      return state;
    }
    s.metrics.inc('im_auth_failures_total', { code: outcome.error.code });
    const reason: CloseReason = outcome.error.name === 'AUTH_REFUSED' ? 'auth_refused' : 'logic_unavailable';
    // release() leaves an 'authenticating' connection 'closing' to await logic's answer; this is that
    // answer, and nothing was registered, so the connection is done (else the actor would never stop).
    release(state, deps, reason, outcome.error);
    enter(state, 'closed');
    ctx.stopSelf();
    return state;
  }
  const r = outcome.value;
  const over = roomIdProblem(r.roomId, s.limits) ?? acceptsProblem(new Set(r.accepts).size, s.limits);
  if (over) {
    // Logic made a session this connection will not use: undo it, as for a client that left meanwhile.
    s.gateway.tell({ type: 'disconnect', mid: r.mid, key: r.key, connId: state.logicConnId });
    overLimit(state, deps, ctx, over);
    enter(state, 'closed');
    ctx.stopSelf();
    return state;
  }
  const now = s.now();
  const session: Session = {
    mid: r.mid, key: r.key, roomId: r.roomId, accepts: acceptsSet(r.accepts),
    heartbeatMs: r.heartbeatMs > 0 ? r.heartbeatMs : s.defaultHeartbeatMs,
  };
  state.session = session;
  enter(state, 'online');
  s.metrics.inc('im_auth_results_total', { outcome: 'ok' });
  state.lastBeatAt = now;
  state.nextLogicBeatAt = now + logicBeatDelay(s);
  // Registration is told before op 8 leaves, so a push sent after the client sees op 8 finds it.
  s.buckets.forKey(session.key).tell({
    type: 'put', member: { key: session.key, connId: deps.handle.id, mid: session.mid, handle: deps.handle, accepts: session.accepts, owner: ctx.self },
  });
  if (session.roomId !== '') s.rooms.forKey(session.roomId).tell({ type: 'join', roomId: session.roomId, handle: deps.handle });
  s.index.identified(deps.handle, session.mid);
  deps.shard.tell({ type: 'watch', id: deps.handle.id, at: now + session.heartbeatMs });
  s.metrics.inc('im_auth_ok_total');
  const auth = state.early?.shift();
  if (auth) deps.handle.settled();
  reply(deps, auth?.ver ?? 1, Op.AuthReply, auth?.seq ?? 0, authReplyBody(session));
  const early = state.early ?? [];
  state.early = null;
  for (const packet of early) {
    handleSocketPacket(state, deps, ctx, packet);
    if (state.phase !== 'online') break;
  }
  return state;
}

function handlePacket(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, p: Packet): ConnectionState {
  const s = deps.services;
  switch (state.phase) {
    case 'awaitingAuth': {
      if (p.op !== Op.Auth) return close(state, deps, ctx, 'protocol_error', new ImError('OP_BEFORE_AUTH', `got op ${p.op}`));
      enter(state, 'authenticating');
      // The auth packet leads the queue: its ver and seq are echoed in op 8.
      state.early = [p];
      const { handle } = deps;
      s.gateway.tell({
        type: 'connect', cookie: handle.cookie, token: p.body, connId: state.logicConnId,
        alive: () => !handle.closed,
        reply: (outcome) => ctx.self.tell({ type: 'authResult', outcome }),
      });
      state.authDeadline = s.now() + s.logicConnectWaitMs;
      deps.shard.tell({ type: 'watch', id: handle.id, at: state.authDeadline });
      return state;
    }
    case 'authenticating': {
      const early = state.early ?? [];
      if (early.length > MAX_EARLY_PACKETS) {
        return close(state, deps, ctx, 'protocol_error', new ImError('OP_BEFORE_AUTH', `more than ${MAX_EARLY_PACKETS} packets before the auth reply`));
      }
      early.push(p);
      state.early = early;
      return state;
    }
    case 'online':
      return handleOnlinePacket(state, state.session as Session, deps, ctx, p);
    case 'closing':
    case 'closed':
      return state;
  }
}
function handleDeadline(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, now: number): ConnectionState {
  const s = deps.services;
  const id = deps.handle.id;
  switch (state.phase) {
    case 'awaitingAuth':
      return close(state, deps, ctx, 'auth_timeout', new ImError('AUTH_TIMEOUT', `${s.handshakeTimeoutMs} ms`));
    case 'authenticating':
      if (now >= state.authDeadline) {
        // 'closing': should logic still answer, the session it made is disconnected then.
        return close(state, deps, ctx, 'logic_timeout', new ImError('LOGIC_TIMEOUT', `no answer within ${s.logicConnectWaitMs} ms`));
      }
      // A deadline armed before op 7 came (the handshake's): wait on for logic's answer.
      deps.shard.tell({ type: 'watch', id, at: state.authDeadline });
      return state;
    case 'online': {
      const session = state.session as Session;
      const due = state.lastBeatAt + session.heartbeatMs;
      if (now >= due) {
        s.metrics.inc('im_heartbeat_timeouts_total');
        return close(state, deps, ctx, 'heartbeat_timeout', new ImError('HEARTBEAT_TIMEOUT', `${session.heartbeatMs} ms`));
      }
      deps.shard.tell({ type: 'watch', id, at: due });
      return state;
    }
    case 'closing':
    case 'closed':
      return state;
  }
}

function initialState(deps: ConnectionDeps): ConnectionState {
  return {
    phase: 'awaitingAuth', session: null, logicConnId: `${deps.services.bootId}.${deps.handle.id}`, authDeadline: Infinity,
    early: null, lastBeatAt: 0, nextLogicBeatAt: 0, upstream: fullBucket(deps.services.limits, deps.services.now()), controlSecond: 0, controlCount: 0, atLogic: 0,
    openedAt: deps.services.now(), deps,
  };
}

export const connectionActor: ActorKind<ConnectionState, ConnectionMsg, ConnectionDeps> = {
  kind: 'connection',

  init: (deps) => {
    deps.services.index.opened(deps.handle);
    deps.services.phases[deps.handle.transport].awaitingAuth.inc();
    return initialState(deps);
  },

  receive(state, msg, ctx) {
    const deps = state.deps;
    switch (msg.type) {
      case 'packet':
        return handleSocketPacket(state, deps, ctx, msg.packet);
      case 'protocolError':
        deps.services.metrics.inc('im_protocol_errors_total', { code: msg.error.code, transport: deps.handle.transport });
        return close(state, deps, ctx, 'protocol_error', msg.error);
      case 'socketClosed':
        return close(state, deps, ctx, msg.reason, msg.error);
      case 'authResult':
        return handleAuthResult(state, deps, ctx, msg.outcome);
      case 'received':
        state.atLogic--;
        deps.handle.settled();
        // The echo only when logic took the message; otherwise op 5 says why, so a client never takes a loss for a delivery.
        if (state.phase === 'online') reply(deps, msg.ver, Op.SendMsgReply, msg.seq, msg.error ? errorAckBody(msg.error) : msg.body);
        return state;
      case 'deadline':
        return handleDeadline(state, deps, ctx, msg.now);
      case 'replaced':
        return close(state, deps, ctx, 'replaced', new ImError('REPLACED'));
      case 'drain':
        // Counted only when this drain is what closes it (not one already closing for another reason).
        if (state.phase !== 'closing' && state.phase !== 'closed') deps.services.metrics.inc('im_drain_notified_total');
        return close(state, deps, ctx, 'draining', new ImError('NODE_DRAINING'), { afterMs: msg.reconnectAfterMs });
      case 'kick':
        // Told only when this kick is what closes it (not one already closing for another reason).
        if (state.phase === 'closing' || state.phase === 'closed') return state;
        msg.closing();
        return close(state, deps, ctx, 'kicked', new ImError('KICKED'));
      default:
        throw new Error(`connection actor got an unknown message: ${JSON.stringify(msg)}`);
    }
  },

  supervision: {
    // A connection's state is its socket's story: there is nothing sound to resume or rebuild. The first
    // fault exhausts the budget and onStop closes it, cleanly, from whatever the state holds.
    onFault: 'resume',
    maxRestarts: 0,
    windowMs: 60_000,
    critical: false,
  },

  /**
   * The safety net for every stop that did not pass through `close`: a crash, or the node stopping
   * connections its drain could not wait for any longer (nothing else stops a connection from outside).
   */
  onStop(state, cause) {
    state.deps.services.index.closed(state.deps.handle);
    if (state.phase === 'closed') return;
    if (cause === 'gaveUp') release(state, state.deps, 'actor_crashed', new ImError('ACTOR_CRASHED'));
    else release(state, state.deps, 'draining', new ImError('NODE_DRAINING'));
    // Whatever release left it waiting for, the actor is gone: it leaves the count of live connections.
    enter(state, 'closed');
  },

  inspect(state) {
    const handle = state.deps.handle;
    const session = state.session;
    const traffic = handle.traffic();
    return {
      phase: state.phase, conn: handle.id, transport: handle.transport, remote: handle.remoteAddress,
      key: session?.key ?? null, mid: session?.mid ?? null, room: session?.roomId ?? null,
      accepts: session ? [...session.accepts] : [], connectedAt: state.openedAt,
      // Heartbeats count from the auth reply: before it there is none to be late.
      lastHeartbeatAgoMs: session ? state.deps.services.now() - state.lastBeatAt : null,
      bytesIn: traffic.bytesIn, bytesOut: traffic.bytesOut, queuedBytes: traffic.queuedBytes,
    };
  },
};

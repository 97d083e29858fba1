/**
 * How a connection changes phase and how it ends: the one place the phase
 * changes, and `release`, which every way out goes through (see the
 * connection actor).
 */
import { Outbound } from '../system/codec/outbound';
import type { ReconnectHint } from '../system/codec/disconnect-body';
import type { ImError } from '../system/errors';
import type { ConnectionDeps, ConnectionState, Ctx } from './connection-actor';
import type { Phase } from './connection-phases';
import type { CloseReason } from './ports';
import { logThrottled } from '../system/log-throttle';

/** How an op 7 ended (im_auth_results_total); every connection that sent one counts once, when it leaves 'authenticating'. */
type AuthOutcome = 'ok' | 'refused' | 'unavailable' | 'timeout' | 'abandoned';

export function reply(deps: ConnectionDeps, ver: number, op: number, seq: number, body: Buffer | string): void {
  deps.handle.send(Outbound.reply(ver, op, seq, body));
}

/**
 * Moves the connection to `phase`: the only place `state.phase` changes
 * after init, so the node's count of connections by phase stays exact.
 */
export function enter<P extends Phase>(state: ConnectionState, phase: P): asserts state is ConnectionState & { phase: P } {
  const from: Phase = state.phase;
  const to: Phase = phase;
  if (from === to) return;
  const gauges = state.deps.services.phases[state.deps.handle.transport];
  if (from !== 'closed') gauges[from].inc(-1);
  if (to !== 'closed') gauges[to].inc();
  state.phase = phase;
}

/** The auth outcome of a connection closed while logic was deciding on its op 7, by why it closed. */
function authOutcomeOf(reason: CloseReason): AuthOutcome {
  switch (reason) {
    case 'auth_refused':
      return 'refused';
    case 'logic_unavailable':
      return 'unavailable';
    case 'logic_timeout':
      return 'timeout';
    default:
      return 'abandoned';
  }
}

/**
 * Undoes everything the connection holds. Safe to call in any phase and more
 * than once; returns the phase the actor should be in afterwards.
 */
export function release(state: ConnectionState, deps: ConnectionDeps, reason: CloseReason, error?: ImError, reconnect?: ReconnectHint): Phase {
  if (state.phase === 'closed' || state.phase === 'closing') return state.phase;
  const s = deps.services;
  const { handle } = deps;
  s.metrics.inc('im_connections_closed_total', { reason });
  if (state.phase === 'authenticating') s.metrics.inc('im_auth_results_total', { outcome: authOutcomeOf(reason) });
  if (error) {
    s.metrics.inc('im_connection_errors_total', { code: error.code });
    const level = reason === 'protocol_error' || reason === 'actor_crashed' || reason === 'slow_consumer' || reason === 'kicked'
      || reason === 'limit_exceeded' ? 'warn' : 'info';
    logThrottled(s.log, s.closeLogs, level, `${reason} ${error.code}`, 'connection closed', {
      component: 'connection', conn: handle.id, transport: handle.transport, remote: handle.remoteAddress,
      reason, code: error.code, error: error.message, key: state.session?.key,
    });
  } else {
    s.log.debug('connection closed', { component: 'connection', conn: handle.id, reason, key: state.session?.key });
  }
  const session = state.session;
  if (session && state.phase === 'online') {
    // The bucket tells logic (Disconnect) unless another login of the same user has taken the key meanwhile.
    s.buckets.forKey(session.key).tell({ type: 'del', key: session.key, connId: handle.id, mid: session.mid, logicConnId: state.logicConnId });
    if (session.roomId !== '') s.rooms.forKey(session.roomId).tell({ type: 'leave', roomId: session.roomId, connId: handle.id });
    s.index.forgotten(handle, session.mid);
  }
  handle.close(reason === 'client_closed' || reason === 'socket_error' || reason === 'slow_consumer' ? undefined : error, reconnect);
  deps.shard.tell({ type: 'forget', id: handle.id });
  state.early = null;
  // Logic may still register this connection; the answer must be undone when it arrives.
  return state.phase === 'authenticating' ? 'closing' : 'closed';
}

export function close(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, reason: CloseReason, error?: ImError, reconnect?: ReconnectHint): ConnectionState {
  enter(state, release(state, deps, reason, error, reconnect));
  if (state.phase === 'closed') ctx.stopSelf();
  return state;
}

/** A limit the client (or logic's answer for it) went over: counted, op 6 with the limit's code, closed. */
export function overLimit(state: ConnectionState, deps: ConnectionDeps, ctx: Ctx, error: ImError): ConnectionState {
  const limit = error.name === 'ROOM_ID_TOO_LONG' ? 'room_id' : error.name === 'CONTROL_RATE' ? 'control_rate' : 'accepts';
  deps.services.metrics.inc('im_connection_limits_total', { limit });
  return close(state, deps, ctx, 'limit_exceeded', error);
}

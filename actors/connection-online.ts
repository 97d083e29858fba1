/**
 * What an online connection does with each packet its client sends
 * (README, "How a cloud node works"), within its limits (connection-limits).
 */
import { Op, Packet } from '../system/codec/packet';
import { errorAckBody } from '../system/codec/error-ack';
import { parseOps } from '../system/codec/reply-bodies';
import { ImError } from '../system/errors';
import type { ConnectionDeps, ConnectionServices, ConnectionState, Ctx, Session } from './connection-actor';
import { acceptsProblem, controlProblem, roomIdProblem, takeUpstream } from './connection-limits';
import { close, overLimit, reply } from './connection-lifecycle';
import { acceptsSet } from './accepts-sets';

export function logicBeatDelay(s: ConnectionServices): number {
  return s.logicHeartbeatMinMs + Math.floor(s.random() * (s.logicHeartbeatMaxMs - s.logicHeartbeatMinMs + 1));
}

export function handleOnlinePacket(state: ConnectionState, session: Session, deps: ConnectionDeps, ctx: Ctx, p: Packet): ConnectionState {
  const s = deps.services;
  const connId = deps.handle.id;
  // Control packets answer at once and may touch rooms and buckets: a client sending them without pause is abusive.
  if (p.op === Op.Heartbeat || p.op === Op.ChangeRoom || p.op === Op.Sub || p.op === Op.Unsub) {
    const tooFast = controlProblem(state, s.limits, s.now());
    if (tooFast) return overLimit(state, deps, ctx, tooFast);
  }
  switch (p.op) {
    case Op.Heartbeat: {
      const now = s.now();
      state.lastBeatAt = now;
      if (session.roomId !== '') {
        s.rooms.forKey(session.roomId).tell({ type: 'heartbeat', roomId: session.roomId, handle: deps.handle, ver: p.ver, seq: p.seq });
      } else {
        reply(deps, p.ver, Op.HeartbeatReply, p.seq, Buffer.alloc(4));
      }
      if (now >= state.nextLogicBeatAt) {
        state.nextLogicBeatAt = now + logicBeatDelay(s);
        s.gateway.tell({ type: 'heartbeat', mid: session.mid, key: session.key, connId: state.logicConnId });
      }
      return state;
    }
    case Op.ChangeRoom: {
      const roomId = p.body.toString('utf8');
      const tooLong = roomIdProblem(roomId, s.limits);
      if (tooLong) return overLimit(state, deps, ctx, tooLong);
      if (roomId !== session.roomId) {
        if (session.roomId !== '') s.rooms.forKey(session.roomId).tell({ type: 'leave', roomId: session.roomId, connId });
        if (roomId !== '') s.rooms.forKey(roomId).tell({ type: 'join', roomId, handle: deps.handle });
        session.roomId = roomId;
      }
      reply(deps, p.ver, Op.ChangeRoomReply, p.seq, p.body);
      return state;
    }
    case Op.Sub:
    case Op.Unsub: {
      const ops = parseOps(p.body);
      if (ops && ops.length > 0) {
        const changed = new Set(session.accepts);
        for (const op of ops) {
          if (p.op === Op.Sub) changed.add(op);
          else changed.delete(op);
        }
        const accepts = acceptsSet(changed);
        const tooMany = acceptsProblem(accepts.size, s.limits);
        if (tooMany) return overLimit(state, deps, ctx, tooMany);
        session.accepts = accepts;
        s.buckets.forKey(session.key).tell({ type: 'accepts', key: session.key, connId, accepts });
      }
      reply(deps, p.ver, p.op === Op.Sub ? Op.SubReply : Op.UnsubReply, p.seq, p.body);
      return state;
    }
    default: {
      // goim forwards op 4 and any business op (>= 1000) to logic and acknowledges with op 5 (an error ack when logic failed).
      if (p.op !== Op.SendMsg && p.op < 1000) {
        return close(state, deps, ctx, 'protocol_error', new ImError('UNKNOWN_OP', `op ${p.op}`));
      }
      if (!takeUpstream(state.upstream, s.limits, s.now())) {
        // Refused, not dropped: the client learns from op 5 that logic never saw it, and may send it again later.
        s.metrics.inc('im_connection_limits_total', { limit: 'upstream_rate' });
        reply(deps, p.ver, Op.SendMsgReply, p.seq, errorAckBody(new ImError('UPSTREAM_RATE')));
        return state;
      }
      state.atLogic++;
      s.gateway.tell({
        type: 'receive', mid: session.mid, proto: { ver: p.ver, op: p.op, seq: p.seq, body: p.body },
        reply: (outcome) => {
          if (!outcome.ok) s.metrics.inc('im_receive_failures_total', { code: outcome.error.code });
          ctx.self.tell({ type: 'received', ver: p.ver, seq: p.seq, body: p.body, error: outcome.ok ? null : outcome.error });
        },
      });
      return state;
    }
  }
}

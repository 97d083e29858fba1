/**
 * Room actor: one per non-empty room on this node. Holds the room's members
 * and answers heartbeats with the room's online count (this node's members
 * plus the other nodes' share, as logic last reported it).
 */
import type { ActorKind } from '../system/actor-kind';
import { Op } from '../system/codec/packet';
import { Outbound } from '../system/codec/outbound';
import type { ClientHandle } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export type RoomMsg =
  | { readonly type: 'join'; readonly handle: ClientHandle }
  | { readonly type: 'leave'; readonly connId: number }
  | { readonly type: 'broadcast'; readonly out: Outbound }
  | { readonly type: 'heartbeat'; readonly handle: ClientHandle; readonly ver: number; readonly seq: number }
  /** Members on other nodes, from the last RenewOnline answer. */
  | { readonly type: 'elsewhere'; readonly count: number };

// ── state ───────────────────────────────────────────────────────────────────

export interface RoomState {
  readonly roomId: string;
  readonly members: Map<number, ClientHandle>;
  elsewhere: number;
  readonly onDelivered?: (count: number) => void;
}

export interface RoomDeps {
  readonly roomId: string;
  readonly onDelivered?: (count: number) => void;
}

// ── behaviour ───────────────────────────────────────────────────────────────

/** op 3's body: the online count as a 4-byte big-endian int32 (wire.md §1). */
export function heartbeatReply(ver: number, seq: number, online: number): Outbound {
  const body = Buffer.allocUnsafe(4);
  body.writeInt32BE(Math.min(online, 0x7fffffff), 0);
  return Outbound.reply(ver, Op.HeartbeatReply, seq, body);
}

export const roomActor: ActorKind<RoomState, RoomMsg, RoomDeps> = {
  kind: 'room',
  init: (deps) => ({ roomId: deps.roomId, members: new Map(), elsewhere: 0, onDelivered: deps.onDelivered }),

  receive(state, msg) {
    switch (msg.type) {
      case 'join':
        state.members.set(msg.handle.id, msg.handle);
        return state;
      case 'leave':
        state.members.delete(msg.connId);
        return state;
      case 'broadcast': {
        let sent = 0;
        for (const handle of state.members.values()) if (handle.send(msg.out)) sent++;
        state.onDelivered?.(sent);
        return state;
      }
      case 'heartbeat':
        msg.handle.send(heartbeatReply(msg.ver, msg.seq, state.members.size + state.elsewhere));
        return state;
      case 'elsewhere':
        state.elsewhere = Math.max(0, msg.count);
        return state;
    }
  },

  supervision: {
    // Members cannot be rebuilt; keep them, drop the failing message.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    critical: true,
  },

  inspect: (state) => ({ roomId: state.roomId, members: state.members.size, elsewhere: state.elsewhere }),
};

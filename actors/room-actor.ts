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

/**
 * What a room can recover after a run of faults: its members whose sockets
 * are still open (a closed one's leave is on its way, and would find nothing
 * to remove). The count from other nodes is dropped; the next RenewOnline
 * answer sets it again.
 */
function rebuild(state: RoomState): RoomState {
  const members = new Map<number, ClientHandle>();
  for (const [id, handle] of state.members) if (!handle.closed) members.set(id, handle);
  return { roomId: state.roomId, members, elsewhere: 0, onDelivered: state.onDelivered };
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
    // Each handler changes the state in one step (a Map set or delete, one assignment), after anything that
    // can throw: a fault leaves the state as it was, and resuming keeps the members.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    // A room that stopped would leave its members out of room pushes with nothing to tell them, and its
    // directory would keep sending to it; so past its budget it is rebuilt in place, keeping its mailbox.
    onExhausted: 'rebuild',
    critical: false,
    rebuild,
  },

  inspect: (state) => ({ roomId: state.roomId, members: state.members.size, online: state.members.size + state.elsewhere }),
};

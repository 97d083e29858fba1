/**
 * Room directory: one shard of the node's rooms (by room-id hash). It spawns
 * a room actor on a room's first join and stops it on the last leave, and
 * keeps each room's member count so RenewOnline and Rooms need no query to
 * the room actors. Every room message passes through it, in order, so a
 * room is never stopped while a join for it is on its way.
 */
import type { ActorKind, ActorRef, Reply } from '../system/actor-kind';
import type { Outbound } from '../system/codec/outbound';
import type { ClientHandle } from './ports';
import { heartbeatReply, roomActor, RoomMsg } from './room-actor';

// ── messages ────────────────────────────────────────────────────────────────

export type RoomDirectoryMsg =
  | { readonly type: 'join'; readonly roomId: string; readonly handle: ClientHandle }
  | { readonly type: 'leave'; readonly roomId: string; readonly connId: number }
  | { readonly type: 'broadcast'; readonly roomId: string; readonly out: Outbound }
  | { readonly type: 'heartbeat'; readonly roomId: string; readonly handle: ClientHandle; readonly ver: number; readonly seq: number }
  | { readonly type: 'counts'; readonly reply: Reply<Map<string, number>> }
  /** Cluster totals from RenewOnline, and what this node reported in that same call. */
  | { readonly type: 'clusterCounts'; readonly all: Readonly<Record<string, number>>; readonly reported: ReadonlyMap<string, number> };

// ── state ───────────────────────────────────────────────────────────────────

interface RoomEntry {
  readonly ref: ActorRef<RoomMsg>;
  count: number;
}

export interface RoomDirectoryState {
  readonly rooms: Map<string, RoomEntry>;
  /** Room actor names come from a counter: a room that empties and refills gets a fresh actor. */
  nextRoomSerial: number;
  readonly deps: RoomDirectoryDeps;
}

export interface RoomDirectoryDeps {
  /** Handed to every room actor: counts what its broadcasts delivered. */
  readonly onDelivered?: (count: number) => void;
  /**
   * Room id → room actor, shared by the node's directories. Each directory
   * writes only its own rooms, when it spawns and stops them; the node reads
   * it (a push's back-pressure looks at the room's mailbox).
   */
  readonly index?: Map<string, ActorRef<RoomMsg>>;
}

// ── behaviour ───────────────────────────────────────────────────────────────

export const roomDirectoryActor: ActorKind<RoomDirectoryState, RoomDirectoryMsg, RoomDirectoryDeps> = {
  kind: 'room-directory',
  init: (deps) => ({ rooms: new Map(), nextRoomSerial: 1, deps }),

  receive(state, msg, ctx) {
    switch (msg.type) {
      case 'join': {
        let entry = state.rooms.get(msg.roomId);
        if (!entry) {
          const ref = ctx.spawn(roomActor, `room-${state.nextRoomSerial}`, { roomId: msg.roomId, onDelivered: state.deps.onDelivered });
          state.nextRoomSerial++;
          entry = { ref, count: 0 };
          state.rooms.set(msg.roomId, entry);
          state.deps.index?.set(msg.roomId, ref);
        }
        entry.count++;
        entry.ref.tell({ type: 'join', handle: msg.handle });
        return state;
      }
      case 'leave': {
        const entry = state.rooms.get(msg.roomId);
        if (!entry) return state;
        entry.count--;
        if (entry.count <= 0) {
          state.rooms.delete(msg.roomId);
          state.deps.index?.delete(msg.roomId);
          ctx.stop(entry.ref);
        } else {
          entry.ref.tell({ type: 'leave', connId: msg.connId });
        }
        return state;
      }
      case 'broadcast':
        state.rooms.get(msg.roomId)?.ref.tell({ type: 'broadcast', out: msg.out });
        return state;
      case 'heartbeat': {
        const entry = state.rooms.get(msg.roomId);
        if (entry) entry.ref.tell({ type: 'heartbeat', handle: msg.handle, ver: msg.ver, seq: msg.seq });
        else msg.handle.send(heartbeatReply(msg.ver, msg.seq, 0));
        return state;
      }
      case 'counts': {
        const counts = new Map<string, number>();
        for (const [roomId, entry] of state.rooms) counts.set(roomId, entry.count);
        msg.reply(counts);
        return state;
      }
      case 'clusterCounts': {
        for (const [roomId, entry] of state.rooms) {
          const all = msg.all[roomId] ?? 0;
          const mine = msg.reported.get(roomId) ?? 0;
          entry.ref.tell({ type: 'elsewhere', count: all - mine });
        }
        return state;
      }
    }
  },

  supervision: {
    // Each handler changes the state only after what can throw (spawning a room comes before the serial
    // and the entry are recorded): a fault leaves the rooms and their counts as they were.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    // Its table is the only way to the node's rooms and their counts; it cannot be recovered from anything.
    critical: true,
  },

  onStop(state) {
    for (const roomId of state.rooms.keys()) state.deps.index?.delete(roomId);
  },

  inspect: (state) => ({ rooms: state.rooms.size }),
};

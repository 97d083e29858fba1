/**
 * Room batcher: merges messages for one room into op-9 batches (wire.md §3)
 * before they go to the cloud nodes. A batch leaves when it holds
 * `maxMessages`, or `flushMs` after its first message, whichever comes
 * first; goim waits up to 1 s, we wait a few milliseconds. A batch is also
 * cut before a message would take its body past `maxBytes`, the largest
 * body a cloud node accepts in one push. A lone message leaves as a plain
 * packet (the edges refuse a message larger than `maxBytes`). Batches leave
 * in order; on the wire they keep it only with `cloud.maxInFlight` 1 (with
 * more, as in goim, two pushes in flight to one node may overtake each other).
 */
import type { ActorKind, ActorRef } from '../system/actor-kind';
import { buildBatchBody } from '../system/codec/batch';
import { encodePacket, Op } from '../system/codec/packet';
import type { ProtoMessage } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export type RoomBatcherMsg =
  | { readonly type: 'push'; readonly roomId: string; readonly op: number; readonly msg: Buffer }
  | { readonly type: 'flush'; readonly roomId: string; readonly batch: number }
  /** Sends every pending batch now (drain). */
  | { readonly type: 'flushAll' };

/** Where a finished batch goes: every cloud node's BroadcastRoom. */
export interface RoomBatchSink {
  readonly type: 'roomBatch';
  readonly roomId: string;
  readonly proto: ProtoMessage;
}

// ── state ───────────────────────────────────────────────────────────────────

interface PendingBatch {
  readonly serial: number;
  readonly packets: Buffer[];
  /** The op-9 body the packets make: their encoded lengths added up. */
  bytes: number;
  readonly first: { readonly op: number; readonly msg: Buffer };
  timer: NodeJS.Timeout | null;
}

export interface RoomBatcherState {
  readonly pending: Map<string, PendingBatch>;
  serial: number;
  batchesSent: number;
  messagesSent: number;
  readonly deps: RoomBatcherDeps;
}

export interface RoomBatcherDeps {
  readonly maxMessages: number;
  /** Largest proto body of one batch (push.maxBatchBytes). */
  readonly maxBytes: number;
  /** 0 sends every message at once, unbatched. */
  readonly flushMs: number;
  readonly sink: ActorRef<RoomBatchSink>;
}

// ── behaviour ───────────────────────────────────────────────────────────────

function send(state: RoomBatcherState, roomId: string, batch: PendingBatch): void {
  // Built before the batch leaves the table: a body that cannot be built leaves the batch pending.
  const proto: ProtoMessage = batch.packets.length === 1
    ? { ver: 1, op: batch.first.op, seq: 0, body: batch.first.msg }
    : { ver: 1, op: Op.Raw, seq: 0, body: buildBatchBody(batch.packets) };
  state.pending.delete(roomId);
  if (batch.timer) clearTimeout(batch.timer);
  state.batchesSent++;
  state.messagesSent += batch.packets.length;
  state.deps.sink.tell({ type: 'roomBatch', roomId, proto });
}

export const roomBatcherActor: ActorKind<RoomBatcherState, RoomBatcherMsg, RoomBatcherDeps> = {
  kind: 'room-batcher',
  init: (deps) => ({ pending: new Map(), serial: 0, batchesSent: 0, messagesSent: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    switch (msg.type) {
      case 'push': {
        if (deps.flushMs === 0 || deps.maxMessages === 1) {
          state.messagesSent++;
          state.batchesSent++;
          deps.sink.tell({ type: 'roomBatch', roomId: msg.roomId, proto: { ver: 1, op: msg.op, seq: 0, body: msg.msg } });
          return state;
        }
        // Encoded before anything changes: a message that cannot be encoded leaves the batches as they were.
        const packet = encodePacket(1, msg.op, 0, msg.msg);
        let batch = state.pending.get(msg.roomId);
        // Cut before the body would pass what a cloud node takes in one push; a lone message goes plain.
        if (batch && batch.bytes + packet.length > deps.maxBytes) {
          send(state, msg.roomId, batch);
          batch = undefined;
        }
        if (!batch) {
          const serial = ++state.serial;
          batch = { serial, packets: [], bytes: 0, first: { op: msg.op, msg: msg.msg }, timer: null };
          const roomId = msg.roomId;
          batch.timer = setTimeout(() => ctx.self.tell({ type: 'flush', roomId, batch: serial }), deps.flushMs);
          state.pending.set(roomId, batch);
        }
        batch.packets.push(packet);
        batch.bytes += packet.length;
        if (batch.packets.length >= deps.maxMessages) send(state, msg.roomId, batch);
        return state;
      }
      case 'flush': {
        const batch = state.pending.get(msg.roomId);
        // A batch that filled up already left; its timer's message finds a newer batch or none.
        if (batch && batch.serial === msg.batch) send(state, msg.roomId, batch);
        return state;
      }
      case 'flushAll':
        for (const [roomId, batch] of [...state.pending]) send(state, roomId, batch);
        return state;
    }
  },

  // Each handler does what can throw (encoding) before it changes a batch: resuming keeps the batches whole.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: true },

  onStop(state) {
    for (const batch of state.pending.values()) if (batch.timer) clearTimeout(batch.timer);
  },

  inspect: (state) => ({ pendingRooms: state.pending.size, batchesSent: state.batchesSent, messagesSent: state.messagesSent }),
};

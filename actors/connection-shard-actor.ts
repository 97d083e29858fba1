/**
 * Connection shard: keeps the deadlines — handshake and heartbeat — of one
 * slice of the node's connections, checked by one node-wide sweep instead
 * of a timer per socket, and tells them to go when the node drains (as
 * many at a time as the node's drain pace hands it). It is not their nact
 * parent: nact copies an actor's child map on every message it handles, so
 * the parents (plain supervisor shards) receive no messages at all, and the
 * per-connection traffic (adopt, watch, forget) comes here.
 */
import type { ActorKind, ActorRef } from '../system/actor-kind';

// ── messages ────────────────────────────────────────────────────────────────

/** What a shard tells its connections. */
export type ShardNotice =
  | { readonly type: 'deadline'; readonly now: number }
  /** The node drains: op 6 E_NODE_DRAINING, with when to reconnect, and close. */
  | { readonly type: 'drain'; readonly reconnectAfterMs: number };

export type ConnectionShardMsg =
  | { readonly type: 'adopt'; readonly id: number; readonly ref: ActorRef<ShardNotice>; readonly at: number }
  /** Arms (or re-arms) the connection's one deadline. */
  | { readonly type: 'watch'; readonly id: number; readonly at: number }
  | { readonly type: 'forget'; readonly id: number }
  | { readonly type: 'sweep'; readonly now: number }
  /** Tells as many connections as there are hints to drain, one hint (ms) each, and forgets them. */
  | { readonly type: 'drain'; readonly reconnectAfterMs: readonly number[] };

// ── state ───────────────────────────────────────────────────────────────────

interface Watched {
  readonly ref: ActorRef<ShardNotice>;
  /** Infinity once fired, until the connection re-arms it. */
  at: number;
}

export interface ConnectionShardState {
  readonly connections: Map<number, Watched>;
}

// ── behaviour ───────────────────────────────────────────────────────────────

export const connectionShardActor: ActorKind<ConnectionShardState, ConnectionShardMsg, null> = {
  kind: 'connection-shard',
  init: () => ({ connections: new Map() }),

  receive(state, msg) {
    switch (msg.type) {
      case 'adopt':
        state.connections.set(msg.id, { ref: msg.ref, at: msg.at });
        return state;
      case 'watch': {
        const watched = state.connections.get(msg.id);
        if (watched) watched.at = msg.at;
        return state;
      }
      case 'forget':
        state.connections.delete(msg.id);
        return state;
      case 'sweep':
        for (const watched of state.connections.values()) {
          if (watched.at <= msg.now) {
            watched.at = Infinity;
            watched.ref.tell({ type: 'deadline', now: msg.now });
          }
        }
        return state;
      case 'drain': {
        // Told ones are forgotten at once (their own 'forget' follows), so what is left is what waits to be told.
        let i = 0;
        for (const [id, watched] of state.connections) {
          if (i === msg.reconnectAfterMs.length) break;
          watched.ref.tell({ type: 'drain', reconnectAfterMs: msg.reconnectAfterMs[i++] });
          state.connections.delete(id);
        }
        return state;
      }
    }
  },

  supervision: {
    // Each handler makes one change per connection (a Map set or delete, a deadline) and tells never throw: a fault
    // leaves the deadline table as it was. Losing it would leave connections unwatched: keep it.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    critical: true,
  },

  inspect: (state) => ({ connections: state.connections.size }),
};

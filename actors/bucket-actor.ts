/**
 * Bucket actor: owns the connections whose key hashes to it (goim's Bucket).
 * Pushes by key and broadcasts are written from here straight to each
 * connection's handle: one shared Buffer, no hop through the connection
 * actor's mailbox, no per-recipient allocation.
 */
import type { ActorKind, ActorRef } from '../system/actor-kind';
import type { Outbound } from '../system/codec/outbound';
import type { GatewayMsg } from './logic-gateway-actor';
import type { ClientHandle } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

/** What a bucket tells a connection that another login took its key. */
export interface ReplacedNotice { readonly type: 'replaced' }

export interface Member {
  readonly key: string;
  readonly connId: number;
  /** The user (mid) logic gave the connection; decides whether a replaced connection still owes a Disconnect. */
  readonly mid: string;
  readonly handle: ClientHandle;
  readonly accepts: ReadonlySet<number>;
  readonly owner: ActorRef<ReplacedNotice>;
}

export type BucketMsg =
  | { readonly type: 'put'; readonly member: Member }
  /**
   * The connection is gone. If it still owns its key, logic hears
   * `Disconnect` (carrying `logicConnId`, so logic removes the session only
   * while it is this connection's). A connection replaced by another login
   * of the same user owes none: the session belongs to its successor, and
   * deciding here, in the key's own mailbox, leaves no race with the put that
   * replaced it. Replaced by another user (a shared device key), it still
   * owes one (while the successor holds the key): logic then drops only its
   * user's mid_ entry for the key, which would otherwise route that user's
   * pushes to the new user's connection.
   */
  | { readonly type: 'del'; readonly key: string; readonly connId: number; readonly mid: string; readonly logicConnId: string }
  | { readonly type: 'accepts'; readonly key: string; readonly connId: number; readonly accepts: ReadonlySet<number> }
  | { readonly type: 'push'; readonly keys: readonly string[]; readonly op: number; readonly out: Outbound }
  /** `broadcastId` names a paced broadcast (perSecond > 0) node-wide; this bucket reports when its share is done. */
  | { readonly type: 'broadcast'; readonly op: number; readonly out: Outbound; readonly perSecond: number; readonly broadcastId: number }
  | { readonly type: 'broadcastSlice'; readonly jobId: number };

// ── state ───────────────────────────────────────────────────────────────────

/** A rate-limited broadcast in progress: a snapshot of recipients sent a slice per tick. */
interface BroadcastJob {
  readonly broadcastId: number;
  readonly out: Outbound;
  /** Members that accepted the op when the broadcast began. */
  readonly recipients: Member[];
  /** Recipients per tick; fractional, so a node-wide speed split over many buckets is still exact. */
  readonly perTick: number;
  credit: number;
  next: number;
}

export interface BucketState {
  readonly members: Map<string, Member>;
  readonly jobs: Map<number, BroadcastJob>;
  nextJobId: number;
  readonly timers: Set<NodeJS.Timeout>;
  readonly deps: BucketDeps;
}

export interface BucketDeps {
  readonly gateway: ActorRef<GatewayMsg>;
  /** Rate-limited broadcasts send one slice per tick. */
  readonly sliceIntervalMs: number;
  readonly onDelivered?: (count: number) => void;
  /** This bucket's share of a paced broadcast is sent, or dropped because the bucket stopped. */
  readonly onPacedDone?: (broadcastId: number) => void;
}

// ── behaviour ───────────────────────────────────────────────────────────────

function deliver(member: Member, op: number, out: Outbound): number {
  return member.accepts.has(op) && member.handle.send(out) ? 1 : 0;
}

/** Ends a paced broadcast's job in this bucket and frees its node-wide slot. */
function endJob(state: BucketState, jobId: number, job: BroadcastJob): void {
  state.jobs.delete(jobId);
  state.deps.onPacedDone?.(job.broadcastId);
}

function sendSlice(state: BucketState, jobId: number, self: ActorRef<BucketMsg>): void {
  const deps = state.deps;
  const job = state.jobs.get(jobId);
  if (!job) return;
  const credit = job.credit + job.perTick;
  const quota = Math.floor(credit);
  const end = Math.min(job.recipients.length, job.next + quota);
  let sent = 0;
  try {
    for (let i = job.next; i < end; i++) {
      const member = job.recipients[i];
      // Skip members that left (or were replaced) since the snapshot was taken.
      if (state.members.get(member.key)?.connId === member.connId && member.handle.send(job.out)) sent++;
    }
  } catch (error) {
    // A slice that faults ends its broadcast here: resuming must not leave a job no timer will ever
    // advance, holding one of the node's paced-broadcast slots for good.
    endJob(state, jobId, job);
    throw error;
  }
  job.credit = credit - quota;
  job.next = end;
  deps.onDelivered?.(sent);
  if (job.next >= job.recipients.length) {
    endJob(state, jobId, job);
    return;
  }
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    self.tell({ type: 'broadcastSlice', jobId });
  }, deps.sliceIntervalMs);
  state.timers.add(timer);
}

export const bucketActor: ActorKind<BucketState, BucketMsg, BucketDeps> = {
  kind: 'bucket',
  init: (deps) => ({ members: new Map(), jobs: new Map(), nextJobId: 1, timers: new Set(), deps }),

  receive(state, msg, ctx) {
    const deps = state.deps;
    switch (msg.type) {
      case 'put': {
        const previous = state.members.get(msg.member.key);
        if (previous && previous.connId !== msg.member.connId) previous.owner.tell({ type: 'replaced' });
        state.members.set(msg.member.key, msg.member);
        return state;
      }
      case 'del': {
        const member = state.members.get(msg.key);
        // Replaced, and the successor gone too: the key's session was the successor's to end.
        if (!member) return state;
        if (member.connId === msg.connId) state.members.delete(msg.key);
        else if (member.mid === msg.mid) return state;
        deps.gateway.tell({ type: 'disconnect', mid: msg.mid, key: msg.key, connId: msg.logicConnId });
        return state;
      }
      case 'accepts': {
        const member = state.members.get(msg.key);
        if (member && member.connId === msg.connId) state.members.set(msg.key, { ...member, accepts: msg.accepts });
        return state;
      }
      case 'push': {
        let sent = 0;
        for (const key of msg.keys) {
          const member = state.members.get(key);
          if (member) sent += deliver(member, msg.op, msg.out);
        }
        deps.onDelivered?.(sent);
        return state;
      }
      case 'broadcast': {
        if (msg.perSecond <= 0) {
          let sent = 0;
          for (const member of state.members.values()) sent += deliver(member, msg.op, msg.out);
          deps.onDelivered?.(sent);
          return state;
        }
        const recipients: Member[] = [];
        for (const member of state.members.values()) if (member.accepts.has(msg.op)) recipients.push(member);
        if (recipients.length === 0) {
          deps.onPacedDone?.(msg.broadcastId);
          return state;
        }
        const jobId = state.nextJobId++;
        const perTick = (msg.perSecond * deps.sliceIntervalMs) / 1000;
        // Enough starting credit that the first recipient is sent to at once, even at low speeds.
        state.jobs.set(jobId, { broadcastId: msg.broadcastId, out: msg.out, recipients, perTick, credit: Math.max(0, 1 - perTick), next: 0 });
        sendSlice(state, jobId, ctx.self);
        return state;
      }
      case 'broadcastSlice':
        sendSlice(state, msg.jobId, ctx.self);
        return state;
    }
  },

  supervision: {
    // Each handler changes the state only after what can throw (handles report a gone socket by returning
    // false, tells never throw): a fault leaves the members as they were, and resuming keeps them. A paced
    // slice that faults ends its broadcast, so no job is left that no timer advances.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    // Disconnects to logic pass through the members' buckets: a node without one cannot keep its word to logic.
    critical: true,
    giveUp(state) {
      for (const timer of state.timers) clearTimeout(timer);
    },
  },

  onStop(state) {
    for (const timer of state.timers) clearTimeout(timer);
    for (const job of state.jobs.values()) state.deps.onPacedDone?.(job.broadcastId);
    state.jobs.clear();
  },

  inspect: (state) => ({ connections: state.members.size, broadcastsInProgress: state.jobs.size }),
};

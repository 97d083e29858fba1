/**
 * Cloud link: the logic node's line to one cloud node. Pushes to that node
 * queue here, at most `maxInFlight` at a time on the wire, so a slow or dead
 * cloud node holds up only its own link. The queue is bounded in pushes, and
 * what the link holds (in flight and queued) in bytes: a hung node holds at
 * most `maxLinkBytes` however large `maxInFlight` is. A push past either
 * bound is dropped. A push that carries a
 * `done` reporter (key and mid pushes) learns whether the node took it, was
 * dropped, or the link stopped first. Failures and drops are counted; the log
 * says when a node stops and starts answering, and when the queue starts and
 * stops dropping, not once per push.
 */
import type { ActorKind } from '../system/actor-kind';
import { ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import type { CloudNodeClient } from './logic-ports';
import type { Log, ProtoMessage } from './ports';
import type { PushDone } from './push-outcome';

// ── messages ────────────────────────────────────────────────────────────────

export type CloudPush =
  | { readonly type: 'pushMsg'; readonly keys: readonly string[]; readonly protoOp: number; readonly proto: ProtoMessage; readonly done?: PushDone }
  | { readonly type: 'broadcastRoom'; readonly roomId: string; readonly proto: ProtoMessage }
  | { readonly type: 'broadcast'; readonly protoOp: number; readonly proto: ProtoMessage; readonly speed: number };

/** The gRPC rpc each push is sent with: the `rpc` label of the logic node's push series. */
export const RPC_OF: Readonly<Record<CloudPush['type'], string>> = { pushMsg: 'PushMsg', broadcastRoom: 'BroadcastRoom', broadcast: 'Broadcast' };

export type CloudLinkMsg =
  | CloudPush
  /** A push in flight was answered (or failed); `bytes` is what it held (pushBytes). */
  | { readonly type: 'sent'; readonly rpc: CloudPush['type']; readonly bytes: number; readonly error: string | null }
  /**
   * The node left the list: stop once the pushes told before this are handled (started, or failed in
   * onStop), so none of them is lost in the mailbox of a stopped link. Answers already on their way
   * still reach their callers (they hold the promise).
   */
  | { readonly type: 'retire' };

// ── state ───────────────────────────────────────────────────────────────────

export interface CloudLinkState {
  inFlight: number;
  /** The calls in flight, so a stopping link closes its channel only once they have ended. */
  readonly calls: Set<Promise<void>>;
  readonly queue: CloudPush[];
  /** Bytes the pushes in flight and queued carry (see `pushBytes`). */
  heldBytes: number;
  /** Whether the last push got through: the log line is written when this flips. */
  healthy: boolean;
  /** Whether the last push that arrived was dropped: the log line is written when this flips. */
  dropping: boolean;
  sent: number;
  failed: number;
  dropped: number;
  readonly deps: CloudLinkDeps;
}

export interface CloudLinkDeps {
  readonly client: CloudNodeClient;
  readonly maxInFlight: number;
  /** Pushes waiting beyond this are dropped (and counted): memory stays bounded when a node is down. */
  readonly maxQueued: number;
  /**
   * Bytes held, in flight and waiting: a push that would pass this is dropped too. In flight counts, or
   * `maxInFlight` pushes of a hung node would each hold their message until their deadline, unbounded by it.
   */
  readonly maxLinkBytes: number;
  readonly metrics: Metrics;
  readonly log: Log;
}

// ── behaviour ───────────────────────────────────────────────────────────────

function call(client: CloudNodeClient, push: CloudPush): Promise<void> {
  switch (push.type) {
    case 'pushMsg':
      return client.pushMsg(push.keys, push.protoOp, push.proto);
    case 'broadcastRoom':
      return client.broadcastRoom(push.roomId, push.proto);
    case 'broadcast':
      return client.broadcast(push.protoOp, push.proto, push.speed);
  }
}

/** What a push holds on to while the link has it: its message body and, for a key push, its keys. */
export function pushBytes(push: CloudPush): number {
  switch (push.type) {
    case 'pushMsg': {
      let bytes = push.proto.body.length;
      for (const key of push.keys) bytes += key.length;
      return bytes;
    }
    case 'broadcastRoom':
      return push.proto.body.length + push.roomId.length;
    case 'broadcast':
      return push.proto.body.length;
  }
}

function doneOf(push: CloudPush): PushDone | undefined {
  return push.type === 'pushMsg' ? push.done : undefined;
}

export const cloudLinkActor: ActorKind<CloudLinkState, CloudLinkMsg, CloudLinkDeps> = {
  kind: 'cloud-link',
  init: (deps) => ({ inFlight: 0, calls: new Set(), queue: [], heldBytes: 0, healthy: true, dropping: false, sent: 0, failed: 0, dropped: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    const node = deps.client.address;
    // Never throws: a client that throws instead of rejecting fails that push the way a rejection does, so
    // its caller hears at once and its in-flight slot and bytes are given back by 'sent'.
    const start = (push: CloudPush, bytes: number): void => {
      let sending: Promise<void>;
      try {
        sending = call(deps.client, push);
      } catch (err) {
        sending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      state.inFlight++;
      const settled = sending.then(() => undefined, () => undefined);
      state.calls.add(settled);
      void settled.then(() => state.calls.delete(settled));
      const done = doneOf(push);
      // The caller hears from the promise itself: an answer that comes after this link stopped still reaches it.
      sending.then(
        () => {
          done?.(null);
          ctx.self.tell({ type: 'sent', rpc: push.type, bytes, error: null });
        },
        (err: Error) => {
          done?.(new ImError('CLOUD_UNAVAILABLE', err.message));
          ctx.self.tell({ type: 'sent', rpc: push.type, bytes, error: err.message });
        },
      );
    };
    const drop = (push: CloudPush, bound: 'count' | 'bytes', bytes: number): void => {
      state.dropped++;
      deps.metrics.inc('im_cloud_push_dropped_total', { node, rpc: RPC_OF[push.type], bound });
      const detail = bound === 'count'
        ? `${state.queue.length} pushes wait for ${node} (cloud.maxQueued ${deps.maxQueued})`
        : `${state.heldBytes} + ${bytes} bytes would be held for ${node} (cloud.maxLinkBytes ${deps.maxLinkBytes})`;
      doneOf(push)?.(new ImError('CLOUD_QUEUE_FULL', detail));
      if (!state.dropping) {
        deps.log.warn('cloud link queue full; dropping pushes', {
          component: 'cloud-link', code: 'E_CLOUD_QUEUE_FULL', node, bound, inFlight: state.inFlight, queued: state.queue.length, heldBytes: state.heldBytes,
        });
      }
      state.dropping = true;
    };
    switch (msg.type) {
      case 'retire':
        ctx.stopSelf();
        return state;
      case 'pushMsg':
      case 'broadcastRoom':
      case 'broadcast': {
        const bytes = pushBytes(msg);
        const free = state.inFlight < deps.maxInFlight;
        if (!free && state.queue.length >= deps.maxQueued) drop(msg, 'count', bytes);
        else if (state.heldBytes + bytes > deps.maxLinkBytes) drop(msg, 'bytes', bytes);
        else {
          if (state.dropping) deps.log.info('cloud link takes pushes again', { component: 'cloud-link', node, dropped: state.dropped });
          state.dropping = false;
          if (free) start(msg, bytes);
          else state.queue.push(msg);
          state.heldBytes += bytes;
        }
        return state;
      }
      case 'sent': {
        // A queued push's bytes are held already: only the answered push's leave.
        if (state.queue.length > 0) {
          const next = state.queue[0];
          start(next, pushBytes(next));
          state.queue.shift();
        }
        state.inFlight--;
        state.heldBytes -= msg.bytes;
        if (msg.error === null) {
          state.sent++;
          if (!state.healthy) deps.log.info('cloud node answers again', { component: 'cloud-link', node });
          state.healthy = true;
        } else {
          state.failed++;
          deps.metrics.inc('im_cloud_push_failures_total', { node, rpc: RPC_OF[msg.rpc] });
          if (state.healthy) {
            deps.metrics.inc('im_cloud_link_failures_total', { node, cause: 'down' });
            deps.log.warn('cloud node did not take a push', { component: 'cloud-link', code: 'E_CLOUD_UNAVAILABLE', node, rpc: msg.rpc, error: msg.error });
          }
          state.healthy = false;
        }
        return state;
      }
    }
  },

  // Nothing in a handler throws halfway (start turns a throwing client into a failed push): resuming keeps
  // the counts and the queue true.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: false },

  onStop(state) {
    // The node left the list (or logic is stopping): what still waits will never be sent.
    const node = state.deps.client.address;
    for (const push of state.queue) {
      state.deps.metrics.inc('im_cloud_push_dropped_total', { node, rpc: RPC_OF[push.type], bound: 'stopped' });
      doneOf(push)?.(new ImError('CLOUD_UNAVAILABLE', `the link to ${node} stopped before the push was sent`));
    }
    if (state.queue.length > 0) state.deps.log.warn('cloud link stopped with pushes waiting', { component: 'cloud-link', node, dropped: state.queue.length });
    state.queue.length = 0;
    // Calls in flight end by their own deadline; closing the channel first would cut them.
    const client = state.deps.client;
    if (state.calls.size === 0) client.close();
    else void Promise.all([...state.calls]).then(() => client.close());
  },

  inspect: (state) => ({
    node: state.deps.client.address, inFlight: state.inFlight, queued: state.queue.length, heldBytes: state.heldBytes,
    healthy: state.healthy, sent: state.sent, failed: state.failed, dropped: state.dropped,
  }),
};

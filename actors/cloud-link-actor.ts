/**
 * Cloud link: the logic node's line to one cloud node. Pushes to that node
 * queue here, at most `maxInFlight` at a time on the wire, so a slow or dead
 * cloud node holds up only its own link. Failures are counted; the log says
 * when a node stops and starts answering, not once per failed push.
 */
import type { ActorKind } from '../system/actor-kind';
import type { Metrics } from '../system/metrics';
import type { CloudNodeClient } from './logic-ports';
import type { Log, ProtoMessage } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export type CloudPush =
  | { readonly type: 'pushMsg'; readonly keys: readonly string[]; readonly protoOp: number; readonly proto: ProtoMessage }
  | { readonly type: 'broadcastRoom'; readonly roomId: string; readonly proto: ProtoMessage }
  | { readonly type: 'broadcast'; readonly protoOp: number; readonly proto: ProtoMessage; readonly speed: number };

export type CloudLinkMsg = CloudPush | { readonly type: 'sent'; readonly rpc: CloudPush['type']; readonly error: string | null };

// ── state ───────────────────────────────────────────────────────────────────

export interface CloudLinkState {
  inFlight: number;
  readonly queue: CloudPush[];
  /** Whether the last push got through: the log line is written when this flips. */
  healthy: boolean;
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

export const cloudLinkActor: ActorKind<CloudLinkState, CloudLinkMsg, CloudLinkDeps> = {
  kind: 'cloud-link',
  init: (deps) => ({ inFlight: 0, queue: [], healthy: true, sent: 0, failed: 0, dropped: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    const node = deps.client.address;
    // The call is made before the count changes: a client that throws leaves the state as it was.
    const start = (push: CloudPush): void => {
      const sending = call(deps.client, push);
      state.inFlight++;
      sending.then(
        () => ctx.self.tell({ type: 'sent', rpc: push.type, error: null }),
        (err: Error) => ctx.self.tell({ type: 'sent', rpc: push.type, error: err.message }),
      );
    };
    switch (msg.type) {
      case 'pushMsg':
      case 'broadcastRoom':
      case 'broadcast':
        if (state.inFlight < deps.maxInFlight) start(msg);
        else if (state.queue.length < deps.maxQueued) state.queue.push(msg);
        else {
          state.dropped++;
          deps.metrics.inc('im_cloud_push_dropped_total', { node });
        }
        return state;
      case 'sent': {
        // The next push starts first, for the same reason; it is taken off the queue once it has.
        if (state.queue.length > 0) {
          start(state.queue[0]);
          state.queue.shift();
        }
        state.inFlight--;
        if (msg.error === null) {
          state.sent++;
          if (!state.healthy) deps.log.info('cloud node answers again', { component: 'cloud-link', node });
          state.healthy = true;
        } else {
          state.failed++;
          deps.metrics.inc('im_cloud_push_failures_total', { node, rpc: msg.rpc });
          if (state.healthy) {
            deps.log.warn('cloud node did not take a push', { component: 'cloud-link', code: 'E_CLOUD_UNAVAILABLE', node, rpc: msg.rpc, error: msg.error });
          }
          state.healthy = false;
        }
        return state;
      }
    }
  },

  // Every handler makes the call that can throw before it changes a count or the queue: resuming keeps them true.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: false },

  onStop(state) {
    state.deps.client.close();
  },

  inspect: (state) => ({
    node: state.deps.client.address, inFlight: state.inFlight, queued: state.queue.length,
    healthy: state.healthy, sent: state.sent, failed: state.failed, dropped: state.dropped,
  }),
};

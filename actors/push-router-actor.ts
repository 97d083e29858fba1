/**
 * Push router: turns a push request into pushes per cloud node. Keys and
 * mids are looked up in the session store and grouped by the node that
 * holds them: one PushMsg per node. Room batches and push-all go to every
 * configured cloud node. Each node has its own link actor (a child spawned
 * on first use), so one down node never holds up the others.
 */
import type { ActorKind, ActorRef, Reply } from '../system/actor-kind';
import { asImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import { cloudLinkActor, CloudLinkMsg } from './cloud-link-actor';
import type { CloudNodeClient, SessionStore } from './logic-ports';
import type { Log, Outcome, ProtoMessage } from './ports';
import type { RoomBatchSink } from './room-batcher-actor';

// ── messages ────────────────────────────────────────────────────────────────

export type PushRouterMsg =
  | { readonly type: 'keys'; readonly op: number; readonly keys: readonly string[]; readonly msg: Buffer; readonly reply: Reply<Outcome<void>> }
  | { readonly type: 'mids'; readonly op: number; readonly mids: readonly string[]; readonly msg: Buffer; readonly reply: Reply<Outcome<void>> }
  | { readonly type: 'all'; readonly op: number; readonly speed: number; readonly msg: Buffer; readonly reply: Reply<Outcome<void>> }
  /** Keys grouped by the server holding them, after the store answered. */
  | { readonly type: 'routed'; readonly byServer: ReadonlyMap<string, string[]>; readonly op: number; readonly msg: Buffer }
  | RoomBatchSink;

// ── state ───────────────────────────────────────────────────────────────────

export interface PushRouterState {
  readonly links: Map<string, ActorRef<CloudLinkMsg>>;
  linkSerial: number;
  readonly deps: PushRouterDeps;
}

export interface PushRouterDeps {
  readonly store: SessionStore;
  /** Every cloud node: room and push-all pushes go to each. */
  readonly cloudNodes: readonly string[];
  readonly connect: (address: string) => CloudNodeClient;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly metrics: Metrics;
  readonly log: Log;
}

// ── behaviour ───────────────────────────────────────────────────────────────

function groupByServer(keyToServer: ReadonlyMap<string, string>): Map<string, string[]> {
  const byServer = new Map<string, string[]>();
  for (const [key, server] of keyToServer) {
    const keys = byServer.get(server);
    if (keys) keys.push(key);
    else byServer.set(server, [key]);
  }
  return byServer;
}

function packet(op: number, msg: Buffer): ProtoMessage {
  return { ver: 1, op, seq: 0, body: msg };
}

export const pushRouterActor: ActorKind<PushRouterState, PushRouterMsg, PushRouterDeps> = {
  kind: 'push-router',
  init: (deps) => ({ links: new Map(), linkSerial: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    const link = (server: string): ActorRef<CloudLinkMsg> => {
      let ref = state.links.get(server);
      if (!ref) {
        // Recorded only once spawned: a client or spawn that throws leaves the serial and the links as they were.
        ref = ctx.spawn(cloudLinkActor, `link-${state.linkSerial + 1}`, {
          client: deps.connect(server), maxInFlight: deps.maxInFlight, maxQueued: deps.maxQueued, metrics: deps.metrics, log: deps.log,
        });
        state.linkSerial++;
        state.links.set(server, ref);
      }
      return ref;
    };
    const lookup = (kind: 'keys' | 'mids', found: Promise<Map<string, string>>, op: number, body: Buffer, reply: Reply<Outcome<void>>): void => {
      deps.metrics.inc('im_logic_pushes_total', { kind });
      found.then(
        (keyToServer) => {
          if (keyToServer.size === 0) deps.metrics.inc('im_logic_pushes_unroutable_total', { kind });
          ctx.self.tell({ type: 'routed', byServer: groupByServer(keyToServer), op, msg: body });
          reply({ ok: true, value: undefined });
        },
        (err: unknown) => reply({ ok: false, error: asImError(err, 'SESSION_STORE') }),
      );
    };
    switch (msg.type) {
      case 'keys':
        lookup('keys', deps.store.serversByKeys(msg.keys), msg.op, msg.msg, msg.reply);
        return state;
      case 'mids':
        lookup('mids', deps.store.keysByMids(msg.mids), msg.op, msg.msg, msg.reply);
        return state;
      case 'routed':
        for (const [server, keys] of msg.byServer) link(server).tell({ type: 'pushMsg', keys, protoOp: msg.op, proto: packet(msg.op, msg.msg) });
        return state;
      case 'roomBatch':
        for (const server of deps.cloudNodes) link(server).tell({ type: 'broadcastRoom', roomId: msg.roomId, proto: msg.proto });
        return state;
      case 'all': {
        deps.metrics.inc('im_logic_pushes_total', { kind: 'all' });
        // `speed` is for the whole cluster: each node takes an equal share (goim does the same).
        const speed = msg.speed > 0 ? Math.max(1, Math.floor(msg.speed / deps.cloudNodes.length)) : 0;
        const proto = packet(msg.op, msg.msg);
        for (const server of deps.cloudNodes) link(server).tell({ type: 'broadcast', protoOp: msg.op, proto, speed });
        msg.reply({ ok: true, value: undefined });
        return state;
      }
    }
  },

  // Its only state is the links, each recorded once it exists (a fault part-way through a push leaves the
  // links made so far, all sound): resuming keeps them.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: true },

  inspect: (state) => ({ links: [...state.links.keys()] }),
};

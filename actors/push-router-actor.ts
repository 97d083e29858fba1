/**
 * Push router: turns a push request into pushes per cloud node. Keys and
 * mids are looked up in the session store and grouped by the node that
 * holds them: one PushMsg per node, and the caller is answered once every
 * node has taken or failed its share. Room batches and push-all go to every
 * known cloud node and are answered once queued. Each node has its own link
 * actor (a child spawned on first use), so one down node never holds up the
 * others.
 *
 * The router keeps the set of known cloud nodes: it never opens a link to
 * any other server, whatever a session says. `setNodes` replaces the set
 * (static config today, discovery later) and stops the links of nodes that
 * left.
 */
import type { ActorKind, ActorRef, Reply } from '../system/actor-kind';
import { asImError, ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import { cloudLinkActor, CloudLinkMsg } from './cloud-link-actor';
import type { CloudNodeClient, SessionStore } from './logic-ports';
import type { Log, Outcome, ProtoMessage } from './ports';
import { PushFailedError, PushReach, PushReport, PushTally } from './push-outcome';
import type { RoomBatchSink } from './room-batcher-actor';

// ── messages ────────────────────────────────────────────────────────────────

export type PushRouterMsg =
  | { readonly type: 'keys'; readonly op: number; readonly keys: readonly string[]; readonly msg: Buffer; readonly reply: Reply<Outcome<PushReach>> }
  | { readonly type: 'mids'; readonly op: number; readonly mids: readonly string[]; readonly msg: Buffer; readonly reply: Reply<Outcome<PushReach>> }
  | { readonly type: 'all'; readonly op: number; readonly speed: number; readonly msg: Buffer; readonly reply: Reply<Outcome<void>> }
  /** Keys grouped by the server holding them, after the store answered. */
  | {
    readonly type: 'routed'; readonly kind: 'keys' | 'mids'; readonly byServer: ReadonlyMap<string, string[]>;
    readonly op: number; readonly msg: Buffer; readonly reply: Reply<Outcome<PushReach>>;
  }
  /** Replaces the known cloud nodes; links to nodes not in `nodes` stop (what they still queue fails). */
  | { readonly type: 'setNodes'; readonly nodes: readonly string[] }
  /** Whether `server` is a known cloud node (Connect asks before it writes a session). */
  | { readonly type: 'isKnown'; readonly server: string; readonly reply: Reply<boolean> }
  | RoomBatchSink;

// ── state ───────────────────────────────────────────────────────────────────

export interface PushRouterState {
  readonly links: Map<string, ActorRef<CloudLinkMsg>>;
  /** The cloud nodes pushes may go to, in the order they were given. */
  nodes: readonly string[];
  known: ReadonlySet<string>;
  /** Unknown servers already logged at warn (since the last `setNodes`): later pushes to them log at debug. */
  readonly warnedUnknown: Set<string>;
  linkSerial: number;
  readonly deps: PushRouterDeps;
}

export interface PushRouterDeps {
  readonly store: SessionStore;
  /** The cloud nodes known at start (`cloud.nodes`); `setNodes` replaces them. */
  readonly cloudNodes: readonly string[];
  readonly connect: (address: string) => CloudNodeClient;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly metrics: Metrics;
  readonly log: Log;
}

// ── behaviour ───────────────────────────────────────────────────────────────

/** Unknown servers remembered for logging; past this many, every further one logs at debug. */
const MAX_WARNED_UNKNOWN = 1000;

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

function answer(report: PushReport): Outcome<PushReach> {
  if (report.failed.length > 0) return { ok: false, error: new PushFailedError(report) };
  return { ok: true, value: { targets: report.targets, nodes: report.nodes } };
}

export const pushRouterActor: ActorKind<PushRouterState, PushRouterMsg, PushRouterDeps> = {
  kind: 'push-router',
  init: (deps) => ({ links: new Map(), nodes: [...deps.cloudNodes], known: new Set(deps.cloudNodes), warnedUnknown: new Set(), linkSerial: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    const link = (server: string): ActorRef<CloudLinkMsg> => {
      let ref = state.links.get(server);
      if (!ref) {
        // Recorded only once spawned: a client or spawn that throws leaves the serial and the links as they were.
        ref = ctx.spawn(cloudLinkActor, `link-${state.linkSerial + 1}`, {
          client: deps.connect(server), maxInFlight: deps.maxInFlight, maxQueued: deps.maxQueued, maxQueuedBytes: deps.maxQueuedBytes,
          metrics: deps.metrics, log: deps.log,
        });
        state.linkSerial++;
        state.links.set(server, ref);
      }
      return ref;
    };
    const lookup = (kind: 'keys' | 'mids', found: Promise<Map<string, string>>, op: number, body: Buffer, reply: Reply<Outcome<PushReach>>): void => {
      deps.metrics.inc('im_logic_pushes_total', { kind });
      found.then(
        (keyToServer) => {
          if (keyToServer.size === 0) deps.metrics.inc('im_logic_pushes_unroutable_total', { kind });
          ctx.self.tell({ type: 'routed', kind, byServer: groupByServer(keyToServer), op, msg: body, reply });
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
      case 'routed': {
        let targets = 0;
        for (const keys of msg.byServer.values()) targets += keys.length;
        const reply = msg.reply;
        const tally = new PushTally({ targets, nodes: msg.byServer.size }, (report) => reply(answer(report)));
        const proto = packet(msg.op, msg.msg);
        for (const [server, keys] of msg.byServer) {
          const done = tally.share(server, keys.length);
          if (state.known.has(server)) {
            link(server).tell({ type: 'pushMsg', keys, protoOp: msg.op, proto, done });
            continue;
          }
          // A session written before the node left the list, or by a writer we do not trust: never dial it.
          deps.metrics.inc('im_logic_unknown_node_total', { source: 'session' });
          const first = !state.warnedUnknown.has(server) && state.warnedUnknown.size < MAX_WARNED_UNKNOWN;
          if (first) state.warnedUnknown.add(server);
          deps.log[first ? 'warn' : 'debug']('session names a server that is not a known cloud node', {
            component: 'push-router', code: 'E_UNKNOWN_CLOUD_NODE', kind: msg.kind, server, targets: keys.length,
          });
          done(new ImError('UNKNOWN_CLOUD_NODE', server));
        }
        return state;
      }
      case 'roomBatch':
        for (const server of state.nodes) link(server).tell({ type: 'broadcastRoom', roomId: msg.roomId, proto: msg.proto });
        return state;
      case 'all': {
        deps.metrics.inc('im_logic_pushes_total', { kind: 'all' });
        const nodes = state.nodes;
        // `speed` is for the whole cluster: each node takes an equal share (goim does the same).
        const speed = msg.speed > 0 && nodes.length > 0 ? Math.max(1, Math.floor(msg.speed / nodes.length)) : 0;
        const proto = packet(msg.op, msg.msg);
        for (const server of nodes) link(server).tell({ type: 'broadcast', protoOp: msg.op, proto, speed });
        msg.reply({ ok: true, value: undefined });
        return state;
      }
      case 'setNodes': {
        const known = new Set(msg.nodes);
        const left = [...state.links.keys()].filter((server) => !known.has(server));
        for (const server of left) {
          const ref = state.links.get(server);
          if (ref) ctx.stop(ref);
          state.links.delete(server);
        }
        const joined = msg.nodes.filter((server) => !state.known.has(server));
        if (left.length > 0 || joined.length > 0 || known.size !== state.known.size) {
          deps.log.info('cloud nodes changed', { component: 'push-router', nodes: [...known], joined, linksStopped: left });
        }
        state.nodes = [...known];
        state.known = known;
        state.warnedUnknown.clear();
        return state;
      }
      case 'isKnown':
        msg.reply(state.known.has(msg.server));
        return state;
    }
  },

  // Its only state is the links, each recorded once it exists (a fault part-way through a push leaves the
  // links made so far, all sound): resuming keeps them.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: true },

  inspect: (state) => ({ nodes: [...state.nodes], links: [...state.links.keys()] }),
};

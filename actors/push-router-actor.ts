/**
 * Push router: turns a push request into pushes per cloud node. Keys and
 * mids are looked up in the session store and grouped by the node that
 * holds them: one PushMsg per node, or several when its keys would not fit
 * one (see key-shares), and the caller is answered once every share has
 * been taken or failed. Room batches and push-all go to every known cloud
 * node and are answered once queued. Each node has its own link actor (a
 * child spawned on first use), so one down node never holds up the others;
 * a share whose link cannot be opened fails at once.
 *
 * The router never opens a link to a server that is not a known cloud node
 * (KnownCloudNodes), whatever a session says. `setNodes` replaces the known
 * nodes (discovery's list); a node that left keeps getting pushes for
 * `leavingGraceMs` (it may be draining, its clients still connected), and
 * its link retires when that ends.
 */
import type { ActorContext, ActorKind, ActorRef, Reply } from '../system/actor-kind';
import { asImError, ImError } from '../system/errors';
import type { CounterHandle, Metrics } from '../system/metrics';
import { cloudLinkActor, CloudLinkMsg, CloudPush, RPC_OF } from './cloud-link-actor';
import { splitKeys } from './key-shares';
import type { KnownCloudNodes } from './known-cloud-nodes';
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
  /** Replaces the known cloud nodes; nodes that left stay routable for leavingGraceMs, then their links retire. */
  | { readonly type: 'setNodes'; readonly nodes: readonly string[]; readonly applied?: () => void }
  /** A leaving node's grace may have ended. */
  | { readonly type: 'pruneLeaving' }
  | RoomBatchSink;

// ── state ───────────────────────────────────────────────────────────────────

export interface PushRouterState {
  readonly links: Map<string, ActorRef<CloudLinkMsg>>;
  /** Unknown servers already logged at warn (since the last `setNodes`): later pushes to them log at debug. */
  readonly warnedUnknown: Set<string>;
  /** Nodes whose link could not be opened, logged at error: later failures log at debug until a link opens. */
  readonly warnedLinkFailed: Set<string>;
  linkSerial: number;
  /** Fires when the earliest leaving node's grace ends. */
  pruneTimer: NodeJS.Timeout | null;
  /** im_logic_pushes_total{kind="keys"} and {kind="mids"}, resolved once. */
  readonly pushedKeys: CounterHandle;
  readonly pushedMids: CounterHandle;
  readonly deps: PushRouterDeps;
}

export interface PushRouterDeps {
  readonly store: SessionStore;
  /** The cloud nodes pushes may go to, shared with the logic node's services; `setNodes` replaces them. */
  readonly known: KnownCloudNodes;
  readonly connect: (address: string) => CloudNodeClient;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly maxLinkBytes: number;
  /** How long a node that left the list still gets pushes (0: not at all). */
  readonly leavingGraceMs: number;
  readonly now: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

// ── behaviour ───────────────────────────────────────────────────────────────

/** Unknown servers (and servers whose link failed) remembered for logging; past this many, every further one logs at debug. */
const MAX_WARNED_UNKNOWN = 1000;

/** Retires the links of servers pushes may no longer go to; returns them. */
function retireUnroutable(state: PushRouterState, deps: PushRouterDeps): string[] {
  const now = deps.now();
  const retired: string[] = [];
  for (const [server, ref] of state.links) {
    if (deps.known.routable(server, now)) continue;
    // Not ctx.stop: pushes already told to it would be dropped unanswered.
    ref.tell({ type: 'retire' });
    state.links.delete(server);
    retired.push(server);
  }
  return retired;
}

/** Arms the timer for the earliest leaving node's end of grace. */
function schedulePrune(state: PushRouterState, deps: PushRouterDeps, self: ActorRef<PushRouterMsg>): void {
  stopPruneTimer(state);
  let earliest = Infinity;
  for (const until of deps.known.leavingUntil().values()) earliest = Math.min(earliest, until);
  if (earliest === Infinity) return;
  state.pruneTimer = setTimeout(() => self.tell({ type: 'pruneLeaving' }), Math.max(0, earliest - deps.now()) + 1);
  state.pruneTimer.unref();
}

function stopPruneTimer(state: PushRouterState): void {
  if (state.pruneTimer !== null) clearTimeout(state.pruneTimer);
  state.pruneTimer = null;
}

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

type Ctx = ActorContext<PushRouterMsg>;

function link(state: PushRouterState, ctx: Ctx, server: string): ActorRef<CloudLinkMsg> {
  const { deps } = state;
  let ref = state.links.get(server);
  if (!ref) {
    // Recorded only once spawned: a client or spawn that throws leaves the serial and the links as they were.
    ref = ctx.spawn(cloudLinkActor, `link-${state.linkSerial + 1}`, {
      client: deps.connect(server), maxInFlight: deps.maxInFlight, maxQueued: deps.maxQueued, maxLinkBytes: deps.maxLinkBytes,
      metrics: deps.metrics, log: deps.log,
    });
    state.linkSerial++;
    state.links.set(server, ref);
    state.warnedLinkFailed.delete(server);
  }
  return ref;
}

/**
 * Hands `push` to the link of `server`, opening it if need be. When the client or the link cannot be made
 * the push is dropped, counted and reported to its caller (a key push's share) here, and the other servers
 * of the same request are still served: returns the error then.
 */
function send(state: PushRouterState, ctx: Ctx, server: string, push: CloudPush): Error | null {
  let ref: ActorRef<CloudLinkMsg>;
  try {
    ref = link(state, ctx, server);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    // One failed open, however many shares of the push it then drops.
    state.deps.metrics.inc('im_cloud_link_failures_total', { node: server, cause: 'open' });
    linkFailed(state, server, push, error);
    return error;
  }
  ref.tell(push);
  return null;
}

function linkFailed(state: PushRouterState, server: string, push: CloudPush, error: Error): void {
  const { deps } = state;
  deps.metrics.inc('im_cloud_push_dropped_total', { node: server, rpc: RPC_OF[push.type], bound: 'link' });
  if (push.type === 'pushMsg') push.done?.(new ImError('CLOUD_LINK_FAILED', `${server}: ${error.message}`));
  const first = !state.warnedLinkFailed.has(server) && state.warnedLinkFailed.size < MAX_WARNED_UNKNOWN;
  if (first) state.warnedLinkFailed.add(server);
  deps.log[first ? 'error' : 'debug']('cannot open a link to a cloud node; its pushes are dropped', {
    component: 'push-router', code: 'E_CLOUD_LINK_FAILED', node: server, rpc: push.type, error: error.message,
  });
}

function lookup(
  state: PushRouterState, ctx: Ctx, kind: 'keys' | 'mids', found: Promise<Map<string, string>>, op: number, body: Buffer, reply: Reply<Outcome<PushReach>>,
): void {
  const { deps } = state;
  (kind === 'keys' ? state.pushedKeys : state.pushedMids).inc();
  found.then(
    (keyToServer) => {
      if (keyToServer.size === 0) deps.metrics.inc('im_logic_pushes_unroutable_total', { kind });
      ctx.self.tell({ type: 'routed', kind, byServer: groupByServer(keyToServer), op, msg: body, reply });
    },
    (err: unknown) => reply({ ok: false, error: asImError(err, 'SESSION_STORE') }),
  );
}

export const pushRouterActor: ActorKind<PushRouterState, PushRouterMsg, PushRouterDeps> = {
  kind: 'push-router',
  init: (deps) => ({
    links: new Map(), warnedUnknown: new Set(), warnedLinkFailed: new Set(), linkSerial: 0, pruneTimer: null,
    pushedKeys: deps.metrics.counterOf('im_logic_pushes_total', { kind: 'keys' }), pushedMids: deps.metrics.counterOf('im_logic_pushes_total', { kind: 'mids' }), deps,
  }),

  receive(state, msg, ctx) {
    const { deps } = state;
    switch (msg.type) {
      case 'keys':
        lookup(state, ctx, 'keys', deps.store.serversByKeys(msg.keys), msg.op, msg.msg, msg.reply);
        return state;
      case 'mids':
        lookup(state, ctx, 'mids', deps.store.keysByMids(msg.mids), msg.op, msg.msg, msg.reply);
        return state;
      case 'routed': {
        let targets = 0;
        for (const keys of msg.byServer.values()) targets += keys.length;
        // Every share is known before the first is handed out: one can fail at once without finishing the push.
        const shares: Array<{ readonly server: string; readonly keys: readonly string[]; readonly known: boolean }> = [];
        for (const [server, keys] of msg.byServer) {
          const known = deps.known.routable(server, deps.now());
          if (known) for (const run of splitKeys(keys)) shares.push({ server, keys: run, known });
          else shares.push({ server, keys, known });
        }
        const reply = msg.reply;
        const tally = new PushTally({ targets, nodes: msg.byServer.size }, shares.length, (report) => reply(answer(report)));
        const proto = packet(msg.op, msg.msg);
        /** Servers whose link failed for an earlier share of this push: their other shares fail alike, untried. */
        const broken = new Map<string, Error>();
        for (const { server, keys, known } of shares) {
          const done = tally.share(server, keys.length);
          const push: CloudPush = { type: 'pushMsg', keys, protoOp: msg.op, proto, done };
          if (known) {
            const earlier = broken.get(server);
            if (earlier) linkFailed(state, server, push, earlier);
            else {
              const error = send(state, ctx, server, push);
              if (error) broken.set(server, error);
            }
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
        for (const server of deps.known.pushTargets(deps.now())) send(state, ctx, server, { type: 'broadcastRoom', roomId: msg.roomId, proto: msg.proto });
        return state;
      case 'all': {
        deps.metrics.inc('im_logic_pushes_total', { kind: 'all' });
        const nodes = deps.known.pushTargets(deps.now());
        // `speed` is for the whole cluster: each node takes an equal share (goim does the same).
        const speed = msg.speed > 0 && nodes.length > 0 ? Math.max(1, Math.floor(msg.speed / nodes.length)) : 0;
        const proto = packet(msg.op, msg.msg);
        for (const server of nodes) send(state, ctx, server, { type: 'broadcast', protoOp: msg.op, proto, speed });
        msg.reply({ ok: true, value: undefined });
        return state;
      }
      case 'setNodes': {
        const known = new Set(msg.nodes);
        const before = deps.known.all();
        const joined = [...known].filter((server) => !deps.known.has(server));
        const left = before.filter((server) => !known.has(server));
        deps.known.set(msg.nodes, deps.now(), deps.leavingGraceMs);
        const retired = retireUnroutable(state, deps);
        if (left.length > 0 || joined.length > 0 || known.size !== before.length) {
          deps.log.info('cloud nodes changed', {
            component: 'push-router', nodes: [...known], joined, left, leavingForMs: left.length > 0 ? deps.leavingGraceMs : 0, linksStopped: retired,
          });
        }
        schedulePrune(state, deps, ctx.self);
        state.warnedUnknown.clear();
        state.warnedLinkFailed.clear();
        msg.applied?.();
        return state;
      }
      case 'pruneLeaving': {
        state.pruneTimer = null;
        const gone = deps.known.prune(deps.now());
        const retired = retireUnroutable(state, deps);
        if (gone.length > 0) deps.log.info('cloud nodes no longer get pushes', { component: 'push-router', nodes: gone, linksStopped: retired });
        schedulePrune(state, deps, ctx.self);
        return state;
      }
    }
  },

  // Its only state is the links, each recorded once it exists (a fault part-way through a push leaves the
  // links made so far, all sound): resuming keeps them.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: true, giveUp: stopPruneTimer },

  onStop: stopPruneTimer,

  inspect: (state) => ({
    nodes: [...state.deps.known.all()], leaving: [...state.deps.known.leavingUntil().keys()], links: [...state.links.keys()],
  }),
};

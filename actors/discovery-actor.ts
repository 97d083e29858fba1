/**
 * Discovery: keeps this node's list of the other side's nodes fresh and,
 * with a registry (Consul), keeps this node registered (the registration's
 * life is in discovery-registration.ts).
 *
 * Watching follows Consul's rules for blocking queries:
 *  - each query asks for changes past the last index seen and waits up to
 *    `waitMs` for one (the source caps it);
 *  - an index that goes backwards (a registry restart or restore) starts
 *    over with a non-blocking query (index 0), and this node's registration
 *    is asserted again; an answer below 1 counts as 1, so no blocking query
 *    is ever sent with an index below 1;
 *  - queries start at most once every `minIntervalMs`, however fast the
 *    index moves;
 *  - a failed query is retried after an exponential backoff with jitter
 *    (`retryBaseMs` doubling up to `retryMaxMs`), and the last list is kept:
 *    a registry that cannot be reached never empties the node's table. The
 *    node says so: a warn line when it starts (then at most one a minute),
 *    `im_discovery_stale` 1, and the admin's /ready detail; an info line
 *    when the registry answers again.
 *  - a registry that answers with no passing instance at all, where the
 *    last list had some, is not believed either: one flapping check shared
 *    by every node, or a registry that lost its catalogue, would otherwise
 *    stop every push. The last list is kept and reported stale the same way
 *    until the registry lists some instance again.
 * An answer whose list differs from the last goes to `onNodes` (the logic
 * gateway on a cloud node, the push router and client hosts on a logic
 * node); should `onNodes` throw, the fault is logged and counted, the watch
 * goes on, and the next answer tries again.
 *
 * The node registers after its first list, so it is never known to the
 * other side before it knows them; it counts as discoverable (ready) once
 * registered with a list in hand.
 */
import type { ActorKind, Reply } from '../system/actor-kind';
import type { Metrics } from '../system/metrics';
import type { Listing, NodeInstance, NodeListSource, NodeRegistry, SelfRegistration } from './discovery-ports';
import { clearRegistrationTimers, errorOf, onRegistration, reassertNow, register, retryDelayMs, Teller, timer } from './discovery-registration';
import type { Log } from './ports';

export { retryDelayMs } from './discovery-registration';

// ── messages ────────────────────────────────────────────────────────────────

export type DiscoveryMsg =
  | { readonly type: 'start' }
  | { readonly type: 'poll' }
  | { readonly type: 'listed'; readonly listing: Listing }
  | { readonly type: 'listFailed'; readonly error: string }
  | { readonly type: 'register' }
  | { readonly type: 'registered' }
  | { readonly type: 'registerFailed'; readonly error: string }
  | { readonly type: 'passCheck' }
  | { readonly type: 'checkAnswered'; readonly known: boolean }
  | { readonly type: 'checkFailed'; readonly error: string }
  | { readonly type: 'reassert' }
  | { readonly type: 'reasserted'; readonly error: string | null }
  /** Deregisters and stops reporting; the watch goes on until the node stops. Answers whether the registry took the deregistration. */
  | { readonly type: 'leave'; readonly reply: Reply<boolean> };

// ── state ───────────────────────────────────────────────────────────────────

export type Registration = 'none' | 'pending' | 'registered' | 'leaving' | 'left';

export interface DiscoveryState {
  /** The index the next query sends (0: answer at once). */
  index: number;
  /** The list handed to onNodes last; null until one was. */
  nodes: readonly NodeInstance[] | null;
  nodesKey: string;
  /** The registry listed no instance while `nodes` had some: `nodes` is kept, and reported stale. */
  holdingLast: boolean;
  listing: boolean;
  lastQueryAt: number;
  lastListAt: number;
  /** Failed queries since the last answer. */
  failures: number;
  failingSince: number;
  lastFailureLogAt: number;
  lastError: string;
  registration: Registration;
  /** Whether a register was ever sent (a leave then deregisters). */
  registerSent: boolean;
  registerFailures: number;
  /** The leave waiting for a register in flight to settle. */
  leaveReply: Reply<boolean> | null;
  pollTimer: NodeJS.Timeout | null;
  registerTimer: NodeJS.Timeout | null;
  checkTimer: NodeJS.Timeout | null;
  reassertTimer: NodeJS.Timeout | null;
  readonly deps: DiscoveryDeps;
}

export interface DiscoveryDeps {
  /** `static` or `consul`, for logs and inspection. */
  readonly sourceKind: string;
  readonly source: NodeListSource;
  /** The other side's service name. */
  readonly watchService: string;
  /** This node in the registry; null for a static list (nothing to register with). */
  readonly registry: { readonly api: NodeRegistry; readonly self: SelfRegistration } | null;
  readonly onNodes: (nodes: readonly NodeInstance[]) => void;
  /** How often a registered node asserts its registration again (see discovery-registration.ts). */
  readonly reassertMs: number;
  readonly waitMs: number;
  readonly minIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** While the source keeps failing (or listing nobody), a warn line at most this often (each failure is counted). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

// ── behaviour ───────────────────────────────────────────────────────────────

/** The index to send next, after an answer carrying `got` to a query that sent `sent`. */
export function nextIndex(sent: number, got: number): number {
  const index = Math.max(1, Math.floor(got));
  return index < sent ? 0 : index;
}

/** Order-independent identity of a list: a new answer equal to the last is not news. */
function keyOf(nodes: readonly NodeInstance[]): string {
  return JSON.stringify([...nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => [n.id, n.address, Object.entries(n.meta).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]));
}

function query(state: DiscoveryState, self: Teller): void {
  const deps = state.deps;
  const now = deps.now();
  const answer = deps.source.list(deps.watchService, state.index, deps.waitMs);
  state.listing = true;
  state.lastQueryAt = now;
  answer.then(
    (listing) => self.tell({ type: 'listed', listing }),
    (err: unknown) => self.tell({ type: 'listFailed', error: errorOf(err) }),
  );
}

/** The next query, no sooner than minIntervalMs after the last one started. */
function schedulePoll(state: DiscoveryState, self: Teller, delayMs: number): void {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = timer(delayMs, () => self.tell({ type: 'poll' }));
}

/** Hands a changed list on; false when onNodes threw (logged and counted: the next answer tries again). */
function apply(state: DiscoveryState, nodes: readonly NodeInstance[]): boolean {
  const { deps } = state;
  try {
    deps.onNodes(nodes);
    return true;
  } catch (err) {
    deps.metrics.inc('im_discovery_errors_total', { op: 'apply' });
    deps.log.error('discovered nodes could not be applied; the next answer tries again', { component: 'discovery', error: errorOf(err) });
    return false;
  }
}

function listed(state: DiscoveryState, listing: Listing, self: Teller): void {
  const deps = state.deps;
  const now = deps.now();
  const sent = state.index;
  // The watch goes on whatever happens below.
  state.listing = false;
  state.index = nextIndex(sent, listing.index);
  schedulePoll(state, self, state.lastQueryAt + deps.minIntervalMs - now);
  if (state.index === 0 && sent > 0) reassertNow(state, self);
  if (state.failures > 0) {
    deps.log.info('discovery answers again', {
      component: 'discovery', source: deps.sourceKind, failedQueries: state.failures, downMs: now - state.failingSince, nodes: listing.nodes.length,
    });
  }
  state.failures = 0;
  state.lastListAt = now;
  const holding = listing.nodes.length === 0 && (state.nodes?.length ?? 0) > 0;
  if (holding) {
    if (!state.holdingLast || now - state.lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
      state.lastFailureLogAt = now;
      deps.log.warn('discovery lists no passing node; keeping the last list', {
        component: 'discovery', source: deps.sourceKind, service: deps.watchService, keptNodes: state.nodes?.map((n) => n.address) ?? [],
      });
    }
    state.holdingLast = true;
    state.lastError = `no passing instance of ${deps.watchService}`;
    deps.metrics.setGauge('im_discovery_stale', undefined, 1);
    return;
  }
  state.holdingLast = false;
  state.lastError = '';
  deps.metrics.setGauge('im_discovery_stale', undefined, 0);
  const key = keyOf(listing.nodes);
  const first = state.nodes === null;
  if (first || key !== state.nodesKey) {
    if (!apply(state, listing.nodes)) return;
    const before = new Set((state.nodes ?? []).map((n) => n.address));
    const after = new Set(listing.nodes.map((n) => n.address));
    deps.metrics.inc('im_discovery_changes_total');
    deps.log.info('discovered nodes changed', {
      component: 'discovery', service: deps.watchService, nodes: [...after],
      joined: [...after].filter((a) => !before.has(a)), left: [...before].filter((a) => !after.has(a)),
    });
    state.nodes = listing.nodes;
    state.nodesKey = key;
    deps.metrics.setGauge('im_discovery_nodes', undefined, listing.nodes.length);
  }
  // Known to the other side only once this node knows them (see the header).
  if (first && state.registration === 'none') register(state, self);
}

function listFailed(state: DiscoveryState, error: string, self: Teller): void {
  const deps = state.deps;
  const now = deps.now();
  state.listing = false;
  state.failures++;
  state.lastError = error;
  if (state.failures === 1) state.failingSince = now;
  deps.metrics.inc('im_discovery_errors_total', { op: 'watch' });
  deps.metrics.setGauge('im_discovery_stale', undefined, 1);
  const delay = retryDelayMs(deps, state.failures);
  if (state.failures === 1 || now - state.lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
    state.lastFailureLogAt = now;
    deps.log.warn('discovery cannot list nodes; keeping the last list', {
      component: 'discovery', source: deps.sourceKind, service: deps.watchService, error, failedQueries: state.failures,
      keptNodes: state.nodes?.map((n) => n.address) ?? [], retryInMs: delay,
    });
  }
  // A failure right after a long wait (a cut blocking query) still honours the rate limit.
  schedulePoll(state, self, Math.max(delay, state.lastQueryAt + deps.minIntervalMs - now));
}

function stopAll(state: DiscoveryState): void {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = null;
  clearRegistrationTimers(state);
  state.deps.source.close();
  // A leave still waiting for its register will not be answered by the registry now.
  state.leaveReply?.(false);
  state.leaveReply = null;
}

/** Whether the other side can know this node: a static list has nothing to wait for; with a registry, once registered with a list in hand. */
export function isDiscoverable(state: Readonly<DiscoveryState>): boolean {
  return state.deps.registry === null || (state.registration === 'registered' && state.nodes !== null);
}

/** The actor's view for the admin tree and for /ready. */
export function inspectDiscovery(state: Readonly<DiscoveryState>): Record<string, unknown> {
  return {
    source: state.deps.sourceKind,
    watching: state.deps.watchService,
    nodes: state.nodes?.map((n) => n.address) ?? null,
    index: state.index,
    stale: state.failures > 0 || state.holdingLast,
    failedQueries: state.failures,
    lastError: state.lastError,
    lastListAgoMs: state.lastListAt > 0 ? state.deps.now() - state.lastListAt : null,
    registration: state.deps.registry ? state.registration : 'static',
    serviceId: state.deps.registry?.self.serviceId ?? null,
  };
}

export const discoveryActor: ActorKind<DiscoveryState, DiscoveryMsg, DiscoveryDeps> = {
  kind: 'discovery',
  init: (deps) => ({
    index: 0, nodes: null, nodesKey: '', holdingLast: false, listing: false, lastQueryAt: -Infinity, lastListAt: 0, failures: 0, failingSince: 0,
    lastFailureLogAt: -Infinity, lastError: '', registration: 'none', registerSent: false, registerFailures: 0, leaveReply: null,
    pollTimer: null, registerTimer: null, checkTimer: null, reassertTimer: null, deps,
  }),

  receive(state, msg, ctx) {
    const self = ctx.self;
    switch (msg.type) {
      case 'start':
        if (state.deps.registry) state.deps.metrics.setGauge('im_discovery_registered', undefined, 0);
        if (!state.listing) query(state, self);
        return state;
      case 'poll':
        state.pollTimer = null;
        if (!state.listing) query(state, self);
        return state;
      case 'listed':
        listed(state, msg.listing, self);
        return state;
      case 'listFailed':
        listFailed(state, msg.error, self);
        return state;
      default:
        onRegistration(state, msg, self);
        return state;
    }
  },

  supervision: {
    // onNodes is caught; what else can throw (a source or registry call that throws instead of rejecting) does so
    // before the state changes. Not critical: without this actor the node keeps its last list and serves on; the
    // runtime reports the stop.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    critical: false,
    giveUp: stopAll,
  },

  onStop: stopAll,

  inspect: inspectDiscovery,
};

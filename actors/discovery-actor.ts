/**
 * Discovery: keeps this node's list of the other side's nodes fresh and,
 * with a registry (Consul), keeps this node registered.
 *
 * Watching follows Consul's rules for blocking queries:
 *  - each query asks for changes past the last index seen and waits up to
 *    `waitMs` for one (the source caps it);
 *  - an index that goes backwards (a registry restart or restore) starts
 *    over with a non-blocking query (index 0); an answer below 1 counts as
 *    1, so no blocking query is ever sent with an index below 1;
 *  - queries start at most once every `minIntervalMs`, however fast the
 *    index moves;
 *  - a failed query is retried after an exponential backoff with jitter
 *    (`retryBaseMs` doubling up to `retryMaxMs`), and the last list is kept:
 *    a registry that cannot be reached never empties the node's table. The
 *    node says so: a warn line when it starts (then at most one a minute),
 *    `im_discovery_stale` 1, and the admin's /ready detail; an info line
 *    when the registry answers again.
 * An answer whose list differs from the last goes to `onNodes` (the logic
 * gateway on a cloud node, the push router and client hosts on a logic node).
 *
 * Registering: `register` at start, retried with the same backoff until the
 * registry takes it. A TTL check is reported passing every ttl/3; a registry
 * that no longer knows the check (it lost its state) gets the registration
 * again. `leave` deregisters (a drain's second step) and stops the
 * reporting.
 */
import type { ActorKind, Reply } from '../system/actor-kind';
import type { Metrics } from '../system/metrics';
import type { Listing, NodeInstance, NodeListSource, NodeRegistry, SelfRegistration } from './discovery-ports';
import type { Log } from './ports';

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
  /** Deregisters and stops reporting; the watch goes on until the node stops. Answers whether the registry took the deregistration. */
  | { readonly type: 'leave'; readonly reply: Reply<boolean> };

// ── state ───────────────────────────────────────────────────────────────────

type Registration = 'none' | 'pending' | 'registered' | 'left';

export interface DiscoveryState {
  /** The index the next query sends (0: answer at once). */
  index: number;
  /** The last list handed to onNodes; null until the first answer. */
  nodes: readonly NodeInstance[] | null;
  nodesKey: string;
  listing: boolean;
  lastQueryAt: number;
  lastListAt: number;
  /** Failed queries since the last answer. */
  failures: number;
  failingSince: number;
  lastFailureLogAt: number;
  lastError: string;
  registration: Registration;
  registerFailures: number;
  pollTimer: NodeJS.Timeout | null;
  registerTimer: NodeJS.Timeout | null;
  checkTimer: NodeJS.Timeout | null;
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
  readonly waitMs: number;
  readonly minIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** While the source keeps failing, a warn line at most this often (each failure is counted). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

// ── behaviour ───────────────────────────────────────────────────────────────

/** The index to send next, after an answer carrying `got` to a query that sent `sent`. */
export function nextIndex(sent: number, got: number): number {
  const index = Math.max(1, Math.floor(got));
  return index < sent ? 0 : index;
}

/** The n-th retry's delay (n ≥ 1): base doubling up to max, then a random point in its upper half. */
export function retryDelayMs(deps: Pick<DiscoveryDeps, 'retryBaseMs' | 'retryMaxMs' | 'random'>, n: number): number {
  const ceiling = Math.min(deps.retryMaxMs, deps.retryBaseMs * 2 ** Math.min(30, Math.max(0, n - 1)));
  return Math.round(ceiling / 2 + deps.random() * (ceiling / 2));
}

/** Order-independent identity of a list: a new answer equal to the last is not news. */
function keyOf(nodes: readonly NodeInstance[]): string {
  return JSON.stringify([...nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => [n.id, n.address, Object.entries(n.meta).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]));
}

function timer(ms: number, fire: () => void): NodeJS.Timeout {
  const t = setTimeout(fire, Math.max(0, ms));
  t.unref();
  return t;
}

function clearTimers(state: DiscoveryState): void {
  for (const t of [state.pollTimer, state.registerTimer, state.checkTimer]) if (t !== null) clearTimeout(t);
  state.pollTimer = null;
  state.registerTimer = null;
  state.checkTimer = null;
}

function query(state: DiscoveryState, self: { tell(msg: DiscoveryMsg): void }): void {
  const deps = state.deps;
  state.listing = true;
  state.lastQueryAt = deps.now();
  deps.source.list(deps.watchService, state.index, deps.waitMs).then(
    (listing) => self.tell({ type: 'listed', listing }),
    (err: unknown) => self.tell({ type: 'listFailed', error: err instanceof Error ? err.message : String(err) }),
  );
}

/** The next query, no sooner than minIntervalMs after the last one started. */
function schedulePoll(state: DiscoveryState, self: { tell(msg: DiscoveryMsg): void }, delayMs: number): void {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = timer(delayMs, () => self.tell({ type: 'poll' }));
}

function listed(state: DiscoveryState, listing: Listing, self: { tell(msg: DiscoveryMsg): void }): void {
  const deps = state.deps;
  const now = deps.now();
  const key = keyOf(listing.nodes);
  const changed = state.nodes === null || key !== state.nodesKey;
  // First, before any state changes: a throw here leaves the actor as it was (resume).
  if (changed) deps.onNodes(listing.nodes);
  if (state.failures > 0) {
    deps.log.info('discovery answers again', {
      component: 'discovery', source: deps.sourceKind, failedQueries: state.failures, downMs: now - state.failingSince, nodes: listing.nodes.length,
    });
  }
  if (changed) {
    const before = new Set((state.nodes ?? []).map((n) => n.address));
    const after = new Set(listing.nodes.map((n) => n.address));
    deps.metrics.inc('im_discovery_changes_total');
    deps.log.info('discovered nodes changed', {
      component: 'discovery', service: deps.watchService, nodes: [...after],
      joined: [...after].filter((a) => !before.has(a)), left: [...before].filter((a) => !after.has(a)),
    });
  }
  state.nodes = listing.nodes;
  state.nodesKey = key;
  state.index = nextIndex(state.index, listing.index);
  state.listing = false;
  state.lastListAt = now;
  state.failures = 0;
  state.lastError = '';
  deps.metrics.setGauge('im_discovery_nodes', undefined, listing.nodes.length);
  deps.metrics.setGauge('im_discovery_stale', undefined, 0);
  schedulePoll(state, self, state.lastQueryAt + deps.minIntervalMs - now);
}

function listFailed(state: DiscoveryState, error: string, self: { tell(msg: DiscoveryMsg): void }): void {
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

function register(state: DiscoveryState, self: { tell(msg: DiscoveryMsg): void }): void {
  const registry = state.deps.registry;
  if (!registry || state.registration === 'left') return;
  state.registration = 'pending';
  registry.api.register(registry.self).then(
    () => self.tell({ type: 'registered' }),
    (err: unknown) => self.tell({ type: 'registerFailed', error: err instanceof Error ? err.message : String(err) }),
  );
}

function scheduleCheck(state: DiscoveryState, self: { tell(msg: DiscoveryMsg): void }, delayMs: number): void {
  if (state.checkTimer !== null) clearTimeout(state.checkTimer);
  state.checkTimer = timer(delayMs, () => self.tell({ type: 'passCheck' }));
}

/** A TTL check's reporting period: three reports per TTL, so one lost report never fails the check. */
function checkPeriodMs(self: SelfRegistration): number | null {
  return self.check.kind === 'ttl' ? Math.max(1, Math.floor(self.check.ttlMs / 3)) : null;
}

function errorOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether the other side can know this node yet: a static list has nothing to wait for; a registry must have taken the registration. */
export function isDiscoverable(state: Readonly<DiscoveryState>): boolean {
  return state.deps.registry === null || state.registration === 'registered';
}

/** The actor's view for the admin tree and for /ready. */
export function inspectDiscovery(state: Readonly<DiscoveryState>): Record<string, unknown> {
  return {
    source: state.deps.sourceKind,
    watching: state.deps.watchService,
    nodes: state.nodes?.map((n) => n.address) ?? null,
    index: state.index,
    stale: state.failures > 0,
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
    index: 0, nodes: null, nodesKey: '', listing: false, lastQueryAt: -Infinity, lastListAt: 0, failures: 0, failingSince: 0,
    lastFailureLogAt: -Infinity, lastError: '', registration: 'none', registerFailures: 0,
    pollTimer: null, registerTimer: null, checkTimer: null, deps,
  }),

  receive(state, msg, ctx) {
    const self = ctx.self;
    const deps = state.deps;
    switch (msg.type) {
      case 'start':
        if (deps.registry) deps.metrics.setGauge('im_discovery_registered', undefined, 0);
        register(state, self);
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
      case 'register':
        state.registerTimer = null;
        register(state, self);
        return state;
      case 'registered': {
        const registry = deps.registry;
        if (!registry) return state;
        if (state.registration === 'left') {
          // The registration crossed a leave: take it back.
          registry.api.deregister(registry.self.serviceId).catch(() => undefined);
          return state;
        }
        state.registration = 'registered';
        state.registerFailures = 0;
        deps.metrics.setGauge('im_discovery_registered', undefined, 1);
        deps.log.info('registered in discovery', {
          component: 'discovery', source: deps.sourceKind, service: registry.self.service, serviceId: registry.self.serviceId,
          address: `${registry.self.host}:${registry.self.port}`, check: registry.self.check.kind,
        });
        // A TTL check starts critical: report at once, then every ttl/3.
        if (checkPeriodMs(registry.self) !== null) scheduleCheck(state, self, 0);
        return state;
      }
      case 'registerFailed': {
        if (!deps.registry || state.registration === 'left') return state;
        state.registration = 'none';
        state.registerFailures++;
        deps.metrics.inc('im_discovery_errors_total', { op: 'register' });
        const delay = retryDelayMs(deps, state.registerFailures);
        const level = state.registerFailures === 1 ? 'error' : 'debug';
        deps.log[level]('discovery registration failed; retrying', {
          component: 'discovery', source: deps.sourceKind, serviceId: deps.registry.self.serviceId, error: msg.error,
          attempts: state.registerFailures, retryInMs: delay,
        });
        if (state.registerTimer !== null) clearTimeout(state.registerTimer);
        state.registerTimer = timer(delay, () => self.tell({ type: 'register' }));
        return state;
      }
      case 'passCheck': {
        state.checkTimer = null;
        const registry = deps.registry;
        if (!registry || state.registration !== 'registered') return state;
        registry.api.passCheck(registry.self.checkId).then(
          (known) => self.tell({ type: 'checkAnswered', known }),
          (err: unknown) => self.tell({ type: 'checkFailed', error: errorOf(err) }),
        );
        return state;
      }
      case 'checkAnswered': {
        const registry = deps.registry;
        if (!registry || state.registration !== 'registered') return state;
        if (!msg.known) {
          deps.metrics.inc('im_discovery_errors_total', { op: 'check' });
          deps.metrics.setGauge('im_discovery_registered', undefined, 0);
          deps.log.warn('discovery no longer knows this node\'s check; registering again', {
            component: 'discovery', source: deps.sourceKind, checkId: registry.self.checkId,
          });
          register(state, self);
          return state;
        }
        scheduleCheck(state, self, checkPeriodMs(registry.self) ?? 0);
        return state;
      }
      case 'checkFailed': {
        const registry = deps.registry;
        if (!registry || state.registration !== 'registered') return state;
        deps.metrics.inc('im_discovery_errors_total', { op: 'check' });
        deps.log.warn('discovery check report failed', { component: 'discovery', source: deps.sourceKind, checkId: registry.self.checkId, error: msg.error });
        scheduleCheck(state, self, checkPeriodMs(registry.self) ?? 0);
        return state;
      }
      case 'leave': {
        const registry = deps.registry;
        const was = state.registration;
        if (state.registerTimer !== null) clearTimeout(state.registerTimer);
        if (state.checkTimer !== null) clearTimeout(state.checkTimer);
        state.registerTimer = null;
        state.checkTimer = null;
        if (!registry || was === 'left') {
          msg.reply(true);
          return state;
        }
        state.registration = 'left';
        deps.metrics.setGauge('im_discovery_registered', undefined, 0);
        // Also when no registration was confirmed: one may be in flight, and deregistering an unknown id is harmless.
        registry.api.deregister(registry.self.serviceId).then(
          () => {
            deps.log.info('deregistered from discovery', { component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId });
            msg.reply(true);
          },
          (err: unknown) => {
            deps.metrics.inc('im_discovery_errors_total', { op: 'deregister' });
            deps.log.error('discovery deregistration failed; the registry drops this node once its check fails', {
              component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId, error: errorOf(err),
            });
            msg.reply(false);
          },
        );
        return state;
      }
    }
  },

  supervision: {
    // Handlers call out (onNodes, the source) before they change the state, so a fault leaves it as it was.
    // Not critical: without this actor the node keeps its last list and serves on; the runtime reports the stop.
    onFault: 'resume',
    maxRestarts: 10,
    windowMs: 60_000,
    critical: false,
    giveUp: (state) => {
      clearTimers(state);
      state.deps.source.close();
    },
  },

  onStop: (state) => {
    clearTimers(state);
    state.deps.source.close();
  },

  inspect: inspectDiscovery,
};

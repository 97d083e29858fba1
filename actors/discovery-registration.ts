/**
 * The discovery actor's registration half (see discovery-actor.ts): this
 * node's entry in the registry, from the first register to the leave.
 *
 *   none ──(first list)──► pending ──► registered ──(leave)──► left
 *                            ▲  │ fails: retried with backoff
 *                            └──┘
 *   pending ──(leave)──► leaving: the register in flight settles first, then
 *   the deregistration goes out, so a registration that lands late is taken
 *   back instead of staying behind as a ghost that starts out passing.
 *
 * While registered, a TTL check is reported every ttl/3, and the whole
 * registration is asserted again every `reassertMs` (discovery.reassertMs,
 * 30 s by default) and at once whenever the watch index goes backwards (a
 * registry restart): re-registering an id is idempotent in Consul (a check
 * that exists keeps its status), and it is how a node comes back after the
 * registry lost or reaped it, whatever its check kind. A failed re-assertion
 * is counted, logged and tried again after another `reassertMs`.
 */
import type { DiscoveryMsg, DiscoveryState } from './discovery-actor';
import type { SelfRegistration } from './discovery-ports';

export interface Teller {
  tell(msg: DiscoveryMsg): void;
}

export function errorOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function timer(ms: number, fire: () => void): NodeJS.Timeout {
  const t = setTimeout(fire, Math.max(0, ms));
  t.unref();
  return t;
}

/** A TTL check's reporting period: three reports per TTL, so one lost report never fails the check. */
export function checkPeriodMs(self: SelfRegistration): number | null {
  return self.check.kind === 'ttl' ? Math.max(1, Math.floor(self.check.ttlMs / 3)) : null;
}

export function clearRegistrationTimers(state: DiscoveryState): void {
  for (const t of [state.registerTimer, state.checkTimer, state.reassertTimer]) if (t !== null) clearTimeout(t);
  state.registerTimer = null;
  state.checkTimer = null;
  state.reassertTimer = null;
}

/** Sends the registration (first time, retry, or again after the registry forgot the check). */
export function register(state: DiscoveryState, self: Teller): void {
  const registry = state.deps.registry;
  if (!registry || state.registration === 'leaving' || state.registration === 'left') return;
  const sending = registry.api.register(registry.self);
  state.registration = 'pending';
  state.registerSent = true;
  sending.then(
    () => self.tell({ type: 'registered' }),
    (err: unknown) => self.tell({ type: 'registerFailed', error: errorOf(err) }),
  );
}

function scheduleCheck(state: DiscoveryState, self: Teller, delayMs: number): void {
  if (state.checkTimer !== null) clearTimeout(state.checkTimer);
  state.checkTimer = timer(delayMs, () => self.tell({ type: 'passCheck' }));
}

function scheduleReassert(state: DiscoveryState, self: Teller, delayMs: number): void {
  if (state.reassertTimer !== null) clearTimeout(state.reassertTimer);
  state.reassertTimer = timer(delayMs, () => self.tell({ type: 'reassert' }));
}

/** Deregisters, then answers the leave that asked (true: the registry took it). */
function deregister(state: DiscoveryState, reply: (ok: boolean) => void): void {
  const { deps } = state;
  const registry = deps.registry;
  state.registration = 'left';
  deps.metrics.setGauge('im_discovery_registered', undefined, 0);
  if (!registry || !state.registerSent) {
    reply(true);
    return;
  }
  registry.api.deregister(registry.self.serviceId).then(
    () => {
      deps.log.info('deregistered from discovery', { component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId });
      reply(true);
    },
    (err: unknown) => {
      deps.metrics.inc('im_discovery_errors_total', { op: 'deregister' });
      deps.log.error('discovery deregistration failed; the registry drops this node once its check fails', {
        component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId, error: errorOf(err),
      });
      reply(false);
    },
  );
}

/** The register a leave waited for has settled: deregister, then answer that leave. */
function finishLeave(state: DiscoveryState): void {
  const reply = state.leaveReply ?? ((): void => undefined);
  state.leaveReply = null;
  deregister(state, reply);
}

/** The registration messages; the actor hands each of them here. */
export function onRegistration(state: DiscoveryState, msg: DiscoveryMsg, self: Teller): void {
  const { deps } = state;
  const registry = deps.registry;
  if (!registry) {
    if (msg.type === 'leave') msg.reply(true);
    return;
  }
  switch (msg.type) {
    case 'register':
      state.registerTimer = null;
      if (state.registration === 'none') register(state, self);
      return;
    case 'registered': {
      if (state.registration === 'leaving') {
        finishLeave(state);
        return;
      }
      if (state.registration !== 'pending') return;
      state.registration = 'registered';
      state.registerFailures = 0;
      deps.metrics.setGauge('im_discovery_registered', undefined, 1);
      deps.log.info('registered in discovery', {
        component: 'discovery', source: deps.sourceKind, service: registry.self.service, serviceId: registry.self.serviceId,
        address: `${registry.self.host}:${registry.self.port}`, check: registry.self.check.kind,
      });
      // A TTL check starts critical where the registry ignores the initial status: report at once, then every ttl/3.
      if (checkPeriodMs(registry.self) !== null) scheduleCheck(state, self, 0);
      scheduleReassert(state, self, deps.reassertMs);
      return;
    }
    case 'registerFailed': {
      if (state.registration === 'leaving') {
        // It may have landed all the same (a timeout): deregistering an unknown id is harmless.
        finishLeave(state);
        return;
      }
      if (state.registration !== 'pending') return;
      state.registration = 'none';
      state.registerFailures++;
      deps.metrics.inc('im_discovery_errors_total', { op: 'register' });
      const delay = retryDelayMs(deps, state.registerFailures);
      deps.log[state.registerFailures === 1 ? 'error' : 'debug']('discovery registration failed; retrying', {
        component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId, error: msg.error, attempts: state.registerFailures, retryInMs: delay,
      });
      if (state.registerTimer !== null) clearTimeout(state.registerTimer);
      state.registerTimer = timer(delay, () => self.tell({ type: 'register' }));
      return;
    }
    case 'passCheck':
      state.checkTimer = null;
      if (state.registration !== 'registered') return;
      registry.api.passCheck(registry.self.checkId).then(
        (known) => self.tell({ type: 'checkAnswered', known }),
        (err: unknown) => self.tell({ type: 'checkFailed', error: errorOf(err) }),
      );
      return;
    case 'checkAnswered':
      if (state.registration !== 'registered') return;
      if (!msg.known) {
        deps.metrics.inc('im_discovery_errors_total', { op: 'check' });
        deps.metrics.setGauge('im_discovery_registered', undefined, 0);
        deps.log.warn('discovery no longer knows this node\'s check; registering again', { component: 'discovery', source: deps.sourceKind, checkId: registry.self.checkId });
        register(state, self);
        return;
      }
      scheduleCheck(state, self, checkPeriodMs(registry.self) ?? 0);
      return;
    case 'checkFailed':
      if (state.registration !== 'registered') return;
      deps.metrics.inc('im_discovery_errors_total', { op: 'check' });
      deps.log.warn('discovery check report failed', { component: 'discovery', source: deps.sourceKind, checkId: registry.self.checkId, error: msg.error });
      scheduleCheck(state, self, checkPeriodMs(registry.self) ?? 0);
      return;
    case 'reassert':
      state.reassertTimer = null;
      if (state.registration !== 'registered') return;
      registry.api.register(registry.self).then(
        () => self.tell({ type: 'reasserted', error: null }),
        (err: unknown) => self.tell({ type: 'reasserted', error: errorOf(err) }),
      );
      return;
    case 'reasserted':
      if (state.registration !== 'registered') return;
      if (msg.error !== null) {
        deps.metrics.inc('im_discovery_errors_total', { op: 'register' });
        deps.log.warn('discovery registration could not be asserted again; retrying later', {
          component: 'discovery', source: deps.sourceKind, serviceId: registry.self.serviceId, error: msg.error,
        });
      }
      scheduleReassert(state, self, deps.reassertMs);
      return;
    case 'leave': {
      clearRegistrationTimers(state);
      if (state.registration === 'left' || state.registration === 'leaving') {
        msg.reply(state.registration === 'left');
        return;
      }
      if (state.registration === 'pending') {
        // The register in flight settles first ('registered' or 'registerFailed' above), then the deregistration goes out.
        state.registration = 'leaving';
        state.leaveReply = msg.reply;
        return;
      }
      deregister(state, msg.reply);
      return;
    }
    default:
      return;
  }
}

/** After the watch saw the index go backwards: the registry restarted, and may have lost this node. */
export function reassertNow(state: DiscoveryState, self: Teller): void {
  if (state.registration === 'registered') scheduleReassert(state, self, 0);
}

/** The n-th retry's delay (n ≥ 1): base doubling up to max, then a random point in its upper half (the jitter). */
export function retryDelayMs(deps: Pick<DiscoveryState['deps'], 'retryBaseMs' | 'retryMaxMs' | 'random'>, n: number): number {
  const ceiling = Math.min(deps.retryMaxMs, deps.retryBaseMs * 2 ** Math.min(30, Math.max(0, n - 1)));
  return Math.round(ceiling / 2 + deps.random() * (ceiling / 2));
}

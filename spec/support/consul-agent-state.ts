import { probeGrpcHealth, type HealthProbe } from './grpc-health-probe';
import { ConsulHttpError, type CheckDefinition, type CheckStatus, type ServiceDefinition } from './consul-service-definition';

/**
 * What the Consul double's agent knows: the services registered on it, their
 * checks (TTL timers, gRPC probes, the reaper of DeregisterCriticalServiceAfter)
 * and the index of each service's health view. The HTTP side (consul-double.ts)
 * reads it and is told of every index change.
 */

export interface RegisteredCheck {
  readonly checkId: string;
  readonly name: string;
  readonly serviceId: string;
  readonly status: CheckStatus;
  readonly output: string;
  readonly notes: string;
  readonly type: 'ttl' | 'grpc';
  readonly ttlMs?: number;
  readonly grpc?: string;
  readonly grpcUseTls?: boolean;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly deregisterCriticalServiceAfterMs?: number;
}

export interface RegisteredService {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly meta: Record<string, string>;
  readonly tags: string[];
  readonly enableTagOverride: boolean;
  readonly checks: RegisteredCheck[];
}

interface LiveCheck {
  readonly def: CheckDefinition;
  readonly serviceId: string;
  status: CheckStatus;
  output: string;
  criticalSince: number | undefined;
  /** TTL expiry, or the gRPC probe interval. */
  timer: NodeJS.Timeout | undefined;
  probe: HealthProbe | undefined;
}

interface LiveService extends Omit<ServiceDefinition, 'checks'> {
  checkIds: string[];
}

const GRPC_DEFAULT_TIMEOUT_MS = 10_000;
const REAP_EVERY_MS = 100;

export class ConsulAgentState {
  private readonly serviceById = new Map<string, LiveService>();
  private readonly checkById = new Map<string, LiveCheck>();
  private readonly indexByService = new Map<string, number>();
  /** The highest index each service's view ever had, which resetIndex does not lower. */
  private readonly highestByService = new Map<string, number>();
  private counter = 1;
  private readonly reaper = setInterval(() => this.reapCritical(), REAP_EVERY_MS);

  /** `changed` hears each service whose index moved, and undefined when every index went back. */
  constructor(private readonly changed: (service: string | undefined) => void) {
    this.reaper.unref();
  }

  /** Stops every timer and probe. */
  stop(): void {
    clearInterval(this.reaper);
    for (const check of this.checkById.values()) this.stopCheck(check);
  }

  services(name?: string): RegisteredService[] {
    return [...this.serviceById.values()]
      .filter((s) => name === undefined || s.name === name)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((s) => ({ ...s, meta: { ...s.meta }, tags: [...s.tags], checks: this.checksOf(s).map(describeCheck) }));
  }

  /** The index the service's health view answers with: at least 1, as Consul's. */
  index(service: string): number {
    return this.indexByService.get(service) ?? 1;
  }

  /** The highest index the service's view ever answered with, resets notwithstanding. */
  highest(service: string): number {
    return Math.max(this.highestByService.get(service) ?? 1, this.index(service));
  }

  resetIndex(): void {
    this.counter = 1;
    for (const service of this.indexByService.keys()) this.indexByService.set(service, 1);
    this.changed(undefined);
  }

  register(def: ServiceDefinition, replaceExistingChecks: boolean): void {
    const previous = this.serviceById.get(def.id);
    const touched = new Set<string>([def.name]);
    if (previous) touched.add(previous.name);
    const checkIds: string[] = [];
    for (const checkDef of def.checks) {
      const prior = this.checkById.get(checkDef.checkId);
      if (prior) {
        // Consul carries an existing check's status and output over to its new definition.
        this.stopCheck(prior);
        const owner = this.serviceById.get(prior.serviceId);
        if (owner && owner.id !== def.id) {
          owner.checkIds = owner.checkIds.filter((id) => id !== checkDef.checkId);
          touched.add(owner.name);
        }
      }
      const status = prior?.status ?? checkDef.status ?? 'critical';
      const check: LiveCheck = {
        def: checkDef,
        serviceId: def.id,
        status,
        output: prior?.output ?? '',
        criticalSince: status === 'critical' ? (prior?.criticalSince ?? Date.now()) : undefined,
        timer: undefined,
        probe: undefined,
      };
      this.checkById.set(checkDef.checkId, check);
      if (!checkIds.includes(checkDef.checkId)) checkIds.push(checkDef.checkId);
      this.startCheck(check);
    }
    // Without ?replace-existing-checks Consul keeps the service's checks the new definition leaves out.
    for (const id of previous?.checkIds ?? []) {
      const old = this.checkById.get(id);
      if (!old || checkIds.includes(id)) continue;
      if (replaceExistingChecks) this.removeCheck(old);
      else checkIds.push(id);
    }
    const { id, name, address, port, meta, tags, enableTagOverride } = def;
    this.serviceById.set(id, { id, name, address, port, meta, tags, enableTagOverride, checkIds });
    for (const service of touched) this.bump(service);
  }

  deregister(serviceId: string): void {
    if (!this.serviceById.has(serviceId)) {
      throw new ConsulHttpError(404, `Unknown service ID ${JSON.stringify(serviceId)}. Ensure that the service ID is passed, not the service name.`);
    }
    this.removeService(serviceId);
  }

  /** `PUT /v1/agent/check/{pass,warn,fail}/:id`: TTL checks only; restarts the TTL. */
  updateTtl(checkId: string, status: CheckStatus, note: string): void {
    const check = this.checkById.get(checkId);
    if (!check) throw new ConsulHttpError(404, `Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`);
    if (check.def.kind.type !== 'ttl') throw new ConsulHttpError(500, `CheckID ${JSON.stringify(checkId)} does not have associated TTL`);
    this.stopCheck(check);
    this.startCheck(check);
    this.changeStatus(check, status, note);
  }

  /** Forces a status and always bumps the service's index, even when the status stays. */
  setStatus(checkId: string, status: CheckStatus): void {
    const check = this.checkById.get(checkId);
    if (!check) throw new Error(`no check ${checkId}`);
    if (!this.changeStatus(check, status, check.output)) this.bumpServiceOf(check);
  }

  private removeService(serviceId: string): void {
    const service = this.serviceById.get(serviceId);
    if (!service) return;
    for (const check of this.checksOf(service)) this.removeCheck(check);
    this.serviceById.delete(serviceId);
    this.bump(service.name);
  }

  private startCheck(check: LiveCheck): void {
    const kind = check.def.kind;
    if (kind.type === 'ttl') {
      check.timer = setTimeout(() => this.changeStatus(check, 'critical', 'TTL expired'), kind.ttlMs);
    } else {
      check.timer = setInterval(() => this.runProbe(check), kind.intervalMs);
      this.runProbe(check);
    }
    check.timer.unref();
  }

  private runProbe(check: LiveCheck): void {
    const kind = check.def.kind;
    if (kind.type !== 'grpc' || check.probe) return;
    const probe = probeGrpcHealth(kind.target, Math.min(kind.timeoutMs ?? GRPC_DEFAULT_TIMEOUT_MS, kind.intervalMs), kind.useTls);
    check.probe = probe;
    void probe.done.then((result) => {
      if (check.probe !== probe) return; // stopped or replaced meanwhile
      check.probe = undefined;
      this.changeStatus(check, result.healthy ? 'passing' : 'critical', result.output);
    });
  }

  private stopCheck(check: LiveCheck): void {
    clearTimeout(check.timer);
    check.timer = undefined;
    const probe = check.probe;
    check.probe = undefined;
    probe?.cancel();
  }

  private removeCheck(check: LiveCheck): void {
    this.stopCheck(check);
    if (this.checkById.get(check.def.checkId) === check) this.checkById.delete(check.def.checkId);
  }

  /** Sets status and output; bumps the service's index when the status changed, and says whether it did. */
  private changeStatus(check: LiveCheck, status: CheckStatus, output: string): boolean {
    check.output = output;
    if (check.status === status) return false;
    check.status = status;
    check.criticalSince = status === 'critical' ? Date.now() : undefined;
    this.bumpServiceOf(check);
    return true;
  }

  private bumpServiceOf(check: LiveCheck): void {
    const service = this.serviceById.get(check.serviceId);
    if (service) this.bump(service.name);
  }

  private bump(service: string): void {
    this.counter += 1;
    this.indexByService.set(service, this.counter);
    this.highestByService.set(service, Math.max(this.highestByService.get(service) ?? 1, this.counter));
    this.changed(service);
  }

  private reapCritical(): void {
    const now = Date.now();
    for (const check of [...this.checkById.values()]) {
      const after = check.def.deregisterCriticalServiceAfterMs;
      if (after !== undefined && check.criticalSince !== undefined && now - check.criticalSince > after) this.removeService(check.serviceId);
    }
  }

  private checksOf(service: LiveService): LiveCheck[] {
    return service.checkIds.flatMap((id) => {
      const check = this.checkById.get(id);
      return check && check.serviceId === service.id ? [check] : [];
    });
  }
}

function describeCheck(check: LiveCheck): RegisteredCheck {
  const { def } = check;
  const base = { checkId: def.checkId, name: def.name, serviceId: check.serviceId, status: check.status, output: check.output, notes: def.notes };
  const reap = def.deregisterCriticalServiceAfterMs === undefined ? {} : { deregisterCriticalServiceAfterMs: def.deregisterCriticalServiceAfterMs };
  if (def.kind.type === 'ttl') return { ...base, ...reap, type: 'ttl', ttlMs: def.kind.ttlMs };
  const timeout = def.kind.timeoutMs === undefined ? {} : { timeoutMs: def.kind.timeoutMs };
  return { ...base, ...reap, ...timeout, type: 'grpc', grpc: def.kind.target, grpcUseTls: def.kind.useTls, intervalMs: def.kind.intervalMs };
}

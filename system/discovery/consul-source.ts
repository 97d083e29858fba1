/**
 * Consul behind the discovery actor's ports, through the `consul` package:
 * the agent's service register/deregister and TTL check endpoints, and the
 * health endpoint's passing instances as a blocking query (index + wait),
 * read with its X-Consul-Index. The package's own `watch` is not used: it
 * has no rate limit and reports a change on any index increase; the actor
 * runs the loop by Consul's rules instead (discovery-actor.ts).
 */
import { EventEmitter } from 'node:events';
import Consul from 'consul';
import type { NodeInstance, NodeListSource, NodeRegistry, SelfRegistration, Listing } from '../../actors/discovery-ports';
import { joinHostPort } from './host-port';

/** Register, deregister and check calls give up after this long (the actor retries what matters). */
const REQUEST_TIMEOUT_MS = 5000;
/** Consul holds a blocking query at most this long (its documented maximum wait). */
export const CONSUL_MAX_WAIT_MS = 10 * 60 * 1000;

export interface ConsulSourceOptions {
  /** http(s)://host:port of a Consul agent. */
  readonly url: string;
  /** An ACL token, sent as X-Consul-Token; '' sends none. */
  readonly token: string;
}

/** What a blocking query's context must be for the package to hand back the response with the body. */
class QueryContext extends EventEmitter {
  readonly includeResponse = true;
}

/** A Go duration Consul parses: whole milliseconds. */
function duration(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}

/** A property of an object from the client (its own or inherited, as a response's lazy `headers`); undefined otherwise. */
function prop(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : null;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** One entry of /v1/health/service/<name>: the service's address, or the node's when the service gives none (Consul's rule). */
export function instanceOf(entry: unknown): NodeInstance | null {
  const e = record(entry);
  const service = record(e?.Service);
  const node = record(e?.Node);
  if (!service) return null;
  const port = service.Port;
  const address = typeof service.Address === 'string' && service.Address !== '' ? service.Address : node?.Address;
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || typeof address !== 'string' || address === '') return null;
  const id = typeof service.ID === 'string' && service.ID !== '' ? service.ID : joinHostPort(address, port);
  return { id, address: joinHostPort(address, port), meta: stringMap(service.Meta) };
}

/** The HTTP status of a failed Consul request, or null when it never got an answer. */
function statusOf(err: unknown): number | null {
  const status = prop(prop(err, 'response'), 'statusCode');
  return typeof status === 'number' ? status : null;
}

function headerIndex(response: unknown): number {
  const raw = prop(prop(response, 'headers'), 'x-consul-index');
  const index = typeof raw === 'string' ? Number(raw) : NaN;
  if (!Number.isFinite(index)) throw new Error('Consul answered without an X-Consul-Index header');
  return index;
}

export class ConsulSource implements NodeListSource, NodeRegistry {
  private readonly consul: Consul;
  private readonly queries = new Set<QueryContext>();

  constructor(private readonly options: ConsulSourceOptions) {
    const url = new URL(options.url);
    const secure = url.protocol === 'https:';
    this.consul = new Consul({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      secure,
      defaults: options.token === '' ? undefined : { token: options.token },
    });
  }

  async list(service: string, index: number, waitMs: number): Promise<Listing> {
    const ctx = new QueryContext();
    this.queries.add(ctx);
    const wait = Math.min(waitMs, CONSUL_MAX_WAIT_MS);
    const blocking = index >= 1;
    // Consul adds up to wait/16 of jitter to a blocking query; the socket waits that and a margin more.
    const timeout = blocking ? wait + Math.ceil(wait / 16) + REQUEST_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    const query = {
      service, passing: true, ctx, timeout,
      ...(blocking ? { index: String(Math.floor(index)), wait: duration(wait) } : {}),
    };
    try {
      const answer: unknown = await this.consul.health.service(query);
      if (!Array.isArray(answer) || answer.length !== 2) throw new Error('unexpected answer from the consul client');
      const [response, body] = answer;
      if (!Array.isArray(body)) throw new Error(`Consul answered /health/service/${service} with something other than a list`);
      const nodes: NodeInstance[] = [];
      for (const entry of body) {
        const instance = instanceOf(entry);
        if (instance) nodes.push(instance);
      }
      return { index: headerIndex(response), nodes };
    } finally {
      this.queries.delete(ctx);
    }
  }

  async register(self: SelfRegistration): Promise<void> {
    const check = self.check.kind === 'grpc'
      ? {
        grpc: joinHostPort(self.host, self.port), grpcusetls: self.check.useTls, interval: duration(self.check.intervalMs), timeout: duration(self.check.timeoutMs),
      }
      : { ttl: duration(self.check.ttlMs), timeout: duration(REQUEST_TIMEOUT_MS) };
    await this.consul.agent.service.register({
      id: self.serviceId, name: self.service, address: self.host, port: self.port, meta: { ...self.meta },
      // Passing from the start (Consul's documented initial Status): the node registers only once it serves, and the
      // other side learns of it at once instead of after the first check; a check that fails corrects it.
      check: {
        ...check, name: `${self.service} health`, checkid: self.checkId, status: 'passing',
        deregistercriticalserviceafter: duration(self.deregisterAfterMs),
      },
      ...this.requestOptions(),
    });
  }

  async passCheck(checkId: string): Promise<boolean> {
    try {
      await this.consul.agent.check.pass({ id: checkId, ...this.requestOptions() });
      return true;
    } catch (err) {
      // 404: the agent does not know the check (it lost its state); Consul answers 500 for a check without a TTL.
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async deregister(serviceId: string): Promise<void> {
    try {
      await this.consul.agent.service.deregister({ id: serviceId, ...this.requestOptions() });
    } catch (err) {
      // Already gone (deregistered, or reaped after its check failed): that is what was asked.
      if (statusOf(err) !== 404) throw err;
    }
  }

  close(): void {
    for (const ctx of this.queries) ctx.emit('cancel');
    this.queries.clear();
    this.consul.destroy();
  }

  private requestOptions(): { timeout: number; token?: string } {
    return this.options.token === '' ? { timeout: REQUEST_TIMEOUT_MS } : { timeout: REQUEST_TIMEOUT_MS, token: this.options.token };
  }
}

/**
 * What the composition roots need to give a node its discovery actor: the
 * source (and registry) the config names, and this node's registration.
 */
import type { NodeListSource, NodeRegistry, SelfRegistration } from '../../actors/discovery-ports';
import type { DiscoveryConfig } from '../../config/discovery-options';
import { ConsulSource } from './consul-source';
import { StaticSource } from './static-source';

export { isLoopbackHost, joinHostPort, splitHostPort } from './host-port';

export interface DiscoveryParts {
  readonly sourceKind: 'static' | 'consul';
  readonly source: NodeListSource;
  /** Where this node registers; null for a static list. */
  readonly registry: NodeRegistry | null;
}

/** Consul's GRPC checks time out after this at most (and never later than their interval). */
const GRPC_CHECK_TIMEOUT_MS = 10_000;

/** `staticNodes`: the other side's addresses from config (logic.nodes or cloud.nodes), used when the kind is static. */
export function discoveryParts(config: DiscoveryConfig, staticNodes: readonly string[]): DiscoveryParts {
  if (config.kind === 'static') return { sourceKind: 'static', source: new StaticSource(staticNodes), registry: null };
  const consul = new ConsulSource({ url: config.consulUrl, token: config.consulToken });
  return { sourceKind: 'consul', source: consul, registry: consul };
}

/** A configured host as registered: an IPv6 address without its brackets (the registry adds them where needed). */
export function serviceHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** A service id unique per node: the service name and the node's gRPC address. */
export function serviceIdOf(service: string, host: string, port: number): string {
  return `${service}-${host.replace(/[^A-Za-z0-9.-]/g, '-')}-${port}`;
}

/** This node's registration: its gRPC address, its check, and what it publishes (`meta`). */
export function selfRegistration(
  config: DiscoveryConfig, address: { host: string; port: number }, meta: Readonly<Record<string, string>>, grpcTls: boolean,
): SelfRegistration {
  const serviceId = serviceIdOf(config.service, address.host, address.port);
  return {
    serviceId,
    service: config.service,
    host: address.host,
    port: address.port,
    meta,
    checkId: `service:${serviceId}`,
    check: config.check === 'grpc'
      ? { kind: 'grpc', intervalMs: config.checkIntervalMs, timeoutMs: Math.min(GRPC_CHECK_TIMEOUT_MS, config.checkIntervalMs), useTls: grpcTls }
      : { kind: 'ttl', ttlMs: config.ttlMs },
    deregisterAfterMs: config.deregisterAfterMs,
  };
}

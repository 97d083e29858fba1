import type { OptionReader } from './load';
import type { OptionSpec } from './option';

export type DiscoveryKind = 'static' | 'consul';
export type CheckKind = 'grpc' | 'ttl';

/** How a node finds the other side's nodes and is found by them (wire.md §7); the same options on both kinds. */
export interface DiscoveryConfig {
  readonly kind: DiscoveryKind;
  readonly consulUrl: string;
  readonly consulToken: string;
  /** This node's service name. */
  readonly service: string;
  /** The other side's service name. */
  readonly watchService: string;
  readonly check: CheckKind;
  readonly checkIntervalMs: number;
  readonly ttlMs: number;
  readonly deregisterAfterMs: number;
  /** How often a registered node registers again. */
  readonly reassertMs: number;
  readonly waitMs: number;
  readonly minIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export const CLOUD_SERVICE = 'grpc-im-cloud-node';
export const LOGIC_SERVICE = 'grpc-im-logic-node';

/** Consul holds a blocking query at most 10 minutes. */
const MAX_WAIT_MS = 10 * 60 * 1000;
/** A node registers again at most every second and at least every 10 minutes. */
const MIN_REASSERT_MS = 1000;
const MAX_REASSERT_MS = 10 * 60 * 1000;
const SERVICE_NAME = { type: 'string', pattern: /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/, hint: 'letters, digits and dashes (a DNS label)' } as const;

/** The discovery options of a node kind: `IM_CLOUD` or `IM_LOGIC` prefixes its variables. */
export function discoveryOptions(envPrefix: 'IM_CLOUD' | 'IM_LOGIC'): OptionSpec[] {
  const own = envPrefix === 'IM_CLOUD' ? CLOUD_SERVICE : LOGIC_SERVICE;
  const other = envPrefix === 'IM_CLOUD' ? LOGIC_SERVICE : CLOUD_SERVICE;
  const otherSide = envPrefix === 'IM_CLOUD' ? 'logic' : 'cloud';
  const list = envPrefix === 'IM_CLOUD' ? 'logic.nodes' : 'cloud.nodes';
  return [
    {
      path: 'discovery.kind', env: `${envPrefix}_DISCOVERY`, kind: { type: 'enum', values: ['static', 'consul'] }, default: 'static',
      doc: `Where the ${otherSide} nodes come from: static (${list}) or consul (their passing instances, followed live; this node registers itself and deregisters when it drains).`,
    },
    {
      path: 'discovery.consulUrl', env: `${envPrefix}_CONSUL_URL`, kind: { type: 'string', pattern: /^https?:\/\/[^\s/]+\/?$/, hint: 'http(s)://host:port' },
      default: 'http://127.0.0.1:8500', doc: 'The Consul agent (HTTP API) when discovery.kind is consul.',
    },
    {
      path: 'discovery.consulToken', env: `${envPrefix}_CONSUL_TOKEN`, kind: { type: 'string', pattern: /^\S*$/, hint: 'a token without spaces' },
      default: '', defaultDoc: '(empty: none)', doc: 'Consul ACL token, sent as X-Consul-Token.',
    },
    { path: 'discovery.service', env: `${envPrefix}_DISCOVERY_SERVICE`, kind: SERVICE_NAME, default: own, doc: 'Service name this node registers as.' },
    { path: 'discovery.watchService', env: `${envPrefix}_DISCOVERY_WATCH`, kind: SERVICE_NAME, default: other, doc: `Service name of the ${otherSide} nodes.` },
    {
      path: 'discovery.check', env: `${envPrefix}_DISCOVERY_CHECK`, kind: { type: 'enum', values: ['grpc', 'ttl'] }, default: 'grpc',
      doc: 'How Consul learns this node is healthy: grpc (Consul calls grpc.health.v1.Health/Check on the gRPC port; the node answers NOT_SERVING once it drains) or ttl (the node reports passing every discovery.ttlMs / 3).',
    },
    {
      path: 'discovery.checkIntervalMs', env: `${envPrefix}_DISCOVERY_CHECK_INTERVAL_MS`, kind: { type: 'int', min: 100 }, default: 10_000,
      doc: 'How often Consul runs the grpc check (its timeout is the same, at most 10 s).',
    },
    { path: 'discovery.ttlMs', env: `${envPrefix}_DISCOVERY_TTL_MS`, kind: { type: 'int', min: 300 }, default: 15_000, doc: 'The ttl check\'s TTL: Consul marks the node critical when no report came for this long.' },
    {
      path: 'discovery.deregisterAfterMs', env: `${envPrefix}_DISCOVERY_DEREGISTER_AFTER_MS`, kind: { type: 'int', min: 1000 }, default: 60_000,
      doc: 'Consul removes this node after its check has been critical this long (DeregisterCriticalServiceAfter; Consul applies at least one minute).',
    },
    {
      path: 'discovery.reassertMs', env: `${envPrefix}_DISCOVERY_REASSERT_MS`, kind: { type: 'int', min: MIN_REASSERT_MS, max: MAX_REASSERT_MS }, default: 30_000,
      doc: 'How often a registered node registers again (it also does at once when the watch index goes backwards): a node Consul lost or reaped comes back within this, whatever its check kind (an id registered again keeps its check\'s status).',
    },
    {
      path: 'discovery.waitMs', env: `${envPrefix}_DISCOVERY_WAIT_MS`, kind: { type: 'int', min: 1000, max: MAX_WAIT_MS }, default: 60_000,
      doc: 'Longest Consul holds one blocking query for a change (at most 10 minutes, Consul\'s limit).',
    },
    {
      path: 'discovery.minIntervalMs', env: `${envPrefix}_DISCOVERY_MIN_INTERVAL_MS`, kind: { type: 'int', min: 10 }, default: 1000,
      doc: 'Least time between the starts of two watch queries, however fast the list changes.',
    },
    {
      path: 'discovery.retryBaseMs', env: `${envPrefix}_DISCOVERY_RETRY_BASE_MS`, kind: { type: 'int', min: 10 }, default: 500,
      doc: 'First retry delay after Consul failed a query or a registration; it doubles up to discovery.retryMaxMs, with jitter. Meanwhile the last list is kept (im_discovery_stale 1).',
    },
    { path: 'discovery.retryMaxMs', env: `${envPrefix}_DISCOVERY_RETRY_MAX_MS`, kind: { type: 'int', min: 10 }, default: 30_000, doc: 'Longest retry delay.' },
  ];
}

export function readDiscoveryConfig(r: OptionReader): DiscoveryConfig {
  return {
    kind: r.str('discovery.kind') === 'consul' ? 'consul' : 'static',
    consulUrl: r.str('discovery.consulUrl'),
    consulToken: r.str('discovery.consulToken'),
    service: r.str('discovery.service'),
    watchService: r.str('discovery.watchService'),
    check: r.str('discovery.check') === 'ttl' ? 'ttl' : 'grpc',
    checkIntervalMs: r.num('discovery.checkIntervalMs'),
    ttlMs: r.num('discovery.ttlMs'),
    deregisterAfterMs: r.num('discovery.deregisterAfterMs'),
    reassertMs: r.num('discovery.reassertMs'),
    waitMs: r.num('discovery.waitMs'),
    minIntervalMs: r.num('discovery.minIntervalMs'),
    retryBaseMs: r.num('discovery.retryBaseMs'),
    retryMaxMs: r.num('discovery.retryMaxMs'),
  };
}

export function discoveryProblems(d: DiscoveryConfig): string[] {
  const problems: string[] = [];
  if (d.retryBaseMs > d.retryMaxMs) problems.push(`discovery.retryBaseMs (${d.retryBaseMs}) must not exceed discovery.retryMaxMs (${d.retryMaxMs})`);
  let url: URL | null = null;
  try {
    url = new URL(d.consulUrl);
  } catch {
    problems.push(`discovery.consulUrl (${d.consulUrl}) is not a URL`);
  }
  if (url && (url.username !== '' || url.password !== '')) problems.push('discovery.consulUrl must not carry credentials: set discovery.consulToken');
  if (d.service === d.watchService) problems.push(`discovery.service and discovery.watchService are both ${d.service}: a node would watch itself`);
  return problems;
}

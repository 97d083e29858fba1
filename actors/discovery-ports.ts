/**
 * What the discovery actor needs of the world: a source that lists the
 * other side's healthy nodes (blocking until the list may have changed), and,
 * for a registry such as Consul, a way to register this node, keep its check
 * passing and leave. Implemented in system/discovery (Consul through the
 * `consul` package, or the static list from config).
 */

/** One node of the other side, as the source lists it. */
export interface NodeInstance {
  /** The registry's id for it (a static list uses the address). */
  readonly id: string;
  /** host:port of its gRPC server: for a cloud node, its server id. */
  readonly address: string;
  /** What the node published about itself (a cloud node: where its clients connect). */
  readonly meta: Readonly<Record<string, string>>;
}

export interface Listing {
  /** The source's version of the list (Consul's X-Consul-Index); grows while nothing is reset. */
  readonly index: number;
  readonly nodes: readonly NodeInstance[];
}

export interface NodeListSource {
  /**
   * The passing instances of `service`. With `index` ≥ 1 the source may hold
   * the answer until the list changes past that index or about `waitMs`
   * passes; with 0 it answers at once. Rejects when the source cannot be
   * reached or answers with an error.
   */
  list(service: string, index: number, waitMs: number): Promise<Listing>;
  /** Ends a list in progress (it rejects) and releases connections. */
  close(): void;
}

/** How the registry learns this node is healthy. */
export type HealthCheck =
  /** The registry calls grpc.health.v1.Health/Check on the node's gRPC port every `intervalMs`. */
  | { readonly kind: 'grpc'; readonly intervalMs: number; readonly timeoutMs: number; readonly useTls: boolean }
  /** The node reports passing at least every `ttlMs` (the actor does it every ttlMs / 3). */
  | { readonly kind: 'ttl'; readonly ttlMs: number };

export interface SelfRegistration {
  readonly serviceId: string;
  readonly service: string;
  /** The gRPC address the other side dials. */
  readonly host: string;
  readonly port: number;
  readonly meta: Readonly<Record<string, string>>;
  readonly checkId: string;
  readonly check: HealthCheck;
  /** The registry removes the node after its check has been critical this long. */
  readonly deregisterAfterMs: number;
}

export interface NodeRegistry {
  register(self: SelfRegistration): Promise<void>;
  /** Marks a TTL check passing; false when the registry no longer knows the check (register again). */
  passCheck(checkId: string): Promise<boolean>;
  deregister(serviceId: string): Promise<void>;
}

/**
 * A node's hold on its discovery actor, the same for both node kinds: it
 * spawns the actor once the node's ports are bound (its registration names
 * them; a loopback address gets a warn line, as other hosts cannot reach
 * it), answers whether the other side can know the node yet (readiness),
 * shows the actor's view (/ready, /info), and takes the node out of the
 * registry as a stop's first step after readiness.
 */
import { discoveryActor, DiscoveryMsg, inspectDiscovery, isDiscoverable } from '../../actors/discovery-actor';
import type { NodeInstance } from '../../actors/discovery-ports';
import type { DiscoveryConfig } from '../../config/discovery-options';
import type { ActorRef } from '../actor-kind';
import type { ActorRuntime } from '../actor-runtime';
import { ImError } from '../errors';
import type { Readiness } from '../admin/admin-server';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { discoveryParts, isLoopbackHost, joinHostPort, selfRegistration } from './discovery-setup';

/** Longest a stop waits for the registry to take the deregistration (the request itself gives up after 5 s). */
const LEAVE_TIMEOUT_MS = 6000;

export interface DiscoveryStart {
  /** The other side's addresses from config, used by a static source. */
  readonly staticNodes: readonly string[];
  /** This node's gRPC address as the other side dials it; null when it is not host:port (refused with a registry). */
  readonly address: { readonly host: string; readonly port: number } | null;
  /** The option `address` comes from, named by the warning about a loopback address. */
  readonly addressOption: string;
  /** What the node publishes with its registration. */
  readonly meta: Readonly<Record<string, string>>;
  /** A cloud node's node.clientHost, published in `meta` for clients; absent on a logic node. */
  readonly clientHost?: string;
  readonly grpcTls: boolean;
  /** Each changed list of the other side's nodes. */
  readonly onNodes: (nodes: readonly NodeInstance[]) => void;
}

export class NodeDiscovery {
  private ref: ActorRef<DiscoveryMsg> | null = null;
  /** Whether the actor renews this node's registration (a TTL check, which lapses without it; a GRPC check is the registry's to run). */
  private renews = false;
  /** Whether the actor registers this node with a registry at all. */
  private registers = false;

  constructor(
    private readonly config: DiscoveryConfig,
    private readonly runtime: ActorRuntime,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The component the node logs as (cloud-node, logic-node). */
    private readonly component: string,
  ) {}

  /** Spawns the actor under `parent` and starts it: it registers (with a registry) and watches. */
  start(parent: ActorRef<unknown>, start: DiscoveryStart): void {
    const config = this.config;
    const parts = discoveryParts(config, start.staticNodes);
    const address = start.address;
    if (parts.registry && !address) throw new ImError('CONFIG_INVALID', 'discovery registers this node\'s gRPC address, which must be host:port');
    // Not refused: a cluster on one host (tests, a laptop) is served well by loopback.
    if (parts.registry && address && isLoopbackHost(address.host)) {
      this.log.warn('discovery registers a loopback address: nodes on other hosts cannot reach this node', {
        component: this.component, address: joinHostPort(address.host, address.port), option: start.addressOption,
      });
    }
    const self = parts.registry && address ? selfRegistration(config, address, start.meta, start.grpcTls) : null;
    this.renews = self?.check.kind === 'ttl';
    this.registers = self !== null;
    // Reachable by other nodes, yet telling clients a loopback address: clients elsewhere would dial themselves.
    if (parts.registry && address && !isLoopbackHost(address.host) && start.clientHost !== undefined && isLoopbackHost(start.clientHost)) {
      this.log.warn('discovery publishes a loopback client address: clients on other hosts would be sent to themselves', {
        component: this.component, clientHost: start.clientHost, address: joinHostPort(address.host, address.port), option: 'node.clientHost',
      });
    }
    this.ref = this.runtime.spawnChild(parent, discoveryActor, 'discovery', {
      sourceKind: parts.sourceKind,
      source: parts.source,
      watchService: config.watchService,
      registry: parts.registry && self ? { api: parts.registry, self } : null,
      onNodes: start.onNodes,
      reassertMs: config.reassertMs,
      waitMs: config.waitMs,
      minIntervalMs: config.minIntervalMs,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      now: Date.now,
      random: Math.random,
      metrics: this.metrics,
      log: this.log,
    });
    this.ref.tell({ type: 'start' });
  }

  /**
   * The node's readiness as the other side sees it. A node `ready` on its
   * own is `starting` until the registry holds its registration (a logic node
   * refuses a Connect naming an unknown cloud node, so a load balancer should
   * wait), and `unlisted` once its discovery actor stopped for good (it gave
   * up after its supervision budget) while it renewed a TTL check: nothing
   * renews it now, and the registration lapses. A node on a static list, or
   * whose registry runs a GRPC check against it, stays known (on its last
   * list of the other side).
   */
  gate(readiness: Readiness): Readiness {
    if (readiness !== 'ready' || this.ref === null) return readiness;
    if (this.stopped()) return this.renews ? 'unlisted' : readiness;
    const state = this.runtime.stateOf(this.ref, discoveryActor);
    return state === undefined || isDiscoverable(state) ? readiness : 'starting';
  }

  /** The actor's view; null before it runs, and what is left of it once it stopped. */
  view(): Record<string, unknown> | null {
    if (this.ref === null) return null;
    if (this.stopped()) return { state: 'stopped', registration: this.renews ? 'lapsing: nothing renews its TTL check' : 'unchanged', nodes: 'the last list, kept' };
    const state = this.runtime.stateOf(this.ref, discoveryActor);
    return state ? inspectDiscovery(state) : null;
  }

  /** The actor was started and is gone (stopped with the node, or gave up). */
  private stopped(): boolean {
    return this.ref !== null && !this.runtime.isAlive(this.ref);
  }

  /** Deregisters, waiting at most a quarter of what is left before `deadlineAt` (the stop's own steps need the rest). */
  async leave(deadlineAt: number): Promise<void> {
    if (!this.ref) return;
    if (this.stopped()) {
      // Nobody to ask: the registry drops the registration when its check fails or lapses.
      if (this.registers) this.log.warn('stop goes on without deregistering: the discovery actor had stopped', { component: this.component });
      return;
    }
    const waitMs = Math.max(1, Math.min(LEAVE_TIMEOUT_MS, (deadlineAt - Date.now()) / 4));
    const left = await this.runtime.ask<DiscoveryMsg, boolean>(this.ref, (reply) => ({ type: 'leave', reply }), waitMs).catch(() => false);
    if (!left) this.log.warn('stop goes on without a confirmed deregistration', { component: this.component, waitedAtMostMs: waitMs });
  }
}

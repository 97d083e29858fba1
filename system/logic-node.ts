import { hostname } from 'node:os';
import { cloudLinkActor } from '../actors/cloud-link-actor';
import { groupActor } from '../actors/group-actor';
import { KnownCloudNodes } from '../actors/known-cloud-nodes';
import type { CloudNodeClient, ReceiveSink, SessionStore } from '../actors/logic-ports';
import { onlineActor } from '../actors/online-actor';
import { pushRouterActor, PushRouterMsg } from '../actors/push-router-actor';
import { roomBatcherActor, RoomBatcherMsg } from '../actors/room-batcher-actor';
import { isLoopbackHost } from '../config/hosts';
import { LogicConfig, logicInternalBinds } from '../config/logic-config';
import { securityWarning } from '../config/security-options';
import type { ActorRef } from './actor-kind';
import { ActorRuntime } from './actor-runtime';
import { AdminServer, Readiness } from './admin/admin-server';
import { createReceiveSink } from './auth/receive-sinks';
import { createTokenVerifier, TokenVerifier } from './auth/token';
import { joinHostPort, serviceHost } from './discovery/discovery-setup';
import { NodeDiscovery } from './discovery/node-discovery';
import { HttpPushEdge } from './edges/http-push-edge';
import { InternalAuth } from './edges/internal-auth';
import { LogicGrpcEdge } from './edges/logic-grpc-edge';
import { GrpcCloudClient } from './cloud-client';
import { channelCredentials, serverCredentials } from './grpc-credentials';
import { createLogger, Logger } from './logger';
import { CloudClientHosts } from './logic/cloud-client-hosts';
import { FLUSH_WAIT_MS, logicStopBudget } from './logic/logic-stop-budget';
import { LogicServices } from './logic/logic-services';
import { Metrics } from './metrics';
import { PeerAuth } from './peer-auth';
import { exportRuntimeMetrics } from './runtime-metrics';
import { createSessionStore } from './sessions';
import { within } from './shutdown-budget';

export interface LogicNodeOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Actor system name; unique per process. */
  readonly name?: string;
  /** Replaces the Redis/memory store built from config (tests share one between nodes). */
  readonly store?: SessionStore;
  readonly sink?: ReceiveSink;
  readonly cloudClient?: (address: string) => CloudNodeClient;
}

let nodeSerial = 0;


/** The host part of this node's id: its bind address, or the machine's name when it binds every address or loopback (the default, the same on every machine). */
function nodeHost(bindHost: string): string {
  return bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '' || isLoopbackHost(bindHost) ? hostname() : bindHost;
}

/**
 * The logic node's composition root.
 *
 * Actor tree:
 *   /logic-N/push-router/link-k     one link per cloud node
 *   /logic-N/room-batcher
 *   /logic-N/online
 *   /logic-N/discovery              (the cloud nodes, and this node's registration)
 */
export class LogicNode {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly runtime: ActorRuntime;
  readonly services: LogicServices;
  ports = { grpc: 0, http: 0 };
  /** The admin endpoint's bound port. */
  adminPort = 0;
  failure: Error | null = null;

  private readonly store: SessionStore;
  private readonly verifier: TokenVerifier;
  private readonly sink: ReceiveSink;
  private readonly grpcEdge: LogicGrpcEdge;
  private readonly httpEdge: HttpPushEdge;
  private readonly batcher: ActorRef<RoomBatcherMsg>;
  private readonly admin: AdminServer;
  private readonly root: ActorRef<unknown>;
  private readonly router: ActorRef<PushRouterMsg>;
  private readonly clientHosts: CloudClientHosts;
  /** Its actor is spawned once the ports are bound (its registration names them). */
  private readonly discovery: NodeDiscovery;
  private readiness: Readiness = 'starting';
  private stopping: Promise<void> | null = null;
  /** When the stop must be over (shutdown.deadlineMs after it began, or what the caller said). */
  private deadlineAt = 0;
  /** The step a stop is at, for the log line of one that overran its deadline. */
  private stopStage = 'running';
  private resolveStopped: () => void = () => undefined;
  readonly stopped: Promise<void>;

  private constructor(readonly config: LogicConfig, options: LogicNodeOptions) {
    const rootName = options.name ?? `logic-${process.pid}-${++nodeSerial}`;
    this.log = options.logger ?? createLogger(config.log.level, { node: 'logic' });
    this.metrics = options.metrics ?? new Metrics('logic');
    this.stopped = new Promise((resolve) => { this.resolveStopped = resolve; });
    this.runtime = new ActorRuntime(rootName, this.log, this.metrics, {
      onCriticalFailure: (path, kind, error) => {
        this.failure = error;
        this.log.error('critical actor failed; stopping the node', { component: 'logic-node', actor: path, kind, error: error.message });
        void this.stop();
      },
    });
    exportRuntimeMetrics(this.metrics, this.runtime);
    this.discovery = new NodeDiscovery(config.discovery, this.runtime, this.metrics, this.log, 'logic-node');
    this.store = options.store ?? createSessionStore(config.session);
    this.sink = options.sink ?? createReceiveSink(config.receive, this.log);
    const credentials = channelCredentials(config.grpc.tls);
    const peerAuth = new PeerAuth(config.security.token, this.metrics, this.log);
    const streams = { count: config.cloud.streams, reprobeMs: config.cloud.streamReprobeMs, log: this.log };
    const connect = options.cloudClient ?? ((address: string) => new GrpcCloudClient(address, config.cloud.callTimeoutMs, this.metrics, credentials, peerAuth, streams));

    // Read by the services on every Connect, Heartbeat and RenewOnline; replaced by the router's setNodes.
    // With Consul there is no cloud node until discovery's first answer.
    const known = new KnownCloudNodes(config.discovery.kind === 'static' ? config.cloud.nodes : []);
    this.clientHosts = new CloudClientHosts(config.nodes.clientHosts, { tcp: config.nodes.tcpPort, ws: config.nodes.wsPort }, this.log);
    const root = this.runtime.spawnRoot(groupActor, rootName, 'logic node');
    this.root = root;
    const router = this.runtime.spawnChild(root, pushRouterActor, 'push-router', {
      store: this.store, known, connect, maxInFlight: config.cloud.maxInFlight,
      maxQueued: config.cloud.maxQueued, maxLinkBytes: config.cloud.maxLinkBytes, leavingGraceMs: config.cloud.leavingGraceMs, now: Date.now,
      metrics: this.metrics, log: this.log,
    });
    this.router = router;
    this.batcher = this.runtime.spawnChild(root, roomBatcherActor, 'room-batcher', {
      maxMessages: config.push.batchMaxMessages, maxBytes: config.push.maxBatchBytes, flushMs: config.push.batchFlushMs, sink: router,
    });
    const online = this.runtime.spawnChild(root, onlineActor, 'online', {
      store: this.store, maxAgeMs: config.online.maxAgeMs, now: Date.now,
      onComputed: (cluster) => {
        this.metrics.setGauge('im_logic_cluster_connections', undefined, cluster.connCount);
        this.metrics.setGauge('im_logic_cluster_ips', undefined, cluster.ipCount);
        this.metrics.setGauge('im_logic_cluster_rooms', undefined, cluster.rooms.size);
        this.metrics.setGauge('im_logic_cloud_nodes_reporting', undefined, cluster.nodes.length);
      },
    });

    this.verifier = createTokenVerifier({ ...config.auth, metrics: this.metrics, log: this.log });
    this.services = new LogicServices(config, this.runtime, { router, batcher: this.batcher, online }, known, this.clientHosts, this.store,
      this.verifier, this.sink, this.metrics);
    const grpcLimits = { roomTypes: config.push.roomTypes, maxMessageBytes: config.push.maxBatchBytes, maxReceiveBytes: config.grpc.maxReceiveBytes };
    // One check for both surfaces: its refusals share one rate-limited warn line.
    const auth = new InternalAuth(config.security.token, this.metrics, this.log);
    const access = { auth, allowClose: config.grpc.allowClose };
    this.grpcEdge = new LogicGrpcEdge(this.services, grpcLimits, config.grpc.shutdownGraceMs, this.metrics, this.log, access, () => {
      this.log.info('Close rpc received; stopping', { component: 'logic-node' });
      void this.stop();
    });
    this.httpEdge = new HttpPushEdge(
      { maxBodyBytes: config.http.maxBodyBytes, maxMessageBytes: config.push.maxBatchBytes, roomTypes: config.push.roomTypes, auth },
      this.services, this.metrics, this.log,
    );
    this.admin = new AdminServer(config.admin, {
      node: 'logic', id: () => `${nodeHost(config.node.bindHost)}:${this.ports.grpc}`, readiness: () => this.discovery.gate(this.readiness), runtime: this.runtime,
      connections: null, openConnections: () => null,
      discovery: () => this.discovery.view(),
    }, this.metrics, this.log);
  }

  static async start(config: LogicConfig, options: LogicNodeOptions = {}): Promise<LogicNode> {
    const node = new LogicNode(config, options);
    try {
      // First, so an operator can watch the node start (/ready answers 503 until it serves).
      node.adminPort = await node.admin.listen();
      const host = config.node.bindHost;
      const grpc = await node.grpcEdge.listen(config.grpc.port, host, serverCredentials(config.grpc.tls));
      const http = await node.httpEdge.listen(config.http.port, host);
      node.ports = { grpc, http };
      // Serving before registering: a registry's first gRPC check must find the node SERVING.
      node.grpcEdge.health.set(true);
      node.startDiscovery();
    } catch (err) {
      await node.stop();
      throw err;
    }
    node.readiness = 'ready';
    const open = securityWarning(config.security, logicInternalBinds(config), config.grpc.allowClose);
    if (open !== null) node.log.warn(open, { component: 'logic-node', code: 'E_UNAUTHENTICATED' });
    node.log.info('logic node started', {
      component: 'logic-node', grpc: node.ports.grpc, http: node.ports.http, admin: node.adminPort, store: config.session.store,
      discovery: config.discovery.kind, cloud: config.discovery.kind === 'static' ? config.cloud.nodes : config.discovery.watchService,
      tokens: node.verifier.mode, bindKeyToMid: config.auth.bindKeyToMid, receive: config.receive.sink, grpcTls: config.grpc.tls.pem !== null,
      token: config.security.token !== '',
    });
    if (node.verifier.mode === 'classic') {
      node.log.warn('classic JSON tokens: any client can claim any mid and any key; set auth.jwtSecret, auth.jwtPublicKeyFile or auth.jwksUrl to check them', {
        component: 'logic-node', tokens: 'classic', bindKeyToMid: config.auth.bindKeyToMid,
      });
    }
    return node;
  }

  /**
   * Watches the cloud nodes (each new list goes to the push router, which
   * the services' server checks read, and to the Nodes answer's hosts) and,
   * with a registry, registers this node's gRPC address and check.
   */
  private startDiscovery(): void {
    const config = this.config;
    const host = serviceHost(config.node.advertiseHost);

    this.discovery.start(this.root, {
      staticNodes: config.cloud.nodes, address: { host, port: this.ports.grpc }, addressOption: 'node.advertiseHost',
      meta: { http: joinHostPort(host, this.ports.http) }, grpcTls: config.grpc.tls.pem !== null,
      // Nodes lists a cloud node only once the router took it, so logic accepts the Connects of the clients it sends there.
      onNodes: (nodes) => this.router.tell({ type: 'setNodes', nodes: nodes.map((n) => n.address), applied: () => this.clientHosts.set(nodes) }),
    });
  }

  /**
   * Stops taking requests, sends what the batcher holds, then closes links, the store and the actors;
   * every wait ends by `deadlineAt` (default: shutdown.deadlineMs from now). Idempotent: a later call's
   * deadline is ignored.
   */
  stop(deadlineAt?: number): Promise<void> {
    if (!this.stopping) {
      this.deadlineAt = deadlineAt ?? Date.now() + this.config.shutdown.deadlineMs;
      this.stopping = this.shutdown();
    }
    return this.stopping;
  }

  /** What a stop still waits for (logged when it overruns its deadline). */
  pendingShutdown(): Record<string, unknown> {
    return { node: 'logic', stage: this.stopStage };
  }

  private async shutdown(): Promise<void> {
    const started = Date.now();
    const budget = logicStopBudget(this.config, started, this.deadlineAt);
    this.readiness = 'draining';
    this.grpcEdge.health.set(false);
    this.stopStage = 'deregister';
    await this.discovery.leave(this.deadlineAt);
    this.stopStage = 'http';
    await this.httpEdge.close(budget.allow('http', Date.now())).catch(() => undefined);
    this.stopStage = 'grpc';
    await this.grpcEdge.shutdown(budget.allow('grpc', Date.now()));
    this.stopStage = 'flush';
    const flushUntil = Date.now() + budget.allow('flush', Date.now());
    const flushLeft = (): number => Math.max(1, flushUntil - Date.now());
    this.batcher.tell({ type: 'flushAll' });
    // Half the flush for the batcher at most, so the links always get some.
    await this.runtime.barrier(this.batcher, Math.min(FLUSH_WAIT_MS / 2, flushLeft()));
    const links = this.runtime.list({ kind: cloudLinkActor.kind });
    await Promise.all(links.map((l) => {
      const ref = this.runtime.refAt(l.path);
      return ref ? this.runtime.barrier(ref, flushLeft()) : Promise.resolve();
    }));
    this.runtime.shutdown();
    this.stopStage = 'close';
    await within(Promise.allSettled([this.sink.close(), this.store.close()]), budget.allow('close', Date.now()));
    this.stopStage = 'admin';
    await this.admin.close(budget.allow('admin', Date.now()));
    this.stopStage = 'stopped';
    this.log.info('logic node stopped', { component: 'logic-node', tookMs: Date.now() - started });
    this.resolveStopped();
  }
}

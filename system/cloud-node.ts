import { randomBytes } from 'node:crypto';
import { bucketActor, BucketMsg } from '../actors/bucket-actor';
import { connectionActor, ConnectionMsg, ConnectionServices, phaseGauges } from '../actors/connection-actor';
import { connectionShardActor, ConnectionShardMsg } from '../actors/connection-shard-actor';
import { groupActor } from '../actors/group-actor';
import { logicGatewayActor, GatewayMsg } from '../actors/logic-gateway-actor';
import type { ClientHandle } from '../actors/ports';
import { roomDirectoryActor, RoomDirectoryMsg } from '../actors/room-directory-actor';
import { ShardRouter } from '../actors/shard-router';
import { CloudConfig, cloudInternalBinds, serverIdOf } from '../config/cloud-config';
import { isLoopbackHost } from '../config/hosts';
import { securityWarning } from '../config/security-options';
import type { RoomMsg } from '../actors/room-actor';
import type { ActorRef } from './actor-kind';
import { ActorRuntime } from './actor-runtime';
import { AdminServer, Readiness } from './admin/admin-server';
import { CloudDrain, cloudStopBudget, logicAnswerBoundMs } from './cloud/cloud-drain';
import { ConnectionLookup } from './cloud/connection-index';
import { CloudInspection } from './cloud/connection-inspection';
import { LogicClientPool } from './cloud/logic-client-pool';
import { PushDispatcher } from './cloud/push-dispatcher';
import { joinHostPort, splitHostPort } from './discovery/discovery-setup';
import { NodeDiscovery } from './discovery/node-discovery';
import { AcceptGuard, derivedMaxConnections } from './edges/accept-guard';
import { ClientAdmission } from './edges/client-admission';
import { ClientEdges, ClientPorts } from './edges/client-edges';
import { Coalescer } from './edges/coalescer';
import type { ConnectionOpener } from './edges/connection-opener';
import { GrpcEdge, PushTargets } from './edges/grpc-edge';
import { InternalAuth } from './edges/internal-auth';
import { channelCredentials, serverCredentials } from './grpc-credentials';
import { createLogger, Logger } from './logger';
import { GrpcLogicClient } from './logic-client';
import { Metrics } from './metrics';
import { LogThrottle } from './log-throttle';
import { PeerAuth } from './peer-auth';
import { exportRuntimeMetrics } from './runtime-metrics';

export interface CloudNodeOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Actor system name; unique per process. */
  readonly name?: string;
}

/** The bound ports: the client ones (wss and tls 0 when off) and gRPC. */
export interface BoundPorts extends ClientPorts {
  readonly grpc: number;
}

/** In-flight pushes a broadcast-with-speed slices at this interval. */
const BROADCAST_SLICE_MS = 50;

let nodeSerial = 0;

/** A connection actor's name: its socket's serial (under supervisor shard serial % shards). */
function connectionName(id: number): string {
  return `conn-${id}`;
}

/**
 * The cloud node's composition root: the only place that wires edges,
 * actors, logic clients and timers together.
 *
 * Actor tree:
 *   /cloud-N/buckets/bucket-i
 *   /cloud-N/rooms/room-directory-i/room-k
 *   /cloud-N/connections/shard-i/conn-id   (supervisors only: they receive no messages)
 *   /cloud-N/deadlines/deadlines-i         (handshake/heartbeat deadlines and drain of shard i)
 *   /cloud-N/logic-gateway
 *   /cloud-N/discovery                     (the logic nodes, and this node's registration)
 */
export class CloudNode {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly runtime: ActorRuntime;
  ports: BoundPorts = { tcp: 0, ws: 0, wss: 0, tls: 0, grpc: 0 };
  /** The admin endpoint's bound port. */
  adminPort = 0;
  serverId = '';
  /** Set when the node stopped because a critical actor gave up. */
  failure: Error | null = null;

  private readonly logicPool: LogicClientPool;
  private readonly root: ActorRef<unknown>;
  /** Its actor is spawned once the ports are bound (its registration names them). */
  private readonly discovery: NodeDiscovery;
  private readonly buckets: ShardRouter<BucketMsg>;
  private readonly rooms: ShardRouter<RoomDirectoryMsg>;
  /** Parents of the connection actors; they receive no messages (nact copies a parent's child map per message). */
  private readonly supervisors: ActorRef<unknown>[] = [];
  /** One deadline keeper per supervisor: handshake and heartbeat timeouts, drain. */
  private readonly shards: ActorRef<ConnectionShardMsg>[] = [];
  private readonly gateway: ActorRef<GatewayMsg>;
  private readonly pushes: PushDispatcher;
  private readonly guard: AcceptGuard;
  private readonly admission: ClientAdmission;
  private readonly grpcEdge: GrpcEdge;
  private readonly clientEdges: ClientEdges;
  private readonly lookup = new ConnectionLookup();
  private readonly admin: AdminServer;
  private readonly drain: CloudDrain;
  private readiness: Readiness = 'starting';
  private readonly timers: NodeJS.Timeout[] = [];
  private connectionSerial = 0;
  /**
   * Random per start: with a connection's serial it makes the id logic knows the connection by,
   * unique across restarts (serials start over; a restarted node must not match old sessions).
   */
  private readonly bootId = randomBytes(8).toString('hex');
  private accepting = false;
  private stopping: Promise<void> | null = null;
  /** When the stop must be over (shutdown.deadlineMs after it began, or what the caller said). */
  private deadlineAt = 0;
  private resolveStopped: () => void = () => undefined;
  /** Resolves once the node has stopped, whoever stopped it (signal, Close rpc, critical failure). */
  readonly stopped: Promise<void>;

  private constructor(readonly config: CloudConfig, options: CloudNodeOptions) {
    const rootName = options.name ?? `cloud-${process.pid}-${++nodeSerial}`;
    this.log = options.logger ?? createLogger(config.log.level, { node: 'cloud' });
    this.metrics = options.metrics ?? new Metrics('cloud');
    this.stopped = new Promise((resolve) => { this.resolveStopped = resolve; });
    this.runtime = new ActorRuntime(rootName, this.log, this.metrics, {
      onCriticalFailure: (path, kind, error) => {
        this.failure = error;
        this.log.error('critical actor failed; stopping the node', { component: 'cloud-node', actor: path, kind, error: error.message });
        void this.stop();
      },
    });
    exportRuntimeMetrics(this.metrics, this.runtime);
    this.discovery = new NodeDiscovery(config.discovery, this.runtime, this.metrics, this.log, 'cloud-node');

    const credentials = channelCredentials(config.grpc.tls);
    const peerAuth = new PeerAuth(config.security.token, this.metrics, this.log);
    const streams = { count: config.logic.streams, reprobeMs: config.logic.streamReprobeMs, log: this.log };
    this.logicPool = new LogicClientPool(
      (address) => new GrpcLogicClient(address, config.logic.maxReplyBytes, this.metrics, credentials, peerAuth, streams), () => Math.max(logicAnswerBoundMs(config, this.logicPool.size), config.logic.renewOnlineIntervalMs),
    );

    const root = this.runtime.spawnRoot(groupActor, rootName, 'cloud node');
    this.root = root;
    const bucketGroup = this.runtime.spawnChild(root, groupActor, 'buckets', 'buckets by key hash');
    const roomGroup = this.runtime.spawnChild(root, groupActor, 'rooms', 'room directories by room hash');
    const connectionGroup = this.runtime.spawnChild(root, groupActor, 'connections', 'connection supervisor shards');
    const deadlineGroup = this.runtime.spawnChild(root, groupActor, 'deadlines', 'deadline keepers, one per connection shard');
    const onDelivered = (n: number): void => this.metrics.inc('im_push_delivered_total', undefined, n);
    const roomIndex = new Map<string, ActorRef<RoomMsg>>();
    this.rooms = new ShardRouter(
      Array.from({ length: config.actors.roomShards }, (_, i) =>
        this.runtime.spawnChild(roomGroup, roomDirectoryActor, `room-directory-${i}`, { onDelivered, index: roomIndex })),
    );
    this.gateway = this.runtime.spawnChild(root, logicGatewayActor, 'logic-gateway', {
      // With Consul the gateway has no logic node until discovery's first answer.
      nodes: this.logicPool.update(config.discovery.kind === 'static' ? config.logic.nodes : []),
      serverId: () => this.serverId,
      roomDirectories: this.rooms.shards,
      stats: () => ({ connCount: this.admission.openConnections, ipCount: this.admission.distinctAddresses }),
      maxInFlight: config.logic.maxInFlight,
      maxQueued: config.logic.maxQueued,
      callTimeoutMs: config.logic.callTimeoutMs,
      renewOnlineTimeoutMs: config.logic.renewOnlineTimeoutMs,
      renewOnlineIntervalMs: config.logic.renewOnlineIntervalMs,
      now: Date.now,
      metrics: this.metrics,
      log: this.log,
    });
    const bucketDeps = {
      gateway: this.gateway, sliceIntervalMs: BROADCAST_SLICE_MS, onDelivered,
      onPacedDone: (broadcastId: number) => this.pushes.pacedShareDone(broadcastId),
    };
    this.buckets = new ShardRouter(
      Array.from({ length: config.actors.buckets }, (_, i) => this.runtime.spawnChild(bucketGroup, bucketActor, `bucket-${i}`, bucketDeps)),
    );
    this.pushes = new PushDispatcher({
      buckets: this.buckets, rooms: this.rooms, roomIndex,
      mailboxDepth: (ref) => this.runtime.mailboxDepth(ref),
      limits: { maxMailboxDepth: config.limits.maxMailboxDepth, maxPacedBroadcasts: config.limits.maxPacedBroadcasts },
      metrics: this.metrics, log: this.log,
    });
    for (let i = 0; i < config.actors.connectionShards; i++) {
      this.supervisors.push(this.runtime.spawnChild(connectionGroup, groupActor, `shard-${i}`, 'connection supervisor'));
      this.shards.push(this.runtime.spawnChild(deadlineGroup, connectionShardActor, `deadlines-${i}`, null));
    }

    this.drain = new CloudDrain({
      runtime: this.runtime, shards: this.shards, buckets: this.buckets.shards, gateway: this.gateway,
      ratePerSec: config.shutdown.drainRatePerSec, graceMs: config.grpc.shutdownGraceMs,
      metrics: this.metrics, log: this.log, now: Date.now, random: Math.random,
    });

    const limits = config.limits;
    this.admission = new ClientAdmission({
      maxConnections: limits.maxConnections > 0 ? limits.maxConnections : derivedMaxConnections(),
      maxPerIp: limits.maxConnectionsPerIp,
      newPerSec: limits.newConnectionsPerSec,
      maxRefusing: limits.maxRefusing,
    }, () => this.accepting, this.metrics, this.log);
    this.guard = new AcceptGuard(limits.acceptRetryMs, this.log, this.metrics, () => this.admission.openConnections);
    const coalescer = config.protocol.coalesce ? new Coalescer(this.metrics.histogramOf('im_op9_batch_pushes')) : null;
    this.clientEdges = new ClientEdges(config, {
      opener: this.opener(), admission: this.admission, guard: this.guard, coalescer, metrics: this.metrics, log: this.log,
    });
    this.grpcEdge = new GrpcEdge(
      {
        maxPushBytes: config.grpc.maxPushBytes, shutdownGraceMs: config.grpc.shutdownGraceMs,
        auth: new InternalAuth(config.security.token, this.metrics, this.log), allowClose: config.grpc.allowClose,
      },
      this.pushTargets(), this.metrics, this.log,
    );
    const connections = new CloudInspection({
      runtime: this.runtime, buckets: this.buckets, roomIndex, lookup: this.lookup,
      connectionPath: (id) => `${this.supervisors[id % this.supervisors.length].path}/${connectionName(id)}`,
    });
    this.admin = new AdminServer(config.admin, {
      node: 'cloud', id: () => this.serverId, readiness: () => this.discovery.gate(this.readiness), runtime: this.runtime, connections,
      openConnections: () => this.admission.openConnections,
      discovery: () => this.discovery.view(),
    }, this.metrics, this.log);
  }

  /** Binds gRPC (its port is part of the server id), then the client edges, then starts the timers. */
  static async start(config: CloudConfig, options: CloudNodeOptions = {}): Promise<CloudNode> {
    const node = new CloudNode(config, options);
    try {
      // First, so an operator can watch the node start (/ready answers 503 until it serves).
      node.adminPort = await node.admin.listen();
      const grpcPort = await node.grpcEdge.listen(config.grpc.port, config.grpc.bindHost, serverCredentials(config.grpc.tls));
      node.serverId = serverIdOf(config, grpcPort);
      node.accepting = true;
      node.ports = { ...await node.clientEdges.listen(config.node.bindHost), grpc: grpcPort };
      // Serving before registering: a registry's first gRPC check must find the node SERVING.
      node.grpcEdge.health.set(true);
      node.startDiscovery();
    } catch (err) {
      await node.stop();
      throw err;
    }
    node.startTimers();
    node.readiness = 'ready';
    const open = securityWarning(config.security, cloudInternalBinds(config), config.grpc.allowClose);
    if (open !== null) node.log.warn(open, { component: 'cloud-node', code: 'E_UNAUTHENTICATED' });
    const routedTo = splitHostPort(node.serverId)?.host;
    if (routedTo !== undefined && isLoopbackHost(config.grpc.bindHost) && !isLoopbackHost(routedTo)) {
      // Logic dials the server id: a loopback-only listener answers it only through a proxy on this machine.
      node.log.warn(`grpc.bindHost ${config.grpc.bindHost} is loopback but logic nodes reach this node at ${node.serverId}: set grpc.bindHost (and security.token) unless a local proxy forwards to it`, { component: 'cloud-node' });
    }
    node.log.info('cloud node started', {
      component: 'cloud-node', serverId: node.serverId, tcp: node.ports.tcp, ws: node.ports.ws, wsPath: config.ws.path,
      wss: node.ports.wss, tls: node.ports.tls, grpc: node.ports.grpc, grpcTls: config.grpc.tls.pem !== null, grpcToken: config.security.token !== '',
      admin: node.adminPort, discovery: config.discovery.kind,
      logic: config.discovery.kind === 'static' ? config.logic.nodes : config.discovery.watchService, buckets: config.actors.buckets,
    });
    return node;
  }

  get openConnections(): number {
    return this.admission.openConnections;
  }

  /**
   * Drains and stops: refuse new sockets, close every connection while the
   * buckets, rooms and logic gateway still run (op 6 E_NODE_DRAINING with a
   * reconnect hint to each client, paced; one Disconnect to logic for each
   * session it created), let those Disconnects reach logic, then stop gRPC,
   * the logic clients and the actors (children first). Every wait is bounded
   * and all of them end by `deadlineAt` (default: shutdown.deadlineMs from
   * now); see CloudDrain. Idempotent: a later call's deadline is ignored.
   */
  stop(deadlineAt?: number): Promise<void> {
    if (!this.stopping) {
      this.deadlineAt = deadlineAt ?? Date.now() + this.config.shutdown.deadlineMs;
      this.stopping = this.drainAndStop();
    }
    return this.stopping;
  }

  /** What a stop still waits for (logged when it overruns its deadline). */
  pendingShutdown(): Record<string, unknown> {
    return { node: 'cloud', serverId: this.serverId, ...this.drain.pending() };
  }

  private async drainAndStop(): Promise<void> {
    const started = Date.now();
    this.readiness = 'draining';
    this.grpcEdge.health.set(false);
    await this.discovery.leave(this.deadlineAt);
    this.accepting = false;
    this.guard.stop();
    const budget = cloudStopBudget(this.config, this.logicPool.size, started, this.deadlineAt);
    await this.drain.tellClients(budget);
    await this.drain.awaitConnections(budget);
    await this.drain.awaitDisconnects(budget);
    for (const timer of this.timers) clearInterval(timer);
    await this.grpcEdge.shutdown(budget.allow('grpc', Date.now()));
    this.clientEdges.close();
    this.logicPool.closeAll();
    this.runtime.shutdown();
    await this.admin.close(budget.allow('admin', Date.now()));
    this.log.info('cloud node stopped', { component: 'cloud-node', serverId: this.serverId, tookMs: Date.now() - started });
    this.resolveStopped();
  }

  /**
   * Watches the logic nodes (each new list goes to the gateway) and, with a
   * registry, registers this node: its gRPC address (the server id logic
   * routes to), its check, and in Meta where its clients connect.
   */
  private startDiscovery(): void {
    const config = this.config;
    const clientHost = config.node.clientHost;
    const meta: Record<string, string> = { tcp: joinHostPort(clientHost, this.ports.tcp), ws: joinHostPort(clientHost, this.ports.ws), ws_path: config.ws.path };
    if (this.ports.wss > 0) meta.wss = joinHostPort(clientHost, this.ports.wss);
    if (this.ports.tls > 0) meta.tls = joinHostPort(clientHost, this.ports.tls);
    this.discovery.start(this.root, {
      staticNodes: config.logic.nodes, address: splitHostPort(this.serverId), addressOption: config.grpc.serverId !== '' ? 'grpc.serverId' : 'node.advertiseHost',
      meta, clientHost, grpcTls: config.grpc.tls.pem !== null,
      onNodes: (nodes) => this.gateway.tell({ type: 'setNodes', nodes: this.logicPool.update(nodes.map((n) => n.address)) }),
    });
  }

  private startTimers(): void {
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const shard of this.shards) shard.tell({ type: 'sweep', now });
    }, this.config.protocol.sweepIntervalMs);
    const renew = setInterval(() => this.gateway.tell({ type: 'renewOnline' }), this.config.logic.renewOnlineIntervalMs);
    sweep.unref();
    renew.unref();
    this.timers.push(sweep, renew);
  }

  private opener(): ConnectionOpener {
    const config = this.config;
    const services: ConnectionServices = {
      gateway: this.gateway,
      buckets: this.buckets,
      rooms: this.rooms,
      handshakeTimeoutMs: config.protocol.handshakeTimeoutMs,
      logicConnectWaitMs: config.logic.connectWaitMs,
      bootId: this.bootId,
      defaultHeartbeatMs: config.protocol.heartbeatTimeoutMs,
      logicHeartbeatMinMs: config.logic.heartbeatMinMs,
      logicHeartbeatMaxMs: config.logic.heartbeatMaxMs,
      limits: { upstreamPerSec: config.limits.upstreamPerSec, controlPerSec: config.limits.controlPerSec, maxAccepts: config.limits.maxAccepts, maxRoomIdBytes: config.limits.maxRoomIdBytes },
      metrics: this.metrics,
      phases: phaseGauges(this.metrics),
      log: this.log,
      closeLogs: new LogThrottle(10_000),
      index: this.lookup,
      now: Date.now,
      random: Math.random,
    };
    const node = this;
    return {
      get accepting() { return node.accepting; },
      nextId: () => ++node.connectionSerial,
      open: (handle: ClientHandle): ActorRef<ConnectionMsg> => {
        const index = handle.id % node.shards.length;
        const shard = node.shards[index];
        const ref = node.runtime.spawnChild(node.supervisors[index], connectionActor, connectionName(handle.id), { handle, shard, services });
        shard.tell({ type: 'adopt', id: handle.id, ref, at: Date.now() + config.protocol.handshakeTimeoutMs });
        return ref;
      },
    };
  }

  private pushTargets(): PushTargets {
    return {
      pushKeys: (keys, protoOp, out) => this.pushes.pushKeys(keys, protoOp, out),
      broadcast: (protoOp, out, speed) => this.pushes.broadcast(protoOp, out, speed),
      broadcastRoom: (roomId, out) => this.pushes.broadcastRoom(roomId, out),
      rooms: async () => {
        const counts = await Promise.all(
          this.rooms.shards.map((shard) => this.runtime.ask<RoomDirectoryMsg, Map<string, number>>(shard, (reply) => ({ type: 'counts', reply }), 5000)),
        );
        return counts.flatMap((m) => [...m.keys()]);
      },
      close: () => {
        this.log.info('Close rpc received; draining', { component: 'cloud-node' });
        void this.stop();
      },
    };
  }
}

import { randomBytes } from 'node:crypto';
import { bucketActor, BucketMsg } from '../actors/bucket-actor';
import { connectionActor, ConnectionMsg, ConnectionServices, phaseGauges } from '../actors/connection-actor';
import { connectionShardActor, ConnectionShardMsg } from '../actors/connection-shard-actor';
import { groupActor } from '../actors/group-actor';
import { logicGatewayActor, GatewayMsg } from '../actors/logic-gateway-actor';
import type { ClientHandle, LogicNodeClient } from '../actors/ports';
import { roomDirectoryActor, RoomDirectoryMsg } from '../actors/room-directory-actor';
import { ShardRouter } from '../actors/shard-router';
import { CloudConfig, serverIdOf } from '../config/cloud-config';
import type { RoomMsg } from '../actors/room-actor';
import type { ActorRef } from './actor-kind';
import { ActorRuntime } from './actor-runtime';
import { AdminServer, Readiness } from './admin/admin-server';
import { ConnectionLookup } from './cloud/connection-index';
import { CloudInspection } from './cloud/connection-inspection';
import { PushDispatcher } from './cloud/push-dispatcher';
import { AcceptGuard, derivedMaxConnections } from './edges/accept-guard';
import { ClientEdges, ClientPorts } from './edges/client-edges';
import { Coalescer } from './edges/coalescer';
import type { ConnectionOpener } from './edges/connection-opener';
import { GrpcEdge, PushTargets } from './edges/grpc-edge';
import { channelCredentials, serverCredentials } from './grpc-credentials';
import { createLogger, Logger } from './logger';
import { GrpcLogicClient } from './logic-client';
import { Metrics } from './metrics';
import { exportRuntimeMetrics } from './runtime-metrics';

export interface CloudNodeOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Replaces the gRPC logic clients (tests of the gateway's failover use real ones). */
  readonly logicClients?: (addresses: readonly string[]) => LogicNodeClient[];
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

  private readonly logicClients: LogicNodeClient[];
  private readonly buckets: ShardRouter<BucketMsg>;
  private readonly rooms: ShardRouter<RoomDirectoryMsg>;
  /** Parents of the connection actors; they receive no messages (nact copies a parent's child map per message). */
  private readonly supervisors: ActorRef<unknown>[] = [];
  /** One deadline keeper per supervisor: handshake and heartbeat timeouts, drain. */
  private readonly shards: ActorRef<ConnectionShardMsg>[] = [];
  private readonly gateway: ActorRef<GatewayMsg>;
  private readonly pushes: PushDispatcher;
  private readonly guard: AcceptGuard;
  private readonly grpcEdge: GrpcEdge;
  private readonly clientEdges: ClientEdges;
  private readonly lookup = new ConnectionLookup();
  private readonly admin: AdminServer;
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

    const credentials = channelCredentials(config.grpc.tls);
    this.logicClients = options.logicClients
      ? options.logicClients(config.logic.nodes)
      : config.logic.nodes.map((address) => new GrpcLogicClient(address, config.logic.maxReplyBytes, this.metrics, credentials));

    const root = this.runtime.spawnRoot(groupActor, rootName, 'cloud node');
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
      nodes: this.logicClients,
      serverId: () => this.serverId,
      roomDirectories: this.rooms.shards,
      stats: () => ({ connCount: this.guard.openConnections, ipCount: this.guard.distinctAddresses }),
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

    const maxConnections = config.limits.maxConnections > 0 ? config.limits.maxConnections : derivedMaxConnections();
    this.guard = new AcceptGuard(maxConnections, config.limits.acceptRetryMs, this.log, this.metrics);
    const coalescer = config.protocol.coalesce ? new Coalescer(this.metrics.histogramOf('im_op9_batch_pushes')) : null;
    this.clientEdges = new ClientEdges(config, { opener: this.opener(), guard: this.guard, coalescer, metrics: this.metrics, log: this.log });
    this.grpcEdge = new GrpcEdge(
      { maxPushBytes: config.grpc.maxPushBytes, shutdownGraceMs: config.grpc.shutdownGraceMs },
      this.pushTargets(), this.metrics, this.log,
    );
    const connections = new CloudInspection({
      runtime: this.runtime, buckets: this.buckets, roomIndex, lookup: this.lookup,
      connectionPath: (id) => `${this.supervisors[id % this.supervisors.length].path}/${connectionName(id)}`,
    });
    this.admin = new AdminServer(config.admin, {
      node: 'cloud', id: () => this.serverId, readiness: () => this.readiness, runtime: this.runtime, connections,
      openConnections: () => this.guard.openConnections,
    }, this.metrics, this.log);
  }

  /** Binds gRPC (its port is part of the server id), then the client edges, then starts the timers. */
  static async start(config: CloudConfig, options: CloudNodeOptions = {}): Promise<CloudNode> {
    const node = new CloudNode(config, options);
    try {
      // First, so an operator can watch the node start (/ready answers 503 until it serves).
      node.adminPort = await node.admin.listen();
      const host = config.node.bindHost;
      const grpcPort = await node.grpcEdge.listen(config.grpc.port, host, serverCredentials(config.grpc.tls));
      node.serverId = serverIdOf(config, grpcPort);
      node.accepting = true;
      node.ports = { ...await node.clientEdges.listen(host), grpc: grpcPort };
    } catch (err) {
      await node.stop();
      throw err;
    }
    node.startTimers();
    node.readiness = 'ready';
    node.log.info('cloud node started', {
      component: 'cloud-node', serverId: node.serverId, tcp: node.ports.tcp, ws: node.ports.ws, wsPath: config.ws.path,
      wss: node.ports.wss, tls: node.ports.tls, grpc: node.ports.grpc, grpcTls: config.grpc.tls.pem !== null,
      admin: node.adminPort, logic: config.logic.nodes, buckets: config.actors.buckets,
    });
    return node;
  }

  get openConnections(): number {
    return this.guard.openConnections;
  }

  /**
   * Drains and stops: refuse new sockets, close every connection while the
   * buckets, rooms and logic gateway still run (op 6 E_NODE_DRAINING to each
   * client, one Disconnect to logic for each session it created), let those
   * Disconnects reach logic, then stop gRPC, the logic clients and the actors
   * (children first). Every wait is bounded; see closeConnections and
   * awaitDisconnects. Idempotent.
   */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.drainAndStop();
    return this.stopping;
  }

  private async drainAndStop(): Promise<void> {
    const started = Date.now();
    this.readiness = 'draining';
    this.accepting = false;
    this.guard.stop();
    await this.closeConnections();
    await this.awaitDisconnects();
    for (const timer of this.timers) clearInterval(timer);
    await this.grpcEdge.shutdown();
    this.clientEdges.close();
    for (const client of this.logicClients) client.close();
    this.runtime.shutdown();
    await this.admin.close();
    this.log.info('cloud node stopped', { component: 'cloud-node', serverId: this.serverId, tookMs: Date.now() - started });
    this.resolveStopped();
  }

  /**
   * Tells every connection to drain and waits for them to stop: up to the
   * grace period, and then, while some still await logic's answer to Connect
   * (they must hear it to tell logic Disconnect), up to one logic answer
   * bound more. Connections left when the wait ends are stopped here, before
   * anything they need, and close with the draining reason all the same.
   */
  private async closeConnections(): Promise<void> {
    const started = Date.now();
    for (const shard of this.shards) shard.tell({ type: 'drain' });
    const gone = (): boolean => this.runtime.count(connectionActor.kind) === 0;
    await this.waitFor(gone, this.config.grpc.shutdownGraceMs);
    let awaitingLogic = 0;
    if (!gone()) {
      awaitingLogic = this.connectionsAwaitingLogic();
      if (awaitingLogic > 0) await this.waitFor(gone, this.logicAnswerBoundMs());
    }
    const left = this.runtime.list({ kind: connectionActor.kind });
    if (left.length === 0) return;
    this.metrics.inc('im_drain_cut_total', { stage: 'connections' }, left.length);
    this.log.warn('drain wait ended; stopping the connections still open', {
      component: 'cloud-node', connections: left.length, awaitingLogic, waitedMs: Date.now() - started,
    });
    for (const connection of left) {
      const ref = this.runtime.refAt(connection.path);
      if (ref) this.runtime.stop(ref);
    }
  }

  /**
   * A closed connection tells its bucket, which tells the gateway
   * (Disconnect); those tells may still sit in mailboxes, unseen by the
   * gateway's in-flight count. Lets both hops happen, then waits for the
   * gateway to have no call in flight, all within one logic answer bound.
   */
  private async awaitDisconnects(): Promise<void> {
    const started = Date.now();
    const until = started + this.logicAnswerBoundMs();
    const left = (): number => Math.max(1, until - Date.now());
    await Promise.all(this.buckets.shards.map((bucket) => this.runtime.barrier(bucket, left())));
    await this.runtime.barrier(this.gateway, left());
    await this.waitFor(() => this.gatewayCalls() === 0, Math.max(0, until - Date.now()));
    const calls = this.gatewayCalls();
    if (calls === 0) return;
    this.metrics.inc('im_drain_cut_total', { stage: 'logic_calls' }, calls);
    this.log.warn('drain wait ended; cutting the logic calls still in flight', { component: 'cloud-node', calls, waitedMs: Date.now() - started });
  }

  /**
   * How long logic may take to answer one call through the gateway: each
   * call, failover to other nodes included, ends within its deadline (one
   * attempt's time per logic node), counted from when the gateway got it.
   */
  private logicAnswerBoundMs(): number {
    return this.config.logic.callTimeoutMs * Math.max(1, this.config.logic.nodes.length);
  }

  /** Connections whose Connect is still with logic (authenticating, or closing until its answer arrives). */
  private connectionsAwaitingLogic(): number {
    let n = 0;
    for (const connection of this.runtime.list({ kind: connectionActor.kind, withState: true })) {
      const phase = connection.state?.phase;
      if (phase === 'authenticating' || phase === 'closing') n++;
    }
    return n;
  }

  /** Calls the gateway has in flight or queued; 0 once it is gone. */
  private gatewayCalls(): number {
    const [gateway] = this.runtime.list({ kind: logicGatewayActor.kind, withState: true });
    return Number(gateway?.state?.inFlight ?? 0) + Number(gateway?.state?.queued ?? 0);
  }

  private async waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
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
      metrics: this.metrics,
      phases: phaseGauges(this.metrics),
      log: this.log,
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

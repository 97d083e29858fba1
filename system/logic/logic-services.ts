import { randomUUID } from 'node:crypto';
import type { ClusterOnline, OnlineMsg } from '../../actors/online-actor';
import type { KnownCloudNodes } from '../../actors/known-cloud-nodes';
import type { CloudClientHosts } from './cloud-client-hosts';
import type { ReceiveSink, SessionStore } from '../../actors/logic-ports';
import type { Outcome, ProtoMessage } from '../../actors/ports';
import type { PushReach } from '../../actors/push-outcome';
import type { PushRouterMsg } from '../../actors/push-router-actor';
import type { RoomBatcherMsg } from '../../actors/room-batcher-actor';
import type { LogicConfig } from '../../config/logic-config';
import type { ActorRef, Reply } from '../actor-kind';
import type { ActorRuntime } from '../actor-runtime';
import type { TokenVerifier } from '../auth/token';
import { ErrorName, ImError } from '../errors';
import type { NodesInfo, PushService } from '../edges/http-push-edge';
import type { Metrics } from '../metrics';

/** Longest a request waits for a local actor's answer (online counts, push-all) before it is reported as failed. */
const ASK_TIMEOUT_MS = 10_000;

/** Which call named a server that is not a known cloud node (the `source` of im_logic_unknown_node_total). */
export type ServerCheck = 'connect' | 'heartbeat' | 'renew_online';

/** A Connect's failures for its token or key, and for the key set it needs: counted by code in im_logic_auth_failures_total. */
export const AUTH_FAILURES: ReadonlySet<ErrorName> = new Set<ErrorName>([
  'TOKEN_INVALID', 'TOKEN_SIGNATURE', 'TOKEN_ALGORITHM', 'TOKEN_EXPIRED', 'TOKEN_NO_EXP', 'KEY_HELD', 'JWKS_UNAVAILABLE',
]);

/** goim's client reconnect backoff (seconds), returned by Nodes. */
const CLIENT_BACKOFF = { max_delay: 300, base_delay: 3, factor: 1.8, jitter: 1.3 } as const;

export interface ConnectAnswer {
  readonly mid: string;
  readonly key: string;
  readonly roomId: string;
  readonly accepts: number[];
  /** Nanoseconds, as goim sends a Go duration. */
  readonly heartbeatNanos: string;
}

export interface LogicActors {
  readonly router: ActorRef<PushRouterMsg>;
  readonly batcher: ActorRef<RoomBatcherMsg>;
  readonly online: ActorRef<OnlineMsg>;
}

/**
 * What a logic node does, behind both its edges (gRPC for cloud nodes, HTTP
 * for applications): sessions go to the store, pushes to the routing actors.
 * Inputs are already validated by the edge that received them.
 */
export class LogicServices implements PushService {
  constructor(
    private readonly config: LogicConfig,
    private readonly runtime: ActorRuntime,
    private readonly actors: LogicActors,
    private readonly known: KnownCloudNodes,
    private readonly clientHosts: CloudClientHosts,
    private readonly store: SessionStore,
    private readonly verifier: TokenVerifier,
    private readonly sink: ReceiveSink,
    private readonly metrics: Metrics,
  ) {}

  /** `connId`: the cloud node's id for this connection ('' from goim's comet), kept with the session. */
  async connect(server: string, token: Buffer, connId = ''): Promise<ConnectAnswer> {
    const claims = await this.verifier.verify(token).catch((err: unknown) => {
      throw this.counted(err);
    });
    const key = claims.key !== '' ? claims.key : randomUUID();
    const mapping = { mid: claims.mid, key, server, connId };
    // A key logic generated is new: only a key the client chose can be another user's.
    if (this.config.auth.bindKeyToMid && claims.key !== '') {
      // The message reaches the client in its op-6 reason: it names the client's own key, never the holder.
      if (!(await this.store.addUnlessHeld(mapping))) throw this.counted(new ImError('KEY_HELD', `key ${JSON.stringify(key)}`));
    } else {
      await this.store.add(mapping);
    }
    this.metrics.inc('im_logic_connects_total');
    const { heartbeatSeconds, heartbeatMax } = this.config.clients;
    return {
      mid: claims.mid, key, roomId: claims.roomId, accepts: claims.accepts,
      heartbeatNanos: (BigInt(heartbeatSeconds * heartbeatMax) * 1_000_000_000n).toString(),
    };
  }

  /** Counts a Connect's token or key failure by its code (im_logic_auth_failures_total); returns it to be thrown. */
  private counted(err: unknown): unknown {
    if (err instanceof ImError && AUTH_FAILURES.has(err.name)) this.metrics.inc('im_logic_auth_failures_total', { code: err.code });
    return err;
  }

  /**
   * Connect's `server` is where logic will send this client's pushes: only a
   * known cloud node may be named, or any caller could make logic dial any
   * address. Heartbeat (which re-adds an expired session) and RenewOnline
   * (whose counts every node's answer sums) are held to the same rule.
   * Disconnect is not: it only removes entries naming its own server. The
   * known nodes are read here, not asked of the push router, so an auth never
   * waits behind the router's pushes.
   */
  requireKnownServer(server: string, source: ServerCheck): void {
    if (this.known.has(server)) return;
    this.metrics.inc('im_logic_unknown_node_total', { source });
    throw new ImError('UNKNOWN_CLOUD_NODE', server);
  }

  /** With a `connId`, removes the session only if it is still that connection's (SessionStore.remove). */
  disconnect(mid: string, key: string, server: string, connId = ''): Promise<boolean> {
    this.metrics.inc('im_logic_disconnects_total');
    return this.store.remove({ mid, key, server, connId });
  }

  heartbeat(mid: string, key: string, server: string, connId = ''): Promise<void> {
    this.metrics.inc('im_logic_heartbeats_total');
    return this.store.refresh({ mid, key, server, connId });
  }

  async renewOnline(server: string, roomCount: Record<string, number>, connCount: number, ipCount: number): Promise<Record<string, number>> {
    const online = { server, roomCount, connCount, ipCount, updated: Math.floor(Date.now() / 1000) };
    const cluster = await this.ask<OnlineMsg, ClusterOnline>(this.actors.online, (reply) => ({ type: 'renew', online, reply }));
    // Only the rooms the node reported: it looks up no others (goim's comet neither), and the answer then
    // grows with the node's own rooms, not the cluster's.
    const counts: Record<string, number> = {};
    for (const roomId of Object.keys(roomCount)) counts[roomId] = cluster.rooms.get(roomId) ?? 0;
    return counts;
  }

  receive(mid: string, proto: ProtoMessage): Promise<void> {
    this.metrics.inc('im_logic_receive_total');
    return this.sink.deliver(mid, proto);
  }

  /** Resolves once every cloud node holding a target took its share; rejects with PushFailedError when one did not. */
  pushKeys(operation: number, keys: string[], msg: Buffer): Promise<PushReach> {
    return this.askPush((reply) => ({ type: 'keys', op: operation, keys, msg, reply }));
  }

  pushMids(operation: number, mids: string[], msg: Buffer): Promise<PushReach> {
    return this.askPush((reply) => ({ type: 'mids', op: operation, mids, msg, reply }));
  }

  async pushRoom(operation: number, roomId: string, msg: Buffer): Promise<void> {
    this.metrics.inc('im_logic_pushes_total', { kind: 'room' });
    this.actors.batcher.tell({ type: 'push', roomId, op: operation, msg });
  }

  pushAll(operation: number, speed: number, msg: Buffer): Promise<void> {
    return this.ask<PushRouterMsg, void>(this.actors.router, (reply) => ({ type: 'all', op: operation, speed, msg, reply }));
  }

  async onlineTop(type: string, limit: number): Promise<Array<{ room_id: string; count: number }>> {
    const prefix = `${type}://`;
    const rooms = (await this.cluster()).rooms;
    return [...rooms]
      .filter(([roomId]) => roomId.startsWith(prefix))
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([roomId, count]) => ({ room_id: roomId.slice(prefix.length), count }));
  }

  async onlineRoom(type: string, rooms: string[]): Promise<Record<string, number>> {
    const counts = (await this.cluster()).rooms;
    return Object.fromEntries(rooms.map((room) => [room, counts.get(`${type}://${room}`) ?? 0]));
  }

  async onlineTotal(): Promise<{ conn_count: number; ip_count: number }> {
    const cluster = await this.cluster();
    return { conn_count: cluster.connCount, ip_count: cluster.ipCount };
  }

  nodes(_platform: string, _clientIp: string): NodesInfo {
    const n = this.config.nodes;
    return {
      domain: n.domain, tcp_port: n.tcpPort, ws_port: n.wsPort, wss_port: n.wssPort,
      heartbeat: this.config.clients.heartbeatSeconds, heartbeat_max: this.config.clients.heartbeatMax,
      nodes: [...this.clientHosts.hosts()], backoff: { ...CLIENT_BACKOFF },
    };
  }

  private cluster(): Promise<ClusterOnline> {
    return this.ask<OnlineMsg, ClusterOnline>(this.actors.online, (reply) => ({ type: 'snapshot', reply }));
  }

  /**
   * A key or mid push whose nodes did not all answer within push.answerTimeoutMs is reported as not taken
   * (503 without per-node data: what is still queued may yet arrive), not as an internal error.
   */
  private async askPush(build: (reply: Reply<Outcome<PushReach>>) => PushRouterMsg): Promise<PushReach> {
    const timeoutMs = this.config.push.answerTimeoutMs;
    let outcome: Outcome<PushReach>;
    try {
      outcome = await this.runtime.ask<PushRouterMsg, Outcome<PushReach>>(this.actors.router, build, timeoutMs);
    } catch {
      // The ask's only failure is its timeout.
      throw new ImError('CLOUD_UNAVAILABLE', `the cloud nodes did not all answer within push.answerTimeoutMs ${timeoutMs} ms; what is still queued may yet arrive`);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private async ask<M, R>(ref: ActorRef<M>, build: (reply: Reply<Outcome<R>>) => M): Promise<R> {
    const outcome = await this.runtime.ask<M, Outcome<R>>(ref, build, ASK_TIMEOUT_MS);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }
}


import * as grpc from '@grpc/grpc-js';
import type { ConnectReq } from '../proto/generated/im/logic/ConnectReq';
import type { DisconnectReq } from '../proto/generated/im/logic/DisconnectReq';
import type { Empty__Output } from '../proto/generated/im/logic/Empty';
import type { HeartbeatReq } from '../proto/generated/im/logic/HeartbeatReq';
import type { LogicClient } from '../proto/generated/im/logic/Logic';
import type { OnlineReply__Output } from '../proto/generated/im/logic/OnlineReply';
import type { OnlineReq } from '../proto/generated/im/logic/OnlineReq';
import type { ReceiveReq } from '../proto/generated/im/logic/ReceiveReq';
import type { StreamReply__Output } from '../proto/generated/im/logic/StreamReply';
import type { StreamRequest } from '../proto/generated/im/logic/StreamRequest';
import { ConnectResult, LogicCallError, LogicNodeClient, NodeStats, ProtoMessage } from '../actors/ports';
import type { HistogramHandle, Metrics } from './metrics';
import type { PeerAuth } from './peer-auth';
import { closeClientChannel, loadWireProtos, NODE_CHANNEL_OPTIONS } from './proto-loader';
import { RequestStreamOptions, RequestStreams, streamEventCounters } from './request-streams';

const RETRYABLE = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

/** Go's time.Duration is nanoseconds: ConnectReply.heartbeat arrives that way (wire.md §4). */
export function nanosToMillis(value: string | number): number {
  const ns = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(ns) && ns > 0 ? Math.round(ns / 1e6) : 0;
}

type Unary<Req, Res> = (req: Req, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** gRPC's own default receive limit (4 MiB). */
export const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024;

/**
 * One logic node over real gRPC; every call carries the deadline it is given, failures become LogicCallError.
 * With `metrics`, each call's time is observed in im_logic_call_seconds by rpc and outcome (ok, or its gRPC status).
 * With `streams`, Connect, Disconnect and Heartbeat go on long-lived streams (im.logic.LogicStream, request-streams.ts) while the node
 * serves them, else unary; RenewOnline and Receive are always unary.
 */
export class GrpcLogicClient implements LogicNodeClient {
  private readonly client: LogicClient;
  private readonly streams: RequestStreams<StreamRequest, StreamReply__Output> | null;
  /** im_logic_call_seconds of each rpc's successful calls, resolved once: one per Connect, Heartbeat and Disconnect of every client. */
  private readonly okSeries: ReadonlyMap<string, HistogramHandle>;

  /**
   * `maxReplyBytes`: largest reply taken (RenewOnline's cluster counts grow with the node's rooms).
   * `credentials`: plain text by default, TLS when the node has a gRPC certificate.
   * `auth`: sends this node's security.token on every call and reports a logic node refusing it.
   */
  constructor(
    readonly address: string, maxReplyBytes = DEFAULT_MAX_REPLY_BYTES, private readonly metrics: Metrics | null = null,
    credentials = grpc.credentials.createInsecure(), private readonly auth: PeerAuth | null = null,
    streams: RequestStreamOptions | null = null,
  ) {
    const { im } = loadWireProtos();
    const interceptors = auth?.interceptors ?? [];
    const rpcs = ['Connect', 'Disconnect', 'Heartbeat', 'RenewOnline', 'Receive'];
    this.okSeries = new Map(metrics ? rpcs.map((rpc) => [rpc, metrics.histogramOf('im_logic_call_seconds', { rpc, outcome: 'ok' })]) : []);
    this.client = new im.logic.Logic(address, credentials, {
      ...NODE_CHANNEL_OPTIONS, 'grpc.max_receive_message_length': maxReplyBytes, interceptors,
    });
    // The streams share the unary client's channel: one connection (TLS and token included) per logic node.
    if (streams === null || streams.count === 0) {
      this.streams = null;
    } else {
      const streamClient = new im.logic.LogicStream(address, credentials, { channelOverride: this.client.getChannel(), interceptors });
      this.streams = new RequestStreams<StreamRequest, StreamReply__Output>({
        address,
        open: () => streamClient.Calls(),
        failure: (rpc, detail, retryable, status) => new LogicCallError(`${rpc} on ${address}: ${detail}`, retryable, status, address),
        observe: (rpc, outcome, started) => this.observe(rpc, outcome, started),
        counters: metrics && streamEventCounters(metrics, 'im_logic_streams_total'),
        auth, component: 'logic-streams', kind: 'logic node',
      }, streams);
    }
  }

  async connect(server: string, cookie: string, token: Buffer, connId: string, timeoutMs: number): Promise<ConnectResult> {
    const req: ConnectReq = { server, cookie, token, connId };
    const reply = await this.exchange('Connect', this.client.Connect, req, { connect: req }, (r) => r.connect, timeoutMs);
    return {
      mid: reply.mid,
      key: reply.key,
      roomId: reply.roomID,
      accepts: reply.accepts,
      heartbeatMs: nanosToMillis(reply.heartbeat),
    };
  }

  async disconnect(mid: string, key: string, server: string, connId: string, timeoutMs: number): Promise<boolean> {
    const req: DisconnectReq = { mid, key, server, connId };
    const reply = await this.exchange('Disconnect', this.client.Disconnect, req, { disconnect: req }, (r) => r.disconnect, timeoutMs);
    return reply.has;
  }

  async heartbeat(mid: string, key: string, server: string, connId: string, timeoutMs: number): Promise<void> {
    const req: HeartbeatReq = { mid, key, server, connId };
    await this.exchange('Heartbeat', this.client.Heartbeat, req, { heartbeat: req }, (r) => r.heartbeat, timeoutMs);
  }

  async renewOnline(server: string, roomCount: Readonly<Record<string, number>>, stats: NodeStats, timeoutMs: number): Promise<Record<string, number>> {
    const reply = await this.call<OnlineReq, OnlineReply__Output>('RenewOnline', this.client.RenewOnline, {
      server, roomCount: { ...roomCount }, connCount: stats.connCount, ipCount: stats.ipCount,
    }, timeoutMs);
    return reply.allRoomCount;
  }

  async receive(mid: string, proto: ProtoMessage, timeoutMs: number): Promise<void> {
    await this.call<ReceiveReq, Empty__Output>('Receive', this.client.Receive, {
      mid, proto: { ver: proto.ver, op: proto.op, seq: proto.seq, body: proto.body },
    }, timeoutMs);
  }

  close(): void {
    this.streams?.close();
    closeClientChannel(this.client);
  }

  /** On a stream when one is usable (falling back to unary when the node turns out to serve none), else unary. */
  private exchange<Req, Res>(
    rpc: string, method: Unary<Req, Res>, req: Req, streamed: StreamRequest, pick: (reply: StreamReply__Output) => Res | null | undefined, timeoutMs: number,
  ): Promise<Res> {
    const unary = (leftMs: number): Promise<Res> => this.call(rpc, method, req, leftMs);
    if (this.streams === null) return unary(timeoutMs);
    return this.streams.exchange(rpc, streamed, timeoutMs, (reply) => {
      const res = pick(reply);
      if (res === null || res === undefined) throw new LogicCallError(`${rpc} on ${this.address}: empty reply`, false, 'INTERNAL', this.address);
      return res;
    }, unary);
  }

  private observe(rpc: string, outcome: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const ok = outcome === 'ok' ? this.okSeries.get(rpc) : undefined;
    if (ok !== undefined) ok.observe(seconds);
    else this.metrics?.observe('im_logic_call_seconds', { rpc, outcome }, seconds);
  }

  private call<Req, Res>(rpc: string, method: Unary<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
    const started = performance.now();
    return new Promise<Res>((resolve, reject) => {
      method.call(this.client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) {
          const status = grpc.status[err.code] ?? String(err.code);
          this.observe(rpc, status, started);
          // A node refusing this node's token is not one to use, but another may take it (a token being rotated).
          const retryable = RETRYABLE.has(err.code) || this.auth?.refused(err, rpc, this.address) === true;
          reject(new LogicCallError(`${rpc} on ${this.address}: ${err.details || err.message}`, retryable, status, this.address));
        } else if (res === undefined) {
          this.observe(rpc, 'INTERNAL', started);
          reject(new LogicCallError(`${rpc} on ${this.address}: empty reply`, false, 'INTERNAL', this.address));
        } else {
          this.observe(rpc, 'ok', started);
          resolve(res);
        }
      });
    });
  }
}

import * as grpc from '@grpc/grpc-js';
import type { CloudNodeClient } from '../actors/logic-ports';
import type { ProtoMessage } from '../actors/ports';
import type { BroadcastReq } from '../proto/generated/im/cloud/BroadcastReq';
import type { BroadcastRoomReq } from '../proto/generated/im/cloud/BroadcastRoomReq';
import type { CloudClient } from '../proto/generated/im/cloud/Cloud';
import type { Empty__Output } from '../proto/generated/im/cloud/Empty';
import type { PushMsgReq } from '../proto/generated/im/cloud/PushMsgReq';
import type { PushReply__Output } from '../proto/generated/im/cloud/PushReply';
import type { PushRequest } from '../proto/generated/im/cloud/PushRequest';
import type { HistogramHandle, Metrics } from './metrics';
import type { PeerAuth } from './peer-auth';
import { closeClientChannel, loadWireProtos, NODE_CHANNEL_OPTIONS } from './proto-loader';
import { RequestStreamOptions, RequestStreams, streamEventCounters } from './request-streams';

/**
 * Pushes whose request may be larger go unary. A cloud node's gRPC receive limit is its grpc.maxPushBytes plus
 * 64 KiB (so at least 64 KiB), and grpc-js ends the whole call that carries a message over it: on a stream,
 * every push in flight on it would fail with the one too large. Below this size a request always fits; a body
 * over the node's grpc.maxPushBytes is still refused on its own (E_GRPC_BODY_TOO_LARGE).
 */
export const STREAM_MAX_REQUEST_BYTES = 60 * 1024;
/** Generous protobuf framing per key, and per request besides the body and the keys. */
const KEY_OVERHEAD_BYTES = 8;
const REQUEST_OVERHEAD_BYTES = 256;

type Unary<Req> = (req: Req, options: grpc.CallOptions, callback: grpc.requestCallback<Empty__Output>) => grpc.ClientUnaryCall;
type Rpc = 'PushMsg' | 'BroadcastRoom' | 'Broadcast';

/**
 * One cloud node over real gRPC (im.cloud.Cloud); every call has a deadline. With `metrics`, each call's
 * time is observed in im_cloud_call_seconds by rpc and outcome (ok, or its gRPC status).
 * With `streams`, the pushes go on long-lived streams (im.cloud.CloudStream, request-streams.ts) while the
 * node serves them, else unary (goim's comet serves only the unary rpcs).
 */
export class GrpcCloudClient implements CloudNodeClient {
  private readonly client: CloudClient;
  /** im_cloud_call_seconds of each rpc's successful calls, resolved once (failures resolve theirs per call). */
  private readonly okSeries: ReadonlyMap<string, HistogramHandle>;
  private readonly streams: RequestStreams<PushRequest, PushReply__Output> | null;

  /**
   * `credentials`: plain text by default, TLS when the node has a gRPC certificate.
   * `auth`: sends this node's security.token on every call and reports a cloud node refusing it.
   */
  constructor(
    readonly address: string, private readonly timeoutMs: number, private readonly metrics: Metrics | null = null,
    credentials = grpc.credentials.createInsecure(), private readonly auth: PeerAuth | null = null,
    streams: RequestStreamOptions | null = null,
  ) {
    const { im } = loadWireProtos();
    const interceptors = auth?.interceptors ?? [];
    this.client = new im.cloud.Cloud(address, credentials, { ...NODE_CHANNEL_OPTIONS, interceptors });
    const rpcs: readonly Rpc[] = ['PushMsg', 'BroadcastRoom', 'Broadcast'];
    this.okSeries = new Map(metrics ? rpcs.map((rpc) => [rpc, metrics.histogramOf('im_cloud_call_seconds', { rpc, outcome: 'ok' })]) : []);
    if (streams === null || streams.count === 0) {
      this.streams = null;
    } else {
      // The streams share the unary client's channel: one connection (TLS and token included) per cloud node.
      const streamClient = new im.cloud.CloudStream(address, credentials, { channelOverride: this.client.getChannel(), interceptors });
      this.streams = new RequestStreams<PushRequest, PushReply__Output>({
        address,
        open: () => streamClient.Pushes(),
        failure: (rpc, detail, _retryable, status) => new Error(`${rpc} on ${address}: ${status}: ${detail}`),
        observe: (rpc, outcome, started) => this.observe(rpc, outcome, started),
        counters: metrics && streamEventCounters(metrics, 'im_cloud_streams_total'),
        auth, component: 'cloud-streams', kind: 'cloud node',
      }, streams);
    }
  }

  pushMsg(keys: readonly string[], protoOp: number, proto: ProtoMessage): Promise<void> {
    const req: PushMsgReq = { keys: [...keys], protoOp, proto };
    let bytes = proto.body.length;
    for (const key of keys) bytes += Buffer.byteLength(key) + KEY_OVERHEAD_BYTES;
    return this.send('PushMsg', this.client.PushMsg, req, { pushMsg: req }, bytes);
  }

  broadcastRoom(roomID: string, proto: ProtoMessage): Promise<void> {
    const req: BroadcastRoomReq = { roomID, proto };
    return this.send('BroadcastRoom', this.client.BroadcastRoom, req, { broadcastRoom: req }, proto.body.length + Buffer.byteLength(roomID));
  }

  broadcast(protoOp: number, proto: ProtoMessage, speed: number): Promise<void> {
    const req: BroadcastReq = { protoOp, proto, speed };
    return this.send('Broadcast', this.client.Broadcast, req, { broadcast: req }, proto.body.length);
  }

  close(): void {
    this.streams?.close();
    closeClientChannel(this.client);
  }

  /**
   * On a stream when one is usable (falling back to unary when the node turns out to serve none), else unary;
   * `bytes` (body and keys or room) over STREAM_MAX_REQUEST_BYTES: unary.
   */
  private send<Req>(rpc: Rpc, method: Unary<Req>, req: Req, streamed: PushRequest, bytes: number): Promise<void> {
    const unary = (timeoutMs: number): Promise<void> => this.call(rpc, method, req, timeoutMs);
    if (this.streams === null || bytes + REQUEST_OVERHEAD_BYTES > STREAM_MAX_REQUEST_BYTES) return unary(this.timeoutMs);
    return this.streams.exchange(rpc, streamed, this.timeoutMs, () => undefined, unary);
  }

  private observe(rpc: string, outcome: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const ok = outcome === 'ok' ? this.okSeries.get(rpc) : undefined;
    if (ok !== undefined) ok.observe(seconds);
    else this.metrics?.observe('im_cloud_call_seconds', { rpc, outcome }, seconds);
  }

  private call<Req>(rpc: Rpc, method: Unary<Req>, req: Req, timeoutMs: number): Promise<void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      method.call(this.client, req, { deadline: Date.now() + timeoutMs }, (err) => {
        const status = err ? grpc.status[err.code] ?? String(err.code) : 'ok';
        this.observe(rpc, status, started);
        if (err) {
          this.auth?.refused(err, rpc, this.address);
          reject(new Error(`${rpc} on ${this.address}: ${status}: ${err.details || err.message}`));
        } else {
          resolve();
        }
      });
    });
  }
}

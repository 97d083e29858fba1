import * as grpc from '@grpc/grpc-js';
import type { CloudNodeClient } from '../actors/logic-ports';
import type { ProtoMessage } from '../actors/ports';
import type { BroadcastReq } from '../proto/generated/im/cloud/BroadcastReq';
import type { BroadcastRoomReq } from '../proto/generated/im/cloud/BroadcastRoomReq';
import type { CloudClient } from '../proto/generated/im/cloud/Cloud';
import type { Empty__Output } from '../proto/generated/im/cloud/Empty';
import type { PushMsgReq } from '../proto/generated/im/cloud/PushMsgReq';
import type { HistogramHandle, Metrics } from './metrics';
import type { PeerAuth } from './peer-auth';
import { closeClientChannel, loadWireProtos, NODE_CHANNEL_OPTIONS } from './proto-loader';

type Unary<Req> = (req: Req, options: grpc.CallOptions, callback: grpc.requestCallback<Empty__Output>) => grpc.ClientUnaryCall;
type Rpc = 'PushMsg' | 'BroadcastRoom' | 'Broadcast';

/**
 * One cloud node over real gRPC (im.cloud.Cloud); every call has a deadline. With `metrics`, each call's
 * time is observed in im_cloud_call_seconds by rpc and outcome (ok, or its gRPC status).
 */
export class GrpcCloudClient implements CloudNodeClient {
  private readonly client: CloudClient;
  /** im_cloud_call_seconds of each rpc's successful calls, resolved once (failures resolve theirs per call). */
  private readonly okSeries: Readonly<Record<Rpc, HistogramHandle>> | null;

  /**
   * `credentials`: plain text by default, TLS when the node has a gRPC certificate.
   * `auth`: sends this node's security.token on every call and reports a cloud node refusing it.
   */
  constructor(
    readonly address: string, private readonly timeoutMs: number, private readonly metrics: Metrics | null = null,
    credentials = grpc.credentials.createInsecure(), private readonly auth: PeerAuth | null = null,
  ) {
    this.client = new (loadWireProtos().im.cloud.Cloud)(address, credentials, { ...NODE_CHANNEL_OPTIONS, interceptors: auth?.interceptors ?? [] });
    this.okSeries = metrics && {
      PushMsg: metrics.histogramOf('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'ok' }),
      BroadcastRoom: metrics.histogramOf('im_cloud_call_seconds', { rpc: 'BroadcastRoom', outcome: 'ok' }),
      Broadcast: metrics.histogramOf('im_cloud_call_seconds', { rpc: 'Broadcast', outcome: 'ok' }),
    };
  }

  pushMsg(keys: readonly string[], protoOp: number, proto: ProtoMessage): Promise<void> {
    return this.call<PushMsgReq>('PushMsg', this.client.PushMsg, { keys: [...keys], protoOp, proto });
  }

  broadcastRoom(roomID: string, proto: ProtoMessage): Promise<void> {
    return this.call<BroadcastRoomReq>('BroadcastRoom', this.client.BroadcastRoom, { roomID, proto });
  }

  broadcast(protoOp: number, proto: ProtoMessage, speed: number): Promise<void> {
    return this.call<BroadcastReq>('Broadcast', this.client.Broadcast, { protoOp, proto, speed });
  }

  close(): void {
    closeClientChannel(this.client);
  }

  private call<Req>(rpc: Rpc, method: Unary<Req>, req: Req): Promise<void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      method.call(this.client, req, { deadline: Date.now() + this.timeoutMs }, (err) => {
        const status = err ? grpc.status[err.code] ?? String(err.code) : 'ok';
        const seconds = (performance.now() - started) / 1000;
        if (err) this.metrics?.observe('im_cloud_call_seconds', { rpc, outcome: status }, seconds);
        else this.okSeries?.[rpc].observe(seconds);
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

/**
 * An application's view of a logic node's gRPC push rpcs (im.logic.Logic
 * PushKeys, PushMids, PushRoom) and of what a cloud node calls (Connect,
 * Heartbeat, RenewOnline, and Ping, Close), over a real channel. Every
 * call resolves, with the reply or with the status and details it failed
 * with, so specs can assert either.
 */
import * as grpc from '@grpc/grpc-js';
import type { ConnectReq } from '../../proto/generated/im/logic/ConnectReq';
import type { HeartbeatReq } from '../../proto/generated/im/logic/HeartbeatReq';
import type { LogicClient } from '../../proto/generated/im/logic/Logic';
import type { OnlineReq } from '../../proto/generated/im/logic/OnlineReq';
import type { PushKeysReq } from '../../proto/generated/im/logic/PushKeysReq';
import type { PushMidsReq } from '../../proto/generated/im/logic/PushMidsReq';
import type { PushRoomReq } from '../../proto/generated/im/logic/PushRoomReq';
import { PeerAuth } from '../../system/peer-auth';
import { closeClientChannel, loadWireProtos } from '../../system/proto-loader';

export type CallResult<Res> =
  | { readonly ok: true; readonly reply: Res }
  | { readonly ok: false; readonly status: string; readonly details: string };

type Unary<Req, Res> = (req: Req, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

export class LogicPushClient {
  private readonly client: LogicClient;

  /** `token`: sent on every call as `authorization: Bearer <token>` (the node's security.token, or a wrong one). */
  constructor(address: string, private readonly timeoutMs = 5000, token = '') {
    // No send limit of our own: the logic node's limits are what is tested.
    this.client = new (loadWireProtos().im.logic.Logic)(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': -1, interceptors: new PeerAuth(token, null, null).interceptors,
    });
  }

  ping(): Promise<CallResult<object>> {
    return this.call(this.client.Ping, {});
  }

  /** The Close rpc (not to be confused with close(), which closes this client's channel). */
  closeRpc(): Promise<CallResult<object>> {
    return this.call(this.client.Close, {});
  }

  pushKeys(req: PushKeysReq): Promise<CallResult<{ targets: number; nodes: number }>> {
    return this.call(this.client.PushKeys, req);
  }

  pushMids(req: PushMidsReq): Promise<CallResult<{ targets: number; nodes: number }>> {
    return this.call(this.client.PushMids, req);
  }

  pushRoom(req: PushRoomReq): Promise<CallResult<object>> {
    return this.call(this.client.PushRoom, req);
  }

  connect(req: ConnectReq): Promise<CallResult<{ key: string }>> {
    return this.call(this.client.Connect, req);
  }

  heartbeat(req: HeartbeatReq): Promise<CallResult<object>> {
    return this.call(this.client.Heartbeat, req);
  }

  renewOnline(req: OnlineReq): Promise<CallResult<{ allRoomCount: Record<string, number> }>> {
    return this.call(this.client.RenewOnline, req);
  }

  close(): void {
    closeClientChannel(this.client);
  }

  private call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<CallResult<Res>> {
    return new Promise((resolve) => {
      method.call(this.client, req, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) resolve({ ok: false, status: grpc.status[err.code] ?? String(err.code), details: err.details });
        else if (res === undefined) resolve({ ok: false, status: 'EMPTY', details: 'no reply' });
        else resolve({ ok: true, reply: res });
      });
    });
  }
}

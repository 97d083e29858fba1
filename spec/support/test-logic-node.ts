/**
 * A real grpc-js server speaking im.logic.Logic, for tests of the cloud
 * node: it records every call, answers Connect from the classic JSON token,
 * and can be told to refuse, delay, or stop.
 */
import * as grpc from '@grpc/grpc-js';
import type { ConnectReply } from '../../proto/generated/im/logic/ConnectReply';
import type { ConnectReq__Output } from '../../proto/generated/im/logic/ConnectReq';
import type { DisconnectReq__Output } from '../../proto/generated/im/logic/DisconnectReq';
import type { HeartbeatReq__Output } from '../../proto/generated/im/logic/HeartbeatReq';
import type { LogicHandlers } from '../../proto/generated/im/logic/Logic';
import type { OnlineReq__Output } from '../../proto/generated/im/logic/OnlineReq';
import type { ReceiveReq__Output } from '../../proto/generated/im/logic/ReceiveReq';
import { loadWireProtos } from '../../system/proto-loader';

export interface RecordedCalls {
  connect: ConnectReq__Output[];
  disconnect: DisconnectReq__Output[];
  heartbeat: HeartbeatReq__Output[];
  renewOnline: OnlineReq__Output[];
  receive: ReceiveReq__Output[];
}

export interface TestLogicOptions {
  /** Connect's heartbeat in milliseconds (sent as nanoseconds, like goim); 0 leaves it unset. */
  heartbeatMs?: number;
}

export class TestLogicNode {
  readonly calls: RecordedCalls = { connect: [], disconnect: [], heartbeat: [], renewOnline: [], receive: [] };
  /** When set, Connect fails with this status. */
  refuseWith: grpc.status | null = null;
  /** When set, Receive fails with this status (the call is still recorded). */
  refuseReceiveWith: grpc.status | null = null;
  /** Delay before every answer. */
  delayMs = 0;
  heartbeatMs: number;
  /** What RenewOnline answers; defaults to echoing the caller's counts. */
  clusterCounts: Record<string, number> | null = null;
  private server: grpc.Server | null = null;
  private keySerial = 0;
  port = 0;

  constructor(options: TestLogicOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 0;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = new grpc.Server();
    server.addService(loadWireProtos().im.logic.Logic.service, this.handlers());
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
    this.server = server;
    return this;
  }

  /** Stops answering (connections are cut at once, as a crashed node would). */
  async stop(): Promise<void> {
    this.server?.forceShutdown();
    this.server = null;
  }

  /** Resolves when `predicate` holds over the recorded calls, or rejects after timeoutMs. */
  async waitFor(predicate: (calls: RecordedCalls) => boolean, timeoutMs = 5000, what = 'logic calls'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.calls)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.summary())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  summary(): Record<keyof RecordedCalls, number> {
    return {
      connect: this.calls.connect.length, disconnect: this.calls.disconnect.length, heartbeat: this.calls.heartbeat.length,
      renewOnline: this.calls.renewOnline.length, receive: this.calls.receive.length,
    };
  }

  private answer<T>(callback: grpc.sendUnaryData<T>, value: T): void {
    if (this.delayMs > 0) setTimeout(() => callback(null, value), this.delayMs);
    else callback(null, value);
  }

  /** Fails the call with `code`, after the same delay as an answer. */
  private refuse<T>(callback: grpc.sendUnaryData<T>, code: grpc.status, details: string): void {
    setTimeout(() => callback({ code, details }), this.delayMs);
  }

  private handlers(): LogicHandlers {
    const empty = <Req>(record?: (req: Req) => void): grpc.handleUnaryCall<Req, object> => (call, callback) => {
      record?.(call.request);
      this.answer(callback, {});
    };
    return {
      Ping: empty(),
      Close: empty(),
      Connect: (call, callback) => {
        this.calls.connect.push(call.request);
        if (this.refuseWith !== null) {
          this.refuse(callback, this.refuseWith, 'refused by test logic node');
          return;
        }
        let token: { mid?: number; key?: string; room_id?: string; accepts?: number[] };
        try {
          token = JSON.parse(call.request.token.toString('utf8'));
        } catch {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: 'token is not JSON' });
          return;
        }
        const reply: ConnectReply = {
          mid: String(token.mid ?? 0),
          key: token.key || `key-${++this.keySerial}-${Date.now()}`,
          roomID: token.room_id ?? '',
          accepts: token.accepts ?? [],
          heartbeat: String(this.heartbeatMs * 1e6),
        };
        this.answer(callback, reply);
      },
      Disconnect: (call, callback) => {
        this.calls.disconnect.push(call.request);
        this.answer(callback, { has: true });
      },
      Heartbeat: empty<HeartbeatReq__Output>((req) => this.calls.heartbeat.push(req)),
      RenewOnline: (call, callback) => {
        this.calls.renewOnline.push(call.request);
        this.answer(callback, { allRoomCount: this.clusterCounts ?? call.request.roomCount });
      },
      Receive: (call, callback) => {
        this.calls.receive.push(call.request);
        if (this.refuseReceiveWith !== null) {
          this.refuse(callback, this.refuseReceiveWith, 'receive refused by test logic node');
          return;
        }
        this.answer(callback, {});
      },
      Nodes: (_call, callback) => this.answer(callback, { domain: '', nodes: [] }),
      PushKeys: empty(),
      PushMids: empty(),
      PushRoom: empty(),
      PushAll: empty(),
    };
  }
}

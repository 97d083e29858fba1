/**
 * A real grpc-js server speaking im.logic.Logic, for tests of the cloud
 * node: it records every call, answers Connect from the classic JSON token,
 * and can be told to refuse, delay, or stop. Like goim's logic it serves
 * only the unary service, unless `streams` is set: then im.logic.LogicStream
 * too, answering its requests as the unary rpcs would (delay included).
 */
import * as grpc from '@grpc/grpc-js';
import type { ConnectReply } from '../../proto/generated/im/logic/ConnectReply';
import type { ConnectReq__Output } from '../../proto/generated/im/logic/ConnectReq';
import type { DisconnectReq__Output } from '../../proto/generated/im/logic/DisconnectReq';
import type { HeartbeatReq__Output } from '../../proto/generated/im/logic/HeartbeatReq';
import type { LogicHandlers } from '../../proto/generated/im/logic/Logic';
import type { LogicStreamHandlers } from '../../proto/generated/im/logic/LogicStream';
import type { StreamReply } from '../../proto/generated/im/logic/StreamReply';
import type { OnlineReq__Output } from '../../proto/generated/im/logic/OnlineReq';
import type { ReceiveReq__Output } from '../../proto/generated/im/logic/ReceiveReq';
import type { StreamRequest__Output } from '../../proto/generated/im/logic/StreamRequest';
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
  /** Serve im.logic.LogicStream as well (our logic node does; goim's does not). */
  streams?: boolean;
}

type Refusal = { readonly code: grpc.status; readonly details: string };

export class TestLogicNode {
  readonly calls: RecordedCalls = { connect: [], disconnect: [], heartbeat: [], renewOnline: [], receive: [] };
  /** When set, Connect fails with this status. */
  refuseWith: grpc.status | null = null;
  /** When set, Receive fails with this status (the call is still recorded). */
  refuseReceiveWith: grpc.status | null = null;
  /** Delay before every answer. */
  delayMs = 0;
  heartbeatMs: number;
  readonly streams: boolean;
  /** Streams of im.logic.LogicStream opened by callers. */
  streamsOpened = 0;
  /** What RenewOnline answers; defaults to echoing the caller's counts. */
  clusterCounts: Record<string, number> | null = null;
  private server: grpc.Server | null = null;
  private keySerial = 0;
  port = 0;

  constructor(options: TestLogicOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 0;
    this.streams = options.streams ?? false;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = new grpc.Server();
    const { im } = loadWireProtos();
    server.addService(im.logic.Logic.service, this.handlers());
    if (this.streams) server.addService(im.logic.LogicStream.service, this.streamHandlers());
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

  /** Records a Connect and answers it (or refuses it, as told or for a token that is not JSON). */
  private connectAnswer(req: ConnectReq__Output): ConnectReply | Refusal {
    this.calls.connect.push(req);
    if (this.refuseWith !== null) return { code: this.refuseWith, details: 'refused by test logic node' };
    let token: { mid?: number; key?: string; room_id?: string; accepts?: number[] };
    try {
      token = JSON.parse(req.token.toString('utf8'));
    } catch {
      return { code: grpc.status.INVALID_ARGUMENT, details: 'token is not JSON' };
    }
    return {
      mid: String(token.mid ?? 0),
      key: token.key || `key-${++this.keySerial}-${Date.now()}`,
      roomID: token.room_id ?? '',
      accepts: token.accepts ?? [],
      heartbeat: String(this.heartbeatMs * 1e6),
    };
  }

  private streamHandlers(): LogicStreamHandlers {
    return {
      Calls: (call) => {
        this.streamsOpened++;
        let open = true;
        const gone = (): void => {
          open = false;
        };
        call.on('cancelled', gone);
        call.on('error', gone);
        call.on('end', () => {
          if (open) call.end();
          gone();
        });
        call.on('data', (req: StreamRequest__Output) => {
          const send = (reply: StreamReply): void => {
            reply.id = req.id;
            setTimeout(() => {
              if (open) call.write(reply);
            }, this.delayMs);
          };
          if (req.connect) {
            const answer = this.connectAnswer(req.connect);
            send('code' in answer ? { code: answer.code, details: answer.details } : { connect: answer });
          } else if (req.disconnect) {
            this.calls.disconnect.push(req.disconnect);
            send({ disconnect: { has: true } });
          } else if (req.heartbeat) {
            this.calls.heartbeat.push(req.heartbeat);
            send({ heartbeat: {} });
          }
        });
      },
    };
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
        const answer = this.connectAnswer(call.request);
        if ('code' in answer) {
          if (this.refuseWith !== null) this.refuse(callback, answer.code, answer.details);
          else callback(answer);
        } else {
          this.answer(callback, answer);
        }
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

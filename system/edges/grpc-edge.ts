import * as grpc from '@grpc/grpc-js';
import type { CometHandlers } from '../../proto/generated/goim/comet/Comet';
import type { BroadcastReq__Output } from '../../proto/generated/im/cloud/BroadcastReq';
import type { BroadcastRoomReq__Output } from '../../proto/generated/im/cloud/BroadcastRoomReq';
import type { CloudHandlers } from '../../proto/generated/im/cloud/Cloud';
import type { PushMsgReq__Output } from '../../proto/generated/im/cloud/PushMsgReq';
import type { PushReply } from '../../proto/generated/im/cloud/PushReply';
import type { PushRequest__Output } from '../../proto/generated/im/cloud/PushRequest';
import type { Proto__Output } from '../../proto/generated/im/protocol/Proto';
import { validateBatchBody } from '../codec/batch';
import { Op } from '../codec/packet';
import { Outbound } from '../codec/outbound';
import { ErrorName, ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { loadWireProtos } from '../proto-loader';
import { GrpcHealth } from './grpc-health';
import type { InternalAuth } from './internal-auth';
import { bindGrpcServer, shutdownGrpcServer } from './grpc-server';
import { logThrottled, LogThrottle } from '../log-throttle';
import { BAD_STREAM, BAD_STREAM_REQUEST, RequestFailure, RequestStreamService } from './request-stream-service';

/**
 * What the gRPC edge asks of the node; the node turns each into actor
 * messages. A push method may throw an ImError to refuse the request.
 */
export interface PushTargets {
  pushKeys(keys: readonly string[], protoOp: number, out: Outbound): void;
  broadcast(protoOp: number, out: Outbound, speed: number): void;
  broadcastRoom(roomId: string, out: Outbound): void;
  rooms(): Promise<string[]>;
  /** Close rpc: drain and stop the node (after the reply has left). */
  close(): void;
}

export interface GrpcEdgeOptions {
  readonly maxPushBytes: number;
  readonly shutdownGraceMs: number;
  /** The security.token check every Cloud and Comet call passes first. */
  readonly auth: InternalAuth;
  /** grpc.allowClose: without it Close and CClose are refused. */
  readonly allowClose: boolean;
}

/** The services the token guards (grpc.health.v1 stays open for Consul's check). */
const GUARDED = ['im.cloud.Cloud', 'goim.comet.Comet', 'im.cloud.CloudStream'];

/** One request of a synchronous rpc, unary or streamed: its failure, or null and its result. */
type Run<Req, Res> = (request: Req, peer: () => string, callback: (failure: RequestFailure | null, res?: Res) => void) => void;

/** Refusals that say "not now" rather than "never": the caller may retry. */
const RETRY_LATER = new Set<ErrorName>(['CLOUD_BUSY', 'BROADCAST_LIMIT']);

function statusOf(error: ImError): grpc.status {
  if (RETRY_LATER.has(error.name)) return grpc.status.RESOURCE_EXHAUSTED;
  return error.name === 'CLOSE_NOT_ALLOWED' ? grpc.status.PERMISSION_DENIED : grpc.status.INVALID_ARGUMENT;
}

function refusal(error: ImError): RequestFailure {
  return { code: statusOf(error), details: `${error.code}: ${error.message}` };
}

/**
 * Serves im.cloud.Cloud and goim.comet.Comet, and im.cloud.CloudStream (our
 * logic nodes' pushes on long-lived streams, run by the same handlers).
 * Requests are validated here, framed once into an Outbound, and handed on;
 * nothing is delivered for a request that fails validation.
 */
export class GrpcEdge {
  /** Per-request failures: one line per route (or rpc) and code every 10 s at their level, the rest at debug; counters keep the numbers. */
  private readonly logs = new LogThrottle(10_000);
  readonly server: grpc.Server;
  /** grpc.health.v1 on this port: NOT_SERVING until the node serves, and again from when it drains. */
  readonly health = new GrpcHealth(GUARDED);
  private readonly streams: RequestStreamService<PushRequest__Output, PushReply>;

  constructor(
    private readonly options: GrpcEdgeOptions,
    private readonly targets: PushTargets,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.server = new grpc.Server({
      // Per-call bookkeeping nobody reads here.
      'grpc.enable_channelz': 0,
      // Room for the proto's framing around the largest allowed body.
      'grpc.max_receive_message_length': options.maxPushBytes + 64 * 1024,
      interceptors: [options.auth.grpcInterceptor(GUARDED)],
    });
    const protos = loadWireProtos();
    const pushMsg = this.runner('PushMsg', (req: PushMsgReq__Output) => {
      if (req.keys.length === 0 || req.keys.every((k) => k === '')) throw new ImError('GRPC_NO_KEYS');
      this.targets.pushKeys(req.keys, req.protoOp, this.frame(req.proto, false));
      return {};
    });
    const broadcast = this.runner('Broadcast', (req: BroadcastReq__Output) => {
      if (req.speed < 0) throw new ImError('GRPC_BAD_SPEED', String(req.speed));
      this.targets.broadcast(req.protoOp, this.frame(req.proto, true), req.speed);
      return {};
    });
    const broadcastRoom = this.runner('BroadcastRoom', (req: BroadcastRoomReq__Output) => {
      if (req.roomID === '') throw new ImError('GRPC_BAD_ROOM');
      this.targets.broadcastRoom(req.roomID, this.frame(req.proto, true));
      return {};
    });
    this.streams = new RequestStreamService<PushRequest__Output, PushReply>({
      dispatch: (req, done, peer) => {
        if (req.call === 'pushMsg' && req.pushMsg) pushMsg(req.pushMsg, peer, done);
        else if (req.call === 'broadcastRoom' && req.broadcastRoom) broadcastRoom(req.broadcastRoom, peer, done);
        else if (req.call === 'broadcast' && req.broadcast) broadcast(req.broadcast, peer, done);
        else {
          this.metrics.inc('im_grpc_invalid_total', { rpc: 'Pushes', code: BAD_STREAM.code });
          logThrottled(this.log, this.logs, 'warn', `Pushes ${BAD_STREAM.code}`, 'grpc request rejected', {
            component: 'grpc-edge', rpc: 'Pushes', code: BAD_STREAM.code, error: BAD_STREAM.message, peer: peer(),
          });
          done(BAD_STREAM_REQUEST);
        }
      },
      failed: ({ code, details }) => ({ code, details }),
    }, metrics.gaugeOf('im_grpc_push_streams'));
    const push = {
      PushMsg: this.unary(pushMsg),
      Broadcast: this.unary(broadcast),
      BroadcastRoom: this.unary(broadcastRoom),
      Rooms: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<{ rooms: Record<string, boolean> }>) => {
        this.metrics.inc('im_grpc_requests_total', { rpc: 'Rooms' });
        this.targets.rooms().then(
          (rooms) => callback(null, { rooms: Object.fromEntries(rooms.map((r) => [r, true])) }),
          (err: Error) => callback({ code: grpc.status.UNAVAILABLE, details: err.message }),
        );
      },
    };
    const close = this.unary(this.runner('Close', () => {
      if (!options.allowClose) throw new ImError('CLOSE_NOT_ALLOWED');
      // Reply first; the node stops on the next turn.
      setImmediate(() => this.targets.close());
      return {};
    }));
    const cloud: CloudHandlers = { ...push, Ping: this.unary(this.runner('Ping', () => ({}))), Close: close, CClose: close };
    const comet: CometHandlers = push;
    this.server.addService(protos.im.cloud.Cloud.service, cloud);
    this.server.addService(protos.goim.comet.Comet.service, comet);
    this.server.addService(protos.im.cloud.CloudStream.service, { Pushes: this.streams.serve });
    this.health.addTo(this.server);
  }

  /** `credentials`: plain text by default, TLS when the node has a gRPC certificate. */
  listen(port: number, host: string, credentials?: grpc.ServerCredentials): Promise<number> {
    return bindGrpcServer(this.server, port, host, credentials);
  }

  /** Waits for in-flight calls up to the grace period (or `graceMs`, what a stop's deadline leaves), then cuts them. */
  shutdown(graceMs = this.options.shutdownGraceMs): Promise<void> {
    this.health.endWatches();
    // Open streams would hold the shutdown for its whole grace: each ends once its requests are answered.
    this.streams.drain();
    return shutdownGrpcServer(this.server, graceMs);
  }

  /** `fanOut`: a room or broadcast push, which a slow client loses first. */
  private frame(proto: Proto__Output | null, fanOut: boolean): Outbound {
    if (!proto) throw new ImError('GRPC_NO_PROTO');
    if (proto.body.length > this.options.maxPushBytes) {
      throw new ImError('GRPC_BODY_TOO_LARGE', `${proto.body.length} > ${this.options.maxPushBytes}`);
    }
    if (proto.op === Op.Raw) {
      const bad = validateBatchBody(proto.body);
      if (bad) throw bad;
    }
    return Outbound.fromProto(proto, fanOut);
  }

  private unary<Req, Res>(run: Run<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => run(call.request, () => call.getPeer(), (failure, res) => (failure ? callback(failure) : callback(null, res)));
  }

  /** One request of `rpc`, unary or on a stream: counted, handled; a refusal counted, logged and mapped to a status with a catalogued code. */
  private runner<Req, Res>(rpc: string, handle: (req: Req) => Res): Run<Req, Res> {
    // Resolved once per rpc: each call is then an addition.
    const requests = this.metrics.counterOf('im_grpc_requests_total', { rpc });
    return (request, peer, callback) => {
      requests.inc();
      let result: Res;
      try {
        result = handle(request);
      } catch (err) {
        if (err instanceof ImError) {
          // Back-pressure refusals are counted and logged by whoever refused them.
          if (!RETRY_LATER.has(err.name)) {
            this.metrics.inc('im_grpc_invalid_total', { rpc, code: err.code });
            logThrottled(this.log, this.logs, 'warn', `${rpc} ${err.code}`, 'grpc request rejected', {
              component: 'grpc-edge', rpc, code: err.code, error: err.message, peer: peer(),
            });
          }
          callback(refusal(err));
          return;
        }
        const cause = err instanceof Error ? err : new Error(String(err));
        logThrottled(this.log, this.logs, 'error', `${rpc} failed`, 'grpc handler failed', { component: 'grpc-edge', rpc, error: cause.message, stack: cause.stack });
        callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        return;
      }
      callback(null, result);
    };
  }
}

import * as grpc from '@grpc/grpc-js';
import type { ConnectReply } from '../../proto/generated/im/logic/ConnectReply';
import type { ConnectReq__Output } from '../../proto/generated/im/logic/ConnectReq';
import type { DisconnectReply } from '../../proto/generated/im/logic/DisconnectReply';
import type { DisconnectReq__Output } from '../../proto/generated/im/logic/DisconnectReq';
import type { Empty } from '../../proto/generated/im/logic/Empty';
import type { HeartbeatReq__Output } from '../../proto/generated/im/logic/HeartbeatReq';
import type { LogicHandlers } from '../../proto/generated/im/logic/Logic';
import { asImError, ErrorName, ImError } from '../errors';
import type { Logger } from '../logger';
import { AUTH_FAILURES, LogicServices } from '../logic/logic-services';
import type { Metrics } from '../metrics';
import { loadWireProtos } from '../proto-loader';
import { GrpcHealth } from './grpc-health';
import type { InternalAuth } from './internal-auth';
import { bindGrpcServer, shutdownGrpcServer } from './grpc-server';
import { logThrottled, LogThrottle } from '../log-throttle';
import type { StreamReply } from '../../proto/generated/im/logic/StreamReply';
import type { StreamRequest__Output } from '../../proto/generated/im/logic/StreamRequest';
import { BAD_STREAM, BAD_STREAM_REQUEST, RequestFailure, RequestStreamService, Runner } from './request-stream-service';

const MID = /^\d{1,19}$/;

/** gRPC status for each failure a logic rpc can report; anything not listed is INTERNAL. */
const STATUS_OF: Partial<Record<ErrorName, grpc.status>> = {
  TOKEN_INVALID: grpc.status.UNAUTHENTICATED,
  TOKEN_SIGNATURE: grpc.status.UNAUTHENTICATED,
  TOKEN_EXPIRED: grpc.status.UNAUTHENTICATED,
  TOKEN_NO_EXP: grpc.status.UNAUTHENTICATED,
  TOKEN_ALGORITHM: grpc.status.UNAUTHENTICATED,
  KEY_HELD: grpc.status.PERMISSION_DENIED,
  // Not the token's fault: the cloud node tries another logic node, then tells the client to come back.
  JWKS_UNAVAILABLE: grpc.status.UNAVAILABLE,
  // Another logic node may reach its store: let the cloud node fail over.
  SESSION_STORE: grpc.status.UNAVAILABLE,
  GRPC_NO_KEYS: grpc.status.INVALID_ARGUMENT,
  GRPC_NO_MIDS: grpc.status.INVALID_ARGUMENT,
  GRPC_BAD_OPERATION: grpc.status.INVALID_ARGUMENT,
  GRPC_BAD_ROOM: grpc.status.INVALID_ARGUMENT,
  GRPC_BAD_ROOM_TYPE: grpc.status.INVALID_ARGUMENT,
  GRPC_BAD_SPEED: grpc.status.INVALID_ARGUMENT,
  GRPC_BAD_SERVER: grpc.status.INVALID_ARGUMENT,
  GRPC_MESSAGE_TOO_LARGE: grpc.status.INVALID_ARGUMENT,
  UNKNOWN_CLOUD_NODE: grpc.status.PERMISSION_DENIED,
  CLOSE_NOT_ALLOWED: grpc.status.PERMISSION_DENIED,
  // A cloud node holding targets failed its share (the details name it).
  CLOUD_UNAVAILABLE: grpc.status.UNAVAILABLE,
};

/** The push rpcs, by the kind their latency is observed under (im_logic_push_seconds). */
const PUSH_KINDS: ReadonlyMap<string, string> = new Map([['PushKeys', 'keys'], ['PushMids', 'mids'], ['PushRoom', 'room'], ['PushAll', 'all']]);

/** Failures caused by what the caller sent: logged at warn; the rest at error. */
const CALLER_STATUSES = new Set<grpc.status>([grpc.status.INVALID_ARGUMENT, grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);

/** Who may call: the security.token check every im.logic.Logic call passes first, and whether Close may stop the node. */
export interface LogicGrpcAccess {
  readonly auth: InternalAuth;
  /** grpc.allowClose */
  readonly allowClose: boolean;
}

export interface LogicGrpcLimits {
  readonly roomTypes: readonly string[];
  /** push.maxBatchBytes: a push message larger than this is refused. */
  readonly maxMessageBytes: number;
  /** grpc.maxReceiveBytes: the server's receive limit. */
  readonly maxReceiveBytes: number;
}

function checkOperation(operation: number): void {
  if (!Number.isInteger(operation) || operation < 0) throw new ImError('GRPC_BAD_OPERATION', String(operation));
}

/**
 * Serves im.logic.Logic: cloud nodes call Connect, Disconnect, Heartbeat,
 * RenewOnline and Receive; applications may call the Push rpcs instead of
 * the HTTP API. Failures carry a catalogued code in their details. Serves
 * im.logic.LogicStream too: our cloud nodes' Connect, Disconnect and
 * Heartbeat on long-lived streams, run by the same handlers.
 */
export class LogicGrpcEdge {
  /** Per-request failures: one line per route (or rpc) and code every 10 s at their level, the rest at debug; counters keep the numbers. */
  private readonly logs = new LogThrottle(10_000);
  readonly server: grpc.Server;
  /** grpc.health.v1 on this port: NOT_SERVING until the node serves, and again from when it drains. */
  readonly health = new GrpcHealth(['im.logic.Logic']);
  private readonly streams: RequestStreamService<StreamRequest__Output, StreamReply>;

  constructor(
    private readonly services: LogicServices,
    limits: LogicGrpcLimits,
    private readonly shutdownGraceMs: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    access: LogicGrpcAccess,
    onClose: () => void,
  ) {
    this.server = new grpc.Server({
      // Channelz: per-call bookkeeping nobody reads here.
      'grpc.enable_channelz': 0,
      // Above push.maxBatchBytes, so a message too large to send reaches checkMessage and gets a catalogued answer.
      'grpc.max_receive_message_length': limits.maxReceiveBytes,
      // grpc.health.v1 is left open: Consul's gRPC check sends no token.
      interceptors: [access.auth.grpcInterceptor(['im.logic.Logic', 'im.logic.LogicStream'])],
    });
    const checkMessage = (msg: Buffer): void => {
      if (msg.length > limits.maxMessageBytes) throw new ImError('GRPC_MESSAGE_TOO_LARGE', `${msg.length} > ${limits.maxMessageBytes}`);
    };
    const s = this.services;
    const connect = async (req: ConnectReq__Output): Promise<ConnectReply> => {
      if (req.server === '') throw new ImError('GRPC_BAD_SERVER');
      s.requireKnownServer(req.server, 'connect');
      const a = await s.connect(req.server, req.token, req.connId);
      return { mid: a.mid, key: a.key, roomID: a.roomId, accepts: a.accepts, heartbeat: a.heartbeatNanos };
    };
    // Not checked against the known nodes: it only removes entries that name its own server.
    const disconnect = async (req: DisconnectReq__Output): Promise<DisconnectReply> => ({ has: await s.disconnect(req.mid, req.key, req.server, req.connId) });
    const heartbeat = async (req: HeartbeatReq__Output): Promise<Empty> => {
      s.requireKnownServer(req.server, 'heartbeat');
      await s.heartbeat(req.mid, req.key, req.server, req.connId);
      return {};
    };
    const streamed = { connect: this.runner('Connect', connect), disconnect: this.runner('Disconnect', disconnect), heartbeat: this.runner('Heartbeat', heartbeat) };
    this.streams = new RequestStreamService<StreamRequest__Output, StreamReply>({
      dispatch: (req, done) => {
        const reply = <Res>(pick: (res: Res) => StreamReply) => (failure: RequestFailure | null, res?: Res): void => done(failure, res === undefined ? undefined : pick(res));
        if (req.call === 'connect' && req.connect) streamed.connect(req.connect, reply((connect) => ({ connect })));
        else if (req.call === 'disconnect' && req.disconnect) streamed.disconnect(req.disconnect, reply((disconnect) => ({ disconnect })));
        else if (req.call === 'heartbeat' && req.heartbeat) streamed.heartbeat(req.heartbeat, reply((heartbeat) => ({ heartbeat })));
        else {
          this.metrics.inc('im_logic_grpc_errors_total', { rpc: 'Calls', code: BAD_STREAM.code });
          logThrottled(this.log, this.logs, 'warn', `Calls ${BAD_STREAM.code}`, 'logic rpc failed', { component: 'logic-grpc', rpc: 'Calls', code: BAD_STREAM.code, error: BAD_STREAM.message });
          done(BAD_STREAM_REQUEST);
        }
      },
      failed: ({ code, details }) => ({ code, details }),
    });
    const handlers: LogicHandlers = {
      Ping: this.unary('Ping', async () => ({})),
      Close: this.unary('Close', async () => {
        if (!access.allowClose) throw new ImError('CLOSE_NOT_ALLOWED');
        setImmediate(onClose);
        return {};
      }),
      Connect: this.unary('Connect', connect),
      Disconnect: this.unary('Disconnect', disconnect),
      Heartbeat: this.unary('Heartbeat', heartbeat),
      RenewOnline: this.unary('RenewOnline', async (req) => {
        if (req.server === '') throw new ImError('GRPC_BAD_SERVER');
        s.requireKnownServer(req.server, 'renew_online');
        return { allRoomCount: await s.renewOnline(req.server, req.roomCount, req.connCount, req.ipCount) };
      }),
      Receive: this.unary('Receive', async (req) => {
        const proto = req.proto ?? { ver: 0, op: 0, seq: 0, body: Buffer.alloc(0) };
        await s.receive(req.mid, proto);
        return {};
      }),
      Nodes: this.unary('Nodes', async (req) => s.nodes(req.platform, req.clientIP)),
      PushKeys: this.unary('PushKeys', async (req) => {
        checkOperation(req.operation);
        const keys = req.keys.filter((k) => k !== '');
        if (keys.length === 0) throw new ImError('GRPC_NO_KEYS');
        checkMessage(req.msg);
        return s.pushKeys(req.operation, keys, req.msg);
      }),
      PushMids: this.unary('PushMids', async (req) => {
        checkOperation(req.operation);
        if (req.mids.length === 0 || req.mids.some((m) => !MID.test(m))) throw new ImError('GRPC_NO_MIDS', req.mids.join(','));
        checkMessage(req.msg);
        return s.pushMids(req.operation, req.mids, req.msg);
      }),
      PushRoom: this.unary('PushRoom', async (req) => {
        checkOperation(req.operation);
        if (req.room === '') throw new ImError('GRPC_BAD_ROOM');
        if (!limits.roomTypes.includes(req.type)) throw new ImError('GRPC_BAD_ROOM_TYPE', req.type);
        checkMessage(req.msg);
        await s.pushRoom(req.operation, `${req.type}://${req.room}`, req.msg);
        return {};
      }),
      PushAll: this.unary('PushAll', async (req) => {
        checkOperation(req.operation);
        if (req.speed < 0) throw new ImError('GRPC_BAD_SPEED', String(req.speed));
        checkMessage(req.msg);
        await s.pushAll(req.operation, req.speed, req.msg);
        return {};
      }),
    };
    const { im } = loadWireProtos();
    this.server.addService(im.logic.Logic.service, handlers);
    this.server.addService(im.logic.LogicStream.service, { Calls: this.streams.serve });
    this.health.addTo(this.server);
  }

  /** `credentials`: plain text by default, TLS when the node has a gRPC certificate. */
  listen(port: number, host: string, credentials?: grpc.ServerCredentials): Promise<number> {
    return bindGrpcServer(this.server, port, host, credentials);
  }

  /** Waits for in-flight calls up to the grace period (or `graceMs`, what a stop's deadline leaves), then cuts them. */
  shutdown(graceMs = this.shutdownGraceMs): Promise<void> {
    this.health.endWatches();
    // Open streams would hold the shutdown for its whole grace: each ends once its requests are answered.
    this.streams.drain();
    return shutdownGrpcServer(this.server, graceMs);
  }

  private unary<Req, Res>(rpc: string, handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    const run = this.runner(rpc, handle);
    return (call, callback) => run(call.request, (failure, res) => (failure ? callback(failure) : callback(null, res)));
  }

  /** One request of `rpc`, unary or on a stream: counted, timed, its failure logged and mapped to a status with a catalogued code. */
  private runner<Req, Res>(rpc: string, handle: (req: Req) => Promise<Res>): Runner<Req, Res> {
    const push = PUSH_KINDS.get(rpc);
    const observe = (outcome: string, started: number): void => {
      if (push !== undefined) this.metrics.observe('im_logic_push_seconds', { edge: 'grpc', kind: push, outcome }, (performance.now() - started) / 1000);
    };
    return (request, callback) => {
      const started = performance.now();
      this.metrics.inc('im_logic_grpc_requests_total', { rpc });
      handle(request).then(
        (res) => {
          observe('ok', started);
          callback(null, res);
        },
        (err: unknown) => {
          const error = asImError(err, 'INTERNAL');
          const code = STATUS_OF[error.name] ?? grpc.status.INTERNAL;
          observe(error.code, started);
          this.metrics.inc('im_logic_grpc_errors_total', { rpc, code: error.code });
          // A Connect's token and key failures are counted by code (im_logic_auth_failures_total); a key set that is down is
          // logged where it is fetched, rate-limited. One line per refused client would flood the log.
          const level = AUTH_FAILURES.has(error.name) ? 'debug' : CALLER_STATUSES.has(code) ? 'warn' : 'error';
          logThrottled(this.log, this.logs, level, `${rpc} ${error.code}`, 'logic rpc failed', { component: 'logic-grpc', rpc, code: error.code, error: error.message });
          callback({ code, details: `${error.code}: ${error.message}` });
        },
      );
    };
  }
}

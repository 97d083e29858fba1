/**
 * im.logic.LogicStream on a logic node: a cloud node's Connect, Disconnect
 * and Heartbeat requests arriving on long-lived streams, each run by the
 * same handler as its unary rpc and answered on the stream under its id,
 * with the status (and catalogued code) the unary rpc would have ended with.
 * Requests of one stream run concurrently; the cloud node bounds how many
 * it has in flight (logic.maxInFlight). On shutdown each stream takes no
 * more requests (answered UNAVAILABLE, so the cloud node fails over) and
 * ends once those it took are answered.
 */
import * as grpc from '@grpc/grpc-js';
import type { ConnectReply } from '../../proto/generated/im/logic/ConnectReply';
import type { ConnectReq__Output } from '../../proto/generated/im/logic/ConnectReq';
import type { DisconnectReply } from '../../proto/generated/im/logic/DisconnectReply';
import type { DisconnectReq__Output } from '../../proto/generated/im/logic/DisconnectReq';
import type { Empty } from '../../proto/generated/im/logic/Empty';
import type { HeartbeatReq__Output } from '../../proto/generated/im/logic/HeartbeatReq';
import type { LogicStreamHandlers } from '../../proto/generated/im/logic/LogicStream';
import type { StreamReply } from '../../proto/generated/im/logic/StreamReply';
import type { StreamRequest__Output } from '../../proto/generated/im/logic/StreamRequest';
import { ImError } from '../errors';

/** How a request failed: the gRPC status and its details ("E_CODE: message"). */
export interface RequestFailure {
  readonly code: grpc.status;
  readonly details: string;
}

/** Runs one request and calls back once with its failure or its answer. */
export type Runner<Req, Res> = (request: Req, callback: (failure: RequestFailure | null, res?: Res) => void) => void;

export interface StreamRunners {
  readonly connect: Runner<ConnectReq__Output, ConnectReply>;
  readonly disconnect: Runner<DisconnectReq__Output, DisconnectReply>;
  readonly heartbeat: Runner<HeartbeatReq__Output, Empty>;
}

type Duplex = grpc.ServerDuplexStream<StreamRequest__Output, StreamReply>;

interface OpenStream {
  readonly call: Duplex;
  /** Requests taken and not answered yet. */
  pending: number;
  /** The cloud node sent all its requests (or the stream is being drained). */
  closing: boolean;
  done: boolean;
}

const BAD_REQUEST = new ImError('GRPC_BAD_STREAM_REQUEST');
const SHUTTING_DOWN: RequestFailure = { code: grpc.status.UNAVAILABLE, details: 'the logic node is shutting down' };

export class LogicStreamService {
  private readonly open = new Set<OpenStream>();
  private draining = false;
  readonly handlers: LogicStreamHandlers = { Calls: (call) => this.serve(call) };

  constructor(private readonly runners: StreamRunners) {}

  /** Takes no more requests; each stream ends once its requests are answered. */
  drain(): void {
    this.draining = true;
    for (const stream of this.open) {
      stream.closing = true;
      this.endIfDone(stream);
    }
  }

  private serve(call: Duplex): void {
    const stream: OpenStream = { call, pending: 0, closing: this.draining, done: false };
    this.open.add(stream);
    call.on('data', (req: StreamRequest__Output) => this.take(stream, req));
    call.on('end', () => {
      stream.closing = true;
      this.endIfDone(stream);
    });
    const gone = (): void => {
      stream.done = true;
      this.open.delete(stream);
    };
    call.on('cancelled', gone);
    call.on('error', gone);
    this.endIfDone(stream);
  }

  private take(stream: OpenStream, req: StreamRequest__Output): void {
    const id = req.id;
    if (stream.closing) {
      this.answer(stream, id, SHUTTING_DOWN, {});
      return;
    }
    stream.pending++;
    const done = <Res>(pick: (res: Res) => StreamReply) => (failure: RequestFailure | null, res?: Res): void => {
      stream.pending--;
      this.answer(stream, id, failure, failure || res === undefined ? {} : pick(res));
      this.endIfDone(stream);
    };
    if (req.call === 'connect' && req.connect) this.runners.connect(req.connect, done((connect: ConnectReply) => ({ connect })));
    else if (req.call === 'disconnect' && req.disconnect) this.runners.disconnect(req.disconnect, done((disconnect: DisconnectReply) => ({ disconnect })));
    else if (req.call === 'heartbeat' && req.heartbeat) this.runners.heartbeat(req.heartbeat, done((heartbeat: Empty) => ({ heartbeat })));
    else done(() => ({}))({ code: grpc.status.INVALID_ARGUMENT, details: `${BAD_REQUEST.code}: ${BAD_REQUEST.message}` });
  }

  private answer(stream: OpenStream, id: number, failure: RequestFailure | null, reply: StreamReply): void {
    if (stream.done) return;
    if (failure) {
      stream.call.write({ id, code: failure.code, details: failure.details });
    } else {
      reply.id = id;
      stream.call.write(reply);
    }
  }

  private endIfDone(stream: OpenStream): void {
    if (stream.done || !stream.closing || stream.pending > 0) return;
    stream.done = true;
    this.open.delete(stream);
    stream.call.end();
  }
}

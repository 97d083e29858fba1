/**
 * The serving side of a request stream (system/request-streams.ts): a peer
 * node's requests arriving with ids on long-lived bidirectional streams,
 * each run by `dispatch` (the same handler as its unary rpc) and answered on
 * the stream under its id, with the status (and catalogued code) the unary
 * rpc would have ended with. Served for im.logic.LogicStream (Connect,
 * Disconnect, Heartbeat) and im.cloud.CloudStream (the push rpcs).
 *
 * Requests of one stream run concurrently; the calling node bounds how many
 * it has in flight. On shutdown each stream takes no more requests
 * (answered UNAVAILABLE, so the caller fails over or retries) and ends once
 * those it took are answered.
 */
import * as grpc from '@grpc/grpc-js';
import { ImError } from '../errors';
import type { GaugeHandle } from '../metrics';

/** How a request failed: the gRPC status and its details ("E_CODE: message"). */
export interface RequestFailure {
  readonly code: grpc.status;
  readonly details: string;
}

/** Runs one request and calls back once with its failure or its answer. */
export type Runner<Req, Res> = (request: Req, callback: (failure: RequestFailure | null, res?: Res) => void) => void;

/** What a stream reply carries besides its outcome: the request's id. */
interface Identified {
  id?: number;
}

export interface RequestStreamHandlers<Req extends { readonly id: number }, Reply extends Identified> {
  /** Runs one request; `done` is called once, with its failure or its reply. `peer`: the stream's remote address, for log lines. */
  dispatch(request: Req, done: (failure: RequestFailure | null, reply?: Reply) => void, peer: () => string): void;
  /** The reply saying a request failed. */
  failed(failure: RequestFailure): Reply;
}

interface OpenStream<Req, Reply> {
  readonly call: grpc.ServerDuplexStream<Req, Reply>;
  /** Requests taken and not answered yet. */
  pending: number;
  /** The peer sent all its requests (or the stream is being drained). */
  closing: boolean;
  done: boolean;
}

/** A stream request carrying none of the calls its service serves (each edge counts and logs it under its own names). */
export const BAD_STREAM = new ImError('GRPC_BAD_STREAM_REQUEST');
export const BAD_STREAM_REQUEST: RequestFailure = { code: grpc.status.INVALID_ARGUMENT, details: `${BAD_STREAM.code}: ${BAD_STREAM.message}` };

const SHUTTING_DOWN: RequestFailure = { code: grpc.status.UNAVAILABLE, details: 'the node is shutting down' };

export class RequestStreamService<Req extends { readonly id: number }, Reply extends Identified> {
  private readonly open = new Set<OpenStream<Req, Reply>>();
  private draining = false;

  /** `openStreams`: the gauge of streams open now, if the node exports one. */
  constructor(private readonly handlers: RequestStreamHandlers<Req, Reply>, private readonly openStreams: GaugeHandle | null = null) {}

  /** The handler of the stream rpc. */
  readonly serve = (call: grpc.ServerDuplexStream<Req, Reply>): void => {
    const stream: OpenStream<Req, Reply> = { call, pending: 0, closing: this.draining, done: false };
    this.open.add(stream);
    this.openStreams?.inc();
    call.on('data', (req: Req) => this.take(stream, req));
    call.on('end', () => {
      stream.closing = true;
      this.endIfDone(stream);
    });
    const gone = (): void => {
      stream.done = true;
      this.forget(stream);
    };
    call.on('cancelled', gone);
    call.on('error', gone);
    this.endIfDone(stream);
  };

  /** Takes no more requests; each stream ends once its requests are answered. */
  drain(): void {
    this.draining = true;
    for (const stream of this.open) {
      stream.closing = true;
      this.endIfDone(stream);
    }
  }

  private take(stream: OpenStream<Req, Reply>, req: Req): void {
    const id = req.id;
    if (stream.closing) {
      this.answer(stream, id, SHUTTING_DOWN, undefined);
      return;
    }
    stream.pending++;
    this.handlers.dispatch(req, (failure, reply) => {
      stream.pending--;
      this.answer(stream, id, failure, reply);
      this.endIfDone(stream);
    }, () => stream.call.getPeer());
  }

  private answer(stream: OpenStream<Req, Reply>, id: number, failure: RequestFailure | null, reply: Reply | undefined): void {
    if (stream.done) return;
    const out = failure !== null || reply === undefined
      ? this.handlers.failed(failure ?? { code: grpc.status.INTERNAL, details: 'empty reply' })
      : reply;
    out.id = id;
    stream.call.write(out);
  }

  private endIfDone(stream: OpenStream<Req, Reply>): void {
    if (stream.done || !stream.closing || stream.pending > 0) return;
    stream.done = true;
    this.forget(stream);
    stream.call.end();
  }

  private forget(stream: OpenStream<Req, Reply>): void {
    if (this.open.delete(stream)) this.openStreams?.inc(-1);
  }
}

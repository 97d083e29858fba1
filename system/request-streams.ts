/**
 * Long-lived request streams from this node to one peer node: requests
 * travel as messages with ids on a few bidirectional gRPC streams, so each
 * costs a message on an open stream instead of a unary call's setup (and
 * instead of an HTTP/2 stream whose objects all outlive the next scavenge).
 * Used by cloud nodes towards logic nodes (im.logic.LogicStream: Connect,
 * Disconnect, Heartbeat) and by logic nodes towards cloud nodes
 * (im.cloud.CloudStream: PushMsg, BroadcastRoom, Broadcast).
 *
 * - Each request has its own deadline (a timer): past it the request fails
 *   with DEADLINE_EXCEEDED, retryable, and its stream is cancelled, as a
 *   unary call is at its deadline: what is still buffered on it is thrown
 *   away, so a node that was only stalled acts later on none of the
 *   requests reported failed but what had reached its socket, and a hung
 *   node holds no more than the requests in flight to it. The other requests on that stream fail as UNAVAILABLE
 *   (retryable); the next request opens a new stream.
 * - A stream that ends or breaks fails its requests in flight as UNAVAILABLE
 *   (retryable); it is opened again on a later request, after a backoff that
 *   doubles while it keeps failing.
 * - A node answering the stream UNIMPLEMENTED before any reply (goim's logic
 *   and comet serve only the unary rpcs) is called unary for `reprobeMs`,
 *   then the stream is tried again; the requests that were on the stream
 *   are sent unary at once, with what is left of their deadline.
 */
import * as grpc from '@grpc/grpc-js';
import type { Log } from '../actors/ports';
import { logThrottled, LogThrottle } from './log-throttle';
import type { CounterHandle, Metrics } from './metrics';
import type { PeerAuth } from './peer-auth';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** The node does not serve the streams: the request was not taken, send it unary. */
export class UnaryOnlyPeer extends Error {}

/** What every reply on a request stream carries: the request's id, and its outcome as the unary rpc would have ended. */
export interface StreamReplyBase {
  readonly id: number;
  /** 0 (OK) or the gRPC status code. */
  readonly code: number;
  readonly details: string;
}

export interface RequestStreamOptions {
  /** Streams per peer node (requests go round-robin over them). */
  readonly count: number;
  /** How long a node that answered UNIMPLEMENTED is called unary before the streams are tried again. */
  readonly reprobeMs: number;
  readonly log: Log;
}

/** The stream's events, one counter each (im_logic_streams_total or im_cloud_streams_total by event). */
export interface StreamEventCounters {
  readonly opened: CounterHandle;
  readonly broken: CounterHandle;
  /** Cancelled by this node: a request on it passed its deadline. */
  readonly deadline: CounterHandle;
  readonly unaryOnly: CounterHandle;
}

/** The four event counters of one peer kind's streams, resolved once. */
export function streamEventCounters(metrics: Metrics, name: 'im_logic_streams_total' | 'im_cloud_streams_total'): StreamEventCounters {
  return {
    opened: metrics.counterOf(name, { event: 'opened' }),
    broken: metrics.counterOf(name, { event: 'broken' }),
    deadline: metrics.counterOf(name, { event: 'deadline' }),
    unaryOnly: metrics.counterOf(name, { event: 'unary_only' }),
  };
}

/** One kind of peer: how to open a stream to it, how its failures look, where its events are counted and logged. */
export interface StreamPeer<Req, Reply> {
  readonly address: string;
  open(): grpc.ClientDuplexStream<Req, Reply>;
  /** The error a failed request rejects with; `detail` says what happened, without the rpc and address. */
  failure(rpc: string, detail: string, retryable: boolean, status: string): Error;
  /** Observes one request's time by rpc and outcome (ok, or its gRPC status). */
  observe(rpc: string, outcome: string, started: number): void;
  readonly counters: StreamEventCounters | null;
  /** Reports a reply or end refused for this node's token; null: the nodes hold no token. */
  readonly auth: PeerAuth | null;
  /** Names the log lines' component and the peer ("logic node", "cloud node"). */
  readonly component: string;
  readonly kind: string;
}

interface Pending<Reply> {
  readonly rpc: string;
  readonly started: number;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Link<Req, Reply> {
  call: grpc.ClientDuplexStream<Req, Reply> | null;
  /** Whether the open stream answered anything (an UNIMPLEMENTED after that is not the peer's kind). */
  answered: boolean;
  /** Not opened again before this (Date.now()). */
  retryAt: number;
  backoffMs: number;
  readonly pending: Map<number, Pending<Reply>>;
}

export class RequestStreams<Req extends { id?: number }, Reply extends StreamReplyBase> {
  private readonly links: Link<Req, Reply>[];
  private cursor = 0;
  private nextId = 0;
  /** Until when (Date.now()) the node is called unary: it answered UNIMPLEMENTED. */
  private unaryUntil = 0;
  private closed = false;
  private readonly warnings = new LogThrottle(10_000);

  constructor(private readonly peer: StreamPeer<Req, Reply>, private readonly options: RequestStreamOptions) {
    this.links = Array.from({ length: options.count }, () => ({ call: null, answered: false, retryAt: 0, backoffMs: BACKOFF_MIN_MS, pending: new Map() }));
  }

  /**
   * Sends the request on a stream; resolves with the node's successful reply, rejects with the peer's failure, or
   * with UnaryOnlyPeer when the node turned out not to serve streams. Null: no stream is usable now, call unary.
   */
  send(rpc: string, request: Req, timeoutMs: number): Promise<Reply> | null {
    const link = this.pick();
    if (link === null) return null;
    const call = link.call ?? this.open(link);
    const id = this.nextId = (this.nextId + 1) >>> 0;
    request.id = id;
    return new Promise<Reply>((resolve, reject) => {
      const started = performance.now();
      const timer = setTimeout(() => {
        if (!link.pending.delete(id)) return;
        this.peer.observe(rpc, 'DEADLINE_EXCEEDED', started);
        reject(this.peer.failure(rpc, `no answer on the stream within ${timeoutMs} ms`, true, 'DEADLINE_EXCEEDED'));
        this.cancelPastDeadline(link, call, rpc, timeoutMs);
      }, timeoutMs);
      link.pending.set(id, { rpc, started, resolve, reject, timer });
      call.write(request);
    });
  }

  /**
   * The request on a stream when one is usable, its reply read by `pick`; else, or when the node turns out to
   * serve no streams, `unary` with what is left of the deadline.
   */
  async exchange<Res>(rpc: string, request: Req, timeoutMs: number, pick: (reply: Reply) => Res, unary: (timeoutMs: number) => Promise<Res>): Promise<Res> {
    const sent = this.send(rpc, request, timeoutMs);
    if (sent === null) return unary(timeoutMs);
    const started = Date.now();
    let reply: Reply;
    try {
      reply = await sent;
    } catch (err) {
      if (!(err instanceof UnaryOnlyPeer)) throw err;
      return unary(Math.max(1, timeoutMs - (Date.now() - started)));
    }
    return pick(reply);
  }

  /** Ends the streams; their requests in flight fail as UNAVAILABLE, and later ones go unary (to a closed channel). */
  close(): void {
    this.closed = true;
    for (const link of this.links) link.call?.cancel();
  }

  /** The next stream round-robin that is open or may be opened; null while the node is unary-only or every stream is in backoff. */
  private pick(): Link<Req, Reply> | null {
    if (this.closed || this.links.length === 0) return null;
    const now = Date.now();
    if (now < this.unaryUntil) return null;
    for (let i = 0; i < this.links.length; i++) {
      const index = (this.cursor + i) % this.links.length;
      const link = this.links[index];
      if (link.call !== null || link.retryAt <= now) {
        this.cursor = (index + 1) % this.links.length;
        return link;
      }
    }
    return null;
  }

  private open(link: Link<Req, Reply>): grpc.ClientDuplexStream<Req, Reply> {
    const call = this.peer.open();
    link.call = call;
    link.answered = false;
    this.peer.counters?.opened.inc();
    call.on('data', (reply: Reply) => this.answered(link, reply));
    // Every end, failures included, arrives as a status; the error event repeats it (and must have a listener).
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => this.ended(link, call, status));
    return call;
  }

  private answered(link: Link<Req, Reply>, reply: Reply): void {
    link.answered = true;
    link.backoffMs = BACKOFF_MIN_MS;
    const pending = link.pending.get(reply.id);
    if (pending === undefined) return;
    link.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.code === grpc.status.OK) {
      this.peer.observe(pending.rpc, 'ok', pending.started);
      pending.resolve(reply);
      return;
    }
    const status = grpc.status[reply.code] ?? String(reply.code);
    this.peer.observe(pending.rpc, status, pending.started);
    // As for a unary call: a node refusing this node's token is not one to use, but another may take it.
    const retryable = reply.code === grpc.status.UNAVAILABLE || reply.code === grpc.status.DEADLINE_EXCEEDED
      || this.peer.auth?.refused(reply, pending.rpc, this.peer.address) === true;
    pending.reject(this.peer.failure(pending.rpc, reply.details, retryable, status));
  }

  /**
   * A request on `call` passed its deadline: the stream is cancelled (what is buffered on it goes), its other
   * requests fail as UNAVAILABLE, and the next request opens a new one at once (the node may only be slow).
   */
  private cancelPastDeadline(link: Link<Req, Reply>, call: grpc.ClientDuplexStream<Req, Reply>, rpc: string, timeoutMs: number): void {
    if (link.call !== call) return;
    link.call = null;
    const pending = [...link.pending.values()];
    link.pending.clear();
    this.peer.counters?.deadline.inc();
    const { address, component, kind } = this.peer;
    logThrottled(this.options.log, this.warnings, 'warn', `${address} deadline`, `${kind} stream cancelled: a request on it got no answer within its deadline`, {
      component, node: address, rpc, timeoutMs, failedInFlight: pending.length,
    });
    for (const p of pending) {
      clearTimeout(p.timer);
      this.peer.observe(p.rpc, 'UNAVAILABLE', p.started);
      p.reject(this.peer.failure(p.rpc, `the stream was cancelled: another request on it got no answer within ${timeoutMs} ms`, true, 'UNAVAILABLE'));
    }
    call.cancel();
  }

  private ended(link: Link<Req, Reply>, call: grpc.ClientDuplexStream<Req, Reply>, status: grpc.StatusObject): void {
    if (link.call !== call) return;
    link.call = null;
    const pending = [...link.pending.values()];
    link.pending.clear();
    for (const p of pending) clearTimeout(p.timer);
    const { address, component, kind } = this.peer;
    if (status.code === grpc.status.UNIMPLEMENTED && !link.answered) {
      this.unaryUntil = Date.now() + this.options.reprobeMs;
      this.peer.counters?.unaryOnly.inc();
      logThrottled(this.options.log, this.warnings, 'info', `${address} unary`, `${kind} serves no streams: calling it unary`, {
        component, node: address, reprobeMs: this.options.reprobeMs,
      });
      for (const p of pending) p.reject(new UnaryOnlyPeer(address));
      return;
    }
    if (this.closed) {
      for (const p of pending) p.reject(this.peer.failure(p.rpc, 'the client was closed', true, 'UNAVAILABLE'));
      return;
    }
    link.retryAt = Date.now() + link.backoffMs;
    link.backoffMs = Math.min(link.backoffMs * 2, BACKOFF_MAX_MS);
    this.peer.counters?.broken.inc();
    const ended = grpc.status[status.code] ?? String(status.code);
    // OK: the peer ended it (it is stopping); anything else is a failure the operator sees.
    logThrottled(this.options.log, this.warnings, status.code === grpc.status.OK ? 'info' : 'warn', `${address} ${ended}`, `${kind} stream ended`, {
      component, node: address, status: ended, error: status.details, failedInFlight: pending.length,
    });
    for (const p of pending) {
      // A node refusing this node's token ends the stream so: counted and logged like a refused call.
      const refused = this.peer.auth?.refused(status, p.rpc, address) === true;
      const failure = refused ? 'UNAUTHENTICATED' : 'UNAVAILABLE';
      this.peer.observe(p.rpc, failure, p.started);
      p.reject(this.peer.failure(p.rpc, `the stream ended (${ended} ${status.details})`, true, failure));
    }
  }
}

/**
 * A cloud node's long-lived streams to one logic node (im.logic.LogicStream):
 * Connect, Disconnect and Heartbeat travel on them as requests with ids, so
 * each costs a message on an open stream instead of a unary call's setup.
 *
 * - Each request has its own deadline (a timer): past it the request fails
 *   with DEADLINE_EXCEEDED, retryable, and a late answer is dropped.
 * - A stream that ends or breaks fails its requests in flight as UNAVAILABLE
 *   (retryable: the gateway fails over to the next node); it is opened again
 *   on a later request, after a backoff that doubles while it keeps failing.
 * - A node answering the stream UNIMPLEMENTED before any reply (goim's logic
 *   serves only im.logic.Logic) is called unary for `reprobeMs`, then the
 *   stream is tried again; the requests that were on the stream are sent
 *   unary at once, with what is left of their deadline.
 */
import * as grpc from '@grpc/grpc-js';
import type { LogicStreamClient } from '../proto/generated/im/logic/LogicStream';
import type { StreamReply__Output } from '../proto/generated/im/logic/StreamReply';
import type { StreamRequest } from '../proto/generated/im/logic/StreamRequest';
import { Log, LogicCallError } from '../actors/ports';
import { logThrottled, LogThrottle } from './log-throttle';
import type { Metrics } from './metrics';
import type { PeerAuth } from './peer-auth';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** The node does not serve im.logic.LogicStream: the request was not taken, send it unary. */
export class UnaryOnlyPeer extends Error {}

export interface LogicStreamOptions {
  /** logic.streams: streams per logic node (requests go round-robin over them). */
  readonly count: number;
  /** logic.streamReprobeMs: how long a node that answered UNIMPLEMENTED is called unary before the stream is tried again. */
  readonly reprobeMs: number;
  readonly log: Log;
}

type Duplex = grpc.ClientDuplexStream<StreamRequest, StreamReply__Output>;

interface Pending {
  readonly rpc: string;
  readonly started: number;
  readonly resolve: (reply: StreamReply__Output) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Link {
  call: Duplex | null;
  /** Whether the open stream answered anything (an UNIMPLEMENTED after that is not the peer's kind). */
  answered: boolean;
  /** Not opened again before this (Date.now()). */
  retryAt: number;
  backoffMs: number;
  readonly pending: Map<number, Pending>;
}

/** Observes one request's time by rpc and outcome (im_logic_call_seconds). */
export type ObserveCall = (rpc: string, outcome: string, started: number) => void;

export class LogicStreams {
  private readonly links: Link[];
  private cursor = 0;
  private nextId = 0;
  /** Until when (Date.now()) the node is called unary: it answered UNIMPLEMENTED. */
  private unaryUntil = 0;
  private closed = false;
  private readonly warnings = new LogThrottle(10_000);

  constructor(
    private readonly address: string,
    private readonly client: LogicStreamClient,
    private readonly options: LogicStreamOptions,
    private readonly observe: ObserveCall,
    private readonly metrics: Metrics | null,
    private readonly auth: PeerAuth | null,
  ) {
    this.links = Array.from({ length: options.count }, () => ({ call: null, answered: false, retryAt: 0, backoffMs: BACKOFF_MIN_MS, pending: new Map() }));
  }

  /**
   * Sends the request on a stream; resolves with the node's successful reply, rejects with LogicCallError, or with
   * UnaryOnlyPeer when the node turned out not to serve streams. Null: no stream is usable now, call unary.
   */
  send(rpc: string, request: StreamRequest, timeoutMs: number): Promise<StreamReply__Output> | null {
    const link = this.pick();
    if (link === null) return null;
    const call = link.call ?? this.open(link);
    const id = this.nextId = (this.nextId + 1) >>> 0;
    request.id = id;
    return new Promise<StreamReply__Output>((resolve, reject) => {
      const started = performance.now();
      const timer = setTimeout(() => {
        if (!link.pending.delete(id)) return;
        this.observe(rpc, 'DEADLINE_EXCEEDED', started);
        reject(new LogicCallError(`${rpc} on ${this.address}: no answer on the stream within ${timeoutMs} ms`, true, 'DEADLINE_EXCEEDED', this.address));
      }, timeoutMs);
      link.pending.set(id, { rpc, started, resolve, reject, timer });
      call.write(request);
    });
  }

  /** Ends the streams; their requests in flight fail as UNAVAILABLE, and later ones go unary (to a closed channel). */
  close(): void {
    this.closed = true;
    for (const link of this.links) link.call?.cancel();
  }

  /** The next stream round-robin that is open or may be opened; null while the node is unary-only or every stream is in backoff. */
  private pick(): Link | null {
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

  private open(link: Link): Duplex {
    const call = this.client.Calls();
    link.call = call;
    link.answered = false;
    this.metrics?.inc('im_logic_streams_total', { event: 'opened' });
    call.on('data', (reply: StreamReply__Output) => this.answered(link, reply));
    // Every end, failures included, arrives as a status; the error event repeats it (and must have a listener).
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => this.ended(link, call, status));
    return call;
  }

  private answered(link: Link, reply: StreamReply__Output): void {
    link.answered = true;
    link.backoffMs = BACKOFF_MIN_MS;
    const pending = link.pending.get(reply.id);
    if (pending === undefined) return;
    link.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.code === grpc.status.OK) {
      this.observe(pending.rpc, 'ok', pending.started);
      pending.resolve(reply);
      return;
    }
    const status = grpc.status[reply.code] ?? String(reply.code);
    this.observe(pending.rpc, status, pending.started);
    // As for a unary call: a node refusing this node's token is not one to use, but another may take it.
    const retryable = reply.code === grpc.status.UNAVAILABLE || reply.code === grpc.status.DEADLINE_EXCEEDED
      || this.auth?.refused(reply, pending.rpc, this.address) === true;
    pending.reject(new LogicCallError(`${pending.rpc} on ${this.address}: ${reply.details}`, retryable, status, this.address));
  }

  private ended(link: Link, call: Duplex, status: grpc.StatusObject): void {
    if (link.call !== call) return;
    link.call = null;
    const pending = [...link.pending.values()];
    link.pending.clear();
    for (const p of pending) clearTimeout(p.timer);
    if (status.code === grpc.status.UNIMPLEMENTED && !link.answered) {
      this.unaryUntil = Date.now() + this.options.reprobeMs;
      this.metrics?.inc('im_logic_streams_total', { event: 'unary_only' });
      logThrottled(this.options.log, this.warnings, 'info', `${this.address} unary`, 'logic node serves no streams: calling it unary', {
        component: 'logic-streams', node: this.address, reprobeMs: this.options.reprobeMs,
      });
      for (const p of pending) p.reject(new UnaryOnlyPeer(this.address));
      return;
    }
    if (this.closed) {
      for (const p of pending) p.reject(new LogicCallError(`${p.rpc} on ${this.address}: the client was closed`, true, 'UNAVAILABLE', this.address));
      return;
    }
    link.retryAt = Date.now() + link.backoffMs;
    link.backoffMs = Math.min(link.backoffMs * 2, BACKOFF_MAX_MS);
    this.metrics?.inc('im_logic_streams_total', { event: 'broken' });
    const ended = grpc.status[status.code] ?? String(status.code);
    // OK: the logic node ended it (it is stopping); anything else is a failure the operator sees.
    logThrottled(this.options.log, this.warnings, status.code === grpc.status.OK ? 'info' : 'warn', `${this.address} ${ended}`, 'logic stream ended', {
      component: 'logic-streams', node: this.address, status: ended, error: status.details, failedInFlight: pending.length,
    });
    for (const p of pending) {
      // A node refusing this node's token ends the stream so: counted and logged like a refused call.
      const refused = this.auth?.refused(status, p.rpc, this.address) === true;
      const failure = refused ? 'UNAUTHENTICATED' : 'UNAVAILABLE';
      this.observe(p.rpc, failure, p.started);
      p.reject(new LogicCallError(`${p.rpc} on ${this.address}: the stream ended (${ended} ${status.details})`, true, failure, this.address));
    }
  }
}

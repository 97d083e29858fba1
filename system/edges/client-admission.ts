import type { Socket } from 'node:net';
import { peerKey } from './peer-key';
import { performance } from 'node:perf_hooks';
import type { Transport } from '../../actors/ports';
import { ImError } from '../errors';
import { LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { CounterHandle, Metrics } from '../metrics';
import { TokenBucket } from '../token-bucket';
import { RefusalLinger } from './refusal-linger';

export type RefusalReason = 'draining' | 'node_full' | 'ip_limit' | 'connect_rate' | 'origin' | 'upgrade_timeout';

/** Why a client socket is turned away, and how each transport says so. */
export interface Refusal {
  readonly reason: RefusalReason;
  readonly error: ImError;
  /** The HTTP status a ws or wss client gets instead of the upgrade. */
  readonly status: number;
  /** When to try again, where the node knows (Retry-After on ws, the op-6 reconnect hint on tcp). */
  readonly retryAfterMs?: number;
}

function refusalOf(reason: RefusalReason): Refusal {
  switch (reason) {
    case 'draining': return { reason, error: new ImError('NODE_DRAINING'), status: 503 };
    case 'node_full': return { reason, error: new ImError('NODE_FULL'), status: 503 };
    case 'ip_limit': return { reason, error: new ImError('IP_LIMIT'), status: 429 };
    // The bucket earns a token within a second at any rate the option allows.
    case 'connect_rate': return { reason, error: new ImError('CONNECT_RATE'), status: 429, retryAfterMs: 1000 };
    case 'origin': return { reason, error: new ImError('WS_ORIGIN'), status: 403 };
    case 'upgrade_timeout': return { reason, error: new ImError('WS_UPGRADE_TIMEOUT'), status: 408 };
  }
}

/** One value per reason. */
function perReason<T>(make: (reason: RefusalReason) => T): Readonly<Record<RefusalReason, T>> {
  return {
    draining: make('draining'), node_full: make('node_full'), ip_limit: make('ip_limit'),
    connect_rate: make('connect_rate'), origin: make('origin'), upgrade_timeout: make('upgrade_timeout'),
  };
}

/** At most one log line per reason this often; the line carries how many were refused since the last one. */
const LOG_EVERY_MS = 10_000;

export interface AdmissionLimits {
  /** Sockets open at once on this node (every listener); 0 = none. */
  readonly maxConnections: number;
  /** Sockets open at once from one peer IP (every listener); 0 = none. */
  readonly maxPerIp: number;
  /** New sockets taken per second (burst: one second's worth); 0 = none. */
  readonly newPerSec: number;
  /** Refused sockets waiting at once for their client to read the answer and close; more are destroyed unanswered. */
  readonly maxRefusing: number;
}

/**
 * Whether a new client socket becomes a connection, decided on its TCP
 * connection before a byte is read: refused while the node drains, when it
 * holds limits.maxConnections sockets, when the peer IP holds
 * limits.maxConnectionsPerIp, or when the node took limits.newConnectionsPerSec
 * this second. Each check is O(1): a counter, one Map lookup, a token bucket.
 *
 * Admitted sockets are counted (per node and per IP) until they close; a
 * refused one is not: the edge tells its client at once (TLS: once the
 * handshake is done) and closes it within the close linger. The listeners stay open throughout; running out of
 * descriptors is the accept guard's matter.
 */
export class ClientAdmission {
  private open = 0;
  private readonly perIp = new Map<string, number>();
  private readonly rate: TokenBucket | null;
  private readonly refusals: Readonly<Record<RefusalReason, Refusal>>;
  private readonly counters: Readonly<Record<RefusalReason, CounterHandle>>;
  private readonly logs: LogThrottle;
  /** Where every edge closes the sockets it refuses: bounded, since no connection limit counts them. */
  readonly linger: RefusalLinger;
  /**
   * The close listener of every admitted socket. The address is read again
   * at close: Node keeps the peer's address once read (at admission), after
   * the handle is gone.
   */
  private readonly admittedClosed: (this: Socket) => void;

  constructor(
    private readonly limits: AdmissionLimits,
    /** False once the node drains. */
    private readonly accepting: () => boolean,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    now: () => number = () => performance.now(),
  ) {
    this.linger = new RefusalLinger(limits.maxRefusing, metrics);
    const admission = this;
    this.admittedClosed = function admittedClosed(this: Socket): void {
      admission.closed(this.remoteAddress);
    };
    this.rate = limits.newPerSec > 0 ? new TokenBucket(limits.newPerSec, limits.newPerSec, now) : null;
    this.refusals = perReason(refusalOf);
    this.counters = perReason((reason) => metrics.counterOf('im_connections_refused_total', { reason }));
    this.logs = new LogThrottle(LOG_EVERY_MS, now);
  }

  get openConnections(): number {
    return this.open;
  }

  /** Distinct peer addresses among the open sockets. */
  get distinctAddresses(): number {
    return this.perIp.size;
  }

  /**
   * Every accepted socket, once, on its TCP connection: null when admitted
   * (then `closed` must follow, once, with the same address), or the refusal,
   * already counted, for the edge to carry out.
   */
  admit(address: string | undefined, transport: Transport): Refusal | null {
    const limits = this.limits;
    let refusal: Refusal | null = null;
    const ip = peerKey(address);
    const fromIp = this.perIp.get(ip) ?? 0;
    if (!this.accepting()) refusal = this.refusals.draining;
    else if (limits.maxConnections > 0 && this.open >= limits.maxConnections) refusal = this.refusals.node_full;
    else if (limits.maxPerIp > 0 && fromIp >= limits.maxPerIp) refusal = this.refusals.ip_limit;
    else if (this.rate && !this.rate.take()) refusal = this.refusals.connect_rate;
    if (refusal) {
      this.refused(refusal.reason, transport, address);
      return refusal;
    }
    this.open++;
    this.perIp.set(ip, fromIp + 1);
    this.metrics.setGauge('im_connections_open', undefined, this.open);
    return null;
  }

  /**
   * admit() for a socket the edge accepted: an admitted one gets the one
   * close listener every admitted socket shares (a closure each would cost
   * bytes per connection), which releases its count whichever way it closes.
   */
  admitSocket(socket: Socket, transport: Transport): Refusal | null {
    const refusal = this.admit(socket.remoteAddress, transport);
    if (!refusal) socket.on('close', this.admittedClosed);
    return refusal;
  }

  /** An admitted socket closed (whichever way). */
  closed(address: string | undefined): void {
    const ip = peerKey(address);
    const left = (this.perIp.get(ip) ?? 0) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
    this.open = Math.max(0, this.open - 1);
    this.metrics.setGauge('im_connections_open', undefined, this.open);
  }

  /** The refusal for `reason`, for an edge that refuses on its own (draining at the upgrade, Origin, upgrade timeout). */
  refusal(reason: RefusalReason): Refusal {
    return this.refusals[reason];
  }

  /**
   * Counts a refusal and tells the operator: one line per reason at most
   * every 10 s, with how many were refused since the last (a flood must not
   * flood the log). Draining refusals are expected, so they log at info.
   */
  refused(reason: RefusalReason, transport: Transport, address: string | undefined): void {
    this.counters[reason].inc();
    const left = this.logs.admit(reason);
    if (left === null) return;
    const error = this.refusals[reason].error;
    this.log.log(reason === 'draining' ? 'info' : 'warn', 'client sockets refused', {
      component: 'client-admission', code: error.code, reason, refused: left + 1, transport, address,
      openConnections: this.open, ...this.limitOf(reason),
    });
  }

  private limitOf(reason: RefusalReason): Record<string, number> {
    switch (reason) {
      case 'node_full': return { maxConnections: this.limits.maxConnections };
      case 'ip_limit': return { maxConnectionsPerIp: this.limits.maxPerIp };
      case 'connect_rate': return { newConnectionsPerSec: this.limits.newPerSec };
      default: return {};
    }
  }
}

/**
 * Refusals decided on a raw TCP connection and carried out later on the
 * socket the protocol runs on (after the upgrade request arrives, or after
 * the TLS handshake, whose socket is another object): keyed by the peer's
 * address and port, which both sockets share, and forgotten when the raw
 * socket closes.
 */
export class PendingRefusals {
  private readonly byPeer = new Map<string, Refusal>();

  hold(socket: { remoteAddress?: string; remotePort?: number; once(event: 'close', listener: () => void): unknown }, refusal: Refusal): void {
    const key = socketKey(socket);
    this.byPeer.set(key, refusal);
    socket.once('close', () => this.byPeer.delete(key));
  }

  /** The refusal held for this socket's peer, if any. */
  of(socket: { remoteAddress?: string; remotePort?: number }): Refusal | undefined {
    return this.byPeer.size === 0 ? undefined : this.byPeer.get(socketKey(socket));
  }
}

function socketKey(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}

import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionMsg } from '../../actors/connection-actor';
import type { ClientHandle, Traffic, Transport } from '../../actors/ports';
import type { ActorRef } from '../actor-kind';
import { disconnectBody, ReconnectHint } from '../codec/disconnect-body';
import { Op, encodePacket } from '../codec/packet';
import type { Outbound } from '../codec/outbound';
import { ImError } from '../errors';
import type { CounterHandle, Metrics } from '../metrics';
import type { Coalescer, CoalescingTarget, PacketSequence } from './coalescer';

/** How long a closed connection may linger for the peer to read op 6 before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2000;

/** Bytes of op 6 with the error's JSON reason (wire.md §1), and when to reconnect if the node says so. */
export function disconnectPacket(error: ImError, reconnect?: ReconnectHint): Buffer {
  return encodePacket(1, Op.DisconnectReply, 0, disconnectBody(error, reconnect));
}

/**
 * What one transport's clients count as they write: series resolved once per
 * edge, so a write costs a few additions (pushes reach every member this way).
 */
export interface WriteCounters {
  readonly packets: CounterHandle;
  readonly bytes: CounterHandle;
  readonly writes: CounterHandle;
  /** Writes carrying more than one packet (the coalescer merged them). */
  readonly coalesced: CounterHandle;
  /** Packets refused or left unwritten because the socket was closing or gone. */
  readonly droppedClosed: CounterHandle;
  /** Packets refused because the client went over the hard limit (the connection is then closed). */
  readonly droppedSlow: CounterHandle;
  /** Room and broadcast pushes refused because the client is over the soft limit. */
  readonly slowDrops: CounterHandle;
  /** Times reading a socket paused (limits.readPauseDepth). */
  readonly readPaused: CounterHandle;
}

export function writeCounters(metrics: Metrics, transport: Transport): WriteCounters {
  return {
    packets: metrics.counterOf('im_client_packets_written_total', { transport }),
    bytes: metrics.counterOf('im_client_bytes_written_total', { transport }),
    writes: metrics.counterOf('im_client_writes_total', { transport }),
    coalesced: metrics.counterOf('im_client_coalesced_writes_total', { transport }),
    droppedClosed: metrics.counterOf('im_client_drops_total', { transport, reason: 'closed' }),
    droppedSlow: metrics.counterOf('im_client_drops_total', { transport, reason: 'slow_consumer' }),
    slowDrops: metrics.counterOf('im_slow_consumer_drops_total', { transport }),
    readPaused: metrics.counterOf('im_connection_limits_total', { limit: 'read_pause' }),
  };
}

/** One client's budgets (slowConsumer.*, limits.readPauseDepth), the same for every client of a node. */
export interface ClientLimits {
  /** Queued bytes past which room and broadcast pushes are dropped. */
  readonly softBytes: number;
  /** Queued bytes past which the client is closed with op 6 E_SLOW_CONSUMER. */
  readonly hardBytes: number;
  /** Not drained for this long: over the soft limit. */
  readonly slowMs: number;
  /** Not drained for this long: over the hard limit. */
  readonly hardMs: number;
  /** Packets handed to the connection and not yet done with, past which reading pauses. */
  readonly readPauseDepth: number;
}

/** Each client's socket, for the one 'drain' listener every client shares (a closure each costs ~100 bytes a connection). */
const clientOfSocket = new WeakMap<Duplex, SocketClient>();

function socketDrained(this: Duplex): void {
  clientOfSocket.get(this)?.drained();
}

export abstract class SocketClient implements ClientHandle, CoalescingTarget {
  abstract readonly transport: Transport;
  closed = false;
  ref: ActorRef<ConnectionMsg> | null = null;
  pending: PacketSequence | null = null;
  /** When the queue was first seen non-empty without draining since (0: it was last seen empty). */
  private backloggedSince = 0;
  /** Packets handed to the connection actor and not yet settled by it. */
  private inbound = 0;
  private readPaused = false;

  constructor(
    readonly id: number,
    /** The socket pushes are written to. */
    protected readonly socket: Duplex,
    readonly remoteAddress: string,
    readonly cookie: string,
    private readonly limits: ClientLimits,
    private readonly coalescer: Coalescer | null,
    private readonly counters: WriteCounters,
  ) {
    clientOfSocket.set(socket, this);
    socket.on('drain', socketDrained);
  }

  /** The socket wrote out all it held: no backlog until the next write leaves some. */
  drained(): void {
    this.backloggedSince = 0;
  }

  /** Whether the transport still takes data frames (a ws that began closing does not). */
  protected abstract get open(): boolean;
  protected abstract bytesOf(out: Outbound): Buffer;
  protected abstract bytesOfSequence(seq: PacketSequence): Buffer;
  /** Ends the connection politely, sending op 6 first when there is an error to tell. */
  protected abstract end(error?: ImError, reconnect?: ReconnectHint): void;
  /** Ends the connection at once. */
  protected abstract kill(): void;
  /** Stops and restarts reading the client's socket (the kernel's buffers then hold what it sends). */
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;

  send(out: Outbound): boolean {
    if (this.closed || !this.open) {
      this.counters.droppedClosed.inc();
      return false;
    }
    const queued = this.socket.writableLength;
    if (queued === 0) {
      this.backloggedSince = 0;
    } else {
      const now = Date.now();
      if (this.backloggedSince === 0) this.backloggedSince = now;
      const stalledMs = now - this.backloggedSince;
      const limits = this.limits;
      if (queued > limits.hardBytes || stalledMs >= limits.hardMs) {
        this.counters.droppedSlow.inc();
        this.closeSlow(`${queued} bytes queued, not drained for ${stalledMs} ms`);
        return false;
      }
      if (out.fanOut && (queued > limits.softBytes || stalledMs >= limits.slowMs)) {
        this.counters.slowDrops.inc();
        return false;
      }
    }
    if (this.coalescer) this.coalescer.append(this, out);
    else this.write(this.bytesOf(out), 1);
    return true;
  }

  /** The edge hands the connection actor one more packet; past the bound, reading pauses. */
  received(): void {
    this.inbound++;
    if (this.readPaused || this.closed || this.inbound <= this.limits.readPauseDepth) return;
    this.readPaused = true;
    this.counters.readPaused.inc();
    this.pauseReading();
  }

  settled(): void {
    this.inbound--;
    // Resumed at half the bound, not just under it: a connection at the bound would pause and resume at every packet.
    if (!this.readPaused || this.inbound > this.limits.readPauseDepth >> 1) return;
    this.readPaused = false;
    if (!this.closed) this.resumeReading();
  }

  traffic(): Traffic {
    // The raw socket under a ws is a net.Socket too; another Duplex (a test double) has no byte counts.
    const queuedBytes = this.socket.writableLength;
    if (!(this.socket instanceof Socket)) return { bytesIn: 0, bytesOut: 0, queuedBytes };
    return { bytesIn: this.socket.bytesRead, bytesOut: this.socket.bytesWritten, queuedBytes };
  }

  writeSequence(seq: PacketSequence): void {
    if (!this.closed && this.open) this.write(this.bytesOfSequence(seq), seq.length);
    else this.counters.droppedClosed.inc(seq.length);
  }

  /** Counts a write the transport made itself (op 6 on close). */
  protected counted(packets: number, bytes: number): void {
    const c = this.counters;
    c.packets.inc(packets);
    c.bytes.inc(bytes);
    c.writes.inc();
    if (packets > 1) c.coalesced.inc();
  }

  private write(bytes: Buffer, packets: number): void {
    this.socket.write(bytes);
    // The kernel took none or part of it: the backlog starts now, not at the next send.
    if (this.backloggedSince === 0 && this.socket.writableLength > 0) this.backloggedSince = Date.now();
    this.counted(packets, bytes.length);
  }

  close(error?: ImError, reconnect?: ReconnectHint): void {
    if (this.closed) return;
    this.coalescer?.flushOne(this);
    this.closed = true;
    this.end(error, reconnect);
    setTimeout(() => this.kill(), CLOSE_LINGER_MS).unref();
  }

  /** Op 6 E_SLOW_CONSUMER after what is queued, then the close; the actor is told, and releases the session. */
  private closeSlow(detail: string): void {
    const error = new ImError('SLOW_CONSUMER', detail);
    this.close(error);
    this.ref?.tell({ type: 'socketClosed', reason: 'slow_consumer', error });
  }
}

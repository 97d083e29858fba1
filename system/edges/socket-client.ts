import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionMsg } from '../../actors/connection-actor';
import type { ClientHandle, CloseReason, Traffic, Transport } from '../../actors/ports';
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
  /** Packets refused because the client stopped reading (the connection is then closed). */
  readonly droppedSlow: CounterHandle;
}

export function writeCounters(metrics: Metrics, transport: Transport): WriteCounters {
  return {
    packets: metrics.counterOf('im_client_packets_written_total', { transport }),
    bytes: metrics.counterOf('im_client_bytes_written_total', { transport }),
    writes: metrics.counterOf('im_client_writes_total', { transport }),
    coalesced: metrics.counterOf('im_client_coalesced_writes_total', { transport }),
    droppedClosed: metrics.counterOf('im_client_drops_total', { transport, reason: 'closed' }),
    droppedSlow: metrics.counterOf('im_client_drops_total', { transport, reason: 'slow_consumer' }),
  };
}

/**
 * What a tcp and a ws client share: the send path (slow-consumer check, then
 * a write now or at the end of the task through the coalescer), the order of
 * a close (held packets first), and the abort that tells the actor. A
 * transport supplies its bytes and how it ends.
 */
export abstract class SocketClient implements ClientHandle, CoalescingTarget {
  abstract readonly transport: Transport;
  closed = false;
  ref: ActorRef<ConnectionMsg> | null = null;
  pending: PacketSequence | null = null;

  constructor(
    readonly id: number,
    /** The socket pushes are written to. */
    protected readonly socket: Duplex,
    readonly remoteAddress: string,
    readonly cookie: string,
    private readonly sendLimit: number,
    private readonly coalescer: Coalescer | null,
    private readonly counters: WriteCounters,
  ) {}

  /** Whether the transport still takes data frames (a ws that began closing does not). */
  protected abstract get open(): boolean;
  protected abstract bytesOf(out: Outbound): Buffer;
  protected abstract bytesOfSequence(seq: PacketSequence): Buffer;
  /** Ends the connection politely, sending op 6 first when there is an error to tell. */
  protected abstract end(error?: ImError, reconnect?: ReconnectHint): void;
  /** Ends the connection at once. */
  protected abstract kill(): void;

  send(out: Outbound): boolean {
    if (this.closed || !this.open) {
      this.counters.droppedClosed.inc();
      return false;
    }
    if (this.socket.writableLength > this.sendLimit) {
      this.counters.droppedSlow.inc();
      this.abort('slow_consumer', new ImError('SLOW_CONSUMER', `${this.socket.writableLength} bytes queued`));
      return false;
    }
    if (this.coalescer) this.coalescer.append(this, out);
    else this.write(this.bytesOf(out), 1);
    return true;
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
    this.counted(packets, bytes.length);
  }

  close(error?: ImError, reconnect?: ReconnectHint): void {
    if (this.closed) return;
    this.coalescer?.flushOne(this);
    this.closed = true;
    this.end(error, reconnect);
    setTimeout(() => this.kill(), CLOSE_LINGER_MS).unref();
  }

  /** The edge ends the socket itself (the actor is told, and releases the session). */
  abort(reason: CloseReason, error: ImError): void {
    if (this.closed) return;
    this.closed = true;
    this.kill();
    this.ref?.tell({ type: 'socketClosed', reason, error });
  }
}

import net from 'node:net';
import type { ConnectionMsg } from '../../actors/connection-actor';
import type { ClientHandle, CloseReason } from '../../actors/ports';
import type { ActorRef } from '../actor-kind';
import { Op, encodePacket } from '../codec/packet';
import type { Outbound } from '../codec/outbound';
import { StreamDecoder } from '../codec/stream-decoder';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import type { Coalescer, CoalescingTarget, PacketSequence } from './coalescer';
import type { ConnectionOpener } from './connection-opener';

/** How long a closed connection may linger for the peer to read op 6 before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2000;

/** Bytes of op 6 with the error's JSON reason (wire.md §1). */
export function disconnectPacket(error: ImError): Buffer {
  return encodePacket(1, Op.DisconnectReply, 0, JSON.stringify(error.toReason()));
}

class TcpClient implements ClientHandle, CoalescingTarget {
  readonly transport = 'tcp' as const;
  readonly cookie = '';
  readonly remoteAddress: string;
  closed = false;
  ref: ActorRef<ConnectionMsg> | null = null;
  pending: PacketSequence | null = null;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly sendLimit: number,
    private readonly coalescer: Coalescer | null,
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  }

  send(out: Outbound): boolean {
    if (this.closed) return false;
    if (this.socket.writableLength > this.sendLimit) {
      this.abort('slow_consumer', new ImError('SLOW_CONSUMER', `${this.socket.writableLength} bytes queued`));
      return false;
    }
    if (this.coalescer) this.coalescer.append(this, out);
    else this.socket.write(out.tcp);
    return true;
  }

  writeSequence(seq: PacketSequence): void {
    if (!this.closed) this.socket.write(seq.tcpBytes());
  }

  close(error?: ImError): void {
    if (this.closed) return;
    this.coalescer?.flushOne(this);
    this.closed = true;
    if (error) this.socket.end(disconnectPacket(error));
    else this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** The edge ends the socket itself (the actor is told, and releases the session). */
  abort(reason: CloseReason, error: ImError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.ref?.tell({ type: 'socketClosed', reason, error });
  }
}

export interface TcpEdgeOptions {
  readonly maxBodySize: number;
  readonly sendBufferLimit: number;
  /** Merges the packets a connection gets within one task into one write; null writes each at once. */
  readonly coalescer: Coalescer | null;
}

/** TCP clients: bytes in through the stream decoder, packets out to the connection actor. */
export class TcpEdge {
  readonly server: net.Server;

  constructor(
    private readonly options: TcpEdgeOptions,
    private readonly opener: ConnectionOpener,
    private readonly guard: AcceptGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return this.guard.listen('tcp', this.server, port, host);
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress;
    this.guard.opened(address);
    socket.once('close', () => this.guard.closed(address));
    if (!this.opener.accepting) {
      socket.destroy();
      return;
    }
    this.metrics.inc('im_connections_opened_total', { transport: 'tcp' });
    const client = new TcpClient(this.opener.nextId(), socket, this.options.sendBufferLimit, this.options.coalescer);
    const ref = this.opener.open(client);
    client.ref = ref;
    const decoder = new StreamDecoder(this.options.maxBodySize, {
      packet: (packet) => ref.tell({ type: 'packet', packet }),
      error: (error) => {
        socket.pause();
        ref.tell({ type: 'protocolError', error });
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    let socketError: Error | undefined;
    socket.on('error', (err) => {
      socketError = err;
      this.log.debug('tcp socket error', { component: 'tcp-edge', conn: client.id, error: err.message });
    });
    socket.once('close', () => {
      if (client.closed) return;
      client.closed = true;
      ref.tell(socketError
        ? { type: 'socketClosed', reason: 'socket_error', error: new ImError('SOCKET_ERROR', socketError.message) }
        : { type: 'socketClosed', reason: 'client_closed' });
    });
  }
}

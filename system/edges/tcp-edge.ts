import net from 'node:net';
import type { ReconnectHint } from '../codec/disconnect-body';
import type { Outbound } from '../codec/outbound';
import { ownedPacket } from '../codec/owned-packet';
import { StreamDecoder } from '../codec/stream-decoder';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import { ClientAdmission, PendingRefusals, Refusal } from './client-admission';
import { plainStreamServer, StreamServer, watchHandshakes } from './client-servers';
import type { Coalescer, PacketSequence } from './coalescer';
import type { ConnectionOpener } from './connection-opener';
import { ClientLimits, disconnectPacket, SocketClient, writeCounters, WriteCounters } from './socket-client';

class TcpClient extends SocketClient {
  constructor(
    readonly transport: 'tcp' | 'tls', id: number, private readonly tcp: net.Socket, limits: ClientLimits, coalescer: Coalescer | null,
    counters: WriteCounters,
  ) {
    super(id, tcp, `${tcp.remoteAddress ?? '?'}:${tcp.remotePort ?? 0}`, '', limits, coalescer, counters);
  }

  protected get open(): boolean {
    return true;
  }

  protected bytesOf(out: Outbound): Buffer {
    return out.tcp;
  }

  protected bytesOfSequence(seq: PacketSequence): Buffer {
    return seq.tcpBytes();
  }

  protected end(error?: ImError, reconnect?: ReconnectHint): void {
    if (!error) {
      this.tcp.end();
      return;
    }
    const packet = disconnectPacket(error, reconnect);
    this.tcp.end(packet);
    this.counted(1, packet.length);
  }

  protected kill(): void {
    this.tcp.destroy();
  }

  protected pauseReading(): void {
    this.tcp.pause();
  }

  protected resumeReading(): void {
    this.tcp.resume();
  }
}

export interface TcpEdgeOptions {
  readonly maxBodySize: number;
  readonly limits: ClientLimits;
  /** Merges the packets a connection gets within one task into one write; null writes each at once. */
  readonly coalescer: Coalescer | null;
  /** Plain tcp (the default) or the same protocol inside TLS. */
  readonly server?: StreamServer;
}

/**
 * TCP clients: bytes in through the stream decoder, packets out to the
 * connection actor. The same edge serves plain tcp and TLS: a socket is
 * admitted or refused on its TCP connection (ClientAdmission), counted
 * until it closes, and handed to a connection actor once it is ready for the
 * protocol (for TLS, once the handshake is done; the server's
 * handshakeTimeout drops a client that never finishes it). A refused one
 * gets op 6 with the code once it is ready, and is closed.
 */
export class TcpEdge {
  readonly server: net.Server;
  readonly transport: 'tcp' | 'tls';
  private readonly counters: WriteCounters;
  /** Refusals decided on the TCP connection, carried out after the TLS handshake. */
  private readonly pending = new PendingRefusals();

  constructor(
    private readonly options: TcpEdgeOptions,
    private readonly opener: ConnectionOpener,
    private readonly admission: ClientAdmission,
    private readonly guard: AcceptGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const made = options.server ?? plainStreamServer();
    this.transport = made.transport;
    this.counters = writeCounters(metrics, this.transport);
    this.server = made.server;
    // Admitted first, before the accept guard's own 'connection' listener (added by listen) looks at the descriptor.
    const plain = made.ready === 'connection';
    this.server.on('connection', (socket: net.Socket) => {
      const refusal = this.admission.admitSocket(socket, this.transport);
      if (!refusal) {
        if (plain) this.accept(socket);
      } else if (plain) {
        this.refuse(socket, refusal);
      } else {
        this.pending.hold(socket, refusal);
      }
    });
    if (!plain) {
      this.server.on(made.ready, (socket: net.Socket) => {
        const refusal = this.pending.of(socket);
        if (refusal) this.refuse(socket, refusal);
        else this.accept(socket);
      });
    }
    if (this.transport === 'tls') watchHandshakes(this.server, 'tls', metrics, log);
  }

  listen(port: number, host: string): Promise<number> {
    return this.guard.listen(this.transport, this.server, port, host);
  }

  /** Op 6 with the refusal's code (and when to come back, if known), then close; the descriptor goes within the close linger. */
  private refuse(socket: net.Socket, refusal: Refusal): void {
    const hint = refusal.retryAfterMs === undefined ? undefined : { afterMs: refusal.retryAfterMs };
    this.admission.linger.close(socket, disconnectPacket(refusal.error, hint), { drainInput: true });
  }

  private accept(socket: net.Socket): void {
    if (!this.opener.accepting) {
      // Admitted before the drain began, ready (TLS handshake done) after.
      this.admission.refused('draining', this.transport, socket.remoteAddress);
      this.refuse(socket, this.admission.refusal('draining'));
      return;
    }
    this.metrics.inc('im_connections_opened_total', { transport: this.transport });
    const client = new TcpClient(this.transport, this.opener.nextId(), socket, this.options.limits, this.options.coalescer, this.counters);
    const ref = this.opener.open(client);
    client.ref = ref;
    const decoder = new StreamDecoder(this.options.maxBodySize, {
      packet: (packet) => {
        client.received();
        ref.tell({ type: 'packet', packet: ownedPacket(packet) });
      },
      error: (error) => {
        socket.pause();
        ref.tell({ type: 'protocolError', error });
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    let socketError: Error | undefined;
    socket.on('error', (err) => {
      socketError = err;
      this.log.debug('tcp socket error', { component: 'tcp-edge', transport: this.transport, conn: client.id, error: err.message });
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

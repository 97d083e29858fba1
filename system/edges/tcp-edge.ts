import net from 'node:net';
import type { ReconnectHint } from '../codec/disconnect-body';
import type { Outbound } from '../codec/outbound';
import { StreamDecoder } from '../codec/stream-decoder';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import type { Coalescer, PacketSequence } from './coalescer';
import type { ConnectionOpener } from './connection-opener';
import { disconnectPacket, SocketClient, writeCounters, WriteCounters } from './socket-client';

class TcpClient extends SocketClient {
  readonly transport = 'tcp' as const;

  constructor(id: number, private readonly tcp: net.Socket, sendLimit: number, coalescer: Coalescer | null, counters: WriteCounters) {
    super(id, tcp, `${tcp.remoteAddress ?? '?'}:${tcp.remotePort ?? 0}`, '', sendLimit, coalescer, counters);
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
  private readonly counters: WriteCounters;

  constructor(
    private readonly options: TcpEdgeOptions,
    private readonly opener: ConnectionOpener,
    private readonly guard: AcceptGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.counters = writeCounters(metrics, 'tcp');
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
    const client = new TcpClient(this.opener.nextId(), socket, this.options.sendBufferLimit, this.options.coalescer, this.counters);
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

/**
 * A goim tcp client that joins a room and then stops reading its socket
 * (net.Socket.pause: the kernel's receive buffer, then the node's send
 * buffer, then the node's queue for it fill). Asked later, it reads
 * everything the node still sends it, up to the end of the stream, and says
 * what the last op 6 carried.
 */
import net from 'node:net';
import { DisconnectBody, parseDisconnectBody } from '../../system/codec/disconnect-body';
import { encodePacket, Op } from '../../system/codec/packet';
import { StreamDecoder } from '../../system/codec/stream-decoder';

export interface StalledReading {
  /** Bytes read once it resumed (what the kernel and the node held for it). */
  readonly bytes: number;
  readonly packets: number;
  /** The op 6 it was closed with, or null when none came before the stream ended. */
  readonly disconnect: DisconnectBody | null;
  /** How the stream ended: the node closed it, an error, or it was still open at the timeout. */
  readonly ended: 'closed' | 'error' | 'timeout';
}

/** Packets up to this size are decoded (broadcast and prefill bodies, op-9 batches of them). */
const MAX_BODY = 16 * 1024 * 1024;

export class StalledClient {
  private constructor(private readonly socket: net.Socket) {}

  /** Connects, authenticates with `key` into `room`, and stops reading once op 8 is in. */
  static connect(port: number, key: string, room: string): Promise<StalledClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(encodePacket(1, Op.Auth, 1, JSON.stringify({ mid: 2, key, room_id: room, accepts: [1000] })));
      });
      socket.once('data', () => {
        socket.pause();
        socket.removeListener('error', reject);
        // Errors after this (a reset at the close) are what resume() reports.
        socket.on('error', () => undefined);
        resolve(new StalledClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Reads from here on, until the node ends the stream or `timeoutMs` pass. */
  resume(timeoutMs: number): Promise<StalledReading> {
    const socket = this.socket;
    let bytes = 0;
    let packets = 0;
    let disconnect: DisconnectBody | null = null;
    const decoder = new StreamDecoder(MAX_BODY, {
      packet: (p) => {
        packets++;
        if (p.op === Op.DisconnectReply) disconnect = parseDisconnectBody(p.body);
      },
      error: () => undefined,
    });
    return new Promise((resolve) => {
      const finish = (ended: StalledReading['ended']): void => {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        resolve({ bytes, packets, disconnect, ended });
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        decoder.push(chunk);
      });
      socket.once('end', () => finish('closed'));
      socket.once('error', () => finish('error'));
      socket.resume();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

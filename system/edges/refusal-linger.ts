import type { Duplex } from 'node:stream';
import type { Metrics } from '../metrics';
import { CLOSE_LINGER_MS } from './socket-client';

/**
 * Sends the last bytes, then makes sure the descriptor goes even if the peer
 * never closes its side. A peer that reset meanwhile fails the write: that
 * error is its own (Node stops listening for a socket's errors once it
 * emits 'upgrade'; unheard, one would end the process).
 */
export function endAndLinger(socket: Duplex, bytes: string | Buffer): void {
  socket.on('error', () => undefined);
  socket.end(bytes);
  setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
}

/**
 * Sockets being refused: their answer (an HTTP status, or op 6) written,
 * each waits up to the close linger for its client to read it and close.
 * A refused socket is counted by no connection limit, so the waiting ones
 * are bounded here: past `max` at once, a refused socket is destroyed
 * unanswered (counted in im_refusals_unanswered_total), and a flood of
 * connections over a limit cannot hold descriptors without end.
 */
export class RefusalLinger {
  private waiting = 0;

  constructor(private readonly max: number, private readonly metrics: Metrics) {}

  get lingering(): number {
    return this.waiting;
  }

  /** Writes `answer`, then closes the socket when its client does, or at the linger's end. */
  close(socket: Duplex, answer: string | Buffer, options: { readonly drainInput: boolean }): void {
    if (this.waiting >= this.max) {
      socket.on('error', () => undefined);
      this.metrics.inc('im_refusals_unanswered_total');
      socket.destroy();
      return;
    }
    this.waiting++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.waiting--;
    };
    socket.once('close', release);
    endAndLinger(socket, answer);
    // Whatever the client sends meanwhile is read and dropped, so its close is seen.
    if (options.drainInput) socket.resume();
  }
}

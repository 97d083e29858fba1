import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/** The process's soft open-file limit, from /proc (Node has no getrlimit); undefined where unknown. */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match || match[1] === 'unlimited') return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Sockets allowed when the config says 0: the open-file limit less a reserve for logs, gRPC and listeners. */
export function derivedMaxConnections(limit = openFileLimit()): number {
  if (limit === undefined) return 0;
  return Math.max(1, limit - Math.min(256, Math.floor(limit / 4)));
}

interface Listener {
  readonly name: string;
  readonly server: Server;
  /** The bound port once listening: re-listening after a pause must take the same one, even when 0 was asked for. */
  port: number;
  readonly host: string;
  listening: boolean;
}

export type PauseCause = 'emfile' | 'limit';

/**
 * Keeps the node alive when sockets run out. Accepting pauses (listeners
 * close, so clients are refused instead of accepted-and-dropped) when the
 * process runs out of file descriptors or the node reaches its connection
 * limit, and resumes when connections close or, after EMFILE, on a retry
 * timer. Each pause is logged once and counted.
 */
export class AcceptGuard {
  private readonly listeners: Listener[] = [];
  private open = 0;
  private paused: { cause: PauseCause; openAtPause: number; since: number } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly maxConnections: number,
    private readonly retryMs: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  get openConnections(): number {
    return this.open;
  }

  get isPaused(): boolean {
    return this.paused !== null;
  }

  /** Starts listening, and watches the server for accept failures from then on. Resolves with the bound port. */
  async listen(name: string, server: Server, port: number, host: string): Promise<number> {
    const listener: Listener = { name, server, port, host, listening: false };
    server.on('error', (err: NodeJS.ErrnoException) => this.onServerError(listener, err));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    listener.listening = true;
    const address = server.address();
    listener.port = typeof address === 'object' && address ? address.port : port;
    this.listeners.push(listener);
    return listener.port;
  }

  /** Every accepted socket, once. */
  opened(): void {
    this.open++;
    this.metrics.setGauge('im_connections_open', undefined, this.open);
    if (this.maxConnections > 0 && this.open >= this.maxConnections && !this.paused) this.pause('limit');
  }

  /** Every accepted socket's close, once. */
  closed(): void {
    this.open--;
    this.metrics.setGauge('im_connections_open', undefined, this.open);
    if (this.paused && this.canResume()) this.resume();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const l of this.listeners) {
      if (l.listening) l.server.close();
      l.listening = false;
    }
  }

  private canResume(): boolean {
    const paused = this.paused;
    if (!paused) return false;
    if (paused.cause === 'limit') return this.open < Math.floor(this.maxConnections * 0.95) || this.open < this.maxConnections - 64;
    // After EMFILE, wait for a few sockets to close so one accept does not exhaust them again.
    return this.open <= paused.openAtPause - Math.max(1, Math.floor(paused.openAtPause / 100));
  }

  private onServerError(listener: Listener, err: NodeJS.ErrnoException): void {
    if (this.stopped || !listener.listening) return;
    if (err.syscall === 'listen' || err.syscall === 'bind') {
      // A re-listen after a pause failed: stay paused for this listener and try again later.
      listener.listening = false;
      this.metrics.inc('im_accept_errors_total', { code: err.code ?? 'unknown' });
      this.log.warn('re-listen failed', { component: 'accept-guard', listener: listener.name, errno: err.code, error: err.message });
      if (!this.paused) this.paused = { cause: 'emfile', openAtPause: this.open, since: Date.now() };
      this.scheduleRetry();
      return;
    }
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      this.metrics.inc('im_accept_errors_total', { code: err.code });
      if (!this.paused) this.pause('emfile');
      return;
    }
    this.metrics.inc('im_accept_errors_total', { code: err.code ?? 'unknown' });
    this.log.error('listener error', { component: 'accept-guard', listener: listener.name, error: err.message, errno: err.code });
  }

  private pause(cause: PauseCause): void {
    this.paused = { cause, openAtPause: this.open, since: Date.now() };
    const error = new ImError(cause === 'emfile' ? 'ACCEPT_EMFILE' : 'ACCEPT_LIMIT');
    this.metrics.inc('im_accept_paused_total', { cause });
    this.log.warn('accepting paused', {
      component: 'accept-guard', code: error.code, cause, openConnections: this.open, maxConnections: this.maxConnections,
    });
    for (const l of this.listeners) {
      if (!l.listening) continue;
      l.listening = false;
      l.server.close();
    }
    if (cause === 'emfile') this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.paused && !this.stopped) this.resume();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private resume(): void {
    const paused = this.paused;
    if (!paused || this.stopped) return;
    this.paused = null;
    for (const l of this.listeners) {
      if (l.listening) continue;
      // A failing listen reports through the server's 'error' event, which pauses again.
      l.listening = true;
      l.server.listen(l.port, l.host);
    }
    this.log.info('accepting resumed', {
      component: 'accept-guard', cause: paused.cause, pausedMs: Date.now() - paused.since, openConnections: this.open,
    });
  }
}

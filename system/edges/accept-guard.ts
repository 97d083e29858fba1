import { readdirSync, readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
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

/** Descriptors kept free for gRPC, logic calls and re-listening: accepting pauses when fewer are left. */
export function descriptorReserve(limit: number | undefined): number {
  if (limit === undefined) return 0;
  return Math.min(64, Math.max(8, Math.floor(limit / 16)));
}

/** Descriptors this process has open, from /proc; the fd-count probe itself is not counted. */
function openDescriptors(limit: number): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch (err) {
    // No descriptor left even to look: as full as it gets.
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? limit : undefined;
  }
}

/** The descriptor number of an accepted socket (Unix), or undefined. */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

interface Listener {
  readonly name: string;
  readonly server: Server;
  /** The bound port once listening: re-listening after a pause must take the same one, even when 0 was asked for. */
  port: number;
  readonly host: string;
  listening: boolean;
}

export type PauseCause = 'emfile';

/**
 * Keeps the node alive when descriptors run out. Accepting pauses (listeners
 * close, so clients are refused instead of accepted-and-dropped) when the
 * process runs out of file descriptors, and resumes on a retry timer once
 * enough are free again. Each pause is logged once and counted. The node's
 * own limits (limits.maxConnections and the rest) refuse sockets one by one
 * with the listeners open: see ClientAdmission.
 *
 * Running out of descriptors has to be seen coming: on EMFILE libuv accepts
 * and closes the pending connections itself (its "EMFILE trick") and Node
 * emits nothing, so a listener left open silently drops every new client.
 * Linux hands out the lowest free descriptor, so an accepted socket whose
 * number is within `reserve` of the open-file limit means at most `reserve`
 * descriptors are left: accepting pauses there (cause 'emfile'). The
 * listener 'error' with syscall 'accept' (when libuv's trick is unavailable)
 * pauses too. After such a pause, the retry timer counts open descriptors
 * (/proc/self/fd) and resumes once enough are free again.
 */
export class AcceptGuard {
  private readonly listeners: Listener[] = [];
  private paused: { cause: PauseCause; openAtPause: number; since: number } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly fdReserve: number;

  constructor(
    private readonly retryMs: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** Client sockets open, for the log lines. */
    private readonly openConnections: () => number,
    /** The open-file limit; undefined turns the descriptor check off. */
    private readonly fdLimit: number | undefined = openFileLimit(),
  ) {
    this.fdReserve = descriptorReserve(fdLimit);
  }

  get isPaused(): boolean {
    return this.paused !== null;
  }

  /** Starts listening, and watches the server for accept failures from then on. Resolves with the bound port. */
  async listen(name: string, server: Server, port: number, host: string): Promise<number> {
    const listener: Listener = { name, server, port, host, listening: false };
    server.on('error', (err: NodeJS.ErrnoException) => this.onServerError(listener, err));
    // After the edge's own 'connection' listener (registered at construction), which admitted or refused the socket.
    server.on('connection', (socket: Socket) => this.checkDescriptors(socket));
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
    // After running out of descriptors, wait until well over the reserve is free (the listeners take some back).
    const free = this.freeDescriptors();
    return free === undefined || free >= 2 * this.fdReserve + this.listeners.length;
  }

  /** Free descriptors, where the limit is known and /proc can be read. */
  private freeDescriptors(): number | undefined {
    if (this.fdLimit === undefined) return undefined;
    const used = openDescriptors(this.fdLimit);
    return used === undefined ? undefined : this.fdLimit - used;
  }

  /** Pauses before the process runs out: see the class comment. */
  private checkDescriptors(socket: Socket): void {
    if (this.paused || this.stopped || this.fdLimit === undefined) return;
    const fd = socketFd(socket);
    if (fd === undefined || fd < this.fdLimit - this.fdReserve) return;
    this.pause('emfile', { fd, fdLimit: this.fdLimit, fdReserve: this.fdReserve });
  }

  private onServerError(listener: Listener, err: NodeJS.ErrnoException): void {
    if (this.stopped || !listener.listening) return;
    if (err.syscall === 'listen' || err.syscall === 'bind') {
      // A re-listen after a pause failed: stay paused for this listener and try again later.
      listener.listening = false;
      this.metrics.inc('im_accept_errors_total', { code: err.code ?? 'unknown' });
      this.log.warn('re-listen failed', { component: 'accept-guard', listener: listener.name, errno: err.code, error: err.message });
      if (!this.paused) this.paused = { cause: 'emfile', openAtPause: this.openConnections(), since: Date.now() };
      this.scheduleRetry();
      return;
    }
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      this.metrics.inc('im_accept_errors_total', { code: err.code });
      if (!this.paused) this.pause('emfile', { errno: err.code, syscall: err.syscall });
      return;
    }
    this.metrics.inc('im_accept_errors_total', { code: err.code ?? 'unknown' });
    this.log.error('listener error', { component: 'accept-guard', listener: listener.name, error: err.message, errno: err.code });
  }

  private pause(cause: PauseCause, detail: Record<string, unknown> = {}): void {
    this.paused = { cause, openAtPause: this.openConnections(), since: Date.now() };
    const error = new ImError('ACCEPT_EMFILE');
    for (const l of this.listeners) {
      if (!l.listening) continue;
      l.listening = false;
      l.server.close();
    }
    // Logged once the listeners are closed: whoever reads the line finds new connections refused.
    this.metrics.inc('im_accept_paused_total', { cause });
    this.log.warn('accepting paused', {
      component: 'accept-guard', code: error.code, cause, openConnections: this.openConnections(), ...detail,
    });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.paused || this.stopped) return;
      if (this.canResume()) this.resume();
      else this.scheduleRetry();
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
      component: 'accept-guard', cause: paused.cause, pausedMs: Date.now() - paused.since, openConnections: this.openConnections(),
      freeDescriptors: this.freeDescriptors(),
    });
  }
}

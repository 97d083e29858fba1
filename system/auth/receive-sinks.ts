/**
 * Where a logic node sends upstream client messages (op 4, via Receive):
 * a log line, or an HTTP POST to the application.
 */
import type { ReceiveSink } from '../../actors/logic-ports';
import type { Log, ProtoMessage } from '../../actors/ports';
import type { LogicConfig } from '../../config/logic-config';
import { ImError } from '../errors';

/** Deadline of one POST when the caller does not say (there is no config option for it yet). */
export const DEFAULT_RECEIVE_TIMEOUT_MS = 3000;
/** POSTs in flight at most; one more is refused at once (no queue). */
export const DEFAULT_RECEIVE_MAX_IN_FLIGHT = 64;

/** Logs one info line per message: who, which op, how big; never the body. */
export class LogReceiveSink implements ReceiveSink {
  readonly kind = 'log';

  constructor(private readonly log: Log) {}

  async deliver(mid: string, proto: ProtoMessage): Promise<void> {
    this.log.info('upstream message', { component: 'receive', mid, op: proto.op, seq: proto.seq, bytes: proto.body.length });
  }

  async close(): Promise<void> {}
}

export interface HttpReceiveSinkOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly logger: Log;
  readonly maxInFlight?: number;
}

/** The JSON each POST carries; mid is a string so int64 mids stay exact. */
export interface ReceivePostBody {
  readonly mid: string;
  readonly ver: number;
  readonly op: number;
  readonly seq: number;
  /** base64 of the packet body. */
  readonly body: string;
}

/**
 * POSTs each message as JSON. Any 2xx is success; anything else (including a
 * redirect, which is not followed), a network error or the deadline rejects
 * with E_RECEIVE_SINK. At most `maxInFlight` POSTs run at once; beyond that
 * deliver rejects immediately rather than queueing, so a slow application
 * pushes back on clients instead of growing memory.
 */
export class HttpReceiveSink implements ReceiveSink {
  readonly kind = 'http';
  private readonly url: URL;
  private readonly maxInFlight: number;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: HttpReceiveSinkOptions) {
    try {
      this.url = new URL(options.url);
    } catch {
      throw new ImError('CONFIG_INVALID', `receive.url is not a URL: ${options.url}`);
    }
    this.maxInFlight = options.maxInFlight ?? DEFAULT_RECEIVE_MAX_IN_FLIGHT;
  }

  deliver(mid: string, proto: ProtoMessage): Promise<void> {
    if (this.closed) return Promise.reject(new ImError('RECEIVE_SINK', 'sink is closed'));
    if (this.inFlight.size >= this.maxInFlight) {
      return Promise.reject(new ImError('RECEIVE_SINK', `too many in flight (${this.maxInFlight})`));
    }
    const post: Promise<void> = this.post(mid, proto).finally(() => this.inFlight.delete(post));
    this.inFlight.add(post);
    return post;
  }

  /** Refuses new messages and waits for the POSTs in flight (each bounded by the timeout). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private async post(mid: string, proto: ProtoMessage): Promise<void> {
    const body: ReceivePostBody = { mid, ver: proto.ver, op: proto.op, seq: proto.seq, body: proto.body.toString('base64') };
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.arrayBuffer(); // drain so the connection can be reused
      if (res.status < 200 || res.status > 299) throw new ImError('RECEIVE_SINK', `${this.where()} answered HTTP ${res.status}`);
    } catch (err) {
      const failure = err instanceof ImError ? err : new ImError('RECEIVE_SINK', this.describe(err));
      this.options.logger.debug('receive sink failed', { component: 'receive', mid, op: proto.op, code: failure.code, reason: failure.message });
      throw failure;
    }
  }

  private describe(err: unknown): string {
    if (err instanceof Error && err.name === 'TimeoutError') return `${this.where()} did not answer within ${this.options.timeoutMs} ms`;
    const cause = err instanceof Error ? err.cause : undefined;
    const code = cause instanceof Error && 'code' in cause ? String(cause.code) : '';
    const message = err instanceof Error ? err.message : String(err);
    return `${this.where()} request failed: ${code || message}`;
  }

  /** The target without credentials or query string, for error messages and logs. */
  private where(): string {
    return `POST ${this.url.origin}${this.url.pathname}`;
  }
}

export function createReceiveSink(
  config: LogicConfig['receive'],
  log: Log,
  options: { timeoutMs?: number; maxInFlight?: number } = {},
): ReceiveSink {
  if (config.sink === 'log') return new LogReceiveSink(log);
  return new HttpReceiveSink({
    url: config.url,
    timeoutMs: options.timeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS,
    logger: log,
    maxInFlight: options.maxInFlight,
  });
}

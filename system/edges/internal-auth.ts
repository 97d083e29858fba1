/**
 * The shared-token check of a node's internal surfaces (cloud gRPC, logic
 * gRPC and HTTP push API): with security.token set, a call passes only when
 * it carries `authorization: Bearer <token>` (gRPC metadata or the HTTP
 * header). grpc.health.v1 stays open: Consul's gRPC check sends no token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ImError } from '../errors';
import { LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

export type InternalSurface = 'grpc' | 'http';

/** One warn line per this many milliseconds at most, however many calls are refused (the counter has them all). */
const WARN_EVERY_MS = 10_000;

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The value a node sends as `authorization` on its calls to the other side. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export class InternalAuth {
  private readonly expected: Buffer | null;
  private readonly logs: LogThrottle;

  constructor(token: string, private readonly metrics: Metrics, private readonly log: Logger, now: () => number = Date.now) {
    this.logs = new LogThrottle(WARN_EVERY_MS, now);
    this.expected = token === '' ? null : digest(token);
  }

  get required(): boolean {
    return this.expected !== null;
  }

  /**
   * Whether `authorization` carries the token (always, when none is set).
   * A refusal is counted, and logged at warn at most once per WARN_EVERY_MS.
   */
  admits(authorization: string | undefined, surface: InternalSurface, what: string, peer: string): boolean {
    if (this.expected === null) return true;
    const match = BEARER.exec(authorization ?? '');
    // Digests of equal length, compared in constant time: neither the token's length nor its prefix leaks.
    if (match !== null && timingSafeEqual(digest(match[1]), this.expected)) return true;
    this.refused(surface, what, peer, match === null ? 'missing' : 'wrong');
    return false;
  }

  /**
   * A server interceptor refusing every call of `services` (fully qualified
   * names) that lacks the token, with UNAUTHENTICATED E_UNAUTHENTICATED,
   * before its handler runs; other services (health) pass untouched.
   */
  grpcInterceptor(services: readonly string[]): grpc.ServerInterceptor {
    const guarded = new Set(services);
    const refusal = new ImError('UNAUTHENTICATED');
    const details = `${refusal.code}: ${refusal.message}`;
    return (method, call) => {
      const service = method.path.split('/')[1] ?? '';
      if (this.expected === null || !guarded.has(service)) return new grpc.ServerInterceptingCall(call);
      const listener = new grpc.ServerListenerBuilder()
        .withOnReceiveMetadata((metadata, next) => {
          const values = metadata.get('authorization');
          const presented = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
          // Not passing the metadata on keeps the handler from ever running.
          if (this.admits(presented, 'grpc', method.path, call.getPeer())) next(metadata);
          else call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details, metadata: new grpc.Metadata() });
        })
        .build();
      return new grpc.ServerInterceptingCall(call, { start: (next) => next(listener) });
    };
  }

  private refused(surface: InternalSurface, what: string, peer: string, token: 'missing' | 'wrong'): void {
    this.metrics.inc('im_internal_auth_failures_total', { surface });
    const left = this.logs.admit('refused');
    if (left === null) return;
    this.log.warn('internal call refused: missing or wrong security.token', {
      component: 'internal-auth', code: 'E_UNAUTHENTICATED', surface, call: what, peer, token, refusedSinceLastLine: left,
    });
  }
}

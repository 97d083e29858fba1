/**
 * The shared-token check of a node's internal surfaces (cloud gRPC, logic
 * gRPC and HTTP push API): with security.token set, a call passes only when
 * it carries `authorization: Bearer <token>` (gRPC metadata or the HTTP
 * header). grpc.health.v1 stays open: Consul's gRPC check sends no token.
 */
import * as grpc from '@grpc/grpc-js';
import { BearerToken } from '../bearer-token';
import { ImError } from '../errors';
import { LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

export type InternalSurface = 'grpc' | 'http';

/** One warn line per this many milliseconds at most, however many calls are refused (the counter has them all). */
const WARN_EVERY_MS = 10_000;

/** The value a node sends as `authorization` on its calls to the other side. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export class InternalAuth {
  private readonly token: BearerToken;
  private readonly logs: LogThrottle;

  constructor(token: string, private readonly metrics: Metrics, private readonly log: Logger, now: () => number = Date.now) {
    this.logs = new LogThrottle(WARN_EVERY_MS, now);
    this.token = new BearerToken(token);
  }

  get required(): boolean {
    return this.token.required;
  }

  /**
   * Whether `authorization` carries the token (always, when none is set).
   * A refusal is counted, and logged at warn at most once per WARN_EVERY_MS.
   */
  admits(authorization: string | undefined, surface: InternalSurface, what: string, peer: string): boolean {
    const verdict = this.token.check(authorization);
    if (verdict === 'ok') return true;
    this.refused(surface, what, peer, verdict);
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
      if (!this.token.required || !guarded.has(service)) return new grpc.ServerInterceptingCall(call);
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

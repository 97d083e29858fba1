/**
 * This node's side of the internal surfaces' token: every gRPC call to the
 * other side carries `authorization: Bearer <security.token>`, and a peer
 * that refuses it (E_UNAUTHENTICATED: the nodes hold different tokens) is
 * made visible, counted per call and logged at error at most once per
 * ERROR_EVERY_MS.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCodes } from './errors';
import { LogThrottle } from './log-throttle';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

const ERROR_EVERY_MS = 10_000;
const REFUSAL = `${ErrorCodes.UNAUTHENTICATED.code}:`;

export class PeerAuth {
  /** Client interceptors adding the token to each call's metadata (none without a token). */
  readonly interceptors: grpc.Interceptor[];
  private readonly logs: LogThrottle;

  constructor(token: string, private readonly metrics: Metrics | null, private readonly log: Logger | null, now: () => number = Date.now) {
    this.logs = new LogThrottle(ERROR_EVERY_MS, now);
    const value = `Bearer ${token}`;
    const addToken: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
    this.interceptors = token === '' ? [] : [addToken];
  }

  /**
   * Whether a failed call was refused for this node's token (not, say, a client's token logic refused:
   * those carry their own codes); such a refusal is counted and logged.
   */
  refused(err: { readonly code: number; readonly details?: string }, rpc: string, address: string): boolean {
    if (err.code !== grpc.status.UNAUTHENTICATED || !(err.details ?? '').startsWith(REFUSAL)) return false;
    this.metrics?.inc('im_peer_auth_refused_total', { rpc });
    const left = this.logs.admit('refused');
    if (left === null) return true;
    this.log?.error('a peer node refused this node\'s token: security.token differs between the nodes (or this node has none)', {
      component: 'peer-auth', code: ErrorCodes.UNAUTHENTICATED.code, peer: address, rpc, refusedSinceLastLine: left,
    });
    return true;
  }
}

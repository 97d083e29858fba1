/**
 * Keys from a JSON Web Key Set URL (auth.jwksUrl), through jose's remote
 * key set, telling apart what is the token's fault from what is the key
 * set's: a token naming a kid the set lacks is refused (TOKEN_SIGNATURE);
 * a set that cannot be fetched fails the Connect as JWKS_UNAVAILABLE,
 * which the gRPC edge answers UNAVAILABLE so the client is told to retry,
 * not that its token is bad.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { ImError } from '../errors';
import { LogThrottle } from '../log-throttle';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/** After a failed fetch, Connects that need one fail at once for this long: a key set that is down is asked about once a second at most, however many clients arrive. */
export const JWKS_FAILURE_HOLD_MS = 1000;
/** Repeated fetch failures are logged once per this interval (with how many were not). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** Why a fetch failed (the `cause` of im_logic_jwks_fetch_failures_total). */
export type JwksFailureCause = 'timeout' | 'fetch' | 'invalid';

export interface JwksKeysOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly cooldownMs: number;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  readonly now?: () => number;
}

/** A key resolver for jwtVerify backed by the URL's key set. */
export function jwksKeys(options: JwksKeysOptions): JWTVerifyGetKey {
  const now = options.now ?? Date.now;
  const remote = createRemoteJWKSet(new URL(options.url), { timeoutDuration: options.timeoutMs, cooldownDuration: options.cooldownMs });
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure = '';
  const logs = new LogThrottle(FAILURE_LOG_INTERVAL_MS, now);
  // While fetches are held back, a fresh set already fetched still answers (without fetching for an unknown kid).
  let held: { jwks: JSONWebKeySet; keys: JWTVerifyGetKey } | null = null;

  const failed = (err: unknown): ImError => {
    const cause: JwksFailureCause = err instanceof joseErrors.JWKSTimeout ? 'timeout' : err instanceof joseErrors.JWKSInvalid ? 'invalid' : 'fetch';
    const at = now();
    failedAt = at;
    lastFailure = `${cause}: ${err instanceof Error ? err.message : String(err)}`;
    options.metrics?.inc('im_logic_jwks_fetch_failures_total', { cause });
    const left = logs.admit('fetch');
    if (left !== null) {
      options.log?.warn('JWKS fetch failed; Connects that need it fail as unavailable', {
        component: 'auth', code: 'E_JWKS_UNAVAILABLE', url: options.url, cause, error: lastFailure, notLogged: left,
      });
    }
    return new ImError('JWKS_UNAVAILABLE', lastFailure);
  };

  return async (header, token) => {
    if (now() - failedAt < JWKS_FAILURE_HOLD_MS) {
      const jwks = remote.fresh ? remote.jwks() : undefined;
      if (!jwks) throw new ImError('JWKS_UNAVAILABLE', `last fetch failed: ${lastFailure}`);
      if (held?.jwks !== jwks) held = { jwks, keys: createLocalJWKSet(jwks) };
      try {
        return await held.keys(header, token);
      } catch (err) {
        // The kid may be in the set the failed fetch would have brought.
        if (err instanceof joseErrors.JWKSNoMatchingKey) throw new ImError('JWKS_UNAVAILABLE', `no key for this kid, and the last fetch failed: ${lastFailure}`);
        throw err;
      }
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (isTokenFault(err)) throw err;
      throw failed(err);
    }
  };
}

/** Failures of choosing a key for this token from a set that was fetched: the token's, not the set's. */
function isTokenFault(err: unknown): boolean {
  return err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported;
}

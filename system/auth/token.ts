/**
 * The logic node's token check (wire.md §2). A cloud node forwards the op-7
 * body untouched; this turns it into the claims Connect answers with.
 *
 * - Classic mode (no secret, key file or JWKS URL): the token is goim's JSON
 *   `{"mid":123, "key":"", "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}`,
 *   unsigned: any client can claim any mid and key.
 * - JWT modes: the token is a compact JWS whose claims carry the same fields,
 *   signed with the secret (HS256/384/512), the public key (RS256 for RSA,
 *   ES256 for P-256) or a key of the JWKS URL (RS256, ES256). Each mode takes
 *   only its own algorithms, so `alg: none` and a token signed with another
 *   kind of key than the node's (algorithm confusion) are refused. `exp` is
 *   required unless auth.jwtAllowNoExp.
 */
import { errors as joseErrors, jwtVerify, JWTVerifyGetKey, KeyLike } from 'jose';
import type { AuthConfig } from '../../config/auth-options';
import { ImError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { jwksKeys } from './jwks-keys';

export interface TokenClaims {
  mid: string;
  key: string;
  roomId: string;
  platform: string;
  accepts: number[];
}

/** How tokens are checked: classic JSON, or a JWT checked with a secret, a public key or a JWKS URL. */
export type TokenMode = 'classic' | 'secret' | 'public-key' | 'jwks';

export interface TokenVerifier {
  readonly mode: TokenMode;
  /**
   * Rejects with ImError TOKEN_INVALID, TOKEN_SIGNATURE, TOKEN_ALGORITHM, TOKEN_EXPIRED or
   * TOKEN_NO_EXP (the token's fault), or JWKS_UNAVAILABLE (the key set could not be fetched).
   */
  verify(token: Buffer): Promise<TokenClaims>;
}

export type TokenVerifierOptions = Pick<AuthConfig, 'jwtSecret'> & Partial<Omit<AuthConfig, 'jwtSecret'>> & {
  readonly metrics?: Metrics;
  readonly log?: Logger;
};

/** Longest token accepted in either mode (goim's client body limit). */
export const MAX_TOKEN_BYTES = 4096;

const SECRET_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

interface JwtCheck {
  readonly algorithms: string[];
  readonly key: KeyLike | Uint8Array | JWTVerifyGetKey;
  readonly requireExp: boolean;
  readonly clockTolerance: number;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const base = { requireExp: !(options.jwtAllowNoExp ?? false), clockTolerance: options.jwtClockToleranceSeconds ?? 5 };
  const jwt = (mode: TokenMode, check: JwtCheck): TokenVerifier => ({ mode, verify: async (token) => claimsFromJwt(checkedText(token).trim(), check) });
  if (options.jwtSecret !== '') {
    return jwt('secret', { ...base, algorithms: SECRET_ALGORITHMS, key: new TextEncoder().encode(options.jwtSecret) });
  }
  if (options.publicKey) return jwt('public-key', { ...base, algorithms: [options.publicKey.alg], key: options.publicKey.key });
  if (options.jwksUrl) {
    const key = jwksKeys({
      url: options.jwksUrl, timeoutMs: options.jwksTimeoutMs ?? 5000, cooldownMs: options.jwksCooldownMs ?? 30_000, metrics: options.metrics, log: options.log,
    });
    return jwt('jwks', { ...base, algorithms: JWKS_ALGORITHMS, key });
  }
  return { mode: 'classic', verify: async (token) => claimsFromJson(checkedText(token)) };
}

function checkedText(token: Buffer): string {
  if (token.length === 0) throw invalid('token is empty');
  if (token.length > MAX_TOKEN_BYTES) throw invalid(`token is ${token.length} bytes, more than ${MAX_TOKEN_BYTES}`);
  return token.toString('utf8');
}

function claimsFromJson(text: string): TokenClaims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('token is not JSON');
  }
  if (!isRecord(parsed)) throw invalid('token must be a JSON object');
  return claimsFrom(parsed);
}

async function claimsFromJwt(text: string, check: JwtCheck): Promise<TokenClaims> {
  try {
    const options = { algorithms: check.algorithms, clockTolerance: check.clockTolerance };
    // One call per key shape: jwtVerify's overloads take a key or a key resolver, not their union.
    const { payload } = typeof check.key === 'function' ? await jwtVerify(text, check.key, options) : await jwtVerify(text, check.key, options);
    if (check.requireExp && payload.exp === undefined) throw new ImError('TOKEN_NO_EXP');
    return claimsFrom(payload);
  } catch (err) {
    throw err instanceof ImError ? err : fromJoseError(err);
  }
}

/**
 * Maps jose's failures: an algorithm outside the mode's list → TOKEN_ALGORITHM, time checks →
 * TOKEN_EXPIRED, bad claims after a good signature → TOKEN_INVALID, the rest → TOKEN_SIGNATURE.
 */
function fromJoseError(err: unknown): ImError {
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new ImError('TOKEN_ALGORITHM', err.message);
  if (err instanceof joseErrors.JWTExpired) return new ImError('TOKEN_EXPIRED', err.message);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const timing = (err.claim === 'nbf' || err.claim === 'iat') && err.reason === 'check_failed';
    return timing ? new ImError('TOKEN_EXPIRED', err.message) : invalid(err.message);
  }
  if (err instanceof joseErrors.JWTInvalid) return invalid(err.message);
  const detail = err instanceof Error ? err.message : String(err);
  return new ImError('TOKEN_SIGNATURE', detail);
}

/** Validates the goim fields; unknown extra fields are ignored. */
function claimsFrom(body: Record<string, unknown>): TokenClaims {
  return {
    mid: midFrom(own(body, 'mid')),
    key: optionalString(body, 'key'),
    roomId: roomFrom(optionalString(body, 'room_id')),
    platform: optionalString(body, 'platform'),
    accepts: acceptsFrom(own(body, 'accepts')),
  };
}

/** mid: an integer in 0..2^63-1, as a JSON number (up to 2^53-1, where JSON numbers stay exact) or a decimal string. */
function midFrom(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalid('mid must be an integer');
    if (value < 0) throw invalid('mid must be >= 0');
    if (!Number.isSafeInteger(value)) throw invalid('mid above 2^53-1 must be sent as a decimal string');
    return String(value);
  }
  if (typeof value === 'string') {
    if (!/^[0-9]{1,19}$/.test(value)) throw invalid('mid string must be a decimal integer >= 0');
    const mid = BigInt(value);
    if (mid > INT64_MAX) throw invalid('mid exceeds int64');
    return mid.toString();
  }
  if (value === undefined) throw invalid('mid is required');
  throw invalid('mid must be an integer or a decimal string');
}

function roomFrom(roomId: string): string {
  if (roomId === '') return '';
  const sep = roomId.indexOf('://');
  if (sep <= 0 || sep + 3 >= roomId.length) throw invalid('room_id must look like type://id');
  return roomId;
}

function acceptsFrom(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('accepts must be an array of integers');
  return value.map((op: unknown, i) => {
    if (typeof op !== 'number' || !Number.isInteger(op) || op < INT32_MIN || op > INT32_MAX) {
      throw invalid(`accepts[${i}] must be an int32`);
    }
    return op;
  });
}

/** An optional string field: absent or null reads as '' (what goim's Go decoder leaves). */
function optionalString(body: Record<string, unknown>, name: string): string {
  const value = own(body, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
  return value;
}

function own(body: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(body, name) ? body[name] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(detail: string): ImError {
  return new ImError('TOKEN_INVALID', detail);
}

/**
 * The logic node's token check (wire.md §2). A cloud node forwards the op-7
 * body untouched; this turns it into the claims Connect answers with.
 *
 * - Classic mode (no secret): the token is goim's JSON
 *   `{"mid":123, "key":"", "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}`.
 * - JWT mode (secret set): the token is a compact JWS signed with the secret
 *   (HS256/384/512 only) whose claims carry the same fields.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { ImError } from '../errors';

export interface TokenClaims {
  mid: string;
  key: string;
  roomId: string;
  platform: string;
  accepts: number[];
}

export interface TokenVerifier {
  /** Rejects with ImError TOKEN_INVALID, TOKEN_SIGNATURE or TOKEN_EXPIRED. */
  verify(token: Buffer): Promise<TokenClaims>;
}

/** Longest token accepted in either mode (goim's client body limit). */
export const MAX_TOKEN_BYTES = 4096;

const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function createTokenVerifier(options: { jwtSecret: string }): TokenVerifier {
  if (options.jwtSecret === '') return { verify: async (token) => claimsFromJson(checkedText(token)) };
  const key = new TextEncoder().encode(options.jwtSecret);
  return { verify: async (token) => claimsFromJwt(checkedText(token).trim(), key) };
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

async function claimsFromJwt(text: string, key: Uint8Array): Promise<TokenClaims> {
  try {
    const { payload } = await jwtVerify(text, key, { algorithms: JWT_ALGORITHMS });
    return claimsFrom(payload);
  } catch (err) {
    throw err instanceof ImError ? err : fromJoseError(err);
  }
}

/** Maps jose's failures: time checks → TOKEN_EXPIRED, bad claims after a good signature → TOKEN_INVALID, the rest → TOKEN_SIGNATURE. */
function fromJoseError(err: unknown): ImError {
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

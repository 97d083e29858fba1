import { readFileSync } from 'node:fs';
import { createPublicKey, KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { OptionReader } from './load';
import type { OptionSpec } from './option';

/** The JWT algorithm a public key verifies, by its type: RSA keys RS256, P-256 keys ES256. */
export type PublicKeyAlgorithm = 'RS256' | 'ES256';

/** How a logic node checks client tokens (the `auth.*` options). */
export interface AuthConfig {
  readonly jwtSecret: string;
  readonly jwtPublicKeyFile: string;
  readonly jwksUrl: string;
  readonly jwksTimeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly jwtAllowNoExp: boolean;
  readonly jwtClockToleranceSeconds: number;
  readonly bindKeyToMid: boolean;
  /** auth.jwtPublicKeyFile's key, read and checked at start; null without one. */
  readonly publicKey: { readonly alg: PublicKeyAlgorithm; readonly key: KeyObject } | null;
}

/** Shortest HMAC secret taken: RFC 7518 §3.2 wants a key at least as long as the hash (HS256: 32 bytes). */
export const MIN_SECRET_BYTES = 32;
/** Smallest RSA modulus taken for RS256 (RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

const PATH = { type: 'string', pattern: /^(\S.*)?$/, hint: 'a file path' } as const;

/** A logic node's token options (spread into logicOptions). */
export const authOptions: readonly OptionSpec[] = [
  {
    path: 'auth.jwtSecret', env: 'IM_LOGIC_JWT_SECRET', kind: { type: 'string' }, default: '', defaultDoc: '(empty: no HMAC tokens)',
    doc: `When set, tokens must be JWTs signed with this secret (HS256/384/512 only) whose claims carry mid, key, room_id, platform, accepts. At least ${MIN_SECRET_BYTES} bytes, or the node refuses to start. At most one of auth.jwtSecret, auth.jwtPublicKeyFile, auth.jwksUrl; with none, tokens are classic JSON (see Client tokens).`,
  },
  {
    path: 'auth.jwtPublicKeyFile', env: 'IM_LOGIC_JWT_PUBLIC_KEY_FILE', kind: PATH, default: '', defaultDoc: '(empty: none)',
    doc: `PEM file of a public key (SPKI, "BEGIN PUBLIC KEY"): tokens must be JWTs it verifies, RS256 for an RSA key (at least ${MIN_RSA_BITS} bits), ES256 for a P-256 key, no other algorithm. Read and checked at start.`,
  },
  {
    path: 'auth.jwksUrl', env: 'IM_LOGIC_JWKS_URL', kind: { type: 'string', pattern: /^(https?:\/\/\S+)?$/, hint: 'an http(s) URL' }, default: '', defaultDoc: '(empty: none)',
    doc: 'URL of a JSON Web Key Set: tokens must be RS256 or ES256 JWTs signed by one of its keys (chosen by kid). https, or http to a loopback host only. Fetched on the first token, again after 10 minutes, and when a token names an unknown kid (at most once per auth.jwksCooldownMs).',
  },
  {
    path: 'auth.jwksTimeoutMs', env: 'IM_LOGIC_JWKS_TIMEOUT_MS', kind: { type: 'int', min: 100, max: 60_000 }, default: 5000,
    doc: 'Longest one fetch of auth.jwksUrl may take. A Connect that needs the key set while it cannot be fetched fails as unavailable (retryable), not as refused.',
  },
  {
    path: 'auth.jwksCooldownMs', env: 'IM_LOGIC_JWKS_COOLDOWN_MS', kind: { type: 'int', min: 1000, max: 3_600_000 }, default: 30_000,
    doc: 'After a good fetch of auth.jwksUrl, how long tokens naming a kid it lacks are refused without fetching again. After a failed fetch, Connects fail as unavailable without fetching for one second.',
  },
  { path: 'auth.jwtAllowNoExp', env: 'IM_LOGIC_JWT_ALLOW_NO_EXP', kind: { type: 'bool' }, default: false, doc: 'Accept JWTs without an exp claim (by default they are refused with E_TOKEN_NO_EXP): such a token never expires.' },
  { path: 'auth.jwtClockToleranceSeconds', env: 'IM_LOGIC_JWT_CLOCK_TOLERANCE_S', kind: { type: 'int', min: 0, max: 300 }, default: 5, doc: 'Clock skew allowed when checking a JWT\'s exp and nbf.' },
  {
    path: 'auth.bindKeyToMid', env: 'IM_LOGIC_BIND_KEY_TO_MID', kind: { type: 'bool' }, default: false,
    doc: 'Refuse a Connect whose token names a key whose live session is another mid\'s (E_KEY_HELD), so a client cannot take over another user\'s key. Keys logic generates (no key in the token) never conflict; the same mid may reconnect with its key.',
  },
];

/** Reads the auth options; each problem (two modes at once, a short secret, a bad key file or URL) goes to `problems`. */
export function readAuthConfig(r: OptionReader, problems: string[]): AuthConfig {
  const jwtSecret = r.str('auth.jwtSecret');
  const jwtPublicKeyFile = r.str('auth.jwtPublicKeyFile');
  const jwksUrl = r.str('auth.jwksUrl');
  const set = (['auth.jwtSecret', 'auth.jwtPublicKeyFile', 'auth.jwksUrl'] as const).filter((_, i) => [jwtSecret, jwtPublicKeyFile, jwksUrl][i] !== '');
  if (set.length > 1) problems.push(`${set.join(' and ')} are both set: choose one way to check tokens`);
  const secretBytes = Buffer.byteLength(jwtSecret, 'utf8');
  if (jwtSecret !== '' && secretBytes < MIN_SECRET_BYTES) {
    problems.push(`auth.jwtSecret is ${secretBytes} bytes: an HMAC secret must have at least ${MIN_SECRET_BYTES} (a random one: openssl rand -base64 48)`);
  }
  if (jwksUrl !== '') {
    const problem = jwksUrlProblem(jwksUrl);
    if (problem) problems.push(`auth.jwksUrl ${problem}`);
  }
  return {
    jwtSecret, jwtPublicKeyFile, jwksUrl,
    jwksTimeoutMs: r.num('auth.jwksTimeoutMs'), jwksCooldownMs: r.num('auth.jwksCooldownMs'),
    jwtAllowNoExp: r.bool('auth.jwtAllowNoExp'), jwtClockToleranceSeconds: r.num('auth.jwtClockToleranceSeconds'),
    bindKeyToMid: r.bool('auth.bindKeyToMid'),
    publicKey: jwtPublicKeyFile === '' ? null : readPublicKey(jwtPublicKeyFile, problems),
  };
}

/** Why a JWKS URL is not taken, or null: keys fetched in plain text could be swapped on the way, unless they never leave the host. */
function jwksUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${text} is not a URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return null;
  return `${text} must be https (http only to a loopback host: keys fetched in plain text could be replaced on the way)`;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The key file's public key and the one algorithm it verifies; null (with a problem) when the file is unreadable or not a usable key. */
function readPublicKey(file: string, problems: string[]): AuthConfig['publicKey'] {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    problems.push(`auth.jwtPublicKeyFile ${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  if (!pem.toString('latin1').includes('-----BEGIN PUBLIC KEY-----')) {
    problems.push(`auth.jwtPublicKeyFile ${file} is not a PEM public key (SPKI, "-----BEGIN PUBLIC KEY-----")`);
    return null;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    problems.push(`auth.jwtPublicKeyFile ${file} cannot be parsed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS) return { alg: 'RS256', key };
    problems.push(`auth.jwtPublicKeyFile ${file} is a ${bits}-bit RSA key: RS256 needs at least ${MIN_RSA_BITS}`);
    return null;
  }
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return { alg: 'ES256', key };
  const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${details?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
  problems.push(`auth.jwtPublicKeyFile ${file} is ${what}: only RSA (RS256) and P-256 (ES256) keys are taken`);
  return null;
}

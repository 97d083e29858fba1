import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * A configured bearer token (admin.token, security.token) and the one check
 * of an `Authorization` value against it. With no token every value passes.
 */
export class BearerToken {
  private readonly expected: Buffer | null;

  constructor(token: string) {
    this.expected = token === '' ? null : digest(token);
  }

  get required(): boolean {
    return this.expected !== null;
  }

  /** 'ok', or why not: no `Bearer <token>` value at all, or another token. */
  check(authorization: string | undefined): 'ok' | 'missing' | 'wrong' {
    if (this.expected === null) return 'ok';
    const match = BEARER.exec(authorization ?? '');
    if (match === null) return 'missing';
    // Digests of equal length, compared in constant time: neither the token's length nor its prefix leaks.
    return timingSafeEqual(digest(match[1]), this.expected) ? 'ok' : 'wrong';
  }
}

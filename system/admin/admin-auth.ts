import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The bearer-token check of the admin endpoint. With no token configured
 * (allowed only on loopback, see config/admin-options.ts) every request
 * passes; with one, a request passes only with `Authorization: Bearer <it>`.
 */
export class AdminAuth {
  private readonly expected: Buffer | null;

  constructor(token: string) {
    this.expected = token === '' ? null : digest(token);
  }

  get required(): boolean {
    return this.expected !== null;
  }

  allows(req: IncomingMessage): boolean {
    if (this.expected === null) return true;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    // Digests of equal length, compared in constant time: neither the token's length nor its prefix leaks.
    return match !== null && timingSafeEqual(digest(match[1]), this.expected);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

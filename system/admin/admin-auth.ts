import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../../config/hosts';
import { BearerToken } from '../bearer-token';
import { ImError } from '../errors';

/**
 * Whether a request may come from a browser page of another site, which
 * could otherwise drive a token-less loopback endpoint: an `Origin` must be
 * this endpoint's own (a browser sends one with every cross-site POST and
 * fetch), and without a token the `Host` must be a loopback name, so a
 * DNS-rebound name (evil.example resolving to 127.0.0.1) is refused.
 */
export function originProblem(req: IncomingMessage, tokenRequired: boolean): ImError | null {
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
    return new ImError('ADMIN_BAD_ORIGIN', `origin ${origin}`);
  }
  if (!tokenRequired && !isLoopbackHost(hostName(host))) return new ImError('ADMIN_BAD_ORIGIN', `host ${host}`);
  return null;
}

/** The name part of a Host header (`[::1]:3190` → `[::1]`, `localhost:3190` → `localhost`). */
function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * The bearer-token check of the admin endpoint. With no token configured
 * (allowed only on loopback, see config/admin-options.ts) every request
 * passes; with one, a request passes only with `Authorization: Bearer <it>`.
 */
export class AdminAuth {
  private readonly token: BearerToken;

  constructor(token: string) {
    this.token = new BearerToken(token);
  }

  get required(): boolean {
    return this.token.required;
  }

  allows(req: IncomingMessage): boolean {
    return this.token.check(req.headers.authorization) === 'ok';
  }
}

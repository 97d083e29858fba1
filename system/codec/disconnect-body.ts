/**
 * The JSON body of op 6, which the node sends before it closes a connection
 * on purpose (wire.md §1): `{"code":"E_...","reason":"..."}`, and, from a
 * draining node, a reconnect hint:
 * `{"code":"E_NODE_DRAINING","reason":"...","reconnect":{"afterMs":N}}`.
 * goim's clients ignore op 6 bodies; ours can read when to come back.
 */
import type { ImError } from '../errors';

/** When a client told to go should connect again (to any node). */
export interface ReconnectHint {
  /** Milliseconds to wait before reconnecting; jittered per client, so they do not all return at once. */
  readonly afterMs: number;
}

export interface DisconnectBody {
  /** A catalogued code, `E_...`. */
  readonly code: string;
  readonly reason: string;
  readonly reconnect?: ReconnectHint;
}

export function disconnectBody(error: ImError, reconnect?: ReconnectHint): string {
  const body: DisconnectBody = reconnect ? { ...error.toReason(), reconnect: { afterMs: reconnect.afterMs } } : error.toReason();
  return JSON.stringify(body);
}

const CODE = /^E_[A-Z0-9_]+$/;

/** An op-6 body read back, or null when it is not one (fields it does not know are ignored). */
export function parseDisconnectBody(body: Buffer): DisconnectBody | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || !('code' in value) || !('reason' in value)) return null;
  const { code, reason } = value;
  if (typeof code !== 'string' || !CODE.test(code) || typeof reason !== 'string') return null;
  if (!('reconnect' in value) || value.reconnect === undefined) return { code, reason };
  const reconnect = value.reconnect;
  if (typeof reconnect !== 'object' || reconnect === null || !('afterMs' in reconnect)) return null;
  const { afterMs } = reconnect;
  if (typeof afterMs !== 'number' || !Number.isInteger(afterMs) || afterMs < 0) return null;
  return { code, reason, reconnect: { afterMs } };
}

/**
 * The body of an op 5 that reports a failure instead of echoing the message
 * (README, "Upstream messages"). Same shape as the HTTP push API's error
 * bodies: goim's ServerErr result code, the catalogued code, and the
 * catalogue's message for it (the detail stays in the node's log: it names
 * logic nodes).
 */
import { ErrorCodes, ImError } from '../errors';

/** goim's ServerErr result code; the HTTP push API sends it for the same failures. */
export const ERROR_ACK_CODE = -500;

export interface ErrorAck {
  readonly code: number;
  /** A catalogued code, `E_...`. */
  readonly error: string;
  readonly message: string;
}

export function errorAckBody(error: ImError): string {
  const ack: ErrorAck = { code: ERROR_ACK_CODE, error: error.code, message: ErrorCodes[error.name].message };
  return JSON.stringify(ack);
}

const CODE = /^E_[A-Z0-9_]+$/;

/**
 * The failure an op-5 body reports, or null when the body is not an error
 * ack. A client whose own messages could look like one also compares the
 * body with what it sent under that seq: an echo is byte for byte the same.
 */
export function parseErrorAck(body: Buffer): ErrorAck | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || !('code' in value) || !('error' in value) || !('message' in value)) return null;
  const { code, error, message } = value;
  if (typeof code !== 'number' || typeof error !== 'string' || !CODE.test(error) || typeof message !== 'string') return null;
  return { code, error, message };
}

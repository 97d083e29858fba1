/**
 * A connection's own limits (README, "Per-connection limits"): how many
 * upstream messages it may send, how many operations it may accept, how
 * long its room id may be. Pure checks over the connection's state; the
 * connection actor decides what a refusal does.
 */
import { ImError } from '../system/errors';
import { takeToken, TokenCount } from '../system/token-bucket';

/** The limits every connection of a node shares (limits.*). */
export interface ConnectionLimits {
  /** Upstream messages per second, with bursts of UPSTREAM_BURST_SECONDS worth. */
  readonly upstreamPerSec: number;
  readonly maxAccepts: number;
  readonly maxRoomIdBytes: number;
}

/** How many seconds of upstream messages a connection may send at once after a quiet spell. */
export const UPSTREAM_BURST_SECONDS = 2;

/** A token bucket for one connection's upstream messages (its rate and burst are the node's: ConnectionLimits). */
export type UpstreamBucket = TokenCount;

export function fullBucket(limits: ConnectionLimits, now: number): UpstreamBucket {
  return { tokens: limits.upstreamPerSec * UPSTREAM_BURST_SECONDS, at: now };
}

/** Takes one token if there is one; false when the message is over the rate. */
export function takeUpstream(bucket: UpstreamBucket, limits: ConnectionLimits, now: number): boolean {
  return takeToken(bucket, limits.upstreamPerSec, limits.upstreamPerSec * UPSTREAM_BURST_SECONDS, now);
}

/** The error for a room id over the limit, or null. */
export function roomIdProblem(roomId: string, limits: ConnectionLimits): ImError | null {
  const bytes = Buffer.byteLength(roomId, 'utf8');
  return bytes > limits.maxRoomIdBytes ? new ImError('ROOM_ID_TOO_LONG', `${bytes} bytes > ${limits.maxRoomIdBytes}`) : null;
}

/** The error for a set of accepted operations over the limit, or null. */
export function acceptsProblem(count: number, limits: ConnectionLimits): ImError | null {
  return count > limits.maxAccepts ? new ImError('TOO_MANY_ACCEPTS', `${count} > ${limits.maxAccepts}`) : null;
}

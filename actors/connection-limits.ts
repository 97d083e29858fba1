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
  /** Control packets (op 2, 12, 14, 15) per whole second of the clock. */
  readonly controlPerSec: number;
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

/** A connection's control packets in the current second: two small integers, no object of their own. */
export interface ControlCount {
  /** The second (of the node's clock) being counted. */
  controlSecond: number;
  controlCount: number;
}

/**
 * Counts one control packet; the error once the connection sent more than limits.controlPerSec in this
 * second of the clock (a fixed window: up to twice that across a second's edge), else null.
 */
export function controlProblem(count: ControlCount, limits: ConnectionLimits, now: number): ImError | null {
  const second = Math.floor(now / 1000);
  if (second !== count.controlSecond) {
    count.controlSecond = second;
    count.controlCount = 0;
  }
  count.controlCount++;
  return count.controlCount > limits.controlPerSec ? new ImError('CONTROL_RATE', `more than ${limits.controlPerSec} in one second`) : null;
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

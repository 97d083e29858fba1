/**
 * Bodies of the replies a cloud node builds from a client's own packets
 * (wire.md §1): op 8's JSON, and the op lists ops 14 and 16 carry.
 */

/** What op 8 tells a client about its session. */
export interface AuthReplySession {
  readonly key: string;
  readonly mid: string;
  readonly roomId: string;
  /** How long the node waits for a client heartbeat. */
  readonly heartbeatMs: number;
}

/** Op 8's JSON: `key`, `mid`, `room_id`, `heartbeat` (send op 2 this often, seconds) and `heartbeat_timeout` (seconds). */
export function authReplyBody(session: AuthReplySession): string {
  const mid = Number(session.mid);
  const timeoutSeconds = Math.max(1, Math.round(session.heartbeatMs / 1000));
  return JSON.stringify({
    key: session.key,
    mid: Number.isSafeInteger(mid) ? mid : session.mid,
    room_id: session.roomId,
    // goim evicts after HeartbeatMax (2) missed beats: beat at half the timeout.
    heartbeat: Math.max(1, Math.floor(timeoutSeconds / 2)),
    heartbeat_timeout: timeoutSeconds,
  });
}

/** The ops of an op-14/16 body, comma-separated int32s; goim's SplitInt32s: the whole list or nothing (null). */
export function parseOps(body: Buffer): number[] | null {
  const text = body.toString('utf8').trim();
  if (text === '') return [];
  const ops: number[] = [];
  for (const part of text.split(',')) {
    const n = Number(part.trim());
    if (part.trim() === '' || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) return null;
    ops.push(n);
  }
  return ops;
}

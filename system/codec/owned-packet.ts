import type { Packet } from './packet';

/**
 * The packet with a body of its own, no longer a view of the socket read it
 * arrived in. A read is one allocation of up to 64 KiB, and a view keeps all
 * of it alive for as long as the body is kept (queued in a mailbox, waiting
 * for logic's Receive, echoed in op 5). A body already in a small buffer (a
 * packet the decoder reassembled, an empty one) is kept as it is; others
 * are copied, small ones into Node's shared pool.
 */
export function ownedPacket(p: Packet): Packet {
  if (p.body.buffer.byteLength <= Buffer.poolSize) return p;
  return { ver: p.ver, op: p.op, seq: p.seq, body: Buffer.from(p.body) };
}

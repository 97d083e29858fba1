/**
 * How one cloud node's keys are cut into PushMsgs. A cloud node takes a
 * PushMsg of at most its grpc.maxPushBytes plus 64 KiB (the gRPC receive
 * limit its push edge sets), and logic already fills up to push.maxBatchBytes
 * (at most grpc.maxPushBytes) with the message. The keys, the proto's other
 * fields and gRPC's framing must share the 64 KiB headroom, so a PushMsg
 * carries at most MAX_KEY_BYTES_PER_PUSH of keys: half the headroom, leaving
 * the other half for the fields and framing (tens of bytes).
 */
export const MAX_KEY_BYTES_PER_PUSH = 32 * 1024;

/** Bytes a key takes in a PushMsg: its UTF-8, the field's tag (1 byte) and its length varint. */
export function keyWireBytes(key: string): number {
  const n = Buffer.byteLength(key, 'utf8');
  let varint = 1;
  for (let rest = n >>> 7; rest > 0; rest >>>= 7) varint++;
  return 1 + varint + n;
}

/**
 * Cuts `keys` into runs, in order, each taking at most `maxBytes` (keyWireBytes);
 * a single key larger than that goes alone. One run when they all fit.
 */
export function splitKeys(keys: readonly string[], maxBytes = MAX_KEY_BYTES_PER_PUSH): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const size = keyWireBytes(key);
    if (run.length > 0 && bytes + size > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(key);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

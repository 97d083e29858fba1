/** Shared by the codec specs: a seeded PRNG (failures reproduce) and hand-made headers. */

/** Fixed so every failure reproduces; override with CODEC_SEED to explore. */
export const SEED = Number(process.env.CODEC_SEED ?? 0x5eed1);

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 16-byte header with any packLen and headerLen, valid or not (ver 1). */
export function rawHeader(packLen: number, headerLen: number, op = 7, seq = 1): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(packLen, 0);
  bytes.writeUInt16BE(headerLen, 4);
  bytes.writeUInt16BE(1, 6);
  bytes.writeInt32BE(op, 8);
  bytes.writeInt32BE(seq, 12);
  return bytes;
}

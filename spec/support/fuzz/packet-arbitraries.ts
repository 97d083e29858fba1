/**
 * fast-check generators of client input: random bytes, valid packets and
 * streams, and mutations of them (header lies, op/ver/seq extremes, bit
 * flips, truncation, insertion, deletion, concatenation), plus arbitrary
 * split points for feeding a stream in chunks. Bodies stay small except for
 * a few at the body limit, so a run is mostly about structure, not size.
 */
import fc from 'fast-check';

/** The body limits a case is decoded with: the edges of a header-only packet, small, and the default. */
export const BODY_LIMITS = [0, 1, 15, 16, 64, 4096] as const;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

export const opArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 17 }),
  fc.constantFrom(-1, 18, 999, 1000, 1001, INT32_MAX, INT32_MIN),
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
);

export const verArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, 0xffff), fc.integer({ min: 0, max: 0xffff }));

export const seqArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, -1, INT32_MAX, INT32_MIN), fc.integer({ min: INT32_MIN, max: INT32_MAX }));

/** Mostly short random bodies; now and then one filled up to the limit (or just under it). */
export function bodyArb(maxBody: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: Math.min(maxBody, 24) }).map((b) => Buffer.from(b)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: Math.max(0, maxBody - 2), max: maxBody }), fc.integer({ min: 0, max: 255 }))
        .map(([n, fill]) => Buffer.alloc(n, fill)),
    },
  );
}

/** A packLen: usually the true one, sometimes a lie (too short, off by a little, over the limit, huge). */
function packLenArb(real: number, maxBody: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 16, arbitrary: fc.constant(real) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
    { weight: 1, arbitrary: fc.constantFrom(16, maxBody + 16, maxBody + 17, INT32_MAX, INT32_MAX + 1, UINT32_MAX) },
    { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }).map((d) => Math.max(0, real + d)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: UINT32_MAX }) },
  );
}

function headerLenArb(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 16, arbitrary: fc.constant(16) },
    { weight: 1, arbitrary: fc.constantFrom(0, 15, 17, 32, 0xffff) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  );
}

export interface PacketFields {
  readonly packLen: number;
  readonly headerLen: number;
  readonly ver: number;
  readonly op: number;
  readonly seq: number;
  readonly body: Buffer;
}

/** The bytes of a packet with whatever header fields it is given, true or not. */
export function rawPacket(f: PacketFields): Buffer {
  const out = Buffer.alloc(16 + f.body.length);
  out.writeUInt32BE(f.packLen, 0);
  out.writeUInt16BE(f.headerLen, 4);
  out.writeUInt16BE(f.ver, 6);
  out.writeInt32BE(f.op, 8);
  out.writeInt32BE(f.seq, 12);
  f.body.copy(out, 16);
  return out;
}

/** One packet, mostly valid for `maxBody`, sometimes with a lying packLen or headerLen. */
export function packetArb(maxBody: number, ops: fc.Arbitrary<number> = opArb): fc.Arbitrary<Buffer> {
  return fc.record({ ver: verArb, op: ops, seq: seqArb, body: bodyArb(maxBody), headerLen: headerLenArb() })
    .chain((p) => packLenArb(16 + p.body.length, maxBody).map((packLen) => rawPacket({ ...p, packLen })));
}

/** A packet whose header is exactly what it claims (any op, ver, seq). */
export function validPacketArb(maxBody: number, ops: fc.Arbitrary<number> = opArb): fc.Arbitrary<Buffer> {
  return fc.record({ ver: verArb, op: ops, seq: seqArb, body: bodyArb(maxBody) })
    .map((p) => rawPacket({ ...p, headerLen: 16, packLen: 16 + p.body.length }));
}

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Buffer }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 0x10, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b)) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
);

/** Applies one mutation; positions wrap around the input, so any nat is somewhere in it. */
export function mutate(bytes: Buffer, m: Mutation): Buffer {
  const at = m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[at % bytes.length] ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[at % bytes.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
  }
}

export function mutateAll(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  return mutations.reduce(mutate, bytes);
}

export const randomBytesArb = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

/** Packets back to back (each possibly lying), as a TCP client would write them. */
export function packetsArb(maxBody: number, maxPackets = 6): fc.Arbitrary<Buffer> {
  return fc.array(packetArb(maxBody), { maxLength: maxPackets }).map((ps) => Buffer.concat(ps));
}

/** A TCP byte stream: random, valid-ish packets, mutated packets, or two of those concatenated. */
export function streamArb(maxBody: number): fc.Arbitrary<Buffer> {
  const single = fc.oneof(
    randomBytesArb(80),
    packetsArb(maxBody),
    fc.tuple(packetsArb(maxBody), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([b, ms]) => mutateAll(b, ms)),
  );
  return fc.oneof({ weight: 3, arbitrary: single }, { weight: 1, arbitrary: fc.tuple(single, single).map(([a, b]) => Buffer.concat([a, b])) });
}

/** Split points; empty chunks included, since a socket may hand over any cut. */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 8 });

export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** One WebSocket message: random bytes, a packet (maybe lying) with junk after it, or a mutated one. */
export function frameArb(maxBody: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    randomBytesArb(40),
    fc.tuple(packetArb(maxBody), randomBytesArb(8)).map(([p, junk]) => Buffer.concat([p, junk])),
    fc.tuple(packetArb(maxBody), fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([p, ms]) => mutateAll(p, ms)),
  );
}

/** An op-9 body: inner packets (some lying, any size: no limit applies), sometimes mutated, sometimes empty. */
export const batchArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.array(packetArb(64), { maxLength: 5 }).map((ps) => Buffer.concat(ps)) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.array(validPacketArb(64), { minLength: 1, maxLength: 5 }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
      .map(([ps, ms]) => mutateAll(Buffer.concat(ps), ms)),
  },
  { weight: 1, arbitrary: randomBytesArb(48) },
);

/** Payload sizes around the three WebSocket length encodings (7-bit, 16-bit, 64-bit). */
export const wsPayloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  randomBytesArb(40),
  fc.tuple(fc.constantFrom(0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 65537), fc.integer({ min: 0, max: 255 }))
    .map(([n, fill]) => Buffer.alloc(n, fill)),
);

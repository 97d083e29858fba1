import { expect } from 'chai';
import { ImError } from '../system/errors';
import { HEADER_LEN, Packet, StreamDecoder, encodePacket, writeHeader } from '../system/codec';
import { mulberry32, rawHeader, SEED } from './support/codec-fixtures';

const MAX_BODY = 4096;

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  range(min: number, maxInclusive: number): number {
    return min + this.int(maxInclusive - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

interface Seen {
  packets: string[];
  errors: ImError[];
  /** packets delivered after the first error (must stay 0) */
  packetsAfterError: number;
}

function describePacket(p: Packet): string {
  return `${p.ver}/${p.op}/${p.seq}/${p.body.toString('hex')}`;
}

function recorder(maxBody = MAX_BODY): { decoder: StreamDecoder; seen: Seen; raw: Packet[] } {
  const seen: Seen = { packets: [], errors: [], packetsAfterError: 0 };
  const raw: Packet[] = [];
  const decoder = new StreamDecoder(maxBody, {
    packet(p) {
      if (seen.errors.length > 0) seen.packetsAfterError++;
      raw.push(p);
      seen.packets.push(describePacket(p));
    },
    error(e) {
      seen.errors.push(e);
    },
  });
  return { decoder, seen, raw };
}

function randomPacket(rng: Rng, maxBody = MAX_BODY): { packet: Packet; bytes: Buffer } {
  const bodyLen = rng.chance(0.1) ? 0 : rng.chance(0.05) ? rng.range(0, maxBody) : rng.range(0, 80);
  const packet: Packet = {
    ver: rng.int(0x10000),
    op: rng.int(0x100000000) | 0,
    seq: rng.int(0x100000000) | 0,
    body: rng.bytes(bodyLen),
  };
  return { packet, bytes: encodePacket(packet.ver, packet.op, packet.seq, packet.body) };
}

function randomStream(rng: Rng, count: number): { expected: string[]; stream: Buffer } {
  const packets = Array.from({ length: count }, () => randomPacket(rng));
  return {
    expected: packets.map((p) => describePacket(p.packet)),
    stream: Buffer.concat(packets.map((p) => p.bytes)),
  };
}

/** Cuts at random points; sometimes favours tiny pieces to stress headers split across chunks. */
function randomChunks(rng: Rng, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  const tiny = rng.chance(0.3);
  let at = 0;
  while (at < stream.length) {
    const size = tiny ? rng.range(0, 20) : rng.range(0, Math.max(1, stream.length - at));
    chunks.push(stream.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function feed(decoder: StreamDecoder, chunks: Buffer[]): void {
  for (const chunk of chunks) decoder.push(chunk);
}

/** Independent, deliberately naive model of wire.md §1 framing: what any chunking must reproduce. */
function referenceDecode(stream: Buffer, maxBody: number): { packets: string[]; error: string | null } {
  const packets: string[] = [];
  let at = 0;
  while (stream.length - at >= 16) {
    const packLen = stream.readUInt32BE(at);
    const headerLen = stream.readUInt16BE(at + 4);
    if (packLen < 16) return { packets, error: 'PACKET_TOO_SHORT' };
    if (headerLen !== 16) return { packets, error: 'BAD_HEADER_LEN' };
    if (packLen - 16 > maxBody) return { packets, error: 'BODY_TOO_LARGE' };
    if (stream.length - at < packLen) break;
    const ver = stream.readUInt16BE(at + 6);
    const op = stream.readInt32BE(at + 8);
    const seq = stream.readInt32BE(at + 12);
    packets.push(`${ver}/${op}/${seq}/${stream.subarray(at + 16, at + packLen).toString('hex')}`);
    at += packLen;
  }
  return { packets, error: null };
}

describe('codec/StreamDecoder', () => {
  const three = [
    encodePacket(1, 7, 1, '{"mid":123,"room_id":"live://1000"}'),
    encodePacket(1, 2, 2, ''),
    encodePacket(2, 1000, -5, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
  ];
  const threeStream = Buffer.concat(three);
  const threeExpected = [
    `1/7/1/${Buffer.from('{"mid":123,"room_id":"live://1000"}').toString('hex')}`,
    '1/2/2/',
    '2/1000/-5/00010203040506070809',
  ];

  it('delivers a single packet', () => {
    const { decoder, seen, raw } = recorder();
    decoder.push(encodePacket(1, 7, 1, '{"mid":123}'));
    expect(seen.packets).to.deep.equal([`1/7/1/${Buffer.from('{"mid":123}').toString('hex')}`]);
    expect(raw[0].body.toString()).to.equal('{"mid":123}');
    expect(seen.errors).to.have.length(0);
    expect(decoder.buffered).to.equal(0);
    expect(decoder.failed).to.equal(false);
  });

  it('delivers many packets from one chunk, in order', () => {
    const { decoder, seen } = recorder();
    decoder.push(threeStream);
    expect(seen.packets).to.deep.equal(threeExpected);
    expect(decoder.buffered).to.equal(0);
  });

  it('delivers the same packets for a split at every index of a 3-packet stream', () => {
    for (let i = 0; i <= threeStream.length; i++) {
      const { decoder, seen } = recorder();
      decoder.push(threeStream.subarray(0, i));
      decoder.push(threeStream.subarray(i));
      expect(seen.packets, `split at ${i}`).to.deep.equal(threeExpected);
      expect(seen.errors, `split at ${i}`).to.have.length(0);
      expect(decoder.buffered, `split at ${i}`).to.equal(0);
    }
  });

  it('delivers the same packets for every pair of split indices of a 3-packet stream', () => {
    const n = threeStream.length;
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const { decoder, seen } = recorder();
        feed(decoder, [threeStream.subarray(0, i), threeStream.subarray(i, j), threeStream.subarray(j)]);
        expect(seen.packets, `splits at ${i},${j}`).to.deep.equal(threeExpected);
      }
    }
  });

  it('reports how many bytes it holds for an incomplete packet', () => {
    const { decoder, seen } = recorder();
    for (let i = 0; i < three[0].length - 1; i++) {
      decoder.push(three[0].subarray(i, i + 1));
      expect(decoder.buffered, `after ${i + 1} bytes`).to.equal(i + 1);
    }
    expect(seen.packets).to.have.length(0);
    decoder.push(three[0].subarray(three[0].length - 1));
    expect(seen.packets).to.have.length(1);
    expect(decoder.buffered).to.equal(0);
  });

  it('decodes a stream fed one byte at a time, including a 4 KB body', () => {
    const big = Buffer.alloc(MAX_BODY, 0x5a);
    const stream = Buffer.concat([threeStream, encodePacket(1, 4, 9, big), threeStream]);
    const { decoder, seen } = recorder();
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
    expect(seen.packets).to.deep.equal([...threeExpected, `1/4/9/${big.toString('hex')}`, ...threeExpected]);
    expect(decoder.buffered).to.equal(0);
  });

  it('stays linear when a large packet arrives one byte at a time', () => {
    // Quadratic re-accumulation would copy ~34 GB here and blow the mocha timeout.
    const bodySize = 256 * 1024;
    const packet = encodePacket(1, 4, 1, Buffer.alloc(bodySize, 0x33));
    const { decoder, raw } = recorder(bodySize);
    const started = process.hrtime.bigint();
    for (let i = 0; i < packet.length; i++) decoder.push(packet.subarray(i, i + 1));
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(raw).to.have.length(1);
    expect(raw[0].body.equals(packet.subarray(16))).to.equal(true);
    expect(elapsedMs).to.be.below(5000);
  });

  it('ignores empty chunks', () => {
    const { decoder, seen } = recorder();
    decoder.push(Buffer.alloc(0));
    decoder.push(threeStream.subarray(0, 5));
    decoder.push(Buffer.alloc(0));
    decoder.push(threeStream.subarray(5));
    decoder.push(Buffer.alloc(0));
    expect(seen.packets).to.deep.equal(threeExpected);
  });

  it('delivers empty-body packets, alone, in runs, and with the header split', () => {
    const empty = encodePacket(1, 2, 0, '');
    const run = Buffer.concat([empty, empty, empty]);
    const { decoder, seen, raw } = recorder();
    decoder.push(run);
    decoder.push(empty.subarray(0, 7));
    decoder.push(empty.subarray(7));
    expect(seen.packets).to.deep.equal(['1/2/0/', '1/2/0/', '1/2/0/', '1/2/0/']);
    for (const p of raw) expect(p.body.length).to.equal(0);
  });

  it('hands out a view of the chunk for a packet wholly inside it (zero copy)', () => {
    const { decoder, raw } = recorder();
    const chunk = Buffer.concat([three[0], three[2], three[1].subarray(0, 3)]);
    decoder.push(chunk);
    expect(raw).to.have.length(2);
    for (const p of raw) expect(p.body.buffer).to.equal(chunk.buffer);
    expect(raw[0].body.byteOffset).to.equal(chunk.byteOffset + 16);
    expect(raw[1].body.byteOffset).to.equal(chunk.byteOffset + three[0].length + 16);
  });

  it('does not alias the caller\'s chunks for a packet straddling two of them', () => {
    const { decoder, raw } = recorder();
    const first = Buffer.from(three[0].subarray(0, 20));
    const second = Buffer.from(three[0].subarray(20));
    decoder.push(first);
    decoder.push(second);
    first.fill(0);
    second.fill(0);
    expect(describePacket(raw[0])).to.equal(threeExpected[0]);
  });

  describe('limits and errors', () => {
    it('accepts a body of exactly maxBodySize', () => {
      const { decoder, seen } = recorder(100);
      decoder.push(encodePacket(1, 4, 1, Buffer.alloc(100, 1)));
      expect(seen.packets).to.have.length(1);
      expect(seen.errors).to.have.length(0);
    });

    it('rejects maxBodySize + 1 as soon as the header arrives, before any body byte', () => {
      const { decoder, seen } = recorder(100);
      const packet = encodePacket(1, 4, 1, Buffer.alloc(101, 1));
      decoder.push(packet.subarray(0, 15));
      expect(seen.errors).to.have.length(0);
      decoder.push(packet.subarray(15, 16));
      expect(seen.errors.map((e) => e.name)).to.deep.equal(['BODY_TOO_LARGE']);
      expect(decoder.failed).to.equal(true);
      expect(decoder.buffered).to.equal(0);
    });

    it('rejects packLen 0xffffffff from its header alone', () => {
      const { decoder, seen } = recorder();
      decoder.push(rawHeader(0xffffffff, 16));
      expect(seen.errors.map((e) => e.name)).to.deep.equal(['BODY_TOO_LARGE']);
    });

    const headerFaults: Array<[string, number, number, string]> = [
      ['packLen 0', 0, 16, 'PACKET_TOO_SHORT'],
      ['packLen 15', 15, 16, 'PACKET_TOO_SHORT'],
      ['headerLen 0', 20, 0, 'BAD_HEADER_LEN'],
      ['headerLen 15', 20, 15, 'BAD_HEADER_LEN'],
      ['headerLen 17', 20, 17, 'BAD_HEADER_LEN'],
    ];
    for (const [label, packLen, headerLen, name] of headerFaults) {
      it(`reports ${name} for ${label}, whole or split`, () => {
        const bad = Buffer.concat([rawHeader(packLen, headerLen), Buffer.alloc(8)]);
        for (let split = 0; split <= bad.length; split++) {
          const { decoder, seen } = recorder();
          decoder.push(three[1]);
          decoder.push(bad.subarray(0, split));
          decoder.push(bad.subarray(split));
          expect(seen.packets, `split ${split}`).to.deep.equal([threeExpected[1]]);
          expect(seen.errors.map((e) => e.name), `split ${split}`).to.deep.equal([name]);
        }
      });
    }

    it('after an error delivers nothing more, reports nothing more, holds nothing and never throws', () => {
      const { decoder, seen } = recorder();
      decoder.push(Buffer.concat([three[0], rawHeader(3, 16), three[1]]));
      expect(seen.packets).to.deep.equal([threeExpected[0]]);
      expect(seen.errors).to.have.length(1);
      for (let i = 0; i < 10; i++) {
        expect(() => decoder.push(threeStream)).to.not.throw();
        expect(() => decoder.push(rawHeader(0, 0))).to.not.throw();
      }
      expect(seen.packets).to.have.length(1);
      expect(seen.errors).to.have.length(1);
      expect(decoder.failed).to.equal(true);
      expect(decoder.buffered).to.equal(0);
    });

    it('drops the bytes it held when the stream fails', () => {
      const { decoder, seen } = recorder();
      const bad = rawHeader(100000, 16);
      decoder.push(bad.subarray(0, 10));
      expect(decoder.buffered).to.equal(10);
      decoder.push(bad.subarray(10));
      expect(seen.errors.map((e) => e.name)).to.deep.equal(['BODY_TOO_LARGE']);
      expect(decoder.buffered).to.equal(0);
    });
  });

  describe('throwing handlers', () => {
    it('propagates a handler exception and resumes on the next push exactly where the stream was', () => {
      const delivered: string[] = [];
      let throwOn = 1;
      const decoder = new StreamDecoder(MAX_BODY, {
        packet(p) {
          delivered.push(describePacket(p));
          if (delivered.length === throwOn) throw new Error('handler failed');
        },
        error() {
          throw new Error('unexpected protocol error');
        },
      });
      const tail = encodePacket(3, 3, 3, 'tail');
      expect(() => decoder.push(Buffer.concat([threeStream, tail.subarray(0, 5)]))).to.throw('handler failed');
      expect(delivered).to.deep.equal([threeExpected[0]]);
      expect(decoder.failed).to.equal(false);
      expect(decoder.buffered).to.equal(threeStream.length - three[0].length + 5);
      throwOn = 2;
      expect(() => decoder.push(Buffer.alloc(0))).to.throw('handler failed');
      expect(delivered).to.deep.equal(threeExpected.slice(0, 2));
      throwOn = -1;
      decoder.push(tail.subarray(5));
      expect(delivered).to.deep.equal([...threeExpected, describePacket({ ver: 3, op: 3, seq: 3, body: Buffer.from('tail') })]);
      expect(decoder.buffered).to.equal(0);
    });

    it('keeps its state when the handler of a straddling packet throws', () => {
      let calls = 0;
      const delivered: string[] = [];
      const decoder = new StreamDecoder(MAX_BODY, {
        packet(p) {
          calls++;
          delivered.push(describePacket(p));
          if (calls === 1) throw new Error('boom');
        },
        error() {
          throw new Error('unexpected protocol error');
        },
      });
      decoder.push(threeStream.subarray(0, 10));
      expect(() => decoder.push(threeStream.subarray(10))).to.throw('boom');
      decoder.push(Buffer.alloc(0));
      expect(delivered).to.deep.equal(threeExpected);
    });
  });

  describe(`randomised (seed ${SEED}; set CODEC_SEED to change)`, () => {
    it(`random chunkings of random packet sequences deliver the same packets in order (3000 runs, seed ${SEED})`, () => {
      const rng = new Rng(SEED);
      for (let run = 0; run < 3000; run++) {
        const { expected, stream } = randomStream(rng, rng.range(1, 20));
        const { decoder, seen } = recorder();
        feed(decoder, randomChunks(rng, stream));
        expect(seen.errors, `run ${run}`).to.have.length(0);
        expect(seen.packets, `run ${run}`).to.deep.equal(expected);
        expect(decoder.buffered, `run ${run}`).to.equal(0);
      }
    });

    it(`an incomplete tail is held, never delivered (500 runs, seed ${SEED + 1})`, () => {
      const rng = new Rng(SEED + 1);
      for (let run = 0; run < 500; run++) {
        const { expected, stream } = randomStream(rng, rng.range(1, 8));
        const cut = rng.range(0, stream.length - 1);
        const { decoder, seen } = recorder();
        feed(decoder, randomChunks(rng, stream.subarray(0, cut)));
        const reference = referenceDecode(stream.subarray(0, cut), MAX_BODY);
        expect(seen.packets, `run ${run}`).to.deep.equal(reference.packets);
        expect(expected.slice(0, seen.packets.length)).to.deep.equal(seen.packets);
        const deliveredBytes = seen.packets.reduce((sum, p) => sum + 16 + (p.length - p.lastIndexOf('/') - 1) / 2, 0);
        expect(decoder.buffered, `run ${run}`).to.equal(cut - deliveredBytes);
      }
    });

    it(`random garbage never throws and matches the reference framing (4000 runs, seed ${SEED + 2})`, () => {
      const rng = new Rng(SEED + 2);
      let sawErrors = 0;
      let sawPackets = 0;
      for (let run = 0; run < 4000; run++) {
        const maxBody = rng.chance(0.5) ? MAX_BODY : rng.range(0, 64);
        const input = garbage(rng, maxBody);
        const reference = referenceDecode(input, maxBody);
        const { decoder, seen } = recorder(maxBody);
        expect(() => feed(decoder, randomChunks(rng, input)), `run ${run}`).to.not.throw();
        expect(seen.errors.length, `run ${run}`).to.be.at.most(1);
        expect(seen.packetsAfterError, `run ${run}`).to.equal(0);
        expect(seen.packets, `run ${run}`).to.deep.equal(reference.packets);
        expect(seen.errors.map((e) => e.name), `run ${run}`).to.deep.equal(reference.error === null ? [] : [reference.error]);
        expect(decoder.failed).to.equal(reference.error !== null);
        expect(() => decoder.push(rng.bytes(rng.range(0, 64)))).to.not.throw();
        expect(seen.errors.length, `run ${run}`).to.be.at.most(1);
        if (seen.errors.length > 0) sawErrors++;
        sawPackets += seen.packets.length;
      }
      // guard against a generator that only ever exercises one path
      expect(sawErrors).to.be.greaterThan(500);
      expect(sawPackets).to.be.greaterThan(2000);
    });
  });
});

/** Pure noise, or a valid stream with a few corrupted bytes (which keeps it plausible for longer). */
function garbage(rng: Rng, maxBody: number): Buffer {
  if (rng.chance(0.3)) return rng.bytes(rng.range(0, 200));
  const parts: Buffer[] = [];
  const count = rng.range(1, 6);
  for (let i = 0; i < count; i++) {
    const body = rng.bytes(rng.range(0, Math.min(maxBody + 2, 60)));
    const packet = Buffer.allocUnsafe(HEADER_LEN + body.length);
    writeHeader(packet, 0, packet.length, rng.int(0x10000), rng.int(2000), rng.int(100));
    body.copy(packet, HEADER_LEN);
    parts.push(packet);
  }
  const stream = Buffer.concat(parts);
  const flips = rng.range(0, 3);
  for (let i = 0; i < flips; i++) stream[rng.int(stream.length)] = rng.int(256);
  return stream;
}

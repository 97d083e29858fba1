import { expect } from 'chai';
import { ImError } from '../system/errors';
import {
  HEADER_LEN,
  Op,
  Packet,
  buildBatchBody,
  encodePacket,
  encodeRawFrame,
  validateBatchBody,
  walkBatch,
  writeHeader,
} from '../system/codec';
import { mulberry32, rawHeader, SEED } from './support/codec-fixtures';


function describePacket(p: Packet): string {
  return `${p.ver}/${p.op}/${p.seq}/${p.body.toString('hex')}`;
}

function walked(body: Buffer): { packets: string[]; error: ImError | null } {
  const packets: string[] = [];
  const error = walkBatch(body, (inner) => packets.push(describePacket(inner)));
  return { packets, error };
}

/**
 * goim's examples/javascript/client.js op-9 branch, transcribed (wire.md §8):
 * it walks from offset 16 to the end of the frame stepping by each inner
 * packLen, and decodes body = slice(offset + headerLen, offset + packLen).
 * Bounded here so a bad tiling fails the test instead of hanging it.
 */
function goimClientWalk(frame: Buffer): string[] {
  const data = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length);
  const view = new DataView(data, 0);
  const seen: string[] = [];
  const rawHeaderLen = 16;
  let packetLen = 0;
  for (let offset = rawHeaderLen; offset < data.byteLength; offset += packetLen) {
    packetLen = view.getInt32(offset);
    const headerLen = view.getInt16(offset + 4);
    const ver = view.getInt16(offset + 6);
    const op = view.getInt32(offset + 8);
    const seq = view.getInt32(offset + 12);
    const body = Buffer.from(data.slice(offset + headerLen, offset + packetLen));
    seen.push(`${ver}/${op}/${seq}/${body.toString('hex')}`);
    if (packetLen <= 0 || seen.length > 10000) throw new Error('goim client would hang');
  }
  return seen;
}

describe('codec/batch', () => {
  const inner = [
    encodePacket(1, 1000, 0, '{"msg":"first"}'),
    encodePacket(1, 1001, 0, ''),
    encodePacket(1, 1002, 7, 'third'),
  ];
  const expected = [
    `1/1000/0/${Buffer.from('{"msg":"first"}').toString('hex')}`,
    '1/1001/0/',
    `1/1002/7/${Buffer.from('third').toString('hex')}`,
  ];

  it('builds the body as the plain concatenation of the packets', () => {
    const body = buildBatchBody(inner);
    expect(body.equals(Buffer.concat(inner))).to.equal(true);
  });

  it('walks what it built, in order, with bodies as views of the batch', () => {
    const body = buildBatchBody(inner);
    const bodies: Buffer[] = [];
    const error = walkBatch(body, (p) => bodies.push(p.body));
    expect(error).to.equal(null);
    expect(walked(body).packets).to.deep.equal(expected);
    for (const b of bodies) expect(b.buffer).to.equal(body.buffer);
    expect(validateBatchBody(body)).to.equal(null);
  });

  it('accepts a single packet and inner bodies over the client limit (no maxBodySize inside batches)', () => {
    expect(validateBatchBody(encodePacket(1, 1000, 0, ''))).to.equal(null);
    expect(validateBatchBody(encodePacket(1, 1000, 0, Buffer.alloc(100000)))).to.equal(null);
  });

  describe('validateBatchBody rejects', () => {
    const good = buildBatchBody(inner);
    const faults: Array<[string, Buffer]> = [
      ['an empty body', Buffer.alloc(0)],
      ['inner packLen 0', Buffer.concat([good, rawHeader(0, 16, 1000, 0)])],
      ['inner packLen 15', Buffer.concat([good, rawHeader(15, 16, 1000, 0)])],
      ['inner packLen past the end', Buffer.concat([good, rawHeader(40, 16, 1000, 0), Buffer.alloc(10)])],
      ['a trailing partial header', Buffer.concat([good, inner[0].subarray(0, 9)])],
      ['a trailing partial packet', Buffer.concat([good, inner[0].subarray(0, inner[0].length - 1)])],
      ['a body shorter than one header', Buffer.alloc(5)],
      ['inner headerLen 15', Buffer.concat([rawHeader(20, 15, 1000, 0), Buffer.alloc(4), good])],
      ['inner headerLen 17', Buffer.concat([good, rawHeader(20, 17, 1000, 0), Buffer.alloc(4)])],
    ];
    for (const [label, body] of faults) {
      it(`${label} as BAD_BATCH`, () => {
        const error = validateBatchBody(body);
        expect(error).to.be.instanceOf(ImError);
        expect(error?.name).to.equal('BAD_BATCH');
        expect(error?.code).to.equal('E_BAD_BATCH');
      });
    }
  });

  it('walkBatch visits the good packets before a bad tiling, then returns BAD_BATCH', () => {
    const body = Buffer.concat([inner[0], inner[1], rawHeader(3, 16, 1000, 0), inner[2]]);
    const result = walked(body);
    expect(result.packets).to.deep.equal(expected.slice(0, 2));
    expect(result.error?.name).to.equal('BAD_BATCH');
  });

  it('encodeRawFrame writes op 9, ver 1, seq 0, packLen = 16 + body.length, then the body', () => {
    const body = buildBatchBody(inner);
    const frame = encodeRawFrame(body);
    const packLen = (16 + body.length).toString(16).padStart(8, '0');
    expect(frame.subarray(0, 16).toString('hex')).to.equal(packLen + '0010' + '0001' + '00000009' + '00000000');
    expect(frame.subarray(16).equals(body)).to.equal(true);
    expect(Op.Raw).to.equal(9);
  });

  it('the goim browser client walking encodeRawFrame output sees exactly the inner packets', () => {
    expect(goimClientWalk(encodeRawFrame(buildBatchBody(inner)))).to.deep.equal(expected);
  });

  it(`random batches: build, validate, walk and the goim client agree (2000 runs, seed ${SEED})`, () => {
    const random = mulberry32(SEED);
    const int = (maxExclusive: number): number => Math.floor(random() * maxExclusive);
    for (let run = 0; run < 2000; run++) {
      const packets: Buffer[] = [];
      const descriptions: string[] = [];
      const count = 1 + int(12);
      for (let i = 0; i < count; i++) {
        const body = Buffer.alloc(int(random() < 0.05 ? 9000 : 60));
        for (let j = 0; j < body.length; j++) body[j] = int(256);
        // The goim client reads ver as int16; keep it in the range both sides agree on.
        const ver = int(0x8000);
        const op = 1000 + int(100);
        const seq = int(0x7fffffff);
        const packet = Buffer.allocUnsafe(HEADER_LEN + body.length);
        writeHeader(packet, 0, packet.length, ver, op, seq);
        body.copy(packet, HEADER_LEN);
        packets.push(packet);
        descriptions.push(`${ver}/${op}/${seq}/${body.toString('hex')}`);
      }
      const body = buildBatchBody(packets);
      expect(validateBatchBody(body), `run ${run}`).to.equal(null);
      expect(walked(body).packets, `run ${run}`).to.deep.equal(descriptions);
      expect(goimClientWalk(encodeRawFrame(body)), `run ${run}`).to.deep.equal(descriptions);

      // Any cut that does not fall on a packet boundary must be refused.
      const boundaries = new Set<number>();
      let at = 0;
      for (const p of packets) boundaries.add((at += p.length));
      const cut = int(body.length);
      const truncated = validateBatchBody(body.subarray(0, cut));
      expect(truncated === null, `run ${run}, cut ${cut}`).to.equal(boundaries.has(cut));
    }
  });
});

import { expect } from 'chai';
import { ImError } from '../system/errors';
import { Packet, decodeFrame, encodePacket } from '../system/codec';
import { mulberry32, rawHeader, SEED } from './support/codec-fixtures';

const MAX_BODY = 4096;

function expectPacket(result: Packet | ImError): Packet {
  if (result instanceof ImError) throw new Error(`expected a packet, got ${result.name}: ${result.message}`);
  return result;
}

function errorName(result: Packet | ImError): string {
  if (!(result instanceof ImError)) throw new Error('expected an error, got a packet');
  return result.name;
}

describe('codec/decodeFrame', () => {
  it('decodes a good frame with the body as a view of the frame', () => {
    const frame = encodePacket(1, 7, 1, '{"mid":123}');
    const packet = expectPacket(decodeFrame(frame, MAX_BODY));
    expect({ ver: packet.ver, op: packet.op, seq: packet.seq }).to.deep.equal({ ver: 1, op: 7, seq: 1 });
    expect(packet.body.toString()).to.equal('{"mid":123}');
    expect(packet.body.buffer).to.equal(frame.buffer);
    expect(packet.body.byteOffset).to.equal(frame.byteOffset + 16);
  });

  it('decodes edge header values (ver 65535, negative op, int32 max seq)', () => {
    const packet = expectPacket(decodeFrame(encodePacket(65535, -2, 0x7fffffff, ''), MAX_BODY));
    expect({ ver: packet.ver, op: packet.op, seq: packet.seq }).to.deep.equal({ ver: 65535, op: -2, seq: 0x7fffffff });
    expect(packet.body.length).to.equal(0);
  });

  it('ignores bytes after packLen, as goim does', () => {
    const frame = Buffer.concat([encodePacket(1, 4, 2, 'abc'), Buffer.from('trailing garbage')]);
    const packet = expectPacket(decodeFrame(frame, MAX_BODY));
    expect(packet.body.toString()).to.equal('abc');
  });

  it('accepts a body of exactly maxBodySize and rejects one byte more as BODY_TOO_LARGE', () => {
    expect(expectPacket(decodeFrame(encodePacket(1, 4, 1, Buffer.alloc(100)), 100)).body.length).to.equal(100);
    expect(errorName(decodeFrame(encodePacket(1, 4, 1, Buffer.alloc(101)), 100))).to.equal('BODY_TOO_LARGE');
    expect(errorName(decodeFrame(rawHeader(0xffffffff, 16), MAX_BODY))).to.equal('BODY_TOO_LARGE');
  });

  it('rejects a frame shorter than its packLen as FRAME_TRUNCATED', () => {
    const frame = encodePacket(1, 4, 1, 'abcdef');
    for (let len = 16; len < frame.length; len++) {
      expect(errorName(decodeFrame(frame.subarray(0, len), MAX_BODY)), `length ${len}`).to.equal('FRAME_TRUNCATED');
    }
  });

  it('rejects a frame shorter than 16 bytes as PACKET_TOO_SHORT', () => {
    const frame = encodePacket(1, 2, 1, '');
    for (let len = 0; len < 16; len++) {
      expect(errorName(decodeFrame(frame.subarray(0, len), MAX_BODY)), `length ${len}`).to.equal('PACKET_TOO_SHORT');
    }
  });

  it('rejects packLen < 16 as PACKET_TOO_SHORT', () => {
    expect(errorName(decodeFrame(rawHeader(0, 16), MAX_BODY))).to.equal('PACKET_TOO_SHORT');
    expect(errorName(decodeFrame(rawHeader(15, 16), MAX_BODY))).to.equal('PACKET_TOO_SHORT');
  });

  it('rejects headerLen != 16 as BAD_HEADER_LEN', () => {
    for (const headerLen of [0, 15, 17, 0xffff]) {
      const frame = Buffer.concat([rawHeader(20, headerLen), Buffer.alloc(4)]);
      expect(errorName(decodeFrame(frame, MAX_BODY)), `headerLen ${headerLen}`).to.equal('BAD_HEADER_LEN');
    }
  });

  it(`never throws on random garbage and agrees with the header rules (5000 frames, seed ${SEED})`, () => {
    const random = mulberry32(SEED);
    const int = (maxExclusive: number): number => Math.floor(random() * maxExclusive);
    for (let run = 0; run < 5000; run++) {
      const frame = Buffer.alloc(int(80));
      for (let i = 0; i < frame.length; i++) frame[i] = int(256);
      // Make some frames plausible so the success path is exercised too.
      if (frame.length >= 16 && random() < 0.5) {
        frame.writeUInt32BE(16 + int(frame.length - 15), 0);
        frame.writeUInt16BE(16, 4);
      }
      const maxBody = int(64);
      let result: Packet | ImError | undefined;
      expect(() => { result = decodeFrame(frame, maxBody); }, `run ${run}`).to.not.throw();
      const decoded = result as Packet | ImError;
      if (decoded instanceof ImError) continue;
      const packLen = frame.readUInt32BE(0);
      expect(frame.readUInt16BE(4), `run ${run}`).to.equal(16);
      expect(packLen, `run ${run}`).to.be.within(16, Math.min(frame.length, 16 + maxBody));
      expect(decoded.body.equals(frame.subarray(16, packLen)), `run ${run}`).to.equal(true);
    }
  });
});

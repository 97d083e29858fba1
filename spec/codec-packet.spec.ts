import { expect } from 'chai';
import { ImError } from '../system/errors';
import {
  HEADER_LEN,
  Op,
  Outbound,
  PacketHeader,
  checkHeader,
  encodePacket,
  encodeRawFrame,
  readHeader,
  writeHeader,
} from '../system/codec';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

function header(overrides: Partial<PacketHeader>): PacketHeader {
  return { packLen: HEADER_LEN, headerLen: HEADER_LEN, ver: 1, op: Op.Auth, seq: 1, ...overrides };
}

function errorName(result: ImError | null): string | null {
  return result === null ? null : result.name;
}

describe('codec/packet', () => {
  describe('op table', () => {
    it('matches wire.md §1 numbering', () => {
      expect(Op).to.deep.equal({
        Handshake: 0, HandshakeReply: 1, Heartbeat: 2, HeartbeatReply: 3, SendMsg: 4, SendMsgReply: 5,
        DisconnectReply: 6, Auth: 7, AuthReply: 8, Raw: 9, ProtoReady: 10, ProtoFinish: 11,
        ChangeRoom: 12, ChangeRoomReply: 13, Sub: 14, SubReply: 15, Unsub: 16, UnsubReply: 17,
      });
      expect(HEADER_LEN).to.equal(16);
    });
  });

  describe('encodePacket', () => {
    it('writes the exact bytes of an auth packet with body {"mid":123}', () => {
      const packet = encodePacket(1, Op.Auth, 1, '{"mid":123}');
      expect(packet.length).to.equal(27);
      expect(packet.subarray(0, 16).toString('hex')).to.equal(
        '0000001b' + '0010' + '0001' + '00000007' + '00000001',
      );
      expect(packet.subarray(16).toString('utf8')).to.equal('{"mid":123}');
    });

    it('gives the same bytes for a string body and its utf8 Buffer', () => {
      const text = 'héllo 世界 🎉';
      const fromString = encodePacket(1, 1000, 0, text);
      const fromBuffer = encodePacket(1, 1000, 0, Buffer.from(text, 'utf8'));
      expect(fromString.equals(fromBuffer)).to.equal(true);
      expect(fromString.readUInt32BE(0)).to.equal(16 + Buffer.byteLength(text));
    });

    it('encodes an empty body as a bare 16-byte header', () => {
      const packet = encodePacket(1, Op.Heartbeat, 7, '');
      expect(packet.toString('hex')).to.equal('00000010' + '0010' + '0001' + '00000002' + '00000007');
      expect(encodePacket(1, Op.Heartbeat, 7, Buffer.alloc(0)).equals(packet)).to.equal(true);
    });

    it('copies the body so later changes to the source do not leak in', () => {
      const body = Buffer.from('abc');
      const packet = encodePacket(1, 1000, 0, body);
      body.write('xyz');
      expect(packet.subarray(16).toString()).to.equal('abc');
    });

    const edgeCases: Array<[string, number, number, number]> = [
      ['all zero', 0, 0, 0],
      ['ver 65535', 65535, 1000, 1],
      ['op int32 min', 1, INT32_MIN, 0],
      ['op -1', 1, -1, 0],
      ['op int32 max', 1, INT32_MAX, 0],
      ['seq int32 max', 1, Op.SendMsg, INT32_MAX],
      ['seq int32 min', 1, Op.SendMsg, INT32_MIN],
    ];
    for (const [label, ver, op, seq] of edgeCases) {
      it(`round-trips through readHeader: ${label}`, () => {
        const body = Buffer.from([1, 2, 3]);
        const packet = encodePacket(ver, op, seq, body);
        expect(readHeader(packet, 0)).to.deep.equal({ packLen: 19, headerLen: 16, ver, op, seq });
        expect(packet.subarray(16).equals(body)).to.equal(true);
      });
    }

    it('accepts uint32 op/seq and masks ver to 16 bits instead of throwing', () => {
      const packet = encodePacket(0x1ffff, 0xffffffff, 0x80000000, '');
      expect(packet.subarray(6, 16).toString('hex')).to.equal('ffff' + 'ffffffff' + '80000000');
      expect(readHeader(packet, 0)).to.deep.equal({ packLen: 16, headerLen: 16, ver: 0xffff, op: -1, seq: INT32_MIN });
    });
  });

  describe('writeHeader / readHeader', () => {
    it('writes at an offset without touching neighbouring bytes', () => {
      const target = Buffer.alloc(40, 0xaa);
      writeHeader(target, 10, 30, 2, 1000, 5);
      expect(target.subarray(0, 10).every((b) => b === 0xaa)).to.equal(true);
      expect(target.subarray(26).every((b) => b === 0xaa)).to.equal(true);
      expect(target.subarray(10, 26).toString('hex')).to.equal('0000001e' + '0010' + '0002' + '000003e8' + '00000005');
      expect(readHeader(target, 10)).to.deep.equal({ packLen: 30, headerLen: 16, ver: 2, op: 1000, seq: 5 });
    });

    it('reads packLen as uint32 and headerLen/ver as uint16', () => {
      const raw = Buffer.from('ffffffff' + 'ffff' + 'ffff' + 'ffffffff' + 'ffffffff', 'hex');
      expect(readHeader(raw, 0)).to.deep.equal({ packLen: 0xffffffff, headerLen: 0xffff, ver: 0xffff, op: -1, seq: -1 });
    });
  });

  describe('checkHeader', () => {
    it('accepts a header-only packet and a body of exactly maxBodySize', () => {
      expect(checkHeader(header({ packLen: 16 }), 0)).to.equal(null);
      expect(checkHeader(header({ packLen: 16 + 4096 }), 4096)).to.equal(null);
    });

    it('rejects packLen < 16 as PACKET_TOO_SHORT', () => {
      expect(errorName(checkHeader(header({ packLen: 0 }), 4096))).to.equal('PACKET_TOO_SHORT');
      expect(errorName(checkHeader(header({ packLen: 15 }), 4096))).to.equal('PACKET_TOO_SHORT');
    });

    it('rejects headerLen != 16 as BAD_HEADER_LEN', () => {
      expect(errorName(checkHeader(header({ headerLen: 15 }), 4096))).to.equal('BAD_HEADER_LEN');
      expect(errorName(checkHeader(header({ headerLen: 17 }), 4096))).to.equal('BAD_HEADER_LEN');
      expect(errorName(checkHeader(header({ headerLen: 0 }), 4096))).to.equal('BAD_HEADER_LEN');
    });

    it('rejects a body over maxBodySize as BODY_TOO_LARGE', () => {
      expect(errorName(checkHeader(header({ packLen: 16 + 4097 }), 4096))).to.equal('BODY_TOO_LARGE');
      expect(errorName(checkHeader(header({ packLen: 0xffffffff }), 4096))).to.equal('BODY_TOO_LARGE');
    });

    it('reports PACKET_TOO_SHORT before BAD_HEADER_LEN, and BAD_HEADER_LEN before BODY_TOO_LARGE', () => {
      expect(errorName(checkHeader(header({ packLen: 3, headerLen: 3 }), 4096))).to.equal('PACKET_TOO_SHORT');
      expect(errorName(checkHeader(header({ packLen: 99999, headerLen: 3 }), 4096))).to.equal('BAD_HEADER_LEN');
    });

    it('returns ImError instances carrying the catalogue code', () => {
      const error = checkHeader(header({ packLen: 1 }), 4096);
      expect(error).to.be.instanceOf(ImError);
      expect(error?.code).to.equal('E_PACKET_TOO_SHORT');
    });
  });

  describe('Outbound', () => {
    it('frames a non-raw proto once and shares the same Buffer for tcp and ws', () => {
      const out = Outbound.fromProto({ ver: 1, op: 1000, seq: 0, body: Buffer.from('hi') });
      expect(out.tcp).to.equal(out.ws);
      expect(out.op).to.equal(1000);
      expect(out.tcp.toString('hex')).to.equal('00000012' + '0010' + '0001' + '000003e8' + '00000000' + '6869');
    });

    it('frames the proto exactly as given (ver and seq untouched)', () => {
      const out = Outbound.fromProto({ ver: 0, op: 1001, seq: 42, body: Buffer.alloc(0) });
      expect(readHeader(out.tcp, 0)).to.deep.equal({ packLen: 16, headerLen: 16, ver: 0, op: 1001, seq: 42 });
      const seven = Outbound.fromProto({ ver: 7, op: 1001, seq: 0, body: Buffer.alloc(0) });
      expect(readHeader(seven.ws, 0).ver).to.equal(7);
    });

    it('sends an op-9 body as is to tcp and wrapped in one op-9 frame to ws', () => {
      const body = Buffer.concat([encodePacket(1, 1000, 0, 'a'), encodePacket(1, 1001, 0, 'bc')]);
      const out = Outbound.fromProto({ ver: 5, op: Op.Raw, seq: 9, body });
      expect(out.op).to.equal(Op.Raw);
      expect(out.tcp).to.equal(body);
      expect(out.ws).to.not.equal(out.tcp);
      expect(out.ws.equals(encodeRawFrame(body))).to.equal(true);
      expect(readHeader(out.ws, 0)).to.deep.equal({ packLen: 16 + body.length, headerLen: 16, ver: 1, op: 9, seq: 0 });
      expect(out.ws.subarray(16).equals(body)).to.equal(true);
    });

    it('Outbound.packet frames a reply as one packet shared by both transports', () => {
      const out = Outbound.packet(1, Op.AuthReply, 3, '{"ok":"yes"}');
      expect(out.tcp).to.equal(out.ws);
      expect(out.op).to.equal(Op.AuthReply);
      expect(out.tcp.equals(encodePacket(1, Op.AuthReply, 3, '{"ok":"yes"}'))).to.equal(true);
    });
  });
});

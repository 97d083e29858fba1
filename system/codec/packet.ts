import { ImError, imError } from '../errors';

/** Every client packet starts with this many header bytes (wire.md §1). */
export const HEADER_LEN = 16;

/** Operation codes (wire.md §1). Business ops start at 1000 and are not listed. */
export const Op = {
  Handshake: 0,
  HandshakeReply: 1,
  Heartbeat: 2,
  HeartbeatReply: 3,
  SendMsg: 4,
  SendMsgReply: 5,
  DisconnectReply: 6,
  Auth: 7,
  AuthReply: 8,
  Raw: 9,
  ProtoReady: 10,
  ProtoFinish: 11,
  ChangeRoom: 12,
  ChangeRoomReply: 13,
  Sub: 14,
  SubReply: 15,
  Unsub: 16,
  UnsubReply: 17,
} as const;

export interface Packet {
  ver: number;
  op: number;
  seq: number;
  body: Buffer;
}

export interface PacketHeader {
  packLen: number;
  headerLen: number;
  ver: number;
  op: number;
  seq: number;
}

const PACK_LEN_AT = 0;
const HEADER_LEN_AT = 4;
const VER_AT = 6;
const OP_AT = 8;
const SEQ_AT = 12;

/**
 * Writes a 16-byte header. Values are masked to their wire width instead of
 * range-checked: callers pass numbers that came off the wire or out of gRPC
 * (where op/seq may arrive as uint32), and Buffer's writers throw on overflow.
 */
export function writeHeader(
  target: Buffer,
  offset: number,
  packLen: number,
  ver: number,
  op: number,
  seq: number,
): void {
  target.writeUInt32BE(packLen >>> 0, offset + PACK_LEN_AT);
  target.writeUInt16BE(HEADER_LEN, offset + HEADER_LEN_AT);
  target.writeUInt16BE(ver & 0xffff, offset + VER_AT);
  target.writeInt32BE(op | 0, offset + OP_AT);
  target.writeInt32BE(seq | 0, offset + SEQ_AT);
}

/** Reads a header; the caller guarantees 16 bytes are available at offset. */
export function readHeader(buf: Buffer, offset: number): PacketHeader {
  return {
    packLen: buf.readUInt32BE(offset + PACK_LEN_AT),
    headerLen: buf.readUInt16BE(offset + HEADER_LEN_AT),
    ver: buf.readUInt16BE(offset + VER_AT),
    op: buf.readInt32BE(offset + OP_AT),
    seq: buf.readInt32BE(offset + SEQ_AT),
  };
}

/** Header and body in a single allocation, so a push is one write. */
export function encodePacket(ver: number, op: number, seq: number, body: Buffer | string): Buffer {
  const bodyLen = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const packet = Buffer.allocUnsafe(HEADER_LEN + bodyLen);
  writeHeader(packet, 0, packet.length, ver, op, seq);
  if (typeof body === 'string') {
    packet.write(body, HEADER_LEN, 'utf8');
  } else {
    body.copy(packet, HEADER_LEN);
  }
  return packet;
}

/**
 * The structural checks both client decoders apply to a header before they
 * trust packLen (wire.md §1). Order matters: the first failing rule names the
 * error, so the same bytes give the same code on TCP and WebSocket.
 */
export function checkHeader(h: PacketHeader, maxBodySize: number): ImError | null {
  if (h.packLen < HEADER_LEN) {
    return imError('PACKET_TOO_SHORT', `packLen ${h.packLen}`);
  }
  if (h.headerLen !== HEADER_LEN) {
    return imError('BAD_HEADER_LEN', `headerLen ${h.headerLen}`);
  }
  const bodyLen = h.packLen - HEADER_LEN;
  if (bodyLen > maxBodySize) {
    return imError('BODY_TOO_LARGE', `body ${bodyLen} bytes, limit ${maxBodySize}`);
  }
  return null;
}

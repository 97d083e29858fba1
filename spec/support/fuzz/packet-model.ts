/**
 * A reference reading of wire.md §1 and §3, written as plainly as possible
 * and independently of system/codec: it sees the whole input at once, so it
 * knows nothing of chunks, partial headers or backlogs. The fuzz properties
 * compare the codec with it.
 */

export interface ModelPacket {
  readonly ver: number;
  readonly op: number;
  readonly seq: number;
  readonly body: Buffer;
}

export interface ModelOutcome {
  readonly packets: readonly ModelPacket[];
  /** The catalogued code (`E_...`) of the first structural fault, or null. */
  readonly error: string | null;
  /** Bytes of an incomplete packet at the end (0 when the input ended on a packet boundary or failed). */
  readonly pending: number;
}

const HEADER = 16;

/** The rule wire.md §1 names first for a header that breaks one, or null. */
export function headerFault(packLen: number, headerLen: number, maxBody: number): string | null {
  if (packLen < HEADER) return 'E_PACKET_TOO_SHORT';
  if (headerLen !== HEADER) return 'E_BAD_HEADER_LEN';
  if (packLen - HEADER > maxBody) return 'E_BODY_TOO_LARGE';
  return null;
}

function packetAt(bytes: Buffer, at: number, packLen: number): ModelPacket {
  return { ver: bytes.readUInt16BE(at + 6), op: bytes.readInt32BE(at + 8), seq: bytes.readInt32BE(at + 12), body: bytes.subarray(at + HEADER, at + packLen) };
}

/** A TCP byte stream: packets strictly by packLen; a header is judged as soon as its 16 bytes exist. */
export function modelStream(bytes: Buffer, maxBody: number): ModelOutcome {
  const packets: ModelPacket[] = [];
  let at = 0;
  while (bytes.length - at >= HEADER) {
    const packLen = bytes.readUInt32BE(at);
    const fault = headerFault(packLen, bytes.readUInt16BE(at + 4), maxBody);
    if (fault !== null) return { packets, error: fault, pending: 0 };
    if (at + packLen > bytes.length) break;
    packets.push(packetAt(bytes, at, packLen));
    at += packLen;
  }
  return { packets, error: null, pending: bytes.length - at };
}

/** One WebSocket message: one packet; bytes past packLen are ignored. */
export function modelFrame(frame: Buffer, maxBody: number): ModelPacket | string {
  if (frame.length < HEADER) return 'E_PACKET_TOO_SHORT';
  const packLen = frame.readUInt32BE(0);
  const fault = headerFault(packLen, frame.readUInt16BE(4), maxBody);
  if (fault !== null) return fault;
  if (frame.length < packLen) return 'E_FRAME_TRUNCATED';
  return packetAt(frame, 0, packLen);
}

/** An op-9 body: complete packets that tile it exactly; no body limit (server to client). */
export function modelBatch(body: Buffer): ModelOutcome {
  const packets: ModelPacket[] = [];
  if (body.length === 0) return { packets, error: 'E_BAD_BATCH', pending: 0 };
  let at = 0;
  while (at < body.length) {
    if (body.length - at < HEADER) return { packets, error: 'E_BAD_BATCH', pending: 0 };
    const packLen = body.readUInt32BE(at);
    if (packLen < HEADER || body.readUInt16BE(at + 4) !== HEADER || packLen > body.length - at) {
      return { packets, error: 'E_BAD_BATCH', pending: 0 };
    }
    packets.push(packetAt(body, at, packLen));
    at += packLen;
  }
  return { packets, error: null, pending: 0 };
}

/** A packet as comparable text. */
export function describePacket(p: ModelPacket): string {
  return `${p.ver}/${p.op}/${p.seq}/${p.body.toString('hex')}`;
}

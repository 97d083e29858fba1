import { ImError, imError } from '../errors';
import { HEADER_LEN, Packet, checkHeader, readHeader } from './packet';

/**
 * Decodes one WebSocket frame as one packet (wire.md §1). Bytes after packLen
 * are ignored, as goim's server does. The body is a view of the frame, not a
 * copy. Returns the error instead of throwing, whatever the bytes are.
 */
export function decodeFrame(frame: Buffer, maxBodySize: number): Packet | ImError {
  if (frame.length < HEADER_LEN) {
    return imError('PACKET_TOO_SHORT', `frame of ${frame.length} bytes`);
  }
  const header = readHeader(frame, 0);
  const invalid = checkHeader(header, maxBodySize);
  if (invalid !== null) return invalid;
  if (frame.length < header.packLen) {
    return imError('FRAME_TRUNCATED', `packLen ${header.packLen}, frame ${frame.length} bytes`);
  }
  return {
    ver: header.ver,
    op: header.op,
    seq: header.seq,
    body: frame.subarray(HEADER_LEN, header.packLen),
  };
}

import { ImError, imError } from '../errors';
import { HEADER_LEN, Op, Packet, encodePacket, readHeader } from './packet';

/** An op-9 body: complete encoded packets back to back (wire.md §3). */
export function buildBatchBody(packets: readonly Buffer[]): Buffer {
  return Buffer.concat(packets);
}

/**
 * Visits the inner packets of an op-9 body in order; bodies are views of
 * `body`. Stops at the first structural fault and returns BAD_BATCH, after
 * the packets before it were visited. No body-size limit applies: batches go
 * server to client, where wire.md §1 sets none.
 */
export function walkBatch(body: Buffer, visit: (inner: Packet) => void): ImError | null {
  if (body.length === 0) return imError('BAD_BATCH', 'empty body');
  let offset = 0;
  while (offset < body.length) {
    const left = body.length - offset;
    if (left < HEADER_LEN) {
      return imError('BAD_BATCH', `${left} trailing bytes at offset ${offset}`);
    }
    const header = readHeader(body, offset);
    // goim's browser client steps by packLen; a packLen below 16 would make it loop or misread.
    if (header.packLen < HEADER_LEN) {
      return imError('BAD_BATCH', `packLen ${header.packLen} at offset ${offset}`);
    }
    if (header.headerLen !== HEADER_LEN) {
      return imError('BAD_BATCH', `headerLen ${header.headerLen} at offset ${offset}`);
    }
    if (header.packLen > left) {
      return imError('BAD_BATCH', `packLen ${header.packLen} at offset ${offset} runs past the end`);
    }
    visit({
      ver: header.ver,
      op: header.op,
      seq: header.seq,
      body: body.subarray(offset + HEADER_LEN, offset + header.packLen),
    });
    offset += header.packLen;
  }
  return null;
}

/** A body must tile exactly into complete packets; an empty body does not. */
export function validateBatchBody(body: Buffer): ImError | null {
  return walkBatch(body, ignoreInnerPacket);
}

function ignoreInnerPacket(): void {
  // validation only needs the structure
}

/** What a WebSocket client receives for an op-9 push: op 9, ver 1, seq 0, then the batch. */
export function encodeRawFrame(body: Buffer): Buffer {
  return encodePacket(1, Op.Raw, 0, body);
}

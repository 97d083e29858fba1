/**
 * The codec's fuzz properties, shared by spec/fuzz-codec.spec.ts (a short
 * run) and `npm run fuzz` (a long one). Each compares system/codec with the
 * reference model on generated input; a throw anywhere is a failure.
 */
import fc from 'fast-check';
import { walkBatch, validateBatchBody, encodeRawFrame } from '../../../system/codec/batch';
import { decodeFrame } from '../../../system/codec/frame-decoder';
import { Op, Packet } from '../../../system/codec/packet';
import { StreamDecoder } from '../../../system/codec/stream-decoder';
import { encodeBinaryFrame, frameHeaderLength } from '../../../system/codec/ws-frame';
import { ImError } from '../../../system/errors';
import { BODY_LIMITS, batchArb, cutsArb, frameArb, splitAt, streamArb, wsPayloadArb } from './packet-arbitraries';
import { FuzzSettings, Verdict, checkProperty } from './fuzz-seed';
import { ModelOutcome, describePacket, modelBatch, modelFrame, modelStream } from './packet-model';

interface Decoded {
  readonly packets: string[];
  readonly errors: ImError[];
  /** Packets delivered after the first error (must stay 0). */
  readonly packetsAfterError: number;
  readonly failed: boolean;
  readonly buffered: number;
}

function decodeChunks(chunks: readonly Buffer[], maxBody: number): Decoded {
  const packets: string[] = [];
  const errors: ImError[] = [];
  let packetsAfterError = 0;
  const decoder = new StreamDecoder(maxBody, {
    packet: (p: Packet) => {
      if (errors.length > 0) packetsAfterError++;
      packets.push(describePacket(p));
    },
    error: (e: ImError) => {
      errors.push(e);
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  return { packets, errors, packetsAfterError, failed: decoder.failed, buffered: decoder.buffered };
}

function mismatch(what: string, expected: unknown, actual: unknown): Error {
  return new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function expectDecoded(d: Decoded, model: ModelOutcome, how: string): void {
  const want = model.packets.map(describePacket);
  if (d.packets.join('|') !== want.join('|')) throw mismatch(`${how}: packets`, want, d.packets);
  const codes = d.errors.map((e) => (e instanceof ImError ? e.code : String(e)));
  const wantCodes = model.error === null ? [] : [model.error];
  if (codes.join('|') !== wantCodes.join('|')) throw mismatch(`${how}: errors reported`, wantCodes, codes);
  if (d.packetsAfterError !== 0) throw mismatch(`${how}: packets after the error`, 0, d.packetsAfterError);
  if (d.failed !== (model.error !== null)) throw mismatch(`${how}: failed`, model.error !== null, d.failed);
  if (model.error === null && d.buffered !== model.pending) throw mismatch(`${how}: bytes held`, model.pending, d.buffered);
}

export interface StreamCase {
  readonly maxBody: number;
  readonly bytes: Buffer;
  readonly cuts: number[];
}

export const streamCaseArb: fc.Arbitrary<StreamCase> = fc.constantFrom(...BODY_LIMITS)
  .chain((maxBody) => fc.record({ maxBody: fc.constant(maxBody), bytes: streamArb(maxBody), cuts: cutsArb }));

/**
 * TCP: whatever the bytes and however they are cut into chunks, the stream
 * decoder never throws, delivers exactly the model's packets, reports the
 * model's error once (and nothing after it), and holds exactly the bytes of
 * an incomplete last packet. Both the whole input and a random split are
 * checked, so any split gives the same outcome as no split.
 */
export const streamProperty = fc.property(streamCaseArb, (c) => {
  const model = modelStream(c.bytes, c.maxBody);
  expectDecoded(decodeChunks([c.bytes], c.maxBody), model, 'one chunk');
  expectDecoded(decodeChunks(splitAt(c.bytes, c.cuts), c.maxBody), model, `split at ${JSON.stringify(c.cuts)}`);
});

export interface FrameCase {
  readonly maxBody: number;
  readonly frame: Buffer;
}

export const frameCaseArb: fc.Arbitrary<FrameCase> = fc.constantFrom(...BODY_LIMITS)
  .chain((maxBody) => fc.record({ maxBody: fc.constant(maxBody), frame: frameArb(maxBody) }));

/** WebSocket: one message is one packet or one reported error (never a throw), as the model says. */
export const frameProperty = fc.property(frameCaseArb, (c) => {
  const decoded = decodeFrame(c.frame, c.maxBody);
  const model = modelFrame(c.frame, c.maxBody);
  if (typeof model === 'string') {
    if (!(decoded instanceof ImError)) throw mismatch('error', model, describePacket(decoded));
    if (decoded.code !== model) throw mismatch('error code', model, decoded.code);
    return;
  }
  if (decoded instanceof ImError) throw mismatch('packet', describePacket(model), decoded.code);
  if (describePacket(decoded) !== describePacket(model)) throw mismatch('packet', describePacket(model), describePacket(decoded));
});

/**
 * Op 9: an inner packet that lies (short packLen, bad headerLen, running
 * past the end) or trailing bytes give BAD_BATCH after the packets before
 * them; a good batch survives being framed as one op-9 WebSocket message.
 */
export const batchProperty = fc.property(batchArb, (body) => {
  const model = modelBatch(body);
  const visited: string[] = [];
  const error = walkBatch(body, (inner) => visited.push(describePacket(inner)));
  const want = model.packets.map(describePacket);
  if (visited.join('|') !== want.join('|')) throw mismatch('inner packets', want, visited);
  const code = error === null ? null : error.code;
  if (code !== model.error) throw mismatch('batch error', model.error, code);
  const validated = validateBatchBody(body);
  if ((validated === null) !== (model.error === null)) throw mismatch('validateBatchBody agrees with walkBatch', model.error, validated?.code ?? null);
  if (model.error !== null) return;
  const frame = decodeFrame(encodeRawFrame(body), body.length);
  if (frame instanceof ImError) throw mismatch('op-9 frame', 'a packet', frame.code);
  if (frame.op !== Op.Raw || !frame.body.equals(body)) throw mismatch('op-9 frame', { op: Op.Raw, body: body.toString('hex') }, { op: frame.op, body: frame.body.toString('hex') });
});

/** What a peer reads from a server frame: FIN, opcode, mask bit, payload (RFC 6455 §5.2). */
function readServerFrame(frame: Buffer): { fin: boolean; opcode: number; masked: boolean; payload: Buffer } {
  const fin = (frame[0] & 0x80) !== 0;
  const opcode = frame[0] & 0x0f;
  const masked = (frame[1] & 0x80) !== 0;
  let length = frame[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    length = frame.readUInt32BE(2) * 0x100000000 + frame.readUInt32BE(6);
    at = 10;
  }
  if (frame.length !== at + length) throw mismatch('frame length', at + length, frame.length);
  return { fin, opcode, masked, payload: frame.subarray(at) };
}

/** Server frames: whatever the payload length, one final unmasked binary frame carrying it exactly. */
export const wsFrameProperty = fc.property(wsPayloadArb, (payload) => {
  const frame = encodeBinaryFrame(payload);
  const read = readServerFrame(frame);
  if (!read.fin || read.opcode !== 2 || read.masked) throw mismatch('frame header', { fin: true, opcode: 2, masked: false }, read);
  if (!read.payload.equals(payload)) throw mismatch('payload', payload.length, read.payload.length);
  if (frame.length - payload.length !== frameHeaderLength(payload.length)) throw mismatch('header length', frameHeaderLength(payload.length), frame.length - payload.length);
});

export interface CodecProperty {
  readonly name: string;
  /** Share of the codec inputs this property gets in a long run. */
  readonly share: number;
  readonly check: (settings: FuzzSettings, numRuns: number, replayCommand: (env: string) => string) => Verdict;
}

function entry<T>(name: string, share: number, property: fc.IProperty<[T]>): CodecProperty {
  return { name, share, check: (settings, numRuns, replayCommand) => checkProperty(name, property, settings, numRuns, replayCommand) };
}

export const CODEC_PROPERTIES: readonly CodecProperty[] = [
  entry('stream', 0.5, streamProperty),
  entry('frame', 0.25, frameProperty),
  entry('batch', 0.2, batchProperty),
  entry('ws-frame', 0.05, wsFrameProperty),
];

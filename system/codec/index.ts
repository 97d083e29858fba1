export { HEADER_LEN, Op, encodePacket, writeHeader, readHeader, checkHeader } from './packet';
export type { Packet, PacketHeader } from './packet';
export { StreamDecoder } from './stream-decoder';
export type { StreamDecoderEvents } from './stream-decoder';
export { decodeFrame } from './frame-decoder';
export { buildBatchBody, validateBatchBody, walkBatch, encodeRawFrame } from './batch';
export { Outbound } from './outbound';
export { encodeBinaryFrame } from './ws-frame';

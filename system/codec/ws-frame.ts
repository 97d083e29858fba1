/**
 * A complete server-to-client WebSocket frame (RFC 6455 §5.2): FIN, binary
 * opcode, unmasked, then the payload. Server frames carry no mask, so one
 * frame's bytes are the same for every recipient: build once, write many.
 */
export function encodeBinaryFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const headerLen = frameHeaderLength(n);
  const frame = Buffer.allocUnsafe(headerLen + n);
  frame[0] = 0x82;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(frame, headerLen);
  return frame;
}

/** Bytes of an unmasked frame's header for a payload of `n` bytes. */
export function frameHeaderLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

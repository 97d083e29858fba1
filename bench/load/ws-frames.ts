/**
 * The least of RFC 6455 a load client needs: building masked client frames
 * (a fixed masking key, done once per distinct payload) and the upgrade
 * request. Server frames are parsed in place by BenchClient.
 */
export const WS_TEXT = 0x1;
export const WS_BINARY = 0x2;
export const WS_CLOSE = 0x8;
export const WS_PING = 0x9;
export const WS_PONG = 0xa;

const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** One final, masked client frame. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = 2 + lengthBytes + 4;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | n;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(n, 6);
  }
  for (let i = 0; i < 4; i++) frame[head - 4 + i] = MASK[i];
  for (let i = 0; i < n; i++) frame[head + i] = payload[i] ^ MASK[i & 3];
  return frame;
}

export function upgradeRequest(port: number, path: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    'latin1',
  );
}

import type { Writable } from 'node:stream';
import { expect } from 'chai';
import { encodeBinaryFrame } from '../system/codec/ws-frame';
import { Outbound } from '../system/codec/outbound';

/** ws exports its frame parser at runtime, though its typings do not declare it. */
type ReceiverCtor = new (options: { isServer: boolean; maxPayload: number }) => Writable;
const { Receiver } = require('ws') as { Receiver: ReceiverCtor };

/** Parses frames with ws's own client-side receiver: what a real client would make of our bytes. */
function decodeWithWs(frame: Buffer): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    receiver.on('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('codec/encodeBinaryFrame', () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
    it(`frames ${size} bytes so that ws's receiver reads them back as one binary message`, async () => {
      const payload = Buffer.alloc(size, size % 251);
      const frame = encodeBinaryFrame(payload);
      const headerLen = size < 126 ? 2 : size < 65536 ? 4 : 10;
      expect(frame.length).to.equal(headerLen + size);
      expect(frame[0]).to.equal(0x82, 'FIN + binary opcode');
      expect(frame[1] & 0x80).to.equal(0, 'server frames are not masked');
      const { data, isBinary } = await decodeWithWs(frame);
      expect(isBinary).to.equal(true);
      expect(data.equals(payload)).to.equal(true);
    });
  }

  it('Outbound builds its ws frame once and shares it', () => {
    const out = Outbound.packet(1, 1000, 0, '{"test":1}');
    expect(out.wsFrame).to.equal(out.wsFrame);
    expect(out.wsFrame.subarray(2).equals(out.ws)).to.equal(true);
  });
});

import { expect } from 'chai';
import { encodePacket, Op, readHeader } from '../system/codec/packet';
import { CloudHarness } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

/**
 * One PushMsg naming a key three times is one bucket message, so the three
 * packets are handed to the connection within one task: with coalescing on
 * they leave as one write.
 */
describe('cloud node: per-connection coalescing', () => {
  let h: CloudHarness | undefined;

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  async function pushThrice(coalesce: boolean): Promise<{ ws: TestClient; tcp: TestClient; wsFrames: Buffer[]; tcpBytes: Buffer }> {
    h = await CloudHarness.start({ protocol: { coalesce } });
    const ws = (await TestClient.online('ws', h.ports.ws, { ...GOIM_TOKEN, key: 'ws-key' })).client;
    const tcp = (await TestClient.online('tcp', h.ports.tcp, { ...GOIM_TOKEN, key: 'tcp-key' })).client;
    const wsMark = ws.frames.length;
    const tcpMark = tcp.frames.length;
    await h.pushMsg(['ws-key', 'ws-key', 'ws-key', 'tcp-key', 'tcp-key', 'tcp-key'], 1000, { op: 1000, body: 'm' });
    await ws.waitFor(() => ws.received(1000).length === 3);
    await tcp.waitFor(() => tcp.received(1000).length === 3);
    return { ws, tcp, wsFrames: ws.frames.slice(wsMark), tcpBytes: Buffer.concat(tcp.frames.slice(tcpMark)) };
  }

  it('on: a ws client gets the three packets as one op-9 frame, a tcp client the same bytes as plain packets', async () => {
    const { ws, wsFrames, tcpBytes } = await pushThrice(true);
    const packet = encodePacket(1, 1000, 0, 'm');
    expect(wsFrames).to.have.length(1);
    const header = readHeader(wsFrames[0], 0);
    expect(header.op).to.equal(Op.Raw);
    expect(header.packLen).to.equal(16 + 3 * packet.length);
    expect(wsFrames[0].subarray(16).equals(Buffer.concat([packet, packet, packet]))).to.equal(true);
    expect(ws.received(1000).every((p) => p.batched)).to.equal(true);
    expect(tcpBytes.equals(Buffer.concat([packet, packet, packet]))).to.equal(true);
  });

  it('off: each packet is its own ws frame', async () => {
    const { ws, wsFrames } = await pushThrice(false);
    expect(wsFrames).to.have.length(3);
    expect(ws.received(1000).every((p) => !p.batched)).to.equal(true);
  });
});

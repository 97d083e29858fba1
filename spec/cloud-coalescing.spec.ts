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

/**
 * Replies answer the client's own packets; goim's browser client reads op 8
 * and op 3 only as top-level frames (inside op 9 it shows them to the
 * application as messages). So only pushes are merged: each reply leaves as a
 * frame of its own, in order with the pushes around it.
 */
describe('cloud node: replies are never merged into op 9', () => {
  let h: CloudHarness | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await h?.stop();
    h = undefined;
  });

  it('ws: a client heartbeating every 10 ms in a room under a BroadcastRoom flood gets every op 3 as a top-level frame', async function () {
    this.timeout(20000);
    const harness = await CloudHarness.start({ limits: { controlPerSec: 1000 } }); // 100 heartbeats a second: over limits.controlPerSec's default
    h = harness;
    const { client: ws } = await TestClient.online('ws', harness.ports.ws, { ...GOIM_TOKEN, key: 'beater' });
    clients.push(ws);
    const BEATS = 30;
    const IN_FLIGHT = 8;
    let flooding = true;
    const flood = async (lane: number): Promise<void> => {
      for (let i = 0; flooding; i++) {
        await harness.broadcastRoom('live://1000', { op: 1000, body: `flood-${lane}-${i}` });
      }
    };
    const lanes = Array.from({ length: IN_FLIGHT }, (_, lane) => flood(lane));
    await ws.waitFor((p) => p.op === 1000, 5000, 'the flood to reach the client');

    let seq = 0;
    const beating = setInterval(() => {
      if (seq < BEATS) ws.send(Op.Heartbeat, '', 1, ++seq);
    }, 10);
    try {
      await ws.waitFor(() => ws.received(Op.HeartbeatReply).length === BEATS, 10000, `${BEATS} op 3`);
    } finally {
      clearInterval(beating);
      flooding = false;
      await Promise.all(lanes);
    }
    const replies = ws.received(Op.HeartbeatReply);
    expect(replies.map((p) => p.seq), 'one op 3 per op 2, in order').to.deep.equal(Array.from({ length: BEATS }, (_, i) => i + 1));
    expect(replies.filter((p) => p.batched).map((p) => p.seq), 'op 3s that arrived inside op 9').to.deep.equal([]);
    // The flood did coalesce around the beats: pushes still share op-9 frames.
    expect(ws.received(1000).some((p) => p.batched), 'some pushes merged into op 9').to.equal(true);
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: auth and three heartbeats written together get op 8, then three op 3s, each top-level`, async () => {
      h = await CloudHarness.start();
      const client = transport === 'ws' ? await TestClient.ws(h.ports.ws) : await TestClient.tcp(h.ports.tcp);
      clients.push(client);
      client.writeTogether([
        encodePacket(1, Op.Auth, 1, JSON.stringify({ ...GOIM_TOKEN, key: `pipelined-${transport}` })),
        encodePacket(1, Op.Heartbeat, 2, ''),
        encodePacket(1, Op.Heartbeat, 3, ''),
        encodePacket(1, Op.Heartbeat, 4, ''),
      ]);
      await client.waitFor(() => client.received(Op.HeartbeatReply).length === 3, 5000, 'three op 3');
      expect(client.packets.map((p) => ({ op: p.op, seq: p.seq, batched: p.batched }))).to.deep.equal([
        { op: Op.AuthReply, seq: 1, batched: false },
        { op: Op.HeartbeatReply, seq: 2, batched: false },
        { op: Op.HeartbeatReply, seq: 3, batched: false },
        { op: Op.HeartbeatReply, seq: 4, batched: false },
      ]);
    });
  }
});

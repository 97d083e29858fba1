/**
 * Per-connection limits through real sockets, a real cloud node and a real
 * (test) logic node: the upstream rate (op 5 E_UPSTREAM_RATE, open), the
 * control rate, the accepted operations and the room id length (op 6,
 * closed), and reading
 * that pauses while a connection's packets wait for logic.
 */
import { expect } from 'chai';
import { parseErrorAck } from '../system/codec/error-ack';
import { encodePacket, Op } from '../system/codec/packet';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

describe('per-connection limits', () => {
  let h: CloudHarness;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await h?.stop();
  });

  async function online(transport: 'ws' | 'tcp', token: object = GOIM_TOKEN): Promise<TestClient> {
    const { client } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp, token);
    clients.push(client);
    return client;
  }

  async function connect(transport: 'ws' | 'tcp'): Promise<TestClient> {
    const client = transport === 'ws' ? await TestClient.ws(h.ports.ws) : await TestClient.tcp(h.ports.tcp);
    clients.push(client);
    return client;
  }

  const limitHits = (limit: string): number => h.node.metrics.get('im_connection_limits_total', { limit });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: upstream messages over limits.upstreamPerSec get op 5 E_UPSTREAM_RATE, are not sent to logic, and the connection stays open`, async () => {
      h = await CloudHarness.start({ limits: { upstreamPerSec: 5 } });
      const client = await online(transport);
      // A burst of 2 s worth (10) is taken; the rest of 16 sent at once is refused.
      client.writeTogether(Array.from({ length: 16 }, (_, i) => encodePacket(1, Op.SendMsg, i + 1, `m${i + 1}`)));
      await eventually(() => client.received(Op.SendMsgReply).length === 16, 'sixteen op 5', 5000);
      const refused = client.received(Op.SendMsgReply).filter((p) => parseErrorAck(p.body)?.error === 'E_UPSTREAM_RATE');
      const echoed = client.received(Op.SendMsgReply).filter((p) => parseErrorAck(p.body) === null);
      expect(echoed.length + refused.length).to.equal(16);
      expect(refused.length, 'refused').to.be.within(5, 6);
      await h.logic[0].waitFor((c) => c.receive.length === echoed.length, 5000, 'the taken messages at logic');
      expect(h.logic[0].calls.receive.map((r) => r.proto?.seq)).to.deep.equal(echoed.map((p) => p.seq));
      expect(limitHits('upstream_rate')).to.equal(refused.length);
      // Still open, and once the bucket refills messages go through again.
      await new Promise((r) => setTimeout(r, 450));
      client.send(Op.SendMsg, 'later', 1, 99);
      const later = await client.waitFor((p) => p.op === Op.SendMsgReply && p.seq === 99, 5000, 'op 5 for the later message');
      expect(later.body.toString()).to.equal('later');
      expect(client.closed).to.equal(false);
    });
  }

  it('control packets (op 2, 12, 14, 15) over limits.controlPerSec in one second: op 6 E_CONTROL_RATE and close; up to it, each answered', async () => {
    h = await CloudHarness.start({ limits: { controlPerSec: 6 } });
    const calm = await online('tcp', { ...GOIM_TOKEN, mid: 41, key: 'calm' });
    // At the limit (spread so no second holds more than six): all answered, still open.
    for (let i = 0; i < 6; i++) calm.send(i % 2 === 0 ? Op.Heartbeat : Op.ChangeRoom, i % 2 === 0 ? '' : 'live://calm', 1, 100 + i);
    await eventually(() => calm.received(Op.HeartbeatReply).length + calm.received(Op.ChangeRoomReply).length === 6, 'six answers to the calm client', 5000);
    const flooding = await online('ws', { ...GOIM_TOKEN, mid: 42, key: 'flooding' });
    const kinds = [Op.Heartbeat, Op.ChangeRoom, Op.Sub, Op.Unsub];
    const body = (op: number, i: number): string => (op === Op.ChangeRoom ? `live://flood-${i}` : op === Op.Heartbeat ? '' : '1000');
    flooding.writeTogether(Array.from({ length: 40 }, (_, i) => encodePacket(1, kinds[i % 4], i + 1, body(kinds[i % 4], i))));
    await flooding.waitForClose();
    expect(flooding.disconnectReason()?.code).to.equal('E_CONTROL_RATE');
    const answered = flooding.received(Op.HeartbeatReply).length + flooding.received(Op.ChangeRoomReply).length
      + flooding.received(Op.SubReply).length + flooding.received(Op.UnsubReply).length;
    // At most six in the second the burst landed in (twelve should it straddle a second's edge), then the close
    // (heartbeats answered through the room may not leave before it).
    expect(answered).to.be.at.most(12);
    expect(limitHits('control_rate')).to.equal(1);
    expect(calm.closed).to.equal(false);
  });

  it('logic\'s Connect with more accepts than limits.maxAccepts: op 6 E_TOO_MANY_ACCEPTS, and logic hears Disconnect', async () => {
    h = await CloudHarness.start({ limits: { maxAccepts: 4 } });
    const client = await connect('tcp');
    client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: 'many-accepts', accepts: [1, 2, 3, 4, 5] }));
    await client.waitForClose();
    expect(client.disconnectReason()?.code).to.equal('E_TOO_MANY_ACCEPTS');
    expect(client.received(Op.AuthReply)).to.have.length(0);
    await h.logic[0].waitFor((c) => c.disconnect.length === 1, 5000, 'the Disconnect');
    expect(h.logic[0].calls.disconnect[0].key).to.equal('many-accepts');
    expect(limitHits('accepts')).to.equal(1);
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'limit_exceeded' })).to.equal(1);
  });

  it('op 14 adding accepts past limits.maxAccepts: op 6 E_TOO_MANY_ACCEPTS; up to it, op 15', async () => {
    h = await CloudHarness.start({ limits: { maxAccepts: 4 } });
    const client = await online('ws', { ...GOIM_TOKEN, accepts: [1000, 1001] });
    client.send(Op.Sub, '1002,1003', 1, 5);
    await client.waitFor((p) => p.op === Op.SubReply && p.seq === 5, 5000, 'op 15');
    client.send(Op.Sub, '1004', 1, 6);
    await client.waitForClose();
    expect(client.disconnectReason()?.code).to.equal('E_TOO_MANY_ACCEPTS');
    expect(client.received(Op.SubReply).map((p) => p.seq)).to.deep.equal([5]);
    expect(limitHits('accepts')).to.equal(1);
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: op 12 with a room id longer than limits.maxRoomIdBytes: op 6 E_ROOM_ID_TOO_LONG; one at the limit is taken`, async () => {
      h = await CloudHarness.start({ limits: { maxRoomIdBytes: 8 } });
      const client = await online(transport, { ...GOIM_TOKEN, room_id: '' });
      client.send(Op.ChangeRoom, 'live://8', 1, 3);
      await client.waitFor((p) => p.op === Op.ChangeRoomReply && p.seq === 3, 5000, 'op 13');
      // 9 bytes in UTF-8 though 8 characters.
      client.send(Op.ChangeRoom, 'live://é', 1, 4);
      await client.waitForClose();
      expect(client.disconnectReason()?.code).to.equal('E_ROOM_ID_TOO_LONG');
      expect(client.received(Op.ChangeRoomReply).map((p) => p.seq)).to.deep.equal([3]);
      expect(limitHits('room_id')).to.equal(1);
    });
  }

  it('logic\'s Connect with a room id longer than limits.maxRoomIdBytes: op 6 E_ROOM_ID_TOO_LONG, and the room is never joined', async () => {
    h = await CloudHarness.start({ limits: { maxRoomIdBytes: 8 } });
    const client = await connect('ws');
    client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: 'long-room', room_id: 'live://123456789' }));
    await client.waitForClose();
    expect(client.disconnectReason()?.code).to.equal('E_ROOM_ID_TOO_LONG');
    await h.logic[0].waitFor((c) => c.disconnect.length === 1, 5000, 'the Disconnect');
    expect(await h.rooms()).to.deep.equal([]);
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: reading pauses while more than limits.readPauseDepth packets wait for logic, and resumes when they are answered`, async () => {
      h = await CloudHarness.start({ limits: { readPauseDepth: 4, upstreamPerSec: 1000 }, logic: { callTimeoutMs: 5000 } });
      const logic = h.logic[0];
      const client = await online(transport);
      logic.delayMs = 1500;
      // One write each, so the node reads them one by one.
      for (let i = 1; i <= 20; i++) {
        client.send(Op.SendMsg, `p${i}`, 1, i);
        await new Promise((r) => setTimeout(r, 15));
      }
      await eventually(() => limitHits('read_pause') >= 1, 'reading paused', 3000);
      // While logic holds the first ones, the rest stay unread.
      const atLogic = logic.calls.receive.length;
      expect(atLogic, 'messages read before the pause').to.be.below(10);
      logic.delayMs = 0;
      await eventually(() => client.received(Op.SendMsgReply).length === 20, 'all twenty op 5', 10_000);
      // Answers come in logic's order; every message was read and taken once.
      const echoed = client.received(Op.SendMsgReply).map((p) => p.body.toString()).sort();
      expect(echoed).to.deep.equal(Array.from({ length: 20 }, (_, i) => `p${i + 1}`).sort());
      expect(logic.calls.receive).to.have.length(20);
      expect(client.closed).to.equal(false);
    });
  }
});

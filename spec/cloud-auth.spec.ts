import { expect } from 'chai';
import { Op } from '../system/codec/packet';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

describe('cloud node: auth and heartbeat over real sockets', () => {
  let h: CloudHarness;

  beforeEach(async () => {
    h = await CloudHarness.start();
  });

  afterEach(async () => {
    await h.stop();
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: authenticates with the goim token and gets op 8 with its key`, async () => {
      const { client, auth } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp);
      expect(auth.mid).to.equal(123);
      expect(auth.room_id).to.equal('live://1000');
      expect(auth.key).to.be.a('string').and.not.equal('');
      expect(auth.heartbeat).to.be.greaterThan(0);
      const [connect] = h.logic[0].calls.connect;
      expect(JSON.parse(connect.token.toString())).to.deep.equal(GOIM_TOKEN);
      expect(connect.server).to.equal(`127.0.0.1:${h.ports.grpc}`);
      expect(client.received(Op.AuthReply)).to.have.length(1);
      client.close();
    });

    it(`${transport}: answers op 2 with op 3 carrying the room's online count`, async () => {
      const port = transport === 'ws' ? h.ports.ws : h.ports.tcp;
      const a = await TestClient.online(transport, port);
      expect(await a.client.heartbeat()).to.equal(1);
      const b = await TestClient.online(transport, port);
      expect(await b.client.heartbeat()).to.equal(2);
      const alone = await TestClient.online(transport, port, { ...GOIM_TOKEN, room_id: 'live://2' });
      expect(await alone.client.heartbeat()).to.equal(1);
      const hb = a.client.received(Op.HeartbeatReply)[0];
      expect(hb.body).to.have.length(4);
      expect(hb.seq).to.equal(1);
    });
  }

  it('ws: forwards the cookie header to logic and echoes the subprotocol', async () => {
    const client = await TestClient.ws(h.ports.ws, { headers: { cookie: 'sid=abc' }, protocols: ['goim'] });
    await client.auth();
    expect(h.logic[0].calls.connect[0].cookie).to.equal('sid=abc');
    expect((client as unknown as { ws: { protocol: string } }).ws.protocol).to.equal('goim');
  });

  it('tcp sends an empty cookie', async () => {
    await TestClient.online('tcp', h.ports.tcp);
    expect(h.logic[0].calls.connect[0].cookie).to.equal('');
  });

  it('Disconnect is called exactly once when a client closes', async () => {
    const { client, auth } = await TestClient.online('ws', h.ports.ws);
    client.close();
    await h.logic[0].waitFor((c) => c.disconnect.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.logic[0].calls.disconnect).to.have.length(1);
    expect(h.logic[0].calls.disconnect[0].key).to.equal(auth.key);
    expect(h.logic[0].calls.disconnect[0].mid).to.equal('123');
    await eventually(() => h.node.runtime.count('connection') === 0, 'connection actor to stop');
    // It stopped by closing, not by crashing: no fault, and the close counted as the client's.
    expect(h.node.metrics.total('im_actor_faults_total')).to.equal(0);
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'client_closed' })).to.equal(1);
  });
});

/**
 * Connect, Disconnect and Heartbeat between our nodes on long-lived streams
 * (im.logic.LogicStream), over real gRPC: a real cloud node with a real
 * logic node; a goim-style logic serving only the unary rpcs; a stream cut
 * mid-flight; a stream request past its deadline.
 */
import { expect } from 'chai';
import { CloudHarness, eventually } from './support/cloud-harness';
import { SystemHarness, until } from './support/system-harness';
import { TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const TOKEN = 'stream-spec-token';

describe('logic streams (Connect, Disconnect, Heartbeat on long-lived gRPC streams)', function () {
  this.timeout(20000);

  describe('a cloud node and a real logic node', () => {
    let sys: SystemHarness | null = null;
    afterEach(async () => {
      await sys?.stop();
      sys = null;
    });

    it('auth, pushes, Heartbeat and Disconnect travel on the streams, with security.token', async () => {
      sys = await SystemHarness.start({
        cloudOverrides: { security: { token: TOKEN }, logic: { heartbeatMinMs: 0, heartbeatMaxMs: 0, streams: 2 } },
        logicOverrides: { security: { token: TOKEN } },
      });
      const cloud = sys.cloud[0];
      const logic = sys.logic[0];
      const { client, auth } = await sys.online(0, 'ws', { mid: 77, key: 'stream-key', room_id: 'live://9', accepts: [1000] });
      expect(auth.key).to.equal('stream-key');
      expect(cloud.metrics.get('im_logic_streams_total', { event: 'opened' })).to.be.greaterThan(0);
      expect(cloud.metrics.get('im_logic_streams_total', { event: 'unary_only' })).to.equal(0);
      expect(cloud.metrics.get('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' })).to.equal(1);
      expect(logic.metrics.get('im_logic_connects_total')).to.equal(1);

      const push = await sys.http('/im/push/keys', {
        method: 'POST', query: { operation: 1000, keys: 'stream-key' }, body: 'over-the-stream', headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(push.status, push.text).to.equal(200);
      await client.waitFor((p) => p.op === 1000 && p.body.toString() === 'over-the-stream', 5000, 'the push');

      // heartbeatMinMs/MaxMs 0: the client's op 2 makes the cloud node call Heartbeat.
      await client.heartbeat();
      await until(async () => logic.metrics.get('im_logic_heartbeats_total'), (n) => n >= 1, 'a Heartbeat at logic');
      client.close();
      await until(async () => logic.metrics.get('im_logic_disconnects_total'), (n) => n === 1, 'the Disconnect at logic');
      expect(cloud.metrics.get('im_logic_call_seconds', { rpc: 'Disconnect', outcome: 'ok' })).to.equal(1);
      // Every call went on a stream that never broke.
      expect(cloud.metrics.get('im_logic_streams_total', { event: 'broken' })).to.equal(0);
      expect(logic.metrics.get('im_logic_grpc_errors_total', { rpc: 'Connect', code: 'E_UNAUTHENTICATED' })).to.equal(0);
    });

    it('a cloud node without the logic node\'s token is refused on the stream: counted, and the client told', async () => {
      sys = await SystemHarness.start({
        cloudOverrides: { security: { token: 'another-stream-token' } },
        logicOverrides: { security: { token: TOKEN } },
      });
      const client = await sys.connect(0, 'ws');
      client.send(7, JSON.stringify({ mid: 1, key: 'refused-key' }));
      await client.waitForClose();
      expect(client.disconnectReason()?.code).to.equal('E_LOGIC_UNAVAILABLE');
      expect(sys.cloud[0].metrics.get('im_peer_auth_refused_total', { rpc: 'Connect' })).to.be.greaterThan(0);
      expect(sys.logic[0].metrics.get('im_logic_connects_total')).to.equal(0);
    });
  });

  describe('against test logic nodes', () => {
    let harness: CloudHarness | null = null;
    const clients: TestClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.destroy();
      await harness?.stop();
      for (const l of harness?.logic ?? []) await l.stop();
      harness = null;
    });

    async function online(key: string): Promise<TestClient> {
      const client = await TestClient.ws(harness!.ports.ws);
      clients.push(client);
      await client.auth({ mid: 5, key, accepts: [1000] });
      return client;
    }

    it('a unary-only (goim) logic node is detected and called unary; the stream is not tried again before the re-probe', async () => {
      const goim = await new TestLogicNode().start();
      harness = await CloudHarness.start({ logic: { heartbeatMinMs: 0, heartbeatMaxMs: 0 } }, [goim]);
      const first = await online('goim-1');
      const second = await online('goim-2');
      await first.heartbeat();
      await goim.waitFor((c) => c.heartbeat.length >= 1, 5000, 'the Heartbeat');
      first.close();
      await goim.waitFor((c) => c.disconnect.length === 1, 5000, 'the Disconnect');
      expect(goim.calls.connect.map((c) => c.token.toString())).to.have.length(2);
      const m = harness.node.metrics;
      expect(m.get('im_logic_streams_total', { event: 'unary_only' })).to.equal(1);
      expect(m.get('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' })).to.equal(2);
      expect(m.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'UNIMPLEMENTED' })).to.equal(0);
      second.close();
    });

    it('a stream cut mid-flight fails its requests over to the next node at once, not at their deadline', async () => {
      const hanging = await new TestLogicNode({ streams: true }).start();
      hanging.delayMs = 60_000;
      const spare = await new TestLogicNode({ streams: true }).start();
      // A deadline far beyond the test's: only the stream's end can move the Connect on in time.
      harness = await CloudHarness.start({ logic: { callTimeoutMs: 30_000, connectWaitMs: 60_000 } }, [hanging, spare]);
      const client = await TestClient.ws(harness.ports.ws);
      clients.push(client);
      const authed = client.auth({ mid: 6, key: 'cut-key' });
      await hanging.waitFor((c) => c.connect.length === 1, 5000, 'the Connect on the first node');
      await hanging.stop();
      const reply = await authed;
      expect(reply.key).to.equal('cut-key');
      expect(spare.calls.connect).to.have.length(1);
      const m = harness.node.metrics;
      expect(m.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'UNAVAILABLE' })).to.equal(1);
      expect(m.get('im_logic_streams_total', { event: 'broken' })).to.be.greaterThan(0);
      expect(spare.streamsOpened).to.be.greaterThan(0);
    });

    it('a request on the stream gets its deadline: DEADLINE_EXCEEDED, the client told, the stream cancelled and the next request on a new one', async () => {
      const slow = await new TestLogicNode({ streams: true }).start();
      slow.delayMs = 10_000;
      harness = await CloudHarness.start({ logic: { callTimeoutMs: 300, streams: 1 } }, [slow]);
      const client = await TestClient.ws(harness.ports.ws);
      clients.push(client);
      client.send(7, JSON.stringify({ mid: 8, key: 'late-key' }));
      await client.waitForClose(8000);
      expect(client.disconnectReason()?.code).to.equal('E_LOGIC_UNAVAILABLE');
      const m = harness.node.metrics;
      expect(m.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'DEADLINE_EXCEEDED' })).to.equal(1);
      expect(m.get('im_logic_streams_total', { event: 'broken' })).to.equal(0);
      expect(m.get('im_logic_streams_total', { event: 'deadline' })).to.equal(1);
      expect(slow.streamsOpened).to.equal(1);
      // As a unary call is at its deadline, the stream was cancelled: the late answer has nowhere to arrive, and the next request opens a new stream.
      slow.delayMs = 0;
      await online('after-late');
      expect(slow.streamsOpened).to.equal(2);
      await eventually(() => m.get('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' }) === 1, 'the second Connect answered');
    });
  });
});

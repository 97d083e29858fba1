/**
 * Stopping a cloud node: connections are closed first, while the buckets,
 * rooms and the logic gateway still run, so every session logic created is
 * told `Disconnect` exactly once and every client hears why (op 6
 * E_NODE_DRAINING, with when to reconnect), including a client whose Connect
 * answer is still on its way when the stop begins.
 *
 * Absence is proven without sleeps: `Disconnect` reaches logic only through
 * the node's logic clients, and those are closed before `stop()` resolves,
 * so once it has resolved the recorded calls are final.
 */
import { expect } from 'chai';
import { parseDisconnectBody } from '../system/codec/disconnect-body';
import { Op } from '../system/codec/packet';
import { CloudHarness } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

/** Shorter than logic's answer below, so the stop's grace period ends while Connect is still in flight. */
const GRACE_MS = 200;
const LOGIC_DELAY_MS = 800;
/** Longer than the delay, so Connect and Disconnect succeed (the gateway does not give up on them). */
const CALL_TIMEOUT_MS = 3000;

describe('cloud node drain', () => {
  let h: CloudHarness;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await h.stop();
  });

  it('clients online and mid-auth each get op 6 E_NODE_DRAINING, and logic one Disconnect per session', async () => {
    const logic = await new TestLogicNode().start();
    h = await CloudHarness.start({ grpc: { shutdownGraceMs: GRACE_MS }, logic: { callTimeoutMs: CALL_TIMEOUT_MS } }, [logic]);
    const online = await Promise.all([
      TestClient.online('ws', h.ports.ws, { ...GOIM_TOKEN, key: 'drain-online-ws' }),
      TestClient.online('tcp', h.ports.tcp, { ...GOIM_TOKEN, key: 'drain-online-tcp' }),
    ]);
    clients.push(...online.map((o) => o.client));

    logic.delayMs = LOGIC_DELAY_MS;
    const midAuth = [await TestClient.ws(h.ports.ws), await TestClient.tcp(h.ports.tcp)];
    clients.push(...midAuth);
    midAuth[0].send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: 'drain-auth-ws' }));
    midAuth[1].send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: 'drain-auth-tcp' }));
    await logic.waitFor((c) => c.connect.length === 4, 5000, 'both mid-auth Connects to reach logic');

    await h.node.stop();

    for (const client of [...online.map((o) => o.client), ...midAuth]) {
      await client.waitForClose();
      const body = parseDisconnectBody(client.received(Op.DisconnectReply)[0]?.body ?? Buffer.alloc(0));
      expect(body?.code, `${client.transport} client's op 6`).to.equal('E_NODE_DRAINING');
      expect(body?.reconnect?.afterMs, `${client.transport} client's reconnect hint`).to.be.a('number');
    }
    expect(h.node.metrics.get('im_drain_notified_total')).to.equal(4);
    expect(logic.calls.disconnect.map((d) => d.key).sort()).to.deep.equal(['drain-auth-tcp', 'drain-auth-ws', 'drain-online-tcp', 'drain-online-ws']);
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'draining' })).to.equal(4);
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'actor_crashed' })).to.equal(0);
    // Every connection left the count by phase, the two that were still waiting for logic included.
    expect(h.node.metrics.total('im_connections')).to.equal(0);
    expect(h.node.metrics.get('im_auth_results_total', { outcome: 'abandoned' })).to.equal(2);
    expect(h.node.metrics.total('im_actor_faults_total')).to.equal(0);
  });

  it('more online clients than logic.maxInFlight + logic.maxQueued: logic still gets one Disconnect per session', async () => {
    const logic = await new TestLogicNode().start();
    h = await CloudHarness.start({ logic: { maxInFlight: 2, maxQueued: 2, callTimeoutMs: CALL_TIMEOUT_MS } }, [logic]);
    const keys = Array.from({ length: 12 }, (_, i) => `drain-many-${i}`);
    // One at a time, so their Connects never meet the small queue bound.
    for (const [i, key] of keys.entries()) {
      const { client } = await TestClient.online(i % 2 === 0 ? 'ws' : 'tcp', i % 2 === 0 ? h.ports.ws : h.ports.tcp, { ...GOIM_TOKEN, key });
      clients.push(client);
    }
    // Each Disconnect holds its slot a while, so most of them wait.
    logic.delayMs = 20;

    await h.node.stop();

    expect(logic.calls.disconnect.map((d) => d.key).sort()).to.deep.equal([...keys].sort());
    expect(h.node.metrics.total('im_logic_calls_rejected_total')).to.equal(0);
    expect(h.node.metrics.total('im_drain_cut_total')).to.equal(0);
    for (const client of clients) {
      await client.waitForClose();
      expect(client.disconnectReason()?.code).to.equal('E_NODE_DRAINING');
    }
  });
});

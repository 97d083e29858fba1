/**
 * RenewOnline at the scale of a big node: 200,000 rooms in one report, from
 * the cloud node's real gRPC logic client to a real logic node, over Redis
 * too (goim's ol_ layout). The room map of such a report is over 4 MiB,
 * gRPC's default message limit.
 */
import { expect } from 'chai';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { LogicCallError } from '../actors/ports';
import { GrpcLogicClient } from '../system/logic-client';
import { silentLogger } from '../system/logger';
import { LogicNode } from '../system/logic-node';
import { RedisSessionStore } from '../system/sessions';
import { CloudHarness, eventually } from './support/cloud-harness';
import { RedisScratch, TEST_REDIS_URL } from './support/redis-scratch';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const ROOMS = 200_000;

function roomsOf(server: string, count: number): Record<string, number> {
  const rooms: Record<string, number> = {};
  for (let i = 0; i < ROOMS; i++) rooms[`live://room-${server.slice(-1)}-${i}`] = count;
  return rooms;
}

describe('RenewOnline with 200,000 rooms on a node', function () {
  this.timeout(60_000);
  const scratch = new RedisScratch();

  after(async () => {
    await scratch.cleanup();
  });

  for (const store of ['memory', 'redis'] as const) {
    it(`${store} store: every room's cluster count comes back`, async () => {
      const config = loadLogicConfig({
        overrides: { node: { bindHost: '127.0.0.1' }, grpc: { port: 0 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: ['127.0.0.1:1'] }, session: { store } },
      });
      const prefix = scratch.subPrefix();
      const sessions = store === 'redis' ? new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: 60, keyPrefix: prefix }) : undefined;
      const logic = await LogicNode.start(config, { logger: silentLogger(), ...(sessions ? { store: sessions } : {}) });
      // As a cloud node on its defaults builds it and times it.
      const cloud = loadCloudConfig().logic;
      const client = new GrpcLogicClient(`127.0.0.1:${logic.ports.grpc}`, cloud.maxReplyBytes);
      try {
        const rooms = roomsOf('node-a', 3);
        const all = await client.renewOnline('127.0.0.1:1', rooms, { connCount: ROOMS * 3, ipCount: 7 }, cloud.renewOnlineTimeoutMs);
        expect(Object.keys(all)).to.have.length(ROOMS);
        expect(all['live://room-a-0']).to.equal(3);
        expect(all[`live://room-a-${ROOMS - 1}`]).to.equal(3);
      } finally {
        client.close();
        await logic.stop();
      }
    });
  }

  it('a round logic answers slower than logic.callTimeoutMs is taken: RenewOnline has its own attempt timeout', async () => {
    const logic = await new TestLogicNode().start();
    // The attempt timeout for RenewOnline defaults from the interval, not from logic.callTimeoutMs.
    const h = await CloudHarness.start({ logic: { callTimeoutMs: 200, renewOnlineIntervalMs: 1000 } }, [logic]);
    try {
      const { client } = await TestClient.online('ws', h.ports.ws, GOIM_TOKEN);
      try {
        logic.delayMs = 400;
        logic.clusterCounts = { [GOIM_TOKEN.room_id]: 7 };
        await logic.waitFor((c) => c.renewOnline.length >= 1, 5000, 'a RenewOnline');
        // 6 members elsewhere + 1 here, once a slow answer has reached the room.
        let roomOnline = await client.heartbeat();
        const deadline = Date.now() + 5000;
        while (roomOnline !== 7 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          roomOnline = await client.heartbeat();
        }
        expect(roomOnline).to.equal(7);
        expect(h.node.metrics.total('im_renew_online_failures_total')).to.equal(0);
      } finally {
        client.destroy();
      }
    } finally {
      await h.stop();
    }
  });

  it('a round no logic node takes is counted (im_renew_online_failures_total), not dropped silently', async () => {
    const h = await CloudHarness.start({ logic: { renewOnlineIntervalMs: 100 } });
    try {
      await h.logic[0].stop();
      await eventually(() => h.node.metrics.get('im_renew_online_failures_total', { code: 'E_LOGIC_UNAVAILABLE' }) > 0, 'a failed round to be counted');
    } finally {
      await h.stop();
    }
  });

  it('a reply over logic.maxReplyBytes is refused by the client with RESOURCE_EXHAUSTED, not taken in part', async () => {
    const config = loadLogicConfig({
      overrides: { node: { bindHost: '127.0.0.1' }, grpc: { port: 0 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: ['127.0.0.1:1'] } },
    });
    const logic = await LogicNode.start(config, { logger: silentLogger() });
    // The option's floor is gRPC's default 4 MiB; the client takes any bound, so a small one shows the rule cheaply.
    const client = new GrpcLogicClient(`127.0.0.1:${logic.ports.grpc}`, 1024);
    try {
      const rooms: Record<string, number> = {};
      for (let i = 0; i < 1000; i++) rooms[`live://small-${i}`] = 1;
      const failure = await client.renewOnline('127.0.0.1:1', rooms, { connCount: 1000, ipCount: 1 }, 5000).then(() => null, (err: unknown) => err);
      if (!(failure instanceof LogicCallError)) throw new Error(`expected a LogicCallError, got ${String(failure)}`);
      expect(failure.status).to.equal('RESOURCE_EXHAUSTED');
      expect(failure.retryable).to.equal(false);
    } finally {
      client.close();
      await logic.stop();
    }
  });
});

/**
 * RenewOnline at the scale of a big node: 200,000 rooms in one report, from
 * the cloud node's real gRPC logic client to a real logic node, over Redis
 * too (goim's ol_ layout). The room map of such a report is over 4 MiB,
 * gRPC's default message limit.
 */
import { expect } from 'chai';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { GrpcLogicClient } from '../system/logic-client';
import { silentLogger } from '../system/logger';
import { LogicNode } from '../system/logic-node';
import { RedisSessionStore } from '../system/sessions';
import { CloudHarness, eventually } from './support/cloud-harness';
import { RedisScratch, TEST_REDIS_URL } from './support/redis-scratch';

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
        overrides: { node: { bindHost: '127.0.0.1' }, grpc: { port: 0 }, http: { port: 0 }, cloud: { nodes: ['127.0.0.1:1'] }, session: { store } },
      });
      const prefix = scratch.subPrefix();
      const sessions = store === 'redis' ? new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: 60, keyPrefix: prefix }) : undefined;
      const logic = await LogicNode.start(config, { logger: silentLogger(), ...(sessions ? { store: sessions } : {}) });
      // As a cloud node on its defaults builds it.
      const client = new GrpcLogicClient(`127.0.0.1:${logic.ports.grpc}`, loadCloudConfig().logic.maxReplyBytes);
      try {
        const rooms = roomsOf('node-a', 3);
        const all = await client.renewOnline('127.0.0.1:1', rooms, { connCount: ROOMS * 3, ipCount: 7 }, 20_000);
        expect(Object.keys(all)).to.have.length(ROOMS);
        expect(all['live://room-a-0']).to.equal(3);
        expect(all[`live://room-a-${ROOMS - 1}`]).to.equal(3);
      } finally {
        client.close();
        await logic.stop();
      }
    });
  }

  it('a round no logic node takes is counted (im_renew_online_failures_total), not dropped silently', async () => {
    const h = await CloudHarness.start({ logic: { renewOnlineIntervalMs: 100 } });
    try {
      await h.logic[0].stop();
      await eventually(() => h.node.metrics.get('im_renew_online_failures_total', { code: 'E_LOGIC_UNAVAILABLE' }) > 0, 'a failed round to be counted');
    } finally {
      await h.stop();
    }
  });
});

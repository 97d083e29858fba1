/**
 * A cloud node refuses pushes it cannot queue within its bounds, through the
 * real gRPC edge: RESOURCE_EXHAUSTED with a catalogued code, counted, and
 * nothing it accepted is lost.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Op } from '../system/codec/packet';
import { CloudHarness } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

const BIZ = 1000;

interface Settled {
  readonly accepted: string[];
  readonly refused: grpc.ServiceError[];
}

/** Fires every call at once and sorts the outcomes; any error other than RESOURCE_EXHAUSTED fails the test. */
async function fireAll(bodies: readonly string[], call: (body: string) => Promise<void>): Promise<Settled> {
  const results = await Promise.allSettled(bodies.map((body) => call(body)));
  const accepted: string[] = [];
  const refused: grpc.ServiceError[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') accepted.push(bodies[i]);
    else {
      const err = r.reason as grpc.ServiceError;
      expect(err.code, err.details).to.equal(grpc.status.RESOURCE_EXHAUSTED);
      refused.push(err);
    }
  });
  return { accepted, refused };
}

function bodiesOf(client: TestClient): Set<string> {
  return new Set(client.received(BIZ).map((p) => p.body.toString('utf8')));
}

describe('cloud node back-pressure on push rpcs', () => {
  let h: CloudHarness;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await h?.stop();
  });

  async function online(transport: 'ws' | 'tcp', token: object): Promise<TestClient> {
    const { client } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp, token);
    clients.push(client);
    return client;
  }

  for (const rpc of ['BroadcastRoom', 'PushMsg'] as const) {
    it(`${rpc}: past limits.maxMailboxDepth the rpc gets RESOURCE_EXHAUSTED E_CLOUD_BUSY, and every accepted push arrives`, async () => {
      h = await CloudHarness.start({ limits: { maxMailboxDepth: 8 }, actors: { buckets: 1, roomShards: 1 } });
      const key = `busy-${rpc}`;
      const client = await online('ws', { ...GOIM_TOKEN, key, room_id: 'live://busy' });
      const bodies = Array.from({ length: 600 }, (_, i) => `${rpc}-${i}-${'x'.repeat(512)}`);
      const push = (body: string): Promise<void> => rpc === 'BroadcastRoom'
        ? h.broadcastRoom('live://busy', { op: BIZ, body })
        : h.pushMsg([key], BIZ, { op: BIZ, body });
      const { accepted, refused } = await fireAll(bodies, push);

      expect(refused.length, 'some pushes refused').to.be.greaterThan(0);
      expect(accepted.length, 'some pushes accepted').to.be.greaterThan(0);
      for (const err of refused) expect(err.details).to.match(/^E_CLOUD_BUSY: /);
      expect(h.node.metrics.get('im_pushes_refused_total', { rpc, code: 'E_CLOUD_BUSY' })).to.equal(refused.length);

      // Once the node has caught up it accepts again; the sentinel travels behind every accepted push.
      await push('sentinel');
      await client.waitFor((p) => p.op === BIZ && p.body.toString() === 'sentinel', 10_000, 'the sentinel');
      const got = bodiesOf(client);
      for (const body of accepted) expect(got.has(body), `accepted push ${body.slice(0, 20)} arrived`).to.equal(true);
      expect(got.size, 'nothing refused arrived').to.equal(accepted.length + 1);
    });
  }

  it('Broadcast with a speed: past limits.maxPacedBroadcasts it gets RESOURCE_EXHAUSTED E_BROADCAST_LIMIT; unpaced ones still go', async () => {
    h = await CloudHarness.start({ limits: { maxPacedBroadcasts: 1 }, actors: { buckets: 1 } });
    const peers = await Promise.all(['a', 'b', 'c'].map((k) => online('tcp', { ...GOIM_TOKEN, key: `paced-${k}`, room_id: '' })));
    // Three recipients at 2 per second: the first at once, the last a second later.
    await h.broadcast(BIZ, { op: BIZ, body: 'paced-1' }, 2);
    const second = await h.broadcast(BIZ, { op: BIZ, body: 'paced-2' }, 2).then(() => null, (err: grpc.ServiceError) => err);
    expect(second?.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(second?.details).to.match(/^E_BROADCAST_LIMIT: /);
    expect(h.node.metrics.get('im_pushes_refused_total', { rpc: 'Broadcast', code: 'E_BROADCAST_LIMIT' })).to.equal(1);

    await h.broadcast(BIZ, { op: BIZ, body: 'unpaced' }, 0);
    for (const peer of peers) await peer.waitFor((p) => p.op === BIZ && p.body.toString() === 'unpaced', 5000, 'the unpaced broadcast');
    for (const peer of peers) await peer.waitFor((p) => p.op === BIZ && p.body.toString() === 'paced-1', 5000, 'the paced broadcast');

    // The first paced broadcast is over: another is taken.
    await h.broadcast(BIZ, { op: BIZ, body: 'paced-3' }, 1000);
    for (const peer of peers) await peer.waitFor((p) => p.op === BIZ && p.body.toString() === 'paced-3', 5000, 'the next paced broadcast');
    for (const peer of peers) expect(peer.received(BIZ).map((p) => p.body.toString())).to.not.include('paced-2');
    expect(peers[0].received(Op.DisconnectReply)).to.have.length(0);
  });
});

/**
 * Slow consumers through real sockets and real gRPC pushes: a client that
 * stops reading (at the socket, so the kernel's buffers fill) loses room
 * pushes over its soft limit but still gets key pushes, and over its hard
 * limit is closed with op 6 E_SLOW_CONSUMER after what was queued.
 */
import { expect } from 'chai';
import type { ConnectionsAnswer } from '../system/cloud/connection-inspection';
import { adminJson } from './support/admin-client';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

const BIZ = 1000;
const ROOM = 'live://slow';
const BIG = 'x'.repeat(256 * 1024);

describe('slow consumers', () => {
  let h: CloudHarness;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await h?.stop();
  });

  async function online(transport: 'ws' | 'tcp', key: string): Promise<TestClient> {
    const { client } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp, { ...GOIM_TOKEN, key, room_id: ROOM });
    clients.push(client);
    return client;
  }

  /** Pushes big messages (by `push`) until `done` holds; fails past `max`. */
  async function fill(push: (i: number) => Promise<void>, done: () => boolean | Promise<boolean>, what: string, max = 400): Promise<number> {
    for (let i = 0; i < max; i++) {
      if (await done()) return i;
      await push(i);
      await new Promise((r) => setImmediate(r));
    }
    if (!(await done())) throw new Error(`${what} not reached after ${max} pushes`);
    return max;
  }

  /** The bytes the node holds for `key`'s client (what its socket has not taken), as the admin endpoint shows them. */
  async function queued(key: string): Promise<number> {
    const row = (await adminJson<ConnectionsAnswer>(h.node.adminPort, `/connections?key=${key}`)).connections[0];
    return typeof row?.queuedBytes === 'number' ? row.queuedBytes : 0;
  }

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: over slowConsumer.softBytes a stalled client loses room pushes, still gets key pushes, and stays open; a reader loses nothing`, async () => {
      h = await CloudHarness.start({ slowConsumer: { softBytes: 16 * 1024, hardBytes: 64 * 1024 * 1024 } });
      const stalled = await online(transport, 'stalled');
      const reader = await online(transport, 'reader');
      stalled.goSilent();
      const drops = (): number => h.node.metrics.get('im_slow_consumer_drops_total', { transport });
      const sent = await fill((i) => h.broadcastRoom(ROOM, { op: BIZ, body: `big-${i}-${BIG}` }), () => drops() > 0, 'a soft drop');
      await h.pushMsg(['stalled'], BIZ, { op: BIZ, body: 'key-after' });
      await h.broadcastRoom(ROOM, { op: BIZ, body: 'room-after' });
      await reader.waitFor((p) => p.body.toString() === 'room-after', 10_000, 'the last room push at the reader');
      expect(reader.bodies(BIZ).filter((b) => b.startsWith('big-'))).to.have.length(sent);

      stalled.resumeReading();
      await stalled.waitFor((p) => p.body.toString() === 'key-after', 10_000, 'the key push at the stalled client');
      // Something after the key push proves the stalled client read all that was queued for it.
      await h.pushMsg(['stalled'], BIZ, { op: BIZ, body: 'sentinel' });
      await stalled.waitFor((p) => p.body.toString() === 'sentinel', 10_000, 'the sentinel');
      const got = stalled.bodies(BIZ);
      expect(got, 'the room push over the soft limit was dropped').to.not.include('room-after');
      expect(got.filter((b) => b.startsWith('big-')).length).to.equal(sent - drops() + 1);
      expect(stalled.closed).to.equal(false);
      expect(stalled.disconnectReason()).to.equal(undefined);
    });

    it(`${transport}: over slowConsumer.hardBytes a stalled client gets op 6 E_SLOW_CONSUMER after what was queued, and is closed`, async () => {
      h = await CloudHarness.start({ slowConsumer: { softBytes: 0, hardBytes: 64 * 1024 } });
      const stalled = await online(transport, 'stalled');
      stalled.goSilent();
      const closedSlow = (): number => h.node.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' });
      await fill((i) => h.pushMsg(['stalled'], BIZ, { op: BIZ, body: `key-${i}-${BIG}` }), () => closedSlow() === 1, 'the hard limit');
      expect(h.node.metrics.get('im_connection_errors_total', { code: 'E_SLOW_CONSUMER' })).to.equal(1);
      await h.logic[0].waitFor((c) => c.disconnect.length === 1, 5000, 'the Disconnect');
      // The node lingers for the client to read what was queued and op 6 (CLOSE_LINGER_MS).
      stalled.resumeReading();
      await stalled.waitForClose(10_000);
      expect(stalled.disconnectReason()?.code).to.equal('E_SLOW_CONSUMER');
      expect(stalled.bodies(BIZ).length, 'key pushes queued before the close were written').to.be.greaterThan(0);
    });
  }

  it('not drained for slowConsumer.ms counts as over the soft limit, however few bytes are queued', async () => {
    h = await CloudHarness.start({ slowConsumer: { softBytes: 256 * 1024 * 1024, hardBytes: 512 * 1024 * 1024, ms: 300, hardMs: 60_000 } });
    const stalled = await online('tcp', 'stalled');
    stalled.goSilent();
    await fill((i) => h.pushMsg(['stalled'], BIZ, { op: BIZ, body: `key-${i}-${BIG}` }), async () => (await queued('stalled')) > 0, 'bytes queued at the node');
    await new Promise((r) => setTimeout(r, 400));
    await h.broadcastRoom(ROOM, { op: BIZ, body: 'room-after' });
    await eventually(() => h.node.metrics.get('im_slow_consumer_drops_total', { transport: 'tcp' }) === 1, 'the room push dropped');
    stalled.resumeReading();
    await h.pushMsg(['stalled'], BIZ, { op: BIZ, body: 'sentinel' });
    await stalled.waitFor((p) => p.body.toString() === 'sentinel', 10_000, 'the sentinel');
    expect(stalled.bodies(BIZ)).to.not.include('room-after');
  });

  it('not drained for slowConsumer.hardMs: the next packet for it closes it with op 6 E_SLOW_CONSUMER, however few bytes are queued', async () => {
    h = await CloudHarness.start({ slowConsumer: { softBytes: 256 * 1024 * 1024, hardBytes: 512 * 1024 * 1024, ms: 100, hardMs: 300 } });
    const stalled = await online('tcp', 'stalled');
    stalled.goSilent();
    await fill((i) => h.pushMsg(['stalled'], BIZ, { op: BIZ, body: `key-${i}-${BIG}` }), async () => (await queued('stalled')) > 0, 'bytes queued at the node');
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' })).to.equal(0);
    await new Promise((r) => setTimeout(r, 400));
    await h.pushMsg(['stalled'], BIZ, { op: BIZ, body: 'too-late' });
    await eventually(() => h.node.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' }) === 1, 'the close');
    stalled.resumeReading();
    await stalled.waitForClose(10_000);
    expect(stalled.disconnectReason()?.code).to.equal('E_SLOW_CONSUMER');
    expect(stalled.bodies(BIZ)).to.not.include('too-late');
  });
});

/**
 * Size and queue bounds on logic's push path, through the real system
 * (SystemHarness): room batches are cut by bytes so they fit a cloud node's
 * receive limit, a message that can never fit is refused at both push edges,
 * a key push whose keys would not fit one PushMsg is split so every part
 * fits, each cloud node's link is bounded in pushes queued and in bytes held
 * (in flight included), with a key push that is dropped failing its caller,
 * and the wait for a key push's answer is bounded.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { encodePacket, HEADER_LEN, Op, readHeader } from '../system/codec/packet';
import { LogicPushClient } from './support/logic-push-client';
import { HttpReply, SystemHarness, SystemOptions, until } from './support/system-harness';
import type { Received, TestClient } from './support/test-client';

const BIZ = 1000;
const KiB = 1024;
const MiB = 1024 * KiB;

let serial = 0;

function uniqueKey(label: string): string {
  return `limits-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;
}

function token(mid: number, key: string): object {
  return { mid, key, room_id: 'live://1000', platform: 'web', accepts: [BIZ] };
}

/** A message of exactly `size` bytes that starts with `label` (so arrivals can be told apart cheaply). */
function message(label: string, size: number): string {
  return `${label}:`.padEnd(size, 'x');
}

function labelOf(p: Received): string {
  return p.body.subarray(0, Math.max(0, p.body.indexOf(':'))).toString('utf8');
}

function bizPackets(client: TestClient): Received[] {
  return client.packets.filter((p) => p.op === BIZ);
}

const ROOM_PATH = '/im/push/room?operation=1000&type=live&room=1000';

describe('push limits: batches fit the wire, messages that cannot are refused, link queues are bounded', function () {
  this.timeout(30000);

  let current: SystemHarness | null = null;
  const cleanups: Array<() => void> = [];

  async function boot(options: SystemOptions): Promise<SystemHarness> {
    current = await SystemHarness.start(options);
    return current;
  }

  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await current?.stop();
    current = null;
  });

  /** A "cloud node" that accepts connections and never answers: pushes to it stay in flight until their deadline. */
  async function blackHole(): Promise<string> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  async function roomPeers(sys: SystemHarness): Promise<{ ws: TestClient; tcp: TestClient }> {
    const { client: ws } = await sys.online(0, 'ws', token(8001, uniqueKey('ws')));
    const { client: tcp } = await sys.online(0, 'tcp', token(8002, uniqueKey('tcp')));
    return { ws, tcp };
  }

  describe('room batches are cut by bytes (push.maxBatchBytes)', () => {
    it('20 room pushes of 512 KiB, batched, all arrive on ws and tcp, in order', async () => {
      const sys = await boot({
        logicOverrides: { push: { batchFlushMs: 50, batchMaxMessages: 20 } },
        // The client must be allowed the 10 MiB this test sends it at once.
        cloudOverrides: { protocol: { sendBufferLimit: 64 * MiB } },
      });
      const { ws, tcp } = await roomPeers(sys);
      const labels = Array.from({ length: 20 }, (_, i) => `big-${i + 1}`);
      // Pipelined on one connection: they reach the batcher together, so batches fill up.
      const replies = await sys.pipelined(labels.map((label) => ({ path: ROOM_PATH, body: message(label, 512 * KiB) })));
      for (const r of replies) expect(r.status, r.text).to.equal(200);

      for (const client of [ws, tcp]) {
        await client.waitFor((p) => p.op === BIZ && labelOf(p) === 'big-20', 10000, `big-20 on ${client.transport}`);
        expect(bizPackets(client).map(labelOf), client.transport).to.deep.equal(labels);
        expect(bizPackets(client).every((p) => p.body.length === 512 * KiB)).to.equal(true);
      }
      // No ws frame is larger than the largest body logic sends a cloud node (plus the op-9 header).
      expect(Math.max(...ws.frames.map((f) => f.length))).to.be.at.most(4 * MiB + HEADER_LEN);
      expect(sys.logic[0].metrics.total('im_cloud_push_failures_total')).to.equal(0);
    });

    it('a batch is cut before it would pass push.maxBatchBytes; a message of exactly that size leaves alone', async () => {
      const limit = 64 * KiB;
      const sys = await boot({ logicOverrides: { push: { batchFlushMs: 1000, batchMaxMessages: 20, maxBatchBytes: limit } } });
      const { ws } = await roomPeers(sys);
      const mark = ws.frames.length;
      // Encoded, each is 20 KiB + 16: three make 61,488 bytes, a fourth would pass 65,536.
      const small = ['s1', 's2', 's3', 's4', 's5'].map((label) => message(label, 20 * KiB));
      const exact = message('exact', limit);
      const replies = await sys.pipelined([...small, exact].map((body) => ({ path: ROOM_PATH, body })));
      for (const r of replies) expect(r.status, r.text).to.equal(200);
      await ws.waitFor((p) => p.op === BIZ && labelOf(p) === 'exact', 5000, 'the exact-size message');

      const frames = ws.frames.slice(mark).map((f) => ({ op: readHeader(f, 0).op, bytes: f.length - HEADER_LEN }));
      const packet = encodePacket(1, BIZ, 0, small[0]).length;
      expect(frames).to.deep.equal([
        { op: Op.Raw, bytes: 3 * packet },
        { op: Op.Raw, bytes: 2 * packet },
        { op: BIZ, bytes: limit },
      ]);
      expect(bizPackets(ws).map(labelOf)).to.deep.equal(['s1', 's2', 's3', 's4', 's5', 'exact']);
    });

    it('a message that can never fit is refused: HTTP 413 E_HTTP_MESSAGE_TOO_LARGE, gRPC INVALID_ARGUMENT E_GRPC_MESSAGE_TOO_LARGE', async () => {
      const sys = await boot({ logicOverrides: { http: { maxBodyBytes: 8 * MiB } } });
      const { ws, tcp } = await roomPeers(sys);
      const huge = message('huge', 5 * MiB);
      const metrics = sys.logic[0].metrics;

      const expect413 = (r: HttpReply): void => {
        expect(r.status, r.text.slice(0, 300)).to.equal(413);
        expect({ code: r.json.code, error: r.json.error }).to.deep.equal({ code: -400, error: 'E_HTTP_MESSAGE_TOO_LARGE' });
      };
      expect413(await sys.http(ROOM_PATH, { method: 'POST', body: huge }));
      expect413(await sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: ['k'] }, body: huge }));
      expect413(await sys.http('/im/push/all?operation=1000', { method: 'POST', body: huge }));

      const grpc = new LogicPushClient(sys.logicAddress(0));
      cleanups.push(() => grpc.close());
      const refused = await grpc.pushRoom({ type: 'live', room: '1000', msg: Buffer.from(huge), operation: BIZ });
      expect(refused.ok).to.equal(false);
      if (refused.ok) return;
      expect(refused.status).to.equal('INVALID_ARGUMENT');
      expect(refused.details).to.match(/^E_GRPC_MESSAGE_TOO_LARGE: /);
      expect(metrics.total('im_logic_pushes_total'), 'pushes accepted by logic').to.equal(0);

      // Nothing of the refused pushes is on its way: a later room push is the first the clients see.
      expect((await sys.http(ROOM_PATH, { method: 'POST', body: 'after' })).status).to.equal(200);
      for (const client of [ws, tcp]) {
        await client.waitFor((p) => p.op === BIZ && p.body.toString('utf8') === 'after', 5000, 'after');
        expect(bizPackets(client).map((p) => p.body.length)).to.deep.equal([5]);
      }
    });
  });

  describe('key pushes fit the wire: one node\'s keys are split over several PushMsgs', () => {
    it('a mid push to thousands of long keys on one node, with a message near push.maxBatchBytes, arrives', async () => {
      const sys = await boot({
        logicOverrides: { http: { maxBodyBytes: 8 * MiB } },
        cloudOverrides: { protocol: { sendBufferLimit: 16 * MiB } },
      });
      const mid = 8201;
      const { client } = await sys.online(0, 'ws', token(mid, uniqueKey('real')));
      // 2,000 more sessions of the same user on the same node: their keys alone take ~150 KiB of a PushMsg,
      // more than the 64 KiB a cloud node takes above its grpc.maxPushBytes.
      const node = sys.cloudAddress(0);
      for (let i = 0; i < 2000; i++) await sys.stores[0].add({ mid: String(mid), key: `${uniqueKey('ghost')}-${'g'.repeat(40)}`, server: node });
      const body = message('near-limit', 4 * MiB - 64);

      const r = await sys.http('/im/push/mids', { method: 'POST', query: { operation: BIZ, mids: [mid] }, body });
      expect([r.status, r.json.data], r.text.slice(0, 300)).to.deep.equal([200, { targets: 2001, nodes: 1 }]);
      await client.waitFor((p) => p.op === BIZ && labelOf(p) === 'near-limit', 10000, 'the near-limit message');
      expect(bizPackets(client).map((p) => p.body.length)).to.deep.equal([4 * MiB - 64]);
      expect(sys.logic[0].metrics.total('im_cloud_push_failures_total')).to.equal(0);
    });
  });

  describe('each cloud node\'s link is bounded (cloud.maxQueued, cloud.maxLinkBytes)', () => {
    async function stuckSystem(cloud: Record<string, unknown>, push: Record<string, unknown> = {}): Promise<{ sys: SystemHarness; node: string; keys: string[] }> {
      const node = await blackHole();
      const sys = await boot({ cloud: 0, logicOverrides: { cloud: { nodes: [node], callTimeoutMs: 3000, maxInFlight: 1, ...cloud }, push } });
      const keys = [uniqueKey('k1'), uniqueKey('k2'), uniqueKey('k3')];
      for (const key of keys) await sys.stores[0].add({ mid: '8100', key, server: node });
      return { sys, node, keys };
    }

    /** Three key pushes at once, one key each: one goes in flight, one waits, the third finds the queue full. */
    async function threePushes(sys: SystemHarness, keys: readonly string[], size: number): Promise<string[]> {
      const replies = await Promise.all(keys.map((key, i) =>
        sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: [key] }, body: message(`p${i}`, size) })));
      return replies.map((r) => {
        expect(r.status, r.text).to.equal(503);
        const failed = (r.json.data as { failed: Array<{ code: string; targets: number }> }).failed;
        expect(failed).to.have.length(1);
        expect(failed[0].targets).to.equal(1);
        return failed[0].code;
      }).sort();
    }

    it('by count: the push past cloud.maxQueued is dropped, counted, and its caller gets 503 E_CLOUD_QUEUE_FULL', async () => {
      const { sys, node, keys } = await stuckSystem({ maxQueued: 1 });
      expect(await threePushes(sys, keys, 10)).to.deep.equal(['E_CLOUD_QUEUE_FULL', 'E_CLOUD_UNAVAILABLE', 'E_CLOUD_UNAVAILABLE']);
      const metrics = sys.logic[0].metrics;
      expect(metrics.get('im_cloud_push_dropped_total', { node, rpc: 'PushMsg', bound: 'count' })).to.equal(1);
      // The link counts a failure once its caller has heard of it.
      await until(async () => metrics.get('im_cloud_push_failures_total', { node, rpc: 'PushMsg' }), (n) => n === 2, 'both failures to be counted');
    });

    it('by bytes, in flight included: with cloud.maxInFlight far above the pushes sent, a hung node holds at most the byte bound', async () => {
      // The smallest bound allowed: push.maxBatchBytes + 32 KiB of keys.
      const { sys, node, keys } = await stuckSystem({ maxInFlight: 256, maxQueued: 100, maxLinkBytes: 96 * KiB, callTimeoutMs: 1000 }, { maxBatchBytes: 64 * KiB });
      // Each push holds its 60 KiB message and its key: the first goes in flight, and either other would take the link past 96 KiB.
      expect(await threePushes(sys, keys, 60 * KiB)).to.deep.equal(['E_CLOUD_QUEUE_FULL', 'E_CLOUD_QUEUE_FULL', 'E_CLOUD_UNAVAILABLE']);
      expect(sys.logic[0].metrics.get('im_cloud_push_dropped_total', { node, rpc: 'PushMsg', bound: 'bytes' })).to.equal(2);
    });

    it('by bytes: a push that would take the link past cloud.maxLinkBytes is dropped; room pushes dropped are counted too', async () => {
      const { sys, node, keys } = await stuckSystem({ maxQueued: 100, maxLinkBytes: 96 * KiB }, { maxBatchBytes: 64 * KiB });
      // Each push holds its 40 KiB message and its key: one in flight and one waiting fit in 96 KiB, a third does not.
      expect(await threePushes(sys, keys, 40 * KiB)).to.deep.equal(['E_CLOUD_QUEUE_FULL', 'E_CLOUD_UNAVAILABLE', 'E_CLOUD_UNAVAILABLE']);
      const metrics = sys.logic[0].metrics;
      expect(metrics.get('im_cloud_push_dropped_total', { node, rpc: 'PushMsg', bound: 'bytes' })).to.equal(1);

      // Room pushes answer once queued, as in goim: the third finds one in flight and one waiting, and is dropped, counted.
      const rooms = await sys.pipelined(['r1', 'r2', 'r3'].map((label) => ({ path: ROOM_PATH, body: message(label, 40 * KiB) })));
      for (const r of rooms) expect([r.status, r.json], r.text).to.deep.equal([200, { code: 0, message: '' }]);
      await until(async () => metrics.get('im_cloud_push_dropped_total', { node, rpc: 'BroadcastRoom', bound: 'bytes' }), (n) => n === 1, 'the room push to be dropped');
    });
  });

  describe('the wait for a key or mid push\'s answer is bounded (push.answerTimeoutMs)', () => {
    it('a push still waiting behind a hung one when push.answerTimeoutMs passes gets 503 E_CLOUD_UNAVAILABLE naming the option', async () => {
      const node = await blackHole();
      const sys = await boot({ cloud: 0, logicOverrides: { cloud: { nodes: [node], callTimeoutMs: 2000, maxInFlight: 1 }, push: { answerTimeoutMs: 3000 } } });
      const keys = [uniqueKey('first'), uniqueKey('second')];
      for (const key of keys) await sys.stores[0].add({ mid: '8300', key, server: node });
      // One push holds the link until its 2000 ms deadline; the other waits behind it and would fail only at ~4000 ms.
      const replies = await Promise.all(keys.map((key, i) =>
        sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: [key] }, body: `p${i}` })));
      for (const r of replies) expect([r.status, r.json.error], r.text).to.deep.equal([503, 'E_CLOUD_UNAVAILABLE']);
      const [failed, unanswered] = replies[0].json.data === undefined ? [replies[1], replies[0]] : [replies[0], replies[1]];
      expect((failed.json.data as { failed: unknown[] }).failed, failed.text).to.have.length(1);
      expect(unanswered.json.data, unanswered.text).to.equal(undefined);
      expect(unanswered.json.message).to.include('push.answerTimeoutMs 3000');
    });
  });
});

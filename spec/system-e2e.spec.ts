/**
 * The whole system through its real entry points: HTTP push API → logic node
 * (sessions, routing actors) → real gRPC → cloud node → real ws and tcp
 * sockets, with logic and cloud nodes started in this process by
 * SystemHarness.
 *
 * How absence is asserted (no sleeps): after the push under test, sentinels
 * are pushed through the same logic node, and the test waits for them. That
 * is sound because:
 *  - the push API tells the routing actors before it answers (keys and mids
 *    after the session lookup), and actor mailboxes are FIFO, so a later
 *    request's pushes queue behind an earlier one's, per cloud node, in one
 *    link actor;
 *  - the harness runs every link with cloud.maxInFlight 1: the next push to a
 *    cloud node leaves only once the cloud node answered the previous one,
 *    and a cloud node tells its actors before it answers;
 *  - on the cloud node, pushes reach a connection only through the bucket of
 *    its key (keys, mids, all) or its room's actor (room pushes); a sentinel
 *    down each of those paths travels behind anything told earlier
 *    (cloud-push.spec.ts explains the cloud half in detail);
 *  - room pushes are not held back (push.batchFlushMs 0) unless a test
 *    batches on purpose.
 * So once a client has every sentinel, anything the push under test could
 * have sent it has arrived.
 */
import { expect } from 'chai';
import { SignJWT } from 'jose';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { encodePacket, HEADER_LEN, Op, readHeader } from '../system/codec/packet';
import { RedisScratch } from './support/redis-scratch';
import { HttpReply, SystemHarness, SystemOptions, Transport, until } from './support/system-harness';
import { Received, TestClient } from './support/test-client';

const BIZ = 1000;
/** Every peer accepts this op (deaf peers accept only it), so sentinels reach everyone. */
const SENTINEL_OP = 1001;

interface Peer {
  readonly client: TestClient;
  readonly key: string;
  readonly mid: number;
  readonly transport: Transport;
  /** `type://id`, or '' for none. */
  readonly room: string;
  readonly cloud: number;
  readonly name: string;
}

interface PeerOptions {
  readonly mid?: number;
  readonly room?: string;
  readonly accepts?: number[];
  readonly key?: string;
}

let serial = 0;

function uniqueKey(label: string): string {
  return `e2e-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;
}

async function join(sys: SystemHarness, cloud: number, transport: Transport, name: string, options: PeerOptions = {}): Promise<Peer> {
  const key = options.key ?? uniqueKey(name);
  const mid = options.mid ?? 123;
  const room = options.room ?? '';
  const token = { mid, key, room_id: room, platform: 'web', accepts: options.accepts ?? [1000, 1001, 1002] };
  const { client, auth } = await sys.online(cloud, transport, token);
  expect(auth.key).to.equal(key);
  expect(auth.mid).to.equal(mid);
  expect(auth.room_id).to.equal(room);
  return { client, key, mid, transport, room, cloud, name };
}

function text(p: Received): string {
  return p.body.toString('utf8');
}

function arrived(peer: Peer, op: number, body: string): Promise<Received> {
  return peer.client.waitFor((p) => p.op === op && text(p) === body, 5000, `op ${op} "${body}" on ${peer.name} (${peer.transport})`);
}

/** The bodies of every business packet a peer got, sentinels left out, in arrival order. */
function pushes(peer: Peer): string[] {
  return peer.client.packets.filter((p) => p.op >= 1000 && !text(p).startsWith('sentinel-')).map(text);
}

async function expectOk(reply: Promise<HttpReply>): Promise<void> {
  const r = await reply;
  expect(r.status, r.text).to.equal(200);
  // Key and mid pushes add `data` (what they reached; push-outcome.spec.ts checks it).
  expect({ code: r.json.code, message: r.json.message }).to.deep.equal({ code: 0, message: '' });
}

/** goim style: every parameter in the query string, the raw body is the message. */
function pushRaw(sys: SystemHarness, path: string, query: Record<string, string | number | ReadonlyArray<string | number>>, body: string, via = 0): Promise<void> {
  return expectOk(sys.http(path, { method: 'POST', query, body, logic: via }));
}

/** Expects a 4xx with a JSON reason naming `error`. */
async function expectRejected(reply: Promise<HttpReply>, status: number, error: string): Promise<void> {
  const r = await reply;
  expect(r.status, r.text).to.equal(status);
  expect(r.headers['content-type']).to.match(/^application\/json/);
  expect(r.json.code).to.equal(-400);
  expect(r.json.error).to.equal(error);
  expect(r.json.message).to.be.a('string').and.not.equal('');
}

/** Room types the push API serves (the logic default, push.roomTypes). */
const SERVED_ROOM = /^live:\/\//;

/**
 * Sentinels down every path through logic node `via` to the peers: their
 * keys (buckets), each of their rooms (room actors), and all (every bucket).
 * Waits until each peer has each sentinel meant for it. A peer in a room the
 * API cannot push to then sends op 2: its op 3 comes from its room's actor,
 * behind anything a room push (told before the key sentinel's) left there.
 */
async function sentinels(sys: SystemHarness, peers: readonly Peer[], via = 0): Promise<void> {
  const tag = `sentinel-${++serial}`;
  await pushRaw(sys, '/im/push/keys', { operation: SENTINEL_OP, keys: peers.map((p) => p.key) }, `${tag}-key`, via);
  const rooms = [...new Set(peers.map((p) => p.room).filter((r) => SERVED_ROOM.test(r)))];
  for (const room of rooms) {
    const [type, id] = room.split('://');
    await pushRaw(sys, '/im/push/room', { operation: SENTINEL_OP, type, room: id }, `${tag}-room-${room}`, via);
  }
  await pushRaw(sys, '/im/push/all', { operation: SENTINEL_OP }, `${tag}-all`, via);
  await Promise.all(peers.flatMap((p) => [
    arrived(p, SENTINEL_OP, `${tag}-key`),
    arrived(p, SENTINEL_OP, `${tag}-all`),
    ...(SERVED_ROOM.test(p.room) ? [arrived(p, SENTINEL_OP, `${tag}-room-${p.room}`)] : []),
  ]));
  for (const p of peers) if (p.room !== '' && !SERVED_ROOM.test(p.room)) await p.client.heartbeat();
}

function expectPlainPush(p: Received): void {
  expect({ ver: p.ver, op: p.op, seq: p.seq, batched: p.batched }).to.deep.equal({ ver: 1, op: BIZ, seq: 0, batched: false });
}

describe('system end to end: HTTP → logic → gRPC → cloud → sockets', function () {
  this.timeout(20000);

  let current: SystemHarness | null = null;
  let scratch: RedisScratch | null = null;

  async function boot(options: SystemOptions = {}): Promise<SystemHarness> {
    current = await SystemHarness.start(options);
    return current;
  }

  function redisPrefix(): string {
    scratch ??= new RedisScratch();
    return scratch.subPrefix();
  }

  afterEach(async () => {
    await current?.stop();
    current = null;
  });

  after(async () => {
    await scratch?.cleanup();
  });

  // ── 1 + 3: the push suite, in memory and on Redis shared by two logic nodes ──────────────────

  interface Variant {
    readonly name: string;
    readonly start: () => Promise<SystemHarness>;
    /** The logic node whose HTTP API the pushes go through. */
    readonly via: number;
  }

  const variants: Variant[] = [
    { name: 'memory store, one logic node', start: () => boot(), via: 0 },
    {
      name: 'Redis store shared by two logic nodes: clients log in through logic 0, pushes go through logic 1',
      // The cloud node knows only logic 0: every Connect lands there, every push enters at logic 1.
      start: () => boot({ logic: 2, cloud: [{ logic: [0] }], redis: { keyPrefix: redisPrefix() } }),
      via: 1,
    },
  ];

  for (const variant of variants) {
    describe(`pushes (${variant.name})`, () => {
      const via = variant.via;

      /** One user (mid 123) on ws and tcp in live://1000, and three bystanders. */
      async function population(sys: SystemHarness): Promise<{ ws: Peer; tcp: Peer; bob: Peer; carol: Peer; deaf: Peer; all: Peer[] }> {
        const ws = await join(sys, 0, 'ws', 'mid123-ws', { mid: 123, room: 'live://1000' });
        const tcp = await join(sys, 0, 'tcp', 'mid123-tcp', { mid: 123, room: 'live://1000' });
        const bob = await join(sys, 0, 'ws', 'bob', { mid: 456, room: 'live://2000' });
        const carol = await join(sys, 0, 'tcp', 'carol', { mid: 789 });
        // In the room but deaf to op 1000: room pushes reach it anyway (goim), keys/all pushes do not.
        const deaf = await join(sys, 0, 'ws', 'deaf', { mid: 555, room: 'live://1000', accepts: [SENTINEL_OP] });
        const all = [ws, tcp, bob, carol, deaf];
        if (sys.logic.length > 1) {
          expect(sys.logic[0].metrics.get('im_logic_connects_total')).to.equal(all.length);
          expect(sys.logic[1].metrics.get('im_logic_connects_total')).to.equal(0);
        }
        return { ws, tcp, bob, carol, deaf, all };
      }

      it('push/keys reaches exactly the addressed keys, on ws and tcp', async () => {
        const sys = await variant.start();
        const { ws, carol, all } = await population(sys);
        await pushRaw(sys, '/im/push/keys', { operation: BIZ, keys: [ws.key, carol.key, uniqueKey('nobody')] }, 'to-keys', via);
        expectPlainPush(await arrived(ws, BIZ, 'to-keys'));
        expectPlainPush(await arrived(carol, BIZ, 'to-keys'));
        await sentinels(sys, all, via);
        for (const p of all) expect(pushes(p), p.name).to.deep.equal(p === ws || p === carol ? ['to-keys'] : []);
      });

      it('push/mids reaches every connection of the user (ws and tcp) and nobody else', async () => {
        const sys = await variant.start();
        const { ws, tcp, all } = await population(sys);
        // goim's own request shape: POST /goim/push/mids?operation=1000&mids=123, body = message.
        await expectOk(sys.http('/im/push/mids?operation=1000&mids=123', { method: 'POST', body: 'to-mid-123', logic: via }));
        expectPlainPush(await arrived(ws, BIZ, 'to-mid-123'));
        expectPlainPush(await arrived(tcp, BIZ, 'to-mid-123'));
        await sentinels(sys, all, via);
        for (const p of all) expect(pushes(p), p.name).to.deep.equal(p === ws || p === tcp ? ['to-mid-123'] : []);
      });

      it('push/mids with a JSON body (parameters and msg in the body)', async () => {
        const sys = await variant.start();
        const { ws, tcp, carol, all } = await population(sys);
        await expectOk(sys.http('/im/push/mids', { body: { operation: BIZ, mids: [123, '789'], msg: 'json-mids' }, logic: via }));
        await Promise.all([ws, tcp, carol].map((p) => arrived(p, BIZ, 'json-mids')));
        await sentinels(sys, all, via);
        for (const p of all) expect(pushes(p), p.name).to.deep.equal([ws, tcp, carol].includes(p) ? ['json-mids'] : []);
      });

      it('push/room reaches the room\'s members (accepts not consulted) and nobody else', async () => {
        const sys = await variant.start();
        const { ws, tcp, deaf, all } = await population(sys);
        await pushRaw(sys, '/im/push/room', { operation: BIZ, type: 'live', room: '1000' }, 'to-room-1000', via);
        for (const p of [ws, tcp, deaf]) expectPlainPush(await arrived(p, BIZ, 'to-room-1000'));
        // A form body carries the parameters just as well.
        await expectOk(sys.http('/im/push/room', {
          body: 'operation=1000&type=live&room=2000&msg=to-room-2000', headers: { 'content-type': 'application/x-www-form-urlencoded' }, logic: via,
        }));
        await sentinels(sys, all, via);
        for (const p of all) {
          const expected = [ws, tcp, deaf].includes(p) ? ['to-room-1000'] : p.name === 'bob' ? ['to-room-2000'] : [];
          expect(pushes(p), p.name).to.deep.equal(expected);
        }
      });

      it('/goim/push/all reaches everyone who accepts the op', async () => {
        const sys = await variant.start();
        const { deaf, all } = await population(sys);
        await expectOk(sys.http('/goim/push/all?operation=1000', { method: 'POST', body: 'to-all', logic: via }));
        const hearing = all.filter((p) => p !== deaf);
        for (const p of hearing) expectPlainPush(await arrived(p, BIZ, 'to-all'));
        await sentinels(sys, all, via);
        for (const p of all) expect(pushes(p), p.name).to.deep.equal(p === deaf ? [] : ['to-all']);
      });
    });
  }

  describe('Redis sessions', () => {
    it('are kept in goim\'s layout: key_<key> and mid_<mid> name the cloud node; Disconnect deletes them', async () => {
      const keyPrefix = redisPrefix();
      const sys = await boot({ logic: 2, cloud: [{ logic: [0] }], redis: { keyPrefix } });
      const peer = await join(sys, 0, 'tcp', 'layout', { mid: 4242 });
      const redis = scratch?.raw;
      if (!redis) throw new Error('no redis scratch');
      const server = sys.cloudAddress(0);
      expect(await redis.get(`${keyPrefix}key_${peer.key}`)).to.equal(server);
      expect(await redis.hgetall(`${keyPrefix}mid_4242`)).to.deep.equal({ [peer.key]: server });
      expect(await redis.ttl(`${keyPrefix}key_${peer.key}`)).to.be.greaterThan(0);
      // Both logic nodes read the same session.
      for (const store of sys.stores) expect([...(await store.serversByKeys([peer.key]))]).to.deep.equal([[peer.key, server]]);

      peer.client.close();
      await until(() => redis.exists(`${keyPrefix}key_${peer.key}`), (n) => n === 0, 'key_ to be deleted after Disconnect');
      expect(await redis.exists(`${keyPrefix}mid_4242`)).to.equal(0);
    });
  });

  // ── 2: two cloud nodes ────────────────────────────────────────────────────────────────────────

  describe('two cloud nodes', () => {
    async function twoNodes(): Promise<{ sys: SystemHarness; a1: Peer; a2: Peer; b1: Peer; b2: Peer }> {
      const sys = await boot({ cloud: 2 });
      const a1 = await join(sys, 0, 'ws', 'a1', { mid: 11, room: 'live://1000' });
      const a2 = await join(sys, 0, 'tcp', 'a2', { mid: 12 });
      const b1 = await join(sys, 1, 'tcp', 'b1', { mid: 21, room: 'live://1000' });
      const b2 = await join(sys, 1, 'ws', 'b2', { mid: 22 });
      return { sys, a1, a2, b1, b2 };
    }

    it('a key push goes only to the node holding the key; a room push reaches members on both nodes', async () => {
      const { sys, a1, a2, b1, b2 } = await twoNodes();
      const all = [a1, a2, b1, b2];
      const keyPushesOn = (i: number): number => sys.cloud[i].metrics.get('im_pushes_total', { rpc: 'PushMsg' });

      await pushRaw(sys, '/im/push/keys', { operation: BIZ, keys: [a1.key] }, 'to-a1');
      await arrived(a1, BIZ, 'to-a1');
      await pushRaw(sys, '/im/push/room', { operation: BIZ, type: 'live', room: '1000' }, 'to-room');
      await Promise.all([arrived(a1, BIZ, 'to-room'), arrived(b1, BIZ, 'to-room')]);
      await sentinels(sys, all);

      expect(pushes(a1)).to.deep.equal(['to-a1', 'to-room']);
      expect(pushes(a2)).to.deep.equal([]);
      expect(pushes(b1)).to.deep.equal(['to-room']);
      expect(pushes(b2)).to.deep.equal([]);
      // Node B saw one PushMsg: the sentinel's (node A: the push and the sentinel).
      expect(keyPushesOn(1)).to.equal(1);
      expect(keyPushesOn(0)).to.equal(2);
      expect(sys.logic[0].metrics.total('im_cloud_push_failures_total')).to.equal(0);
    });

    it('with node B stopped, pushes to node A\'s clients still arrive and the failures to B are counted', async () => {
      const { sys, a1, a2, b1, b2 } = await twoNodes();
      const nodeB = sys.cloudAddress(1);
      await sys.stopCloud(1);
      for (const p of [b1, b2]) {
        await p.client.waitForClose();
        expect(p.client.disconnectReason()?.code).to.equal('E_NODE_DRAINING');
      }

      await pushRaw(sys, '/im/push/keys', { operation: BIZ, keys: [a1.key, b1.key] }, 'keys-after');
      await pushRaw(sys, '/im/push/room', { operation: BIZ, type: 'live', room: '1000' }, 'room-after');
      await pushRaw(sys, '/im/push/all', { operation: BIZ }, 'all-after');
      await Promise.all([
        arrived(a1, BIZ, 'keys-after'), arrived(a1, BIZ, 'room-after'), arrived(a1, BIZ, 'all-after'), arrived(a2, BIZ, 'all-after'),
      ]);
      await sentinels(sys, [a1, a2]);
      expect(pushes(a1)).to.deep.equal(['keys-after', 'room-after', 'all-after']);
      expect(pushes(a2)).to.deep.equal(['all-after']);

      const metrics = sys.logic[0].metrics;
      await until(async () => ({
        room: metrics.get('im_cloud_push_failures_total', { node: nodeB, rpc: 'BroadcastRoom' }),
        all: metrics.get('im_cloud_push_failures_total', { node: nodeB, rpc: 'Broadcast' }),
      }), (n) => n.room >= 1 && n.all >= 1, 'failed pushes to node B to be counted');
      // Node B drained: its clients' sessions are gone, so no PushMsg was even tried there.
      expect(metrics.get('im_cloud_push_failures_total', { node: nodeB, rpc: 'PushMsg' })).to.equal(0);
      expect(metrics.get('im_cloud_push_failures_total', { node: sys.cloudAddress(0), rpc: 'BroadcastRoom' })).to.equal(0);
      expect(metrics.get('im_cloud_push_failures_total', { node: sys.cloudAddress(0), rpc: 'Broadcast' })).to.equal(0);
    });
  });

  // ── 4: JWT tokens ─────────────────────────────────────────────────────────────────────────────

  describe('JWT mode (auth.jwtSecret set)', () => {
    const SECRET = 'system-e2e-secret-0123456789-abcdefghij';
    const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

    function claims(mid: number, key: string): Record<string, unknown> {
      return { mid, key, room_id: 'live://1000', platform: 'web', accepts: [1000, 1001] };
    }

    function sign(body: Record<string, unknown>, expiresAt: number | string = '1h'): Promise<string> {
      return new SignJWT(body).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresAt)
        .sign(new TextEncoder().encode(SECRET));
    }

    function jwtSystem(): Promise<SystemHarness> {
      return boot({ logicOverrides: { auth: { jwtSecret: SECRET } } });
    }

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: a good HS256 token is accepted: op 8 with its claims, then pushes arrive`, async () => {
        const sys = await jwtSystem();
        const key = uniqueKey(`jwt-${transport}`);
        const { client, auth } = await sys.online(0, transport, await sign(claims(3131, key)));
        expect({ key: auth.key, mid: auth.mid, room_id: auth.room_id }).to.deep.equal({ key, mid: 3131, room_id: 'live://1000' });
        const peer: Peer = { client, key, mid: 3131, transport, room: 'live://1000', cloud: 0, name: `jwt-${transport}` };
        await pushRaw(sys, '/im/push/keys', { operation: BIZ, keys: [key] }, 'jwt-key');
        await pushRaw(sys, '/im/push/mids', { operation: BIZ, mids: [3131] }, 'jwt-mid');
        await pushRaw(sys, '/im/push/room', { operation: BIZ, type: 'live', room: '1000' }, 'jwt-room');
        for (const body of ['jwt-key', 'jwt-mid', 'jwt-room']) await arrived(peer, BIZ, body);
        expect(await sys.stores[0].serversByKeys([key])).to.deep.equal(new Map([[key, sys.cloudAddress(0)]]));
      });

      it(`${transport}: tampered, expired and unsigned tokens are refused with op 6 E_AUTH_REFUSED; nothing is registered`, async () => {
        const sys = await jwtSystem();
        const logic = sys.logic[0];
        const cloud = sys.cloud[0];
        const good = await sign(claims(4001, uniqueKey('tamper')));
        const [header, payload, signature] = good.split('.');
        const altered: Record<string, unknown> = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>), mid: 4999 };
        const expiredKey = uniqueKey('expired');
        const unsignedKey = uniqueKey('unsigned');
        const cases: Array<{ name: string; token: string; key: string; mids: number[]; logicCode: string }> = [
          { name: 'tampered', token: `${header}.${b64url(altered)}.${signature}`, key: String(altered.key), mids: [4001, 4999], logicCode: 'E_TOKEN_SIGNATURE' },
          { name: 'expired', token: await sign(claims(4002, expiredKey), Math.floor(Date.now() / 1000) - 60), key: expiredKey, mids: [4002], logicCode: 'E_TOKEN_EXPIRED' },
          {
            name: 'unsigned (alg none)', token: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims(4003, unsignedKey))}.`,
            key: unsignedKey, mids: [4003], logicCode: 'E_TOKEN_ALGORITHM',
          },
        ];
        for (const c of cases) {
          const client = await sys.connect(0, transport);
          client.send(Op.Auth, c.token);
          await client.waitForClose();
          expect(client.received(Op.AuthReply), c.name).to.have.length(0);
          expect(client.disconnectReason()?.code, c.name).to.equal('E_AUTH_REFUSED');
          expect(logic.metrics.get('im_logic_grpc_errors_total', { rpc: 'Connect', code: c.logicCode }), c.name).to.be.greaterThan(0);
          expect(await sys.stores[0].serversByKeys([c.key]), c.name).to.deep.equal(new Map());
          expect(await sys.stores[0].keysByMids(c.mids.map(String)), c.name).to.deep.equal(new Map());
        }
        expect(logic.metrics.get('im_logic_connects_total')).to.equal(0);
        expect(cloud.metrics.get('im_auth_failures_total', { code: 'E_AUTH_REFUSED' })).to.equal(cases.length);
        expect(cloud.metrics.get('im_auth_ok_total')).to.equal(0);
        // The connection actor stopped in the turn that closed the socket.
        expect(cloud.runtime.count('connection')).to.equal(0);
        // Logic has no route for those keys: the push is accepted and goes nowhere.
        await pushRaw(sys, '/im/push/keys', { operation: BIZ, keys: cases.map((c) => c.key) }, 'to-refused');
        expect(logic.metrics.get('im_logic_pushes_unroutable_total', { kind: 'keys' })).to.equal(1);
      });
    }
  });

  // ── 5: bad HTTP input ─────────────────────────────────────────────────────────────────────────

  describe('bad HTTP input', () => {
    it('gets a 4xx with a JSON reason, and nothing is sent to anyone', async () => {
      const sys = await boot({ logicOverrides: { http: { maxBodyBytes: 256 } } });
      const ws = await join(sys, 0, 'ws', 'target-ws', { mid: 123, room: 'live://1000' });
      // In a room of a type the API does not serve: only an unchecked room push could reach it.
      const odd = await join(sys, 0, 'tcp', 'odd-room', { mid: 124, room: 'nope://1000' });
      const peers = [ws, odd];
      const metrics = sys.logic[0].metrics;
      const pushesBefore = metrics.total('im_logic_pushes_total');

      const post = (path: string, body: string | Buffer | Record<string, unknown>, headers: Record<string, string> = {}): Promise<HttpReply> =>
        sys.http(path, { method: 'POST', body, headers });
      await expectRejected(post('/im/push/keys?operation=1000', 'no keys'), 400, 'E_HTTP_NO_KEYS');
      await expectRejected(post(`/im/push/keys?operation=abc&keys=${ws.key}`, 'bad op'), 400, 'E_HTTP_BAD_OPERATION');
      await expectRejected(post(`/im/push/keys?keys=${odd.key}`, 'no op'), 400, 'E_HTTP_BAD_OPERATION');
      await expectRejected(post('/im/push/mids?operation=1000&mids=12x', 'bad mid'), 400, 'E_HTTP_BAD_MID');
      await expectRejected(post('/im/push/all?operation=-1', 'negative op'), 400, 'E_HTTP_BAD_OPERATION');
      await expectRejected(post('/im/push/room?operation=1000&type=nope&room=1000', 'unknown room type'), 400, 'E_HTTP_BAD_ROOM_TYPE');
      await expectRejected(post('/im/push/room?operation=1000&type=live', 'no room'), 400, 'E_HTTP_BAD_ROOM');
      await expectRejected(post('/im/push/mids', '{"operation":1000,"mids":[123],', { 'content-type': 'application/json' }), 400, 'E_HTTP_BAD_BODY');
      await expectRejected(post(`/im/push/keys?operation=1000&keys=${ws.key}&keys=${odd.key}`, Buffer.alloc(1000, 0x61)), 413, 'E_HTTP_BODY_TOO_LARGE');
      await expectRejected(sys.http(`/im/push/keys?operation=1000&keys=${ws.key}`, { method: 'GET' }), 405, 'E_HTTP_METHOD');
      await expectRejected(sys.http('/im/push/nowhere?operation=1000', { method: 'POST', body: 'x' }), 404, 'E_HTTP_NOT_FOUND');
      expect(metrics.total('im_logic_pushes_total'), 'pushes accepted by logic').to.equal(pushesBefore);

      // For `odd`, the sentinels end with op 2: a push to nope://1000 would be ahead of op 3 in that room's actor.
      await sentinels(sys, peers);
      for (const p of peers) expect(pushes(p), p.name).to.deep.equal([]);
      expect(sys.logic[0].metrics.total('im_cloud_push_failures_total')).to.equal(0);
    });
  });

  // ── 6: online counts ──────────────────────────────────────────────────────────────────────────

  describe('online counts (RenewOnline)', () => {
    const cloudOverrides = { logic: { renewOnlineIntervalMs: 200 } };
    const logicOverrides = { online: { maxAgeMs: 1500 } };

    interface Online {
      room: unknown;
      top: unknown;
      total: unknown;
    }

    async function online(sys: SystemHarness, via = 0): Promise<Online> {
      const [room, top, total] = await Promise.all([
        sys.http('/im/online/room?type=live&rooms=1000&rooms=2000&rooms=3000', { logic: via }),
        sys.http('/im/online/top?type=live&limit=10', { logic: via }),
        sys.http('/goim/online/total', { logic: via }),
      ]);
      for (const r of [room, top, total]) expect(r.status, r.text).to.equal(200);
      return { room: room.json.data, top: top.json.data, total: total.json.data };
    }

    async function populate(sys: SystemHarness): Promise<Peer[]> {
      return [
        await join(sys, 0, 'ws', 'a-1000-1', { mid: 1, room: 'live://1000' }),
        await join(sys, 0, 'tcp', 'a-1000-2', { mid: 2, room: 'live://1000' }),
        await join(sys, 0, 'ws', 'a-2000', { mid: 3, room: 'live://2000' }),
        await join(sys, 1, 'tcp', 'b-1000', { mid: 4, room: 'live://1000' }),
        await join(sys, 1, 'ws', 'b-none', { mid: 5 }),
      ];
    }

    const both: Online = {
      room: { 1000: 3, 2000: 1, 3000: 0 },
      top: [{ room_id: '1000', count: 3 }, { room_id: '2000', count: 1 }],
      total: { conn_count: 5, ip_count: 2 },
    };
    const onlyA: Online = {
      room: { 1000: 2, 2000: 1, 3000: 0 },
      top: [{ room_id: '1000', count: 2 }, { room_id: '2000', count: 1 }],
      total: { conn_count: 3, ip_count: 1 },
    };

    it('room, top and total add up both cloud nodes; op 3 reports the cluster-wide room count', async () => {
      const sys = await boot({ cloud: 2, cloudOverrides, logicOverrides });
      const peers = await populate(sys);
      await until(() => online(sys), (o) => isDeepStrictEqual(o, both), 'both cloud nodes in the online counts');
      // The room actor on node B learns the other node's share from RenewOnline's answer.
      const b1000 = peers[3];
      await until(() => b1000.client.heartbeat(), (n) => n === 3, 'op 3 on node B to count room 1000 across both nodes');
    });

    it('a cloud node that stops renewing drops out after online.maxAgeMs', async () => {
      // Node B renews through logic 1 only; the counts are read through logic 0 (shared Redis).
      // Stopping logic 1 stops B's renewals while B and its clients stay up.
      const sys = await boot({
        logic: 2, cloud: [{ logic: [0] }, { logic: [1] }], cloudOverrides, logicOverrides, redis: { keyPrefix: redisPrefix() },
      });
      const peers = await populate(sys);
      await until(() => online(sys), (o) => isDeepStrictEqual(o, both), 'both cloud nodes in the online counts');
      await sys.logic[1].stop();
      // `updated` has one-second granularity: allow maxAgeMs plus two seconds, and a renewal interval.
      await until(() => online(sys), (o) => isDeepStrictEqual(o, onlyA), 'node B to drop out of the online counts', 1500 + 2000 + 2000);
      // B still holds its clients: it is only silent.
      expect(sys.cloud[1].openConnections).to.equal(2);
      expect(peers.every((p) => !p.client.closed)).to.equal(true);
    });
  });

  // ── 7: nodes and upstream messages ────────────────────────────────────────────────────────────

  describe('nodes and upstream messages', () => {
    interface SinkPost {
      readonly path: string;
      readonly contentType: string;
      readonly json: unknown;
    }

    let sink: http.Server | null = null;
    const posts: SinkPost[] = [];
    /** The HTTP status the sink answers with. */
    let sinkStatus = 200;

    beforeEach(async () => {
      posts.length = 0;
      sinkStatus = 200;
      sink = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          posts.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
          res.statusCode = sinkStatus;
          res.end('ok');
        });
      });
      await new Promise<void>((resolve) => sink?.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      sink?.closeAllConnections();
      await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
      sink = null;
    });

    function sinkUrl(): string {
      return `http://127.0.0.1:${(sink?.address() as AddressInfo).port}/receive`;
    }

    it('GET /im/nodes and /goim/nodes return the configured nodes info', async () => {
      const sys = await boot({
        logicOverrides: {
          nodes: { domain: 'im.example.test', clientHosts: ['10.1.0.1', '10.1.0.2'], tcpPort: 4101, wsPort: 4102, wssPort: 4103 },
          clients: { heartbeatSeconds: 20, heartbeatMax: 4 },
        },
      });
      const expected = {
        domain: 'im.example.test', tcp_port: 4101, ws_port: 4102, wss_port: 4103, heartbeat: 20, heartbeat_max: 4,
        nodes: ['10.1.0.1', '10.1.0.2'], backoff: { max_delay: 300, base_delay: 3, factor: 1.8, jitter: 1.3 },
      };
      for (const path of ['/im/nodes?platform=web', '/goim/nodes']) {
        const r = await sys.http(path);
        expect(r.status, r.text).to.equal(200);
        expect(r.json).to.deep.equal({ code: 0, message: '', data: expected });
      }
    });

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: op 4 reaches the receive sink as JSON and the client gets op 5`, async () => {
        const sys = await boot({ logicOverrides: { receive: { sink: 'http', url: sinkUrl() } } });
        const peer = await join(sys, 0, transport, `upstream-${transport}`, { mid: 777 });
        const body = Buffer.from([0x68, 0x69, 0x00, 0xff, 0x7b]);
        peer.client.send(Op.SendMsg, body, 1, 9);
        const ack = await peer.client.waitFor((p) => p.op === Op.SendMsgReply, 5000, 'op 5');
        expect({ ver: ack.ver, seq: ack.seq, body: ack.body.toString('hex') }).to.deep.equal({ ver: 1, seq: 9, body: body.toString('hex') });
        // op 5 leaves once Receive answered, and Receive answers once the sink's POST was answered.
        expect(posts).to.deep.equal([{
          path: '/receive', contentType: 'application/json',
          json: { mid: '777', ver: 1, op: Op.SendMsg, seq: 9, body: body.toString('base64') },
        }]);
        expect(sys.logic[0].metrics.get('im_logic_receive_total')).to.equal(1);
      });

      it(`${transport}: op 4 the receive sink refuses (HTTP 500) gets op 5 with the error ack E_RECEIVE_REFUSED, not the echo`, async () => {
        const sys = await boot({ logicOverrides: { receive: { sink: 'http', url: sinkUrl() } } });
        const peer = await join(sys, 0, transport, `refused-${transport}`, { mid: 778 });
        sinkStatus = 500;
        peer.client.send(Op.SendMsg, 'will not be delivered', 1, 10);
        const ack = await peer.client.waitFor((p) => p.op === Op.SendMsgReply, 5000, 'op 5');
        expect({ ver: ack.ver, seq: ack.seq }).to.deep.equal({ ver: 1, seq: 10 });
        expect(JSON.parse(ack.body.toString('utf8'))).to.deep.equal({
          code: -500, error: 'E_RECEIVE_REFUSED', message: 'logic did not accept the upstream message',
        });
        expect(posts).to.have.length(1);
      });
    }
  });

  // ── 8: room batching ──────────────────────────────────────────────────────────────────────────

  describe('room batching', () => {
    const ROOM = { type: 'live', room: '1000' };

    async function roomPeers(sys: SystemHarness): Promise<{ ws: Peer; tcp: Peer }> {
      const ws = await join(sys, 0, 'ws', 'batch-ws', { room: 'live://1000' });
      const tcp = await join(sys, 0, 'tcp', 'batch-tcp', { room: 'live://1000' });
      return { ws, tcp };
    }

    function tcpBytes(peer: Peer): Buffer {
      return Buffer.concat(peer.client.frames);
    }

    async function pushRoomMessages(sys: SystemHarness, bodies: readonly string[]): Promise<void> {
      for (const body of bodies) await pushRaw(sys, '/im/push/room', { operation: BIZ, ...ROOM }, body);
    }

    function batcherState(sys: SystemHarness): { pendingRooms: number; batchesSent: number; messagesSent: number } {
      const [batcher] = sys.logic[0].runtime.list({ kind: 'room-batcher', withState: true });
      const state = batcher?.state as { pendingRooms: number; batchesSent: number; messagesSent: number } | undefined;
      if (!state) throw new Error('no room batcher');
      return state;
    }

    async function batcherBarrier(sys: SystemHarness): Promise<void> {
      const runtime = sys.logic[0].runtime;
      const [batcher] = runtime.list({ kind: 'room-batcher' });
      const ref = batcher ? runtime.refAt(batcher.path) : undefined;
      if (!ref) throw new Error('no room batcher');
      await runtime.barrier(ref, 1000);
    }

    /** Checks one ws frame: op 9 around exactly `bodies` as op-1000 packets. */
    function expectBatchFrame(frame: Buffer, bodies: readonly string[]): void {
      const inner = Buffer.concat(bodies.map((b) => encodePacket(1, BIZ, 0, b)));
      expect(readHeader(frame, 0)).to.deep.equal({ packLen: HEADER_LEN + inner.length, headerLen: HEADER_LEN, ver: 1, op: Op.Raw, seq: 0 });
      expect(frame.subarray(HEADER_LEN).equals(inner)).to.equal(true);
    }

    it('5 quick room pushes reach ws as one op-9 frame of 5 packets in order, tcp as 5 packets', async () => {
      const sys = await boot({ logicOverrides: { push: { batchFlushMs: 50, batchMaxMessages: 20 } } });
      const { ws, tcp } = await roomPeers(sys);
      const wsMark = ws.client.frames.length;
      const tcpMark = tcpBytes(tcp).length;
      const bodies = ['m1', 'm2', 'm3', 'm4', 'm5'];
      // Pipelined on one connection: all five reach the batcher well within 50 ms, however busy the machine.
      const replies = await sys.pipelined(bodies.map((body) => ({ path: '/im/push/room?operation=1000&type=live&room=1000', body })));
      for (const r of replies) expect([r.status, r.json], r.text).to.deep.equal([200, { code: 0, message: '' }]);
      await Promise.all([arrived(ws, BIZ, 'm5'), arrived(tcp, BIZ, 'm5')]);

      const frames = ws.client.frames.slice(wsMark);
      expect(frames, 'ws frames').to.have.length(1);
      expectBatchFrame(frames[0], bodies);
      expect(ws.client.packets.filter((p) => p.op === BIZ).map((p) => [text(p), p.batched])).to.deep.equal(bodies.map((b) => [b, true]));

      // tcp gets the inner packets as they are: never op 9.
      const expectedTcp = Buffer.concat(bodies.map((b) => encodePacket(1, BIZ, 0, b)));
      expect(tcpBytes(tcp).subarray(tcpMark).equals(expectedTcp)).to.equal(true);
      expect(tcp.client.received(Op.Raw)).to.have.length(0);
      expect(tcp.client.packets.filter((p) => p.op === BIZ).map((p) => [text(p), p.batched])).to.deep.equal(bodies.map((b) => [b, false]));

      await sentinels(sys, [ws, tcp]);
      expect(pushes(ws)).to.deep.equal(bodies);
      expect(pushes(tcp)).to.deep.equal(bodies);
    });

    it('a full batch (batchMaxMessages) leaves without waiting for the flush timer', async () => {
      // The longest flush delay there is: a batch that waited for its timer would still be pending below.
      const sys = await boot({ logicOverrides: { push: { batchFlushMs: 1000, batchMaxMessages: 20 } } });
      const { ws, tcp } = await roomPeers(sys);
      const wsMark = ws.client.frames.length;
      const full = Array.from({ length: 20 }, (_, i) => `full-${i + 1}`);
      await pushRoomMessages(sys, full);
      // Every push was told to the batcher before its HTTP answer; once it has handled them all, nothing waits.
      await batcherBarrier(sys);
      expect(batcherState(sys)).to.deep.equal({ pendingRooms: 0, batchesSent: 1, messagesSent: 20 });
      await Promise.all([arrived(ws, BIZ, 'full-20'), arrived(tcp, BIZ, 'full-20')]);
      expect(ws.client.frames.length - wsMark).to.equal(1);
      expectBatchFrame(ws.client.frames[wsMark], full);

      // Past the limit, the rest start a new batch, which leaves on its timer.
      const rest = ['rest-1', 'rest-2', 'rest-3'];
      await pushRoomMessages(sys, rest);
      await batcherBarrier(sys);
      expect(batcherState(sys).pendingRooms).to.equal(1);
      await Promise.all([arrived(ws, BIZ, 'rest-3'), arrived(tcp, BIZ, 'rest-3')]);
      expect(ws.client.frames.length - wsMark).to.equal(2);
      expectBatchFrame(ws.client.frames[wsMark + 1], rest);
      expect(pushes(ws)).to.deep.equal([...full, ...rest]);
      expect(pushes(tcp)).to.deep.equal([...full, ...rest]);
      expect(tcp.client.received(Op.Raw)).to.have.length(0);
    });

    it('with batchFlushMs 0 each room push is its own frame', async () => {
      const sys = await boot({ logicOverrides: { push: { batchFlushMs: 0, batchMaxMessages: 20 } } });
      const { ws, tcp } = await roomPeers(sys);
      const wsMark = ws.client.frames.length;
      const bodies = ['s1', 's2', 's3', 's4', 's5'];
      await pushRoomMessages(sys, bodies);
      await Promise.all([arrived(ws, BIZ, 's5'), arrived(tcp, BIZ, 's5')]);
      const frames = ws.client.frames.slice(wsMark);
      expect(frames.map((f) => f.toString('hex'))).to.deep.equal(bodies.map((b) => encodePacket(1, BIZ, 0, b).toString('hex')));
      expect(ws.client.packets.filter((p) => p.op === BIZ).map((p) => [text(p), p.batched])).to.deep.equal(bodies.map((b) => [b, false]));
      expect(pushes(tcp)).to.deep.equal(bodies);
      await sentinels(sys, [ws, tcp]);
      expect(pushes(ws)).to.deep.equal(bodies);
    });
  });
});

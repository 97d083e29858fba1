/**
 * The admin endpoint of a cloud node, through HTTP, with real clients: the
 * actor tree, searches through the indexes, kicking, restarts, paging, the
 * busiest actors, health and readiness, and its auth.
 */
import { expect } from 'chai';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { Op } from '../system/codec/packet';
import { adminJson, adminRequest } from './support/admin-client';
import { CloudHarness } from './support/cloud-harness';
import { SystemHarness } from './support/system-harness';
import { TestClient } from './support/test-client';

interface ActorJson {
  name: string; path: string; kind: string; mailbox: number; busy: boolean; restarts: number; ageMs: number; processed: number;
  childCount: number; state: Record<string, unknown>;
}
interface ActorsAnswer { actor: ActorJson; children: ActorJson[]; childCount: number; nextCursor: string | null }
interface ConnectionJson {
  path: string; key: string; mid: string; room: string; transport: string; remote: string; connectedAt: number; phase: string;
  lastHeartbeatAgoMs: number; bytesIn: number; bytesOut: number; queuedBytes: number;
}
interface ConnectionsAnswer { connections: ConnectionJson[]; total: number }

/** A message no actor kind understands; sent through an untyped ref it is a fault in the receiving actor. */
const NONSENSE: unknown = { type: 'no-such-message' };

describe('admin endpoint (cloud node)', function () {
  this.timeout(20000);
  let h: CloudHarness;
  const clients: TestClient[] = [];

  async function online(transport: 'ws' | 'tcp', token: object): Promise<{ client: TestClient; key: string }> {
    const { client, auth } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp, token);
    clients.push(client);
    return { client, key: auth.key };
  }

  const get = <T>(path: string): Promise<T> => adminJson<T>(h.node.adminPort, path);

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await h?.stop();
  });

  describe('with kicking allowed', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({ admin: { allowDestructive: true }, actors: { connectionShards: 4 } });
    });

    it('finds real clients under /actors and by key, mid, room and ip, with their transport', async () => {
      const a = await online('ws', { mid: 7, key: 'key-a', room_id: 'live://9', accepts: [1000] });
      const b = await online('tcp', { mid: 7, key: 'key-b', room_id: 'live://9', accepts: [1000] });
      const c = await online('tcp', { mid: 8, key: 'key-c', room_id: 'live://other', accepts: [1000] });
      expect(await a.client.heartbeat()).to.equal(2);

      const byKey = await get<ConnectionsAnswer>('/connections?key=key-a');
      expect(byKey.total).to.equal(1);
      const conn = byKey.connections[0];
      expect(conn).to.include({ key: 'key-a', mid: '7', room: 'live://9', transport: 'ws', phase: 'online' });
      expect(conn.remote).to.match(/^(::ffff:)?127\.0\.0\.1:\d+$/);
      expect(conn.bytesIn).to.be.greaterThan(0);
      expect(conn.bytesOut).to.be.greaterThan(0);
      expect(conn.queuedBytes).to.equal(0);
      expect(conn.lastHeartbeatAgoMs).to.be.within(0, 5000);
      expect(conn.connectedAt).to.be.within(Date.now() - 10_000, Date.now());

      const byMid = await get<ConnectionsAnswer>('/connections?mid=7');
      expect(byMid.connections.map((x) => x.key).sort()).to.deep.equal(['key-a', 'key-b']);
      expect(byMid.connections.find((x) => x.key === 'key-b')?.transport).to.equal('tcp');
      const byRoom = await get<ConnectionsAnswer>(`/connections?room=${encodeURIComponent('live://9')}`);
      expect(byRoom.connections.map((x) => x.key).sort()).to.deep.equal(['key-a', 'key-b']);
      const byIp = await get<ConnectionsAnswer>('/connections?ip=127.0.0.1&limit=2');
      expect(byIp.total).to.equal(3);
      expect(byIp.connections).to.have.length(2);
      expect((await get<ConnectionsAnswer>('/connections?key=nobody')).connections).to.deep.equal([]);

      // The tree: root → connections → a shard → the connection actor, found by the path the search gave.
      const root = await get<ActorsAnswer>('/actors');
      expect(root.actor.path).to.equal(h.node.runtime.roots()[0].path);
      const names = root.children.map((x) => x.name);
      expect(names).to.include.members(['buckets', 'rooms', 'connections', 'logic-gateway']);
      const shardPath = conn.path.slice(0, conn.path.lastIndexOf('/'));
      const shard = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(shardPath)}`);
      const listed = shard.children.find((x) => x.path === conn.path);
      expect(listed?.kind).to.equal('connection');
      expect(listed?.state).to.include({ key: 'key-a', mid: '7', room: 'live://9', transport: 'ws' });
      expect(listed?.processed).to.be.greaterThan(0);
      const one = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(conn.path)}`);
      expect(one.actor.state).to.include({ key: 'key-a' });
      expect(one.children).to.deep.equal([]);

      // A closed client leaves every index.
      c.client.close();
      await c.client.waitForClose();
      for (let i = 0; i < 100 && (await get<ConnectionsAnswer>('/connections?mid=8')).total > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect((await get<ConnectionsAnswer>('/connections?mid=8')).total).to.equal(0);
      expect((await get<ConnectionsAnswer>('/connections?ip=127.0.0.1')).total).to.equal(2);
      expect(b.key).to.equal('key-b');
    });

    it('kick closes the client with op 6 E_KICKED and logic hears Disconnect', async () => {
      const victim = await online('ws', { mid: 11, key: 'kick-me', accepts: [1000] });
      const other = await online('tcp', { mid: 12, key: 'stay', accepts: [1000] });
      const reply = await adminRequest(h.node.adminPort, '/connections/kick-me/kick', { method: 'POST' });
      expect(reply.status).to.equal(200);
      expect(reply.json).to.have.nested.property('kicked.key', 'kick-me');
      await victim.client.waitForClose();
      expect(victim.client.received(Op.DisconnectReply)).to.have.length(1);
      expect(victim.client.disconnectReason()?.code).to.equal('E_KICKED');
      await h.logic[0].waitFor((calls) => calls.disconnect.some((d) => d.key === 'kick-me'), 5000, 'Disconnect of the kicked key');
      expect(h.node.metrics.get('im_connections_closed_total', { reason: 'kicked' })).to.equal(1);
      expect(h.node.metrics.get('im_connections', { transport: 'ws', phase: 'online' })).to.equal(0);
      expect(h.node.metrics.get('im_connections', { transport: 'tcp', phase: 'online' })).to.equal(1);
      expect(await other.client.heartbeat()).to.equal(0);
      const again = await adminRequest(h.node.adminPort, '/connections/kick-me/kick', { method: 'POST' });
      expect(again.status).to.equal(404);
      expect(again.json).to.include({ code: 'E_ADMIN_NOT_FOUND' });
      expect((await adminRequest(h.node.adminPort, '/connections/stay/kick')).status).to.equal(405);
    });

    it('an injected crash shows in restarts, in the tree and in /top', async () => {
      const { key } = await online('tcp', { mid: 21, key: 'crash-neighbour', accepts: [1000] });
      const buckets = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(`${h.node.runtime.roots()[0].path}/buckets`)}&limit=500`);
      expect(buckets.children.every((x) => x.restarts === 0)).to.equal(true);
      const victim = buckets.children.find((x) => x.state.connections === 1);
      const ref = h.node.runtime.refAt(victim?.path ?? '');
      if (!victim || !ref) throw new Error(`no bucket holds ${key}`);
      ref.tell(NONSENSE);
      await h.node.runtime.barrier(ref, 1000);
      const after = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(victim.path)}`);
      expect(after.actor.restarts).to.equal(1);
      expect(after.actor.state).to.include({ connections: 1 });
      const top = await get<{ by: string; actors: ActorJson[] }>('/top?by=restarts&n=5');
      expect(top.actors.map((x) => x.path)).to.deep.equal([victim.path]);
    });

    it('pages large child lists with a cursor and lists rooms with their counts', async () => {
      for (let i = 0; i < 5; i++) await online('tcp', { mid: 30 + i, key: `page-${i}`, room_id: `live://r${i % 2}`, accepts: [1000] });
      const shards = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(`${h.node.runtime.roots()[0].path}/connections`)}`);
      expect(shards.childCount).to.equal(4);
      const seen: string[] = [];
      for (const shard of shards.children) {
        let cursor: string | null = '';
        do {
          const page: ActorsAnswer = await get<ActorsAnswer>(`/actors?path=${encodeURIComponent(shard.path)}&limit=1&cursor=${cursor ?? ''}`);
          expect(page.children.length).to.be.at.most(1);
          seen.push(...page.children.map((x) => String(x.state.key)));
          cursor = page.nextCursor;
        } while (cursor !== null);
      }
      expect(seen.sort()).to.deep.equal(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);

      const rooms = await get<{ rooms: Array<{ roomId: string; members: number; online: number }>; total: number; nextCursor: string | null }>('/rooms?limit=1');
      expect(rooms.total).to.equal(2);
      expect(rooms.rooms).to.have.length(1);
      const rest = await get<{ rooms: Array<{ roomId: string; members: number; online: number }>; nextCursor: string | null }>(`/rooms?limit=10&cursor=${rooms.nextCursor ?? ''}`);
      expect(rest.nextCursor).to.equal(null);
      const all = [...rooms.rooms, ...rest.rooms].sort((x, y) => x.roomId.localeCompare(y.roomId));
      expect(all.map((r) => [r.roomId, r.members, r.online])).to.deep.equal([['live://r0', 3, 3], ['live://r1', 2, 2]]);
    });

    it('answers bad requests with a stable code, and health, readiness and info', async () => {
      const bad = async (path: string, status: number, code: string): Promise<void> => {
        const reply = await adminRequest(h.node.adminPort, path);
        expect(reply.status, path).to.equal(status);
        expect(reply.json, path).to.include({ code });
      };
      await bad('/actors?path=/no/such/actor', 404, 'E_ADMIN_NOT_FOUND');
      await bad('/actors?limit=0', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/actors?cursor=garbage', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/top?by=age', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/connections', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/connections?key=a&mid=1', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/nowhere', 404, 'E_ADMIN_NOT_FOUND');
      await bad('//', 400, 'E_ADMIN_BAD_REQUEST');
      await bad('/connections?key=a&key=b', 400, 'E_ADMIN_BAD_PARAM');
      await bad('/actors?limit=1&limit=2', 400, 'E_ADMIN_BAD_PARAM');
      const head = await adminRequest(h.node.adminPort, '/health', { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.text).to.equal('');
      expect((await adminRequest(h.node.adminPort, '/health')).status).to.equal(200);
      const ready = await get<{ status: string; discovery: Record<string, unknown> }>('/ready');
      expect(ready.status).to.equal('ready');
      // The logic nodes come from the static list; there is no registration to keep.
      expect(ready.discovery).to.deep.include({ source: 'static', stale: false, registration: 'static', nodes: h.logic.map((l) => l.address) });
      const info = await get<{ node: string; id: string; allowDestructive: boolean; headline: Record<string, number> }>('/info');
      expect(info).to.include({ node: 'cloud', id: h.node.serverId, allowDestructive: true });
      expect(info.headline.actors).to.equal(h.node.runtime.count());
      const page = await adminRequest(h.node.adminPort, '/');
      expect(page.status).to.equal(200);
      expect(page.headers['content-type']).to.match(/^text\/html/);
      // Only the page's own script runs: by hash, never any inline script.
      expect(page.headers['content-security-policy']).to.match(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
      expect(page.headers['content-security-policy']).to.not.include('unsafe-inline\'; style-src').and.not.match(/script-src[^;]*unsafe/);
    });

    it('/ready answers 503 from the moment the node starts to drain', async () => {
      await online('tcp', { mid: 40, key: 'drain-watch', accepts: [1000] });
      const stopping = h.node.stop();
      const during = await adminRequest(h.node.adminPort, '/ready');
      expect(during.status).to.equal(503);
      expect(during.json).to.deep.include({ status: 'draining' });
      await stopping;
    });
  });

  describe('without kicking allowed', () => {
    beforeEach(async () => {
      h = await CloudHarness.start();
    });

    it('refuses a kick with 403 E_ADMIN_FORBIDDEN and the client stays', async () => {
      const { client } = await online('ws', { mid: 50, key: 'safe', accepts: [1000] });
      const reply = await adminRequest(h.node.adminPort, '/connections/safe/kick', { method: 'POST' });
      expect(reply.status).to.equal(403);
      expect(reply.json).to.include({ code: 'E_ADMIN_FORBIDDEN' });
      expect(await client.heartbeat()).to.equal(0);
      expect((await get<{ allowDestructive: boolean }>('/info')).allowDestructive).to.equal(false);
    });
  });

  describe('requests from other sites', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({ admin: { allowDestructive: true } });
    });

    it('refuses a foreign Origin and, without a token, a foreign Host (DNS rebinding); the client stays', async () => {
      const { client } = await online('tcp', { mid: 60, key: 'csrf-target', accepts: [1000] });
      const port = h.node.adminPort;
      const refused: Array<{ path: string; method: string; headers: Record<string, string> }> = [
        { path: '/connections/csrf-target/kick', method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' } },
        { path: '/connections/csrf-target/kick', method: 'POST', headers: { host: 'evil.example', origin: 'http://evil.example' } },
        { path: '/actors', method: 'GET', headers: { host: `evil.example:${port}` } },
        { path: '/connections?key=csrf-target', method: 'GET', headers: { host: `rebound.example:${port}` } },
      ];
      for (const r of refused) {
        const reply = await adminRequest(port, r.path, { method: r.method, headers: r.headers });
        expect(reply.status, JSON.stringify(r)).to.equal(403);
        expect(reply.json, JSON.stringify(r)).to.include({ code: 'E_ADMIN_BAD_ORIGIN' });
      }
      expect(await client.heartbeat()).to.equal(0);
      // The endpoint's own origin, and loopback names, are served.
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
        const reply = await adminRequest(port, '/health', { headers: { host, origin: `http://${host}` } });
        expect(reply.status, host).to.equal(200);
      }
    });
  });

  describe('auth', () => {
    const TOKEN = 'admin-token-for-specs-0123456789';

    it('a non-loopback bind without a token fails at start with a clear message', () => {
      for (const load of [loadCloudConfig, loadLogicConfig]) {
        expect(() => load({ overrides: { admin: { host: '0.0.0.0' } } })).to.throw(/admin\.host 0\.0\.0\.0 is not a loopback address: set admin\.token/);
        expect(() => load({ overrides: { admin: { host: '0.0.0.0', token: TOKEN } } })).to.not.throw();
        expect(() => load({ overrides: { admin: { host: '::1' } } })).to.not.throw();
      }
    });

    it('with a token, a request without it gets 401 and one with it gets 200', async () => {
      h = await CloudHarness.start({ admin: { token: TOKEN } });
      for (const path of ['/health', '/actors', '/metrics', '/connections?key=x', '/info']) {
        const without = await adminRequest(h.node.adminPort, path);
        expect(without.status, path).to.equal(401);
        expect(without.json, path).to.include({ code: 'E_ADMIN_UNAUTHORIZED' });
        expect(without.headers['www-authenticate']).to.match(/^Bearer/);
        expect((await adminRequest(h.node.adminPort, path, { token: `${TOKEN}x` })).status, path).to.equal(401);
        expect((await adminRequest(h.node.adminPort, path, { token: TOKEN })).status, path).to.equal(200);
      }
      // Auth comes before anything else: a kick without the token is 401, not 403 or 404.
      const kick = await adminRequest(h.node.adminPort, '/connections/someone/kick', { method: 'POST' });
      expect(kick.status).to.equal(401);
      // With a token the Host may be any name (a load balancer's, a DNS name): the token is the guard.
      const named = await adminRequest(h.node.adminPort, '/health', { token: TOKEN, headers: { host: 'admin.example:3190' } });
      expect(named.status).to.equal(200);
    });
  });
});

describe('admin endpoint (logic node)', function () {
  this.timeout(20000);
  let sys: SystemHarness | undefined;
  afterEach(async () => {
    await sys?.stop();
    sys = undefined;
  });

  it('shows its actor tree and health, and says it holds no connections', async () => {
    sys = await SystemHarness.start();
    const logic = sys.logic[0];
    const root = await adminJson<ActorsAnswer>(logic.adminPort, '/actors');
    expect(root.actor.kind).to.equal('group');
    expect(root.children.map((x) => x.name)).to.include.members(['push-router', 'room-batcher', 'online']);
    expect((await adminRequest(logic.adminPort, '/ready')).status).to.equal(200);
    const info = await adminJson<{ node: string; headline: { connections: number | null } }>(logic.adminPort, '/info');
    expect(info.node).to.equal('logic');
    expect(info.headline.connections).to.equal(null);
    for (const path of ['/connections?key=a', '/rooms']) {
      const reply = await adminRequest(logic.adminPort, path);
      expect(reply.status, path).to.equal(404);
      expect(reply.json, path).to.include({ code: 'E_ADMIN_NOT_SERVED' });
    }
    const metrics = await adminRequest(logic.adminPort, '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.headers['content-type']).to.match(/^text\/plain/);
  });
});

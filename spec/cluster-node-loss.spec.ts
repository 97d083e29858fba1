/**
 * Issue 10, part 3: node loss survived, with real processes on loopback.
 * Two logic nodes (sessions shared in Redis) and two cloud nodes, all
 * started through the CLI and registered in a double of Consul's HTTP API.
 * The cloud nodes listen on the same ports on two loopback addresses
 * (127.0.0.1 and 127.0.0.2), as two hosts behind goim's Nodes answer would.
 *
 * - `kill -9` logic 1: new clients still authenticate (through logic 2) and
 *   pushes still arrive, once discovery has seen it go critical.
 * - `kill -9` cloud 1: its clients, which follow /im/nodes, reconnect to
 *   cloud 2 and get pushes there; logic's sessions and online counts for the
 *   dead node expire.
 */
import { expect } from 'chai';
import { ChildNode } from './support/child-node';
import { settles } from './support/settles';
import { ConsulDouble } from './support/consul-double';
import { FollowingClient } from './support/following-client';
import { freePorts } from './support/free-ports';
import { TestClient } from './support/test-client';

interface LogicProcess {
  readonly child: ChildNode;
  readonly grpc: number;
  readonly http: number;
  readonly admin: number;
}

interface CloudProcess {
  readonly child: ChildNode;
  readonly host: string;
  readonly grpc: number;
  readonly admin: number;
}

/** Discovery settings every node shares: a 900 ms TTL, 1 s blocking waits, quick retries. */
function discoveryEnv(prefix: 'IM_CLOUD' | 'IM_LOGIC', consul: ConsulDouble): Record<string, string> {
  return {
    [`${prefix}_DISCOVERY`]: 'consul', [`${prefix}_CONSUL_URL`]: consul.url, [`${prefix}_DISCOVERY_CHECK`]: 'ttl',
    [`${prefix}_DISCOVERY_TTL_MS`]: '900', [`${prefix}_DISCOVERY_WAIT_MS`]: '1000', [`${prefix}_DISCOVERY_MIN_INTERVAL_MS`]: '50',
    [`${prefix}_DISCOVERY_RETRY_BASE_MS`]: '50', [`${prefix}_DISCOVERY_RETRY_MAX_MS`]: '200', [`${prefix}_LOG_LEVEL`]: 'info',
  };
}

/** A push API reply's `data` for key and mid pushes. */
interface PushReply {
  readonly code: number;
  readonly data?: { readonly targets: number; readonly nodes: number };
}

describe('cluster: node loss survived (real processes, Consul double)', function () {
  this.timeout(60_000);
  let consul: ConsulDouble;
  const followers: FollowingClient[] = [];
  const others: TestClient[] = [];
  /** Unique per run: sessions live in the shared Redis under goim's key names. */
  const base = 7_000_000 + Math.floor(Math.random() * 900_000);

  after(async () => {
    for (const f of followers) f.stop();
    for (const c of others) c.destroy();
    await ChildNode.killAll();
    await consul?.close();
  });

  async function startLogic(cloudPorts: { tcp: number; ws: number }): Promise<LogicProcess> {
    const child = ChildNode.spawn({
      args: ['logic'],
      removeEnvPrefixes: ['IM_LOGIC_'],
      env: {
        ...discoveryEnv('IM_LOGIC', consul),
        IM_LOGIC_BIND_HOST: '127.0.0.1', IM_LOGIC_GRPC_PORT: '0', IM_LOGIC_HTTP_PORT: '0', IM_LOGIC_ADMIN_PORT: '0',
        IM_LOGIC_GRPC_SHUTDOWN_GRACE_MS: '500', IM_LOGIC_BATCH_FLUSH_MS: '0',
        IM_LOGIC_SESSION_STORE: 'redis', IM_LOGIC_SESSION_TTL_S: '2', IM_LOGIC_ONLINE_MAX_AGE_MS: '1500',
        IM_LOGIC_NODES_TCP_PORT: String(cloudPorts.tcp), IM_LOGIC_NODES_WS_PORT: String(cloudPorts.ws),
      },
    });
    const line = await child.waitForLog((l) => l.message === 'logic node started', 10_000, '"logic node started"');
    return { child, grpc: Number(line.grpc), http: Number(line.http), admin: Number(line.admin) };
  }

  async function startCloud(host: string, ports: { tcp: number; ws: number }): Promise<CloudProcess> {
    const child = ChildNode.spawn({
      args: ['cloud'],
      env: {
        ...discoveryEnv('IM_CLOUD', consul),
        IM_CLOUD_BIND_HOST: host, IM_CLOUD_GRPC_BIND_HOST: host, IM_CLOUD_ADVERTISE_HOST: host, IM_CLOUD_TCP_PORT: String(ports.tcp), IM_CLOUD_WS_PORT: String(ports.ws),
        IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0', IM_CLOUD_GRPC_SHUTDOWN_GRACE_MS: '500', IM_CLOUD_LOGIC_TIMEOUT_MS: '500',
        // Sessions of live clients stay (Heartbeat well within the 2 s session TTL); room counts are reported often.
        IM_CLOUD_LOGIC_HEARTBEAT_MIN_MS: '300', IM_CLOUD_LOGIC_HEARTBEAT_MAX_MS: '600',
        IM_CLOUD_RENEW_ONLINE_MS: '300', IM_CLOUD_RENEW_ONLINE_TIMEOUT_MS: '300',
      },
    });
    const started = await child.waitForLog((l) => l.message === 'cloud node started', 10_000, '"cloud node started"');
    return { child, host, grpc: Number(started.grpc), admin: Number(started.admin) };
  }

  async function discovered(adminPort: number): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    const body = (await res.json()) as { discovery: { nodes: string[] | null } };
    return [...(body.discovery.nodes ?? [])].sort();
  }

  async function pushMid(logic: LogicProcess, mid: number, body: string): Promise<PushReply> {
    const res = await fetch(`http://127.0.0.1:${logic.http}/im/push/mids?operation=1000&mids=${mid}`, { method: 'POST', body });
    return (await res.json()) as PushReply;
  }

  function token(mid: number): Record<string, unknown> {
    return { mid, key: `loss-${mid}`, room_id: 'live://loss', platform: 'web', accepts: [1000] };
  }

  it('survives kill -9 of a logic node, then of a cloud node', async () => {
    consul = await ConsulDouble.start();
    const [tcp, ws] = await freePorts(2, undefined);
    const [logic1, logic2] = await Promise.all([startLogic({ tcp, ws }), startLogic({ tcp, ws })]);
    const [cloud1, cloud2] = await Promise.all([startCloud('127.0.0.1', { tcp, ws }), startCloud('127.0.0.2', { tcp, ws })]);
    const logicIds = [`127.0.0.1:${logic1.grpc}`, `127.0.0.1:${logic2.grpc}`].sort();
    const cloudIds = [`127.0.0.1:${cloud1.grpc}`, `127.0.0.2:${cloud2.grpc}`].sort();
    await settles(async () => {
      for (const c of [cloud1, cloud2]) expect(await discovered(c.admin), c.child.describe()).to.deep.equal(logicIds);
      for (const l of [logic1, logic2]) expect(await discovered(l.admin), l.child.describe()).to.deep.equal(cloudIds);
    }, 10_000);
    const logicHttp = [logic1, logic2].map((l) => `127.0.0.1:${l.http}`);

    // Clients on both cloud nodes, found through /im/nodes; one more on cloud 1 that will not come back.
    for (let i = 0; i < 6; i++) {
      const f = new FollowingClient(i % 2 === 0 ? logicHttp : [...logicHttp].reverse(), token(base + i));
      followers.push(f);
      await f.start();
    }
    const { client: gone, auth } = await TestClient.online('ws', ws, token(base + 99));
    others.push(gone);
    expect(auth.key).to.equal(`loss-${base + 99}`);
    const onCloud1 = followers.filter((f) => f.host === '127.0.0.1');
    expect(onCloud1.length, 'followers landed on cloud 1 too').to.be.greaterThan(0);
    expect(followers.filter((f) => f.host === '127.0.0.2').length, 'and on cloud 2').to.be.greaterThan(0);

    // ── kill -9 logic 1 ─────────────────────────────────────────────────────
    logic1.child.killNow();
    await logic1.child.exited;
    await settles(async () => {
      for (const c of [cloud1, cloud2]) expect(await discovered(c.admin)).to.deep.equal([`127.0.0.1:${logic2.grpc}`]);
    }, 5000);
    for (let i = 10; i < 14; i++) {
      const f = new FollowingClient([logicHttp[1]], token(base + i));
      followers.push(f);
      await f.start();
    }
    for (const [i, f] of followers.entries()) {
      const mid = base + (i < 6 ? i : i + 4);
      const reply = await pushMid(logic2, mid, `after logic loss ${mid}`);
      expect(reply.data?.targets, JSON.stringify(reply)).to.equal(1);
      await f.waitForPush(`after logic loss ${mid}`);
    }

    // ── kill -9 cloud 1 ─────────────────────────────────────────────────────
    const movers = followers.filter((f) => f.host === '127.0.0.1');
    expect(movers.length).to.be.greaterThan(0);
    cloud1.child.killNow();
    await cloud1.child.exited;
    await settles(() => {
      for (const f of movers) expect(f.host, `follower via ${f.hosts.join(' → ')}`).to.equal('127.0.0.2');
    }, 15_000);
    const moverMids = movers.map((f) => followers.indexOf(f)).map((i) => base + (i < 6 ? i : i + 4));
    for (const [j, f] of movers.entries()) {
      const mid = moverMids[j];
      const reply = await pushMid(logic2, mid, `after cloud loss ${mid}`);
      expect(reply.data?.targets, JSON.stringify(reply)).to.equal(1);
      await f.waitForPush(`after cloud loss ${mid}`);
    }
    await settles(async () => {
      // The dead node's sessions expire (the client that did not come back has none left) ...
      const orphan = await pushMid(logic2, base + 99, 'to nobody');
      expect(orphan.data?.targets, JSON.stringify(orphan)).to.equal(0);
      // ... and so do its online counts: only cloud 2's connections are counted.
      const total = (await (await fetch(`http://127.0.0.1:${logic2.http}/im/online/total`)).json()) as { data: { conn_count: number } };
      expect(total.data.conn_count).to.equal(followers.length);
      // Nodes lists the live host only.
      const nodes = (await (await fetch(`http://127.0.0.1:${logic2.http}/im/nodes?platform=web`)).json()) as { data: { nodes: string[] } };
      expect(nodes.data.nodes).to.deep.equal(['127.0.0.2']);
      expect(await discovered(logic2.admin)).to.deep.equal([`127.0.0.2:${cloud2.grpc}`]);
    }, 10_000);
  });

  it('each of a host\'s cloud workers registers on its own, with the shared client ports, and leaves on SIGTERM', async () => {
    consul ??= await ConsulDouble.start();
    const [tcp, ws] = await freePorts(2);
    const child = ChildNode.spawn({
      args: ['cloud', '--workers', '2'],
      env: {
        ...discoveryEnv('IM_CLOUD', consul),
        IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: String(tcp), IM_CLOUD_WS_PORT: String(ws), IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0',
      },
    });
    await child.waitForLog((l) => l.message === 'cloud workers started', 15_000, '"cloud workers started"');
    await settles(() => {
      const workers = consul.services('grpc-im-cloud-node').filter((s) => s.meta.ws === `127.0.0.1:${ws}`);
      expect(workers, child.describe()).to.have.length(2);
      expect(new Set(workers.map((w) => w.port)).size, 'a gRPC port each').to.equal(2);
      expect(new Set(workers.map((w) => w.id)).size, 'an id each').to.equal(2);
      for (const w of workers) expect(w.meta.tcp).to.equal(`127.0.0.1:${tcp}`);
    }, 10_000);
    child.signal('SIGTERM');
    expect((await child.waitForExit(30_000)).code, child.describe()).to.equal(0);
    expect(consul.services('grpc-im-cloud-node').filter((s) => s.meta.ws === `127.0.0.1:${ws}`)).to.deep.equal([]);
  });
});

/**
 * Issue 10, part 1: a discovery actor on each node, against a double of
 * Consul's agent HTTP API (spec/support/consul-double.ts) through the real
 * `consul` client. Real logic and cloud nodes in this process, real gRPC
 * (the double's GRPC checks call the nodes' grpc.health.v1), real clients.
 */
import { expect } from 'chai';
import { nextIndex, retryDelayMs } from '../actors/discovery-actor';
import type { CloudNode } from '../system/cloud-node';
import { settles } from './support/settles';
import { ConsulDouble } from './support/consul-double';
import { consulDiscovery, DiscoveryNodes, metric, ready } from './support/discovery-nodes';
import { freePorts } from './support/free-ports';
import { probeGrpcHealth } from './support/grpc-health-probe';
import { TestClient } from './support/test-client';

function pushMid(httpPort: number, mid: number, body: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${httpPort}/im/push/mids?operation=1000&mids=${mid}`, { method: 'POST', body });
}

describe('discovery through Consul (a double of its HTTP API)', function () {
  this.timeout(30_000);
  let consul: ConsulDouble;
  let nodes: DiscoveryNodes;
  let clients: TestClient[];

  async function client(node: CloudNode, mid: number): Promise<TestClient> {
    const { client: c, auth } = await TestClient.online('ws', node.ports.ws, { mid, key: `disc-${mid}`, room_id: 'live://disc', platform: 'web', accepts: [1000] });
    clients.push(c);
    expect(auth.key).to.equal(`disc-${mid}`);
    return c;
  }

  beforeEach(async () => {
    consul = await ConsulDouble.start();
    nodes = new DiscoveryNodes(consul);
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) c.destroy();
    await nodes.stop();
    await consul.close();
  });

  it('registers both kinds with their checks, and each side follows the other: a client authenticates and a push arrives', async () => {
    const [tcp, ws] = await freePorts(2);
    const l = await nodes.startLogic({}, { tcp, ws });
    const c = await nodes.startCloud({ tcp: { port: tcp }, ws: { port: ws }, node: { bindHost: '127.0.0.1', clientHost: '127.0.0.1' } });

    await settles(() => {
      const [logicEntry] = consul.services('grpc-im-logic-node');
      expect(logicEntry, 'logic registered').to.not.equal(undefined);
      expect(logicEntry).to.deep.include({ address: '127.0.0.1', port: l.ports.grpc });
      expect(logicEntry.checks.map((k) => [k.type, k.status])).to.deep.equal([['ttl', 'passing']]);
      const [cloudEntry] = consul.services('grpc-im-cloud-node');
      expect(cloudEntry, 'cloud registered').to.not.equal(undefined);
      expect(cloudEntry).to.deep.include({ address: '127.0.0.1', port: c.ports.grpc });
      expect(cloudEntry.meta).to.deep.equal({ tcp: `127.0.0.1:${tcp}`, ws: `127.0.0.1:${ws}`, ws_path: '/sub' });
      // The double probes the cloud node's grpc.health.v1 for real.
      expect(cloudEntry.checks.map((k) => [k.type, k.status])).to.deep.equal([['grpc', 'passing']]);
    }, 5000);
    await settles(async () => {
      const cloudReady = await ready(c.adminPort);
      expect(cloudReady.status).to.equal(200);
      expect(cloudReady.json.discovery).to.deep.include({ source: 'consul', stale: false, registration: 'registered', nodes: [`127.0.0.1:${l.ports.grpc}`] });
      const logicReady = await ready(l.adminPort);
      expect(logicReady.json.discovery).to.deep.include({ source: 'consul', stale: false, registration: 'registered', nodes: [c.serverId] });
    }, 5000);

    const alice = await client(c, 501);
    expect((await pushMid(l.ports.http, 501, 'found through consul')).status).to.equal(200);
    await alice.waitFor((p) => p.op === 1000 && p.body.toString() === 'found through consul');

    // Nodes lists the host the cloud node published (not the config's fallback).
    const answer = await (await fetch(`http://127.0.0.1:${l.ports.http}/im/nodes?platform=web`)).json() as { data: { nodes: string[]; ws_port: number } };
    expect(answer.data).to.deep.include({ nodes: ['127.0.0.1'], ws_port: ws });
  });

  it('watches with blocking queries by Consul\'s rules: index never below 1, capped wait, reset when it goes backwards, rate-limited', async () => {
    const l = await nodes.startLogic();
    const c = await nodes.startCloud({ discovery: consulDiscovery(consul, { minIntervalMs: 300 }) });
    await settles(async () => {
      expect((await ready(c.adminPort)).json.discovery.nodes).to.deep.equal([`127.0.0.1:${l.ports.grpc}`]);
    }, 5000);
    const watchPath = '/v1/health/service/grpc-im-logic-node';
    const watches = (): Array<{ query: Record<string, string>; at: number }> => consul.requests().filter((r) => r.method === 'GET' && r.path === watchPath);

    await settles(() => { expect(watches().length).to.be.greaterThan(2); }, 5000);
    const [first, ...later] = watches();
    expect(first.query.index, 'the first query answers at once').to.equal(undefined);
    for (const w of later) {
      expect(Number(w.query.index)).to.be.at.least(1);
      expect(w.query.wait).to.equal('1000ms');
      expect(w.query.passing).to.not.equal(undefined);
    }

    // The index goes backwards: the woken query's answer carries a lower index, so the next query is a
    // non-blocking one (no index), and blocking ones follow again with an index of at least 1.
    consul.clearRequests();
    consul.resetIndex();
    await settles(() => {
      const indexes: Array<string | undefined> = watches().map((w) => w.query.index);
      const fresh = indexes.indexOf(undefined);
      expect(fresh, `a query without an index after the reset: ${JSON.stringify(indexes)}`).to.be.at.least(0);
      expect(indexes.length).to.be.greaterThan(fresh + 1);
      for (const index of indexes.slice(fresh + 1)) expect(Number(index)).to.be.at.least(1);
    }, 5000);

    // The list changes every 20 ms for 1.2 s: queries still start at most every 300 ms.
    consul.clearRequests();
    const flapper = setInterval(() => {
      void fetch(`${consul.url}/v1/agent/service/register`, {
        method: 'PUT', body: JSON.stringify({ ID: `flap-${Date.now()}`, Name: 'grpc-im-logic-node', Address: '127.0.0.9', Port: 1, Check: { CheckID: `flap-${Date.now()}`, TTL: '1s', Status: 'critical' } }),
      });
    }, 20);
    await new Promise((r) => setTimeout(r, 1200));
    clearInterval(flapper);
    const starts = watches().map((w) => w.at);
    expect(starts.length).to.be.at.least(2);
    // Arrival times at the double: a busy host delays one request more than the next by tens of ms.
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1], `gap ${i}`).to.be.at.least(250);
    expect(starts.length).to.be.at.most(6);
  });

  it('keeps the last list while Consul is down, says so (log, metric, /ready), and recovers', async () => {
    const l = await nodes.startLogic();
    const c = await nodes.startCloud();
    await settles(async () => {
      expect((await ready(c.adminPort)).json.discovery.nodes).to.deep.equal([`127.0.0.1:${l.ports.grpc}`]);
      expect((await ready(l.adminPort)).json.discovery.nodes).to.deep.equal([c.serverId]);
    }, 5000);

    await consul.down();
    await settles(async () => {
      const r = await ready(c.adminPort);
      expect(r.json.discovery).to.deep.include({ stale: true, nodes: [`127.0.0.1:${l.ports.grpc}`] });
      // Still serving: the node is registered and its list is kept.
      expect(r.status).to.equal(200);
      expect(await metric(c.adminPort, 'im_discovery_stale')).to.equal(1);
    }, 5000);
    const warn = nodes.lines.find((x) => x.node === 'cloud' && x.level === 'warn' && x.message === 'discovery cannot list nodes; keeping the last list');
    expect(warn, 'warn line').to.not.equal(undefined);
    expect(warn?.keptNodes).to.deep.equal([`127.0.0.1:${l.ports.grpc}`]);
    // Auth and pushes go on through the kept list.
    const bob = await client(c, 502);
    expect((await pushMid(l.ports.http, 502, 'while consul is down')).status).to.equal(200);
    await bob.waitFor((p) => p.op === 1000 && p.body.toString() === 'while consul is down');
    expect(await metric(c.adminPort, 'im_discovery_errors_total')).to.be.greaterThan(0);

    await consul.up();
    await settles(async () => {
      expect((await ready(c.adminPort)).json.discovery.stale).to.equal(false);
      expect(await metric(c.adminPort, 'im_discovery_stale')).to.equal(0);
    }, 5000);
    expect(nodes.lines.some((x) => x.node === 'cloud' && x.message === 'discovery answers again')).to.equal(true);
  });

  it('a node whose discovery actor stops for good (it gave up) while renewing a TTL check answers /ready 503 unlisted, as its registration lapses; one on a GRPC check stays ready', async () => {
    const l = await nodes.startLogic();
    const c = await nodes.startCloud();
    await settles(async () => {
      expect((await ready(l.adminPort)).status).to.equal(200);
      expect((await ready(c.adminPort)).status).to.equal(200);
    }, 5000);
    const stopDiscovery = (runtime: CloudNode['runtime']): void => {
      const [actor] = runtime.list({ kind: 'discovery' });
      const ref = actor ? runtime.refAt(actor.path) : undefined;
      if (!ref) throw new Error('no discovery actor');
      // Whatever ends it (its supervision budget spent, here a stop), nothing renews the TTL check any more.
      runtime.stop(ref);
    };

    // The logic node reports its TTL check itself (the helper's check: 'ttl').
    stopDiscovery(l.runtime);
    const r = await ready(l.adminPort);
    expect([r.status, r.json.status]).to.deep.equal([503, 'unlisted']);
    expect(r.json.discovery).to.deep.include({ state: 'stopped', registration: 'lapsing: nothing renews its TTL check' });
    // As the readiness said: the check lapses and the registry stops listing the node as passing.
    await settles(() => {
      const passing = consul.services('grpc-im-logic-node').filter((e) => e.checks.every((k) => k.status === 'passing'));
      expect(passing).to.deep.equal([]);
    }, 5000);

    // The cloud node's GRPC check is Consul's to run, against a node that still serves: it stays registered and ready.
    stopDiscovery(c.runtime);
    const rc = await ready(c.adminPort);
    expect([rc.status, rc.json.status]).to.deep.equal([200, 'ready']);
    expect(rc.json.discovery).to.deep.include({ state: 'stopped', registration: 'unchanged' });
    expect(consul.services('grpc-im-cloud-node')).to.have.length(1);
  });

  it('a logic node that turns critical stops getting calls within one watch cycle; a new cloud node gets room pushes without a restart', async () => {
    const l1 = await nodes.startLogic();
    const l2 = await nodes.startLogic();
    const c1 = await nodes.startCloud();
    const both = [`127.0.0.1:${l1.ports.grpc}`, `127.0.0.1:${l2.ports.grpc}`].sort();
    await settles(async () => { expect([...(await ready(c1.adminPort)).json.discovery.nodes ?? []].sort()).to.deep.equal(both); }, 5000);

    const [l1Entry] = consul.services('grpc-im-logic-node').filter((s) => s.port === l1.ports.grpc);
    consul.setStatus(l1Entry.checks[0].checkId, 'critical');
    await settles(async () => { expect((await ready(c1.adminPort)).json.discovery.nodes).to.deep.equal([`127.0.0.1:${l2.ports.grpc}`]); }, 3000);
    const connectsBefore = await metric(l1.adminPort, 'im_logic_connects_total');
    for (let i = 0; i < 4; i++) await client(c1, 510 + i);
    expect(await metric(l1.adminPort, 'im_logic_connects_total'), 'logic 1 got no Connect').to.equal(connectsBefore);

    // A second cloud node joins: logic's room pushes reach its members without any restart.
    const c2 = await nodes.startCloud();
    await settles(async () => {
      const listed = (await ready(l2.adminPort)).json.discovery.nodes ?? [];
      expect([...listed].sort()).to.deep.equal([c1.serverId, c2.serverId].sort());
    }, 5000);
    const member = await client(c2, 520);
    const res = await fetch(`http://127.0.0.1:${l2.ports.http}/im/push/room?operation=1000&type=live&room=disc`, { method: 'POST', body: 'to the new node' });
    expect(res.status).to.equal(200);
    await member.waitFor((p) => p.op === 1000 && p.body.toString() === 'to the new node');
  });

  it('registers again when Consul forgets the check, retries registration while Consul is down at start, and deregisters on stop', async () => {
    await consul.down();
    const l = await nodes.startLogic();
    expect((await ready(l.adminPort)).status, 'not ready until registered').to.equal(503);
    await consul.up();
    await settles(async () => { expect((await ready(l.adminPort)).status).to.equal(200); }, 5000);
    expect(await metric(l.adminPort, 'im_discovery_errors_total')).to.be.greaterThan(0);

    // Consul loses the registration (an agent restart without its data): the next TTL report finds no check.
    const [entry] = consul.services('grpc-im-logic-node');
    await fetch(`${consul.url}/v1/agent/service/deregister/${entry.id}`, { method: 'PUT' });
    await settles(() => { expect(consul.services('grpc-im-logic-node').map((s) => s.id)).to.deep.equal([entry.id]); }, 5000);
    expect(nodes.lines.some((x) => x.message === 'discovery no longer knows this node\'s check; registering again')).to.equal(true);

    const c = await nodes.startCloud();
    await settles(() => { expect(consul.services('grpc-im-cloud-node')).to.have.length(1); }, 5000);
    await c.stop();
    expect(consul.services('grpc-im-cloud-node'), 'cloud deregistered on stop').to.deep.equal([]);
    await l.stop();
    expect(consul.services('grpc-im-logic-node'), 'logic deregistered on stop').to.deep.equal([]);
  });

  it('a stopping node turns unready and NOT_SERVING, deregisters while it still accepts, and only then refuses clients', async () => {
    await nodes.startLogic();
    const c = await nodes.startCloud();
    await settles(async () => { expect((await ready(c.adminPort)).status).to.equal(200); }, 5000);
    expect((await probeGrpcHealth(`127.0.0.1:${c.ports.grpc}`, 2000, false).done).healthy).to.equal(true);
    const wsPort = c.ports.ws;

    // Consul answers slowly: the stop is held at its deregister step long enough to look at the node.
    consul.slow(600);
    consul.clearRequests();
    const stopping = c.stop();
    await settles(() => {
      expect(consul.requests().some((r) => r.method === 'PUT' && r.path.startsWith('/v1/agent/service/deregister/'))).to.equal(true);
    }, 2000);
    expect((await ready(c.adminPort)).status, '/ready first').to.equal(503);
    expect((await probeGrpcHealth(`127.0.0.1:${c.ports.grpc}`, 2000, false).done).healthy, 'NOT_SERVING').to.equal(false);
    const late = await TestClient.ws(wsPort);
    clients.push(late);
    expect(late.closed, 'still accepting while it deregisters').to.equal(false);

    await stopping;
    expect(consul.services('grpc-im-cloud-node')).to.deep.equal([]);
    const refused = await TestClient.ws(wsPort).then(() => 'connected', (err: Error) => err.message);
    expect(refused).to.match(/ECONNREFUSED/);
  });

  it('a registry that lists nobody does not empty the table, and a registry restart gets the registration again (grpc check)', async () => {
    const l = await nodes.startLogic({ discovery: consulDiscovery(consul) });
    const c = await nodes.startCloud();
    await settles(async () => {
      expect((await ready(c.adminPort)).json.discovery.nodes).to.deep.equal([`127.0.0.1:${l.ports.grpc}`]);
      expect((await ready(l.adminPort)).json.discovery.nodes).to.deep.equal([c.serverId]);
    }, 5000);

    // The only logic node's check turns critical: the cloud node keeps it, says so, and still logs clients in.
    const [logicEntry] = consul.services('grpc-im-logic-node');
    consul.setStatus(logicEntry.checks[0].checkId, 'critical');
    await settles(async () => {
      const r = await ready(c.adminPort);
      expect(r.json.discovery).to.deep.include({ stale: true, nodes: [`127.0.0.1:${l.ports.grpc}`] });
    }, 3000);
    expect(nodes.lines.some((x) => x.node === 'cloud' && x.message === 'discovery lists no passing node; keeping the last list')).to.equal(true);
    await client(c, 530);

    // The registry loses the cloud node (grpc check: no TTL report would notice), then restarts: the index goes
    // backwards and the node registers again by itself.
    const [cloudEntry] = consul.services('grpc-im-cloud-node');
    await fetch(`${consul.url}/v1/agent/service/deregister/${cloudEntry.id}`, { method: 'PUT' });
    consul.resetIndex();
    await settles(() => { expect(consul.services('grpc-im-cloud-node').map((x) => x.id)).to.deep.equal([cloudEntry.id]); }, 5000);
  });

  it('pure rules: next index and retry delays', () => {
    expect(nextIndex(0, 0)).to.equal(1);
    expect(nextIndex(5, 9)).to.equal(9);
    expect(nextIndex(9, 9)).to.equal(9);
    expect(nextIndex(9, 3), 'backwards: start over').to.equal(0);
    expect(nextIndex(0, -4)).to.equal(1);
    const deps = { retryBaseMs: 100, retryMaxMs: 1000, random: () => 1 };
    expect([1, 2, 3, 4, 5, 30].map((n) => retryDelayMs(deps, n))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelayMs({ ...deps, random: () => 0 }, 3), 'jitter keeps at least half').to.equal(200);
  });
});

/**
 * A node's registration in Consul (the double, spec/support/consul-double.ts)
 * around its edges: a stop while the register is still in flight, the
 * periodic re-assertion (discovery.reassertMs), and the warnings about a
 * loopback address (registered, or published for clients). Real nodes in this process, as in discovery-consul.spec.ts.
 */
import { expect } from 'chai';
import { isLoopbackHost } from '../system/discovery/discovery-setup';
import { ConsulDouble, type RecordedRequest } from './support/consul-double';
import { consulDiscovery, DiscoveryNodes, ready } from './support/discovery-nodes';
import { settles } from './support/settles';

const REGISTER = '/v1/agent/service/register';
const LOOPBACK_WARNING = 'discovery registers a loopback address: nodes on other hosts cannot reach this node';
const CLIENT_LOOPBACK_WARNING = 'discovery publishes a loopback client address: clients on other hosts would be sent to themselves';

function isRegister(r: RecordedRequest): boolean {
  return r.method === 'PUT' && r.path === REGISTER;
}

describe('discovery: registration edges (Consul double)', function () {
  this.timeout(30_000);
  let consul: ConsulDouble;
  let nodes: DiscoveryNodes;

  beforeEach(async () => {
    consul = await ConsulDouble.start();
    nodes = new DiscoveryNodes(consul);
  });

  afterEach(async () => {
    await nodes.stop();
    await consul.close();
  });

  it('a node stopping while its register is in flight waits for it, then deregisters: no ghost once the register lands', async () => {
    const releaseRegister = consul.hold(REGISTER);
    const l = await nodes.startLogic();
    await settles(() => { expect(consul.requests().filter(isRegister)).to.have.length(1); }, 5000);
    expect((await ready(l.adminPort)).json.discovery.registration).to.equal('pending');

    const stopping = l.stop();
    const deregisters = (): RecordedRequest[] => consul.requests().filter((r) => r.method === 'PUT' && r.path.startsWith('/v1/agent/service/deregister/'));
    // The leave has reached the actor (it waits as 'leaving'; a leave that did not wait would say 'left')...
    await settles(async () => { expect((await ready(l.adminPort)).json.discovery.registration).to.be.oneOf(['leaving', 'left']); }, 5000);
    // ...and a deregistration sent at once would have had the time to arrive.
    for (const until = Date.now() + 500; Date.now() < until && deregisters().length === 0;) await new Promise((r) => setTimeout(r, 10));
    // The register lands late, after the stop began.
    const releasedAt = Date.now();
    await releaseRegister();
    await stopping;

    expect(consul.services('grpc-im-logic-node'), 'no registration left behind').to.deep.equal([]);
    expect(deregisters().map((r) => r.at >= releasedAt), 'one deregistration, once the register landed').to.deep.equal([true]);
    expect(nodes.lines.some((x) => x.message === 'stop goes on without a confirmed deregistration'), 'the deregistration was confirmed').to.equal(false);
  });

  it('asserts its registration again every discovery.reassertMs: a registration Consul dropped comes back without an index reset', async () => {
    await nodes.startLogic();
    // A grpc check: no TTL report would notice the loss, only the re-assertion.
    await nodes.startCloud({ discovery: consulDiscovery(consul, { reassertMs: 1000 }) });
    let id = '';
    await settles(() => {
      const [entry] = consul.services('grpc-im-cloud-node');
      expect(entry, 'cloud registered').to.not.equal(undefined);
      id = entry.id;
    }, 5000);
    const registersOf = (): RecordedRequest[] => consul.requests().filter((r) => isRegister(r) && r.body.includes(`"${id}"`));

    // Consul forgets it (deregistered behind its back): the index moves forward, it is not reset.
    const watched = consul.index('grpc-im-logic-node');
    const before = registersOf().length;
    const droppedAt = Date.now();
    expect((await fetch(`${consul.url}/v1/agent/service/deregister/${id}`, { method: 'PUT' })).status).to.equal(200);
    expect(consul.services('grpc-im-cloud-node')).to.deep.equal([]);
    await settles(() => { expect(consul.services('grpc-im-cloud-node').map((s) => s.id)).to.deep.equal([id]); }, 3000);
    expect(Date.now() - droppedAt, 'back within about one reassertMs').to.be.below(2000);
    expect(registersOf().length).to.be.greaterThan(before);
    expect(consul.index('grpc-im-logic-node'), 'the watched index did not go back').to.be.at.least(watched);

    // And it goes on, once per reassertMs (not faster).
    await settles(() => { expect(registersOf().length).to.be.at.least(before + 3); }, 5000);
    const at = registersOf().map((r) => r.at);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1], `gap ${i}`).to.be.at.least(950);
  });

  it('a node with consul that registers a loopback address warns once at start, and still registers', async () => {
    const l = await nodes.startLogic();
    const c = await nodes.startCloud();
    await settles(() => {
      expect(consul.services('grpc-im-logic-node')).to.have.length(1);
      expect(consul.services('grpc-im-cloud-node')).to.have.length(1);
    }, 5000);
    const warnings = nodes.lines.filter((x) => x.message === LOOPBACK_WARNING);
    expect(warnings.map((x) => [x.node, x.level, x.address, x.option])).to.deep.equal([
      ['logic', 'warn', `127.0.0.1:${l.ports.grpc}`, 'node.advertiseHost'],
      ['cloud', 'warn', c.serverId, 'node.advertiseHost'],
    ]);
  });

  it('no warning for a reachable address, nor for a static list (nothing registers)', async () => {
    // A logic node with a ttl check: the double never dials the address it registers.
    await nodes.startLogic({ node: { bindHost: '127.0.0.1', advertiseHost: '192.0.2.10' } });
    await nodes.startCloud({ discovery: { kind: 'static' }, logic: { nodes: ['127.0.0.1:1'], callTimeoutMs: 1000 } });
    await settles(() => { expect(consul.services('grpc-im-logic-node').map((s) => s.address)).to.deep.equal(['192.0.2.10']); }, 5000);
    expect(nodes.lines.filter((x) => x.message === LOOPBACK_WARNING)).to.deep.equal([]);
  });

  it('a cloud node reachable by other nodes that publishes a loopback client address warns once; a reachable one does not', async () => {
    const check = consulDiscovery(consul, { check: 'ttl' });
    const c = await nodes.startCloud({ node: { bindHost: '127.0.0.1', advertiseHost: '192.0.2.11', clientHost: '127.0.0.1' }, discovery: check });
    await nodes.startCloud({ node: { bindHost: '127.0.0.1', advertiseHost: '192.0.2.12', clientHost: '192.0.2.12' }, discovery: check });
    await settles(() => { expect(consul.services('grpc-im-cloud-node')).to.have.length(2); }, 5000);
    const warnings = nodes.lines.filter((x) => x.message === CLIENT_LOOPBACK_WARNING);
    expect(warnings.map((x) => [x.node, x.level, x.clientHost, x.address, x.option])).to.deep.equal([
      ['cloud', 'warn', '127.0.0.1', c.serverId, 'node.clientHost'],
    ]);
    // The registration itself is not loopback: no warning of that kind.
    expect(nodes.lines.filter((x) => x.message === LOOPBACK_WARNING)).to.deep.equal([]);
  });

  it('loopback hosts: 127.0.0.0/8, ::1 (bracketed, IPv4-mapped), localhost', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.', 'node.localhost']) {
      expect(isLoopbackHost(host), host).to.equal(true);
    }
    for (const host of ['10.0.0.1', '128.0.0.1', '0.0.0.0', '::', 'fe80::1', '[fd00::2]', 'example.com', '127.example.com', 'localhost.example.com']) {
      expect(isLoopbackHost(host), host).to.equal(false);
    }
  });
});

/**
 * A node's registration in Consul (the double, spec/support/consul-double.ts)
 * around its edges: the warning about a loopback address. Real nodes in this
 * process, as in discovery-consul.spec.ts.
 */
import { expect } from 'chai';
import { isLoopbackHost } from '../system/discovery/discovery-setup';
import { ConsulDouble } from './support/consul-double';
import { DiscoveryNodes } from './support/discovery-nodes';
import { settles } from './support/settles';

const LOOPBACK_WARNING = 'discovery registers a loopback address: nodes on other hosts cannot reach this node';

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

  it('loopback hosts: 127.0.0.0/8, ::1 (bracketed, IPv4-mapped), localhost', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.', 'node.localhost']) {
      expect(isLoopbackHost(host), host).to.equal(true);
    }
    for (const host of ['10.0.0.1', '128.0.0.1', '0.0.0.0', '::', 'fe80::1', '[fd00::2]', 'example.com', '127.example.com', 'localhost.example.com']) {
      expect(isLoopbackHost(host), host).to.equal(false);
    }
  });
});

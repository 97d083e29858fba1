/**
 * Clients over TLS: a cloud node with a certificate (made by openssl for
 * this run) serves wss and the goim TCP protocol inside TLS beside plain ws
 * and tcp, with the same edges: real goim clients authenticate (op 7 / op 8)
 * and get pushes on each, counted under their own transport. A socket that
 * never finishes the TLS handshake is dropped at the handshake deadline.
 */
import { expect } from 'chai';
import net from 'node:net';
import { Op } from '../system/codec/packet';
import { adminJson } from './support/admin-client';
import { ChildNode } from './support/child-node';
import { CloudHarness, eventually } from './support/cloud-harness';
import { makeTestPki, TestPki } from './support/test-certs';
import { AuthReply, TestClient, TlsOptions } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const BIZ = 1000;

function token(mid: number, room: string): object {
  return { mid, key: `tls-key-${mid}`, room_id: room, platform: 'web', accepts: [BIZ] };
}

describe('TLS for clients: wss and TLS tcp', function () {
  this.timeout(20000);

  let pki: TestPki;
  let h: CloudHarness;
  let trusted: TlsOptions;
  const clients: TestClient[] = [];

  before(async () => {
    pki = makeTestPki();
    trusted = { ca: pki.ca.cert };
    h = await CloudHarness.start({
      tls: { cert: pki.node.certFile, key: pki.node.keyFile },
      protocol: { handshakeTimeoutMs: 1500, sendBufferLimit: 64 * 1024 },
    });
  });

  after(async () => {
    await h?.stop();
    pki?.remove();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await eventually(() => h.node.openConnections === 0, 'every socket of the test closed');
  });

  async function online(transport: 'ws' | 'tcp', port: number, mid: number, room = 'live://tls', tls?: TlsOptions): Promise<{ client: TestClient; auth: AuthReply }> {
    const result = await TestClient.online(transport, port, token(mid, room), tls);
    clients.push(result.client);
    return result;
  }

  function metric(name: 'im_connections_opened_total' | 'im_client_packets_written_total', transport: string): number {
    return h.node.metrics.get(name, { transport }) ?? 0;
  }

  it('binds wss and TLS tcp on ports of their own, beside ws and tcp', () => {
    const { tcp, ws, wss, tls } = h.ports;
    expect([wss, tls].every((p) => p > 0), `${JSON.stringify(h.ports)}`).to.equal(true);
    expect(new Set([tcp, ws, wss, tls]).size).to.equal(4);
  });

  for (const [transport, name, portOf] of [
    ['ws', 'wss', (hh: CloudHarness) => hh.ports.wss],
    ['tcp', 'tls', (hh: CloudHarness) => hh.ports.tls],
  ] as const) {
    it(`${name}: a goim client authenticates (op 7 / op 8), gets a key push, and is counted as transport ${name}`, async () => {
      const opened = metric('im_connections_opened_total', name);
      const written = metric('im_client_packets_written_total', name);
      const mid = name === 'wss' ? 801 : 802;
      const { client, auth } = await online(transport, portOf(h), mid, 'live://tls', trusted);
      expect(auth).to.include({ mid, key: `tls-key-${mid}`, room_id: 'live://tls' });

      await h.pushMsg([auth.key], BIZ, { op: BIZ, body: `over ${name}` });
      const push = await client.waitFor((p) => p.op === BIZ, 5000, `the push over ${name}`);
      expect(push.body.toString()).to.equal(`over ${name}`);
      expect(await client.heartbeat(), 'op 3 answers op 2 over TLS too').to.be.a('number');

      expect(metric('im_connections_opened_total', name) - opened).to.equal(1);
      // op 8, the push, op 3.
      expect(metric('im_client_packets_written_total', name) - written).to.equal(3);
      expect(h.node.metrics.get('im_connections', { transport: name, phase: 'online' })).to.equal(1);
      const found = await adminJson<{ connections: Array<{ transport: string; remote: string }> }>(h.node.adminPort, `/connections?key=${auth.key}`);
      expect(found.connections.map((c) => c.transport)).to.deep.equal([name]);
      expect(found.connections[0].remote).to.match(/^127\.0\.0\.1:\d+$/);
    });
  }

  it('tls: a client that stops reading is closed as a slow consumer, its drop counted under transport tls', async () => {
    const drops = (): number => h.node.metrics.get('im_client_drops_total', { transport: 'tls', reason: 'slow_consumer' }) ?? 0;
    const before = drops();
    const { client, auth } = await online('tcp', h.ports.tls, 840, 'live://tls', trusted);
    client.goSilent();
    // The kernel's buffers take the first pushes; past them the TLS socket's own queue grows to protocol.sendBufferLimit.
    const body = Buffer.alloc(256 * 1024, 'x');
    for (let i = 0; i < 200 && drops() === before; i++) await h.pushMsg([auth.key], BIZ, { op: BIZ, body });
    expect(drops() - before).to.equal(1);
    await eventually(() => h.node.runtime.count('connection') === 0, 'the slow client\'s actor to stop');
  });

  it('plain ws and tcp still work beside them: one room push reaches a client on each of the four', async () => {
    const room = 'live://tls-all';
    const peers = [
      await online('ws', h.ports.ws, 811, room),
      await online('tcp', h.ports.tcp, 812, room),
      await online('ws', h.ports.wss, 813, room, trusted),
      await online('tcp', h.ports.tls, 814, room, trusted),
    ];
    await h.broadcastRoom(room, { op: BIZ, body: 'to every transport' });
    for (const [i, { client }] of peers.entries()) {
      const push = await client.waitFor((p) => p.op === BIZ, 5000, `the room push on client ${i}`);
      expect(push.body.toString()).to.equal('to every transport');
    }
  });

  it('a client that does not trust the node\'s CA refuses the handshake; the node counts it and keeps serving', async () => {
    const errors = (): number => h.node.metrics.get('im_tls_handshake_failures_total', { transport: 'wss', cause: 'error' }) ?? 0;
    const before = errors();
    let refused: Error | null = null;
    try {
      clients.push(await TestClient.ws(h.ports.wss, { tls: {} }));
    } catch (err) {
      refused = err as Error;
    }
    expect(refused?.message, 'Node\'s own roots do not include the test CA').to.match(/self[- ]signed|unable to (get|verify)/i);
    await eventually(() => errors() > before, 'the failed handshake counted');
    const wrongCa = TestClient.tcp(h.ports.tls, { tls: { ca: pki.rogueCa.cert } });
    await wrongCa.then((c) => { clients.push(c); throw new Error('connected with the wrong CA'); }, (err: Error) => expect(err.message).to.match(/certificate|verify/i));
    await online('ws', h.ports.wss, 821, 'live://tls', trusted);
  });

  it('a plain-text client on a TLS port is dropped before it becomes a connection', async () => {
    const opened = metric('im_connections_opened_total', 'wss');
    const errors = (): number => h.node.metrics.get('im_tls_handshake_failures_total', { transport: 'wss', cause: 'error' }) ?? 0;
    const before = errors();
    let refused: Error | null = null;
    try {
      clients.push(await TestClient.ws(h.ports.wss));
    } catch (err) {
      refused = err as Error;
    }
    expect(refused, 'a ws:// upgrade on the wss port').to.be.instanceOf(Error);
    await eventually(() => errors() > before, 'the failed handshake counted');
    expect(metric('im_connections_opened_total', 'wss')).to.equal(opened);
  });

  it('a socket that never starts the TLS handshake is dropped at protocol.handshakeTimeoutMs, on both TLS ports', async () => {
    const timeouts = (transport: string): number => h.node.metrics.get('im_tls_handshake_failures_total', { transport, cause: 'timeout' }) ?? 0;
    const before = { wss: timeouts('wss'), tls: timeouts('tls') };
    const opened = (): number => metric('im_connections_opened_total', 'wss') + metric('im_connections_opened_total', 'tls');
    const openedBefore = opened();
    const silent = [h.ports.wss, h.ports.tls].map((port) => net.connect(port, '127.0.0.1'));
    const closed = silent.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    for (const socket of silent) socket.on('error', () => undefined);
    await eventually(() => h.node.openConnections === 2, 'both silent sockets accepted and counted');
    // Nothing but the server's deadline closes them (1.5 s here); waiting up to five covers a loaded machine.
    await Promise.race([Promise.all(closed), new Promise((_, reject) => setTimeout(() => reject(new Error('a silent socket is still open')), 5000))]);
    await eventually(() => h.node.openConnections === 0, 'their descriptors released');
    expect(timeouts('wss') - before.wss).to.equal(1);
    expect(timeouts('tls') - before.tls).to.equal(1);
    expect(opened(), 'neither became a connection').to.equal(openedBefore);
  });

  it('a client that finished the TLS handshake still has to send op 7 in time', async () => {
    const client = await TestClient.tcp(h.ports.tls, { tls: trusted });
    clients.push(client);
    await client.waitForClose(5000);
    expect(client.disconnectReason()).to.include({ code: 'E_AUTH_TIMEOUT' });
    expect(client.received(Op.AuthReply)).to.have.length(0);
  });
});

describe('TLS for clients: a cloud node started by the CLI', function () {
  this.timeout(20000);

  let pki: TestPki;
  let logic: TestLogicNode;
  const clients: TestClient[] = [];

  before(async () => {
    pki = makeTestPki();
    logic = await new TestLogicNode().start();
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await ChildNode.killAll();
    await logic?.stop();
    pki?.remove();
  });

  it('takes the certificate from IM_CLOUD_TLS_CERT / IM_CLOUD_TLS_KEY, logs its wss and tls ports, and serves goim clients there', async () => {
    const node = ChildNode.spawn({
      args: ['cloud'],
      env: {
        IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0', IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0',
        IM_CLOUD_WSS_PORT: '0', IM_CLOUD_TLS_TCP_PORT: '0', IM_CLOUD_TLS_CERT: pki.node.certFile, IM_CLOUD_TLS_KEY: pki.node.keyFile,
        IM_CLOUD_LOGIC_NODES: logic.address,
      },
    });
    await node.started();
    const line = node.logsWith('cloud node started')[0];
    const wss = Number(line.wss);
    const tls = Number(line.tls);
    expect(wss, 'wss in the start line').to.be.above(0);
    expect(tls, 'tls in the start line').to.be.above(0);
    for (const [transport, port] of [['ws', wss], ['tcp', tls]] as const) {
      const { client, auth } = await TestClient.online(transport, port, token(830, 'live://cli'), { ca: pki.ca.cert });
      clients.push(client);
      expect(auth.mid).to.equal(830);
    }
    node.signal('SIGTERM');
    expect(await node.waitForExit(15000)).to.deep.equal({ code: 0, signal: null });
  });
});

describe('TLS for clients: off without a certificate', () => {
  it('opens neither wss nor TLS tcp, and reports their ports as 0', async () => {
    const h = await CloudHarness.start();
    try {
      expect(h.ports).to.include({ wss: 0, tls: 0 });
      expect(h.ports.ws).to.be.above(0);
    } finally {
      await h.stop();
    }
  });
});

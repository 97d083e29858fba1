/**
 * Limits at a cloud node's client edges, before a connection exists: per
 * peer IP, new connections per second, the whole node, the upgrade
 * request's arrival and the browser's Origin. Each refusal reaches the
 * client (ws: an HTTP status and a JSON body instead of the upgrade; tcp:
 * op 6 with the code, then the close) and is counted; the listeners stay
 * open, and a slot freed by any close is taken by the next client. Real
 * sockets throughout; 127.0.0.1 and 127.0.0.2 are two client IPs.
 */
import { expect } from 'chai';
import net from 'node:net';
import tls from 'node:tls';
import type { RefusalReason } from '../system/edges/client-admission';
import { Op } from '../system/codec/packet';
import { CloudHarness, eventually } from './support/cloud-harness';
import { rawUpgrade } from './support/raw-upgrade';
import { makeTestPki, TestPki } from './support/test-certs';
import { GOIM_TOKEN, TestClient, TlsOptions } from './support/test-client';

const OTHER_IP = '127.0.0.2';

function token(mid: number): object {
  return { ...GOIM_TOKEN, mid, key: `limits-${mid}` };
}

describe('cloud node: limits before a connection exists', function () {
  this.timeout(20000);

  let h: CloudHarness | null = null;
  let clients: TestClient[] = [];
  let mid = 0;

  afterEach(async () => {
    for (const c of clients) c.destroy();
    clients = [];
    await h?.stop();
    h = null;
  });

  async function start(overrides: Record<string, unknown>): Promise<CloudHarness> {
    h = await CloudHarness.start(overrides);
    return h;
  }

  function node(): CloudHarness {
    if (!h) throw new Error('no node');
    return h;
  }

  function refused(reason: RefusalReason): number {
    return node().node.metrics.get('im_connections_refused_total', { reason }) ?? 0;
  }

  async function online(transport: 'ws' | 'tcp', localAddress?: string, tls?: TlsOptions): Promise<TestClient> {
    const ports = node().ports;
    const port = transport === 'ws' ? (tls ? ports.wss : ports.ws) : (tls ? ports.tls : ports.tcp);
    const client = transport === 'ws' ? await TestClient.ws(port, { localAddress, tls }) : await TestClient.tcp(port, { localAddress, tls });
    clients.push(client);
    await client.auth(token(++mid));
    return client;
  }

  /** A tcp client that is refused: resolves with the op-6 body it got before the close. */
  async function tcpRefusal(port: number, localAddress?: string, tls?: TlsOptions): Promise<{ code: string; reason: string; reconnect?: { afterMs: number } }> {
    const client = await TestClient.tcp(port, { localAddress, tls });
    clients.push(client);
    // A goim client sends its auth at once; the refusal stands whatever it sends.
    client.send(Op.Auth, JSON.stringify(token(++mid)));
    await client.waitForClose(5000);
    expect(client.received(Op.AuthReply), 'no op 8 for a refused client').to.have.length(0);
    const op6 = client.received(Op.DisconnectReply);
    expect(op6, 'one op 6 before the close').to.have.length(1);
    return JSON.parse(op6[0].body.toString('utf8')) as { code: string; reason: string; reconnect?: { afterMs: number } };
  }

  describe('limits.maxConnectionsPerIp', () => {
    it('counts an IP across listeners, refuses one more (ws 429, tcp op 6 E_IP_LIMIT), lets other IPs in, and frees the slot however a socket closes', async () => {
      const { ports } = await start({ limits: { maxConnectionsPerIp: 2 }, protocol: { maxBodySize: 256 }, ws: { maxPayload: 4096 } });
      const ws = await online('ws');
      await online('tcp');

      const answer = await rawUpgrade(ports.ws);
      expect(answer.status).to.equal(429);
      expect(JSON.parse(answer.body)).to.include({ code: 'E_IP_LIMIT' });
      expect((await tcpRefusal(ports.tcp)).code).to.equal('E_IP_LIMIT');
      expect(refused('ip_limit')).to.equal(2);

      // Another IP is not affected.
      const other = await online('tcp', OTHER_IP);
      expect(await other.heartbeat()).to.be.a('number');
      expect(node().node.openConnections).to.equal(3);

      // The client closes: its slot is free again.
      ws.destroy();
      await eventually(() => node().node.openConnections === 2, 'the ws socket released');
      const next = await online('ws');

      // The node closes one (a bad packet): that slot is free again too.
      next.send(Op.Heartbeat, Buffer.alloc(300));
      await next.waitForClose(5000);
      expect(next.disconnectReason()?.code).to.equal('E_BODY_TOO_LARGE');
      await eventually(() => node().node.openConnections === 2, 'the socket the node closed released');
      await online('tcp');
      expect(refused('ip_limit')).to.equal(2);

      // Everything closed: nothing is left counted against either IP.
      for (const c of clients) c.destroy();
      await eventually(() => node().node.openConnections === 0, 'every socket released');
      await online('tcp');
      await online('ws');
      expect(refused('ip_limit')).to.equal(2);
    });
  });

  describe('a refused ws socket', () => {
    it('is answered and closed at once, not held until its request comes (ws.upgradeTimeoutMs): silent sockets over a limit hold no descriptors', async () => {
      const { ports } = await start({ limits: { maxConnectionsPerIp: 1 }, ws: { upgradeTimeoutMs: 20000 } });
      const admitted = await connectRaw(ports.ws);
      await eventually(() => node().node.openConnections === 1, 'the first socket admitted');
      // Never a byte sent: a refused socket must not wait for one.
      const silent = await Promise.all([1, 2, 3].map(() => connectRaw(ports.ws)));
      await Promise.all(silent.map((s) => withinMs(s.closed, 4000, 'the refused socket closed')));
      for (const s of silent) {
        expect(s.received()).to.match(/^HTTP\/1\.1 429 /);
        expect(s.received()).to.contain('E_IP_LIMIT');
      }
      expect(refused('ip_limit')).to.equal(3);
      // A refused socket whose request does come gets the same answer, once.
      const answer = await rawUpgrade(ports.ws);
      expect(answer.status).to.equal(429);
      expect(answer.body.match(/E_IP_LIMIT/g)).to.have.length(1);
      admitted.socket.destroy();
    });
  });

  describe('a client that resets after sending its upgrade', () => {
    it('is dropped on its own: a refused Origin, a wrong path or key answered to a reset socket does not take the node down', async () => {
      const { ports } = await start({ ws: { allowedOrigins: ['https://app.example.com'] } });
      const upgrade = (path: string, key: string, origin: string): string =>
        `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`;
      const good = 'dGhlIHNhbXBsZSBub25jZQ==';
      const requests = [upgrade('/sub', good, 'https://evil.example.com'), upgrade('/nope', good, 'https://app.example.com'), upgrade('/sub', 'bad', 'https://app.example.com')];
      for (let round = 0; round < 40; round++) {
        for (const request of requests) {
          const raw = await connectRaw(ports.ws);
          raw.socket.write(request);
          // RST instead of FIN: the node's answer meets a reset socket.
          raw.socket.resetAndDestroy();
        }
      }
      await new Promise((r) => setTimeout(r, 500));
      const client = await online('ws');
      expect(await client.heartbeat()).to.be.a('number');
    });
  });

  describe('limits.newConnectionsPerSec', () => {
    it('refuses past the rate with when to retry (ws 429 Retry-After, tcp op 6 E_CONNECT_RATE with a reconnect hint), and takes clients again a second later', async () => {
      const { ports } = await start({ limits: { newConnectionsPerSec: 1 } });
      // The bucket holds one second's worth: one socket, then none until a second has passed.
      const first = await online('tcp');

      const refusal = await tcpRefusal(ports.tcp);
      expect(refusal.code).to.equal('E_CONNECT_RATE');
      expect(refusal.reconnect).to.deep.equal({ afterMs: 1000 });
      const answer = await rawUpgrade(ports.ws);
      expect(answer.status).to.equal(429);
      expect(answer.headers['retry-after']).to.equal('1');
      expect(JSON.parse(answer.body)).to.include({ code: 'E_CONNECT_RATE' });
      expect(refused('connect_rate')).to.be.at.least(2);

      await new Promise((r) => setTimeout(r, 1100));
      const later = await online('ws');
      expect(await later.heartbeat()).to.be.a('number');
      expect(await first.heartbeat()).to.be.a('number');
    });
  });

  describe('limits.maxConnections', () => {
    it('refuses new sockets with the listeners open (ws 503, tcp op 6 E_NODE_FULL); a close frees a slot for the next client', async () => {
      const { ports } = await start({ limits: { maxConnections: 2 } });
      const a = await online('ws');
      const b = await online('tcp', OTHER_IP);

      const answer = await rawUpgrade(ports.ws, { localAddress: OTHER_IP });
      expect(answer.status).to.equal(503);
      expect(JSON.parse(answer.body)).to.include({ code: 'E_NODE_FULL' });
      expect((await tcpRefusal(ports.tcp)).code).to.equal('E_NODE_FULL');
      expect(refused('node_full')).to.equal(2);
      expect(node().node.metrics.get('im_accept_paused_total', { cause: 'emfile' }) ?? 0, 'accepting never paused').to.equal(0);

      // The clients in keep working.
      expect(await a.heartbeat()).to.be.a('number');
      expect(await b.heartbeat()).to.be.a('number');

      a.destroy();
      await eventually(() => node().node.openConnections === 1, 'a slot freed');
      const c = await online('tcp');
      expect(await c.heartbeat()).to.be.a('number');
      expect((await rawUpgrade(ports.ws)).status, 'full again').to.equal(503);

      b.destroy();
      await eventually(() => node().node.openConnections === 1, 'a slot freed');
      await online('ws', OTHER_IP);
      expect(refused('node_full')).to.equal(3);
    });
  });

  describe('ws.upgradeTimeoutMs', () => {
    it('closes a silent socket and a slowloris one (408 E_WS_UPGRADE_TIMEOUT), counts them, and frees their slots', async () => {
      const { ports } = await start({ ws: { upgradeTimeoutMs: 300 } });

      const silent = await connectRaw(ports.ws);
      const slow = await connectRaw(ports.ws);
      slow.socket.write('GET /sub HTTP/1.1\r\nHost: x\r\n');
      // A header line every 50 ms: the request never ends, and the socket is never idle.
      const drip = setInterval(() => {
        if (!slow.socket.destroyed) slow.socket.write('X-Slow: 1\r\n');
      }, 50);
      try {
        await eventually(() => node().node.openConnections === 2, 'both sockets admitted');
        // Node's own default would hold them for 30 s or more.
        await Promise.all([silent.closed, slow.closed].map((closed) => withinMs(closed, 5000, 'the socket closed by the upgrade timeout')));
      } finally {
        clearInterval(drip);
      }
      expect(silent.received()).to.match(/^HTTP\/1\.1 408 /);
      expect(silent.received()).to.contain('E_WS_UPGRADE_TIMEOUT');
      expect(refused('upgrade_timeout')).to.equal(2);
      await eventually(() => node().node.openConnections === 0, 'their slots released');

      // A client that sends its upgrade at once is unaffected.
      const client = await online('ws');
      expect(await client.heartbeat()).to.be.a('number');
      expect(refused('upgrade_timeout')).to.equal(2);
    });
  });

  describe('limits.maxRefusing', () => {
    it('refused sockets whose clients never close are bounded: past the bound they are closed at once, unanswered and counted', async () => {
      const { ports } = await start({ limits: { maxConnectionsPerIp: 1, maxRefusing: 5 } });
      await online('tcp');
      // Raw sockets that read but never close their side (half-open): each refused one waits out the close linger.
      const raw: Array<{ socket: net.Socket; bytes: number; ended: boolean }> = [];
      for (let i = 0; i < 20; i++) {
        const entry = { socket: net.connect({ port: ports.tcp, host: '127.0.0.1', allowHalfOpen: true }), bytes: 0, ended: false };
        entry.socket.on('error', () => undefined);
        entry.socket.on('data', (chunk: Buffer) => { entry.bytes += chunk.length; });
        entry.socket.on('end', () => { entry.ended = true; });
        raw.push(entry);
      }
      try {
        await eventually(() => raw.every((r) => r.ended), 'every refused socket ended by the node');
        const answered = raw.filter((r) => r.bytes > 0).length;
        expect(answered, 'op 6 for as many as may wait at once').to.equal(5);
        expect(node().node.metrics.get('im_refusals_unanswered_total')).to.equal(15);
        expect(refused('ip_limit')).to.equal(20);
        // The answered five still wait for their clients, so one more refusal now goes unanswered...
        const extra = net.connect({ port: ports.tcp, host: '127.0.0.1', allowHalfOpen: true });
        extra.on('error', () => undefined);
        await eventually(() => node().node.metrics.get('im_refusals_unanswered_total') === 16, 'the bound still full');
        extra.destroy();
        // ...until the close linger ends them: then a refusal is answered again.
        await new Promise((r) => setTimeout(r, 2300));
        expect((await tcpRefusal(ports.tcp)).code).to.equal('E_IP_LIMIT');
        expect(node().node.metrics.get('im_refusals_unanswered_total')).to.equal(16);
      } finally {
        for (const r of raw) r.socket.destroy();
      }
    });
  });

  describe('ws.allowedOrigins', () => {
    it('lets listed origins (case aside) and non-browser clients in, refuses another Origin with 403 E_WS_ORIGIN', async () => {
      const { ports } = await start({ ws: { allowedOrigins: ['https://app.example.com', 'http://localhost:8080'] } });
      expect((await rawUpgrade(ports.ws, { origin: 'https://app.example.com' })).status).to.equal(101);
      expect((await rawUpgrade(ports.ws, { origin: 'HTTPS://App.Example.com' })).status).to.equal(101);
      expect((await rawUpgrade(ports.ws, { origin: 'http://localhost:8080' })).status).to.equal(101);
      expect((await rawUpgrade(ports.ws)).status, 'no Origin header').to.equal(101);

      for (const origin of ['https://evil.example.com', 'https://app.example.com:8443', 'http://app.example.com', 'null']) {
        const answer = await rawUpgrade(ports.ws, { origin });
        expect(answer.status, origin).to.equal(403);
        expect(JSON.parse(answer.body), origin).to.include({ code: 'E_WS_ORIGIN' });
      }
      expect(refused('origin')).to.equal(4);
      await eventually(() => node().node.openConnections === 0, 'refused sockets released');
    });

    it('a listed origin written with its default port or in capitals matches what browsers send', async () => {
      const { ports } = await start({ ws: { allowedOrigins: ['HTTPS://App.Example.com:443', 'http://localhost:80'] } });
      expect((await rawUpgrade(ports.ws, { origin: 'https://app.example.com' })).status).to.equal(101);
      expect((await rawUpgrade(ports.ws, { origin: 'http://localhost' })).status).to.equal(101);
      expect((await rawUpgrade(ports.ws, { origin: 'https://app.example.com:8443' })).status).to.equal(403);
    });

    it('empty (the default): any Origin is let in, as in goim', async () => {
      const { ports } = await start({});
      expect((await rawUpgrade(ports.ws, { origin: 'https://evil.example.com' })).status).to.equal(101);
      expect(refused('origin')).to.equal(0);
    });
  });

  describe('over TLS (wss, TLS tcp)', () => {
    let pki: TestPki;
    before(() => {
      pki = makeTestPki();
    });
    after(() => pki.remove());

    it('the same per-IP count covers wss and TLS tcp: refused after the handshake (wss 429, TLS tcp op 6 E_IP_LIMIT)', async () => {
      const { ports } = await start({ tls: { cert: pki.node.certFile, key: pki.node.keyFile }, limits: { maxConnectionsPerIp: 1 }, ws: { upgradeTimeoutMs: 20000 } });
      const trusted: TlsOptions = { ca: pki.ca.cert };
      const first = await online('tcp', undefined, trusted);

      const answer = await rawUpgrade(ports.wss, { tls: trusted });
      expect(answer.status).to.equal(429);
      expect(JSON.parse(answer.body)).to.include({ code: 'E_IP_LIMIT' });
      expect((await tcpRefusal(ports.tls, undefined, trusted)).code).to.equal('E_IP_LIMIT');
      expect((await tcpRefusal(ports.tcp)).code, 'plain tcp counts with them').to.equal('E_IP_LIMIT');
      expect(refused('ip_limit')).to.equal(3);

      // A wss socket that completes its handshake and sends nothing is answered at once too.
      const silent = await connectRawTls(ports.wss, trusted);
      await withinMs(silent.closed, 4000, 'the refused wss socket closed');
      expect(silent.received()).to.match(/^HTTP\/1\.1 429 /);

      await online('ws', OTHER_IP, trusted);
      first.destroy();
      await eventually(() => node().node.openConnections === 1, 'the TLS tcp socket released');
      await online('ws', undefined, trusted);
    });
  });
});

interface RawSocket {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  received(): string;
}

function connectRaw(port: number): Promise<RawSocket> {
  return rawSocket(net.connect(port, '127.0.0.1'), 'connect');
}

function connectRawTls(port: number, options: TlsOptions): Promise<RawSocket> {
  return rawSocket(tls.connect({ port, host: '127.0.0.1', ...options }), 'secureConnect');
}

function rawSocket(socket: net.Socket, ready: 'connect' | 'secureConnect'): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once(ready, () => resolve({ socket, closed, received: () => Buffer.concat(chunks).toString('utf8') }));
    socket.once('error', reject);
  });
}

function withinMs(promise: Promise<void>, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

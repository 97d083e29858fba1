/**
 * End to end in real headless Chromium: a browser client that follows
 * wire.md §8 exactly (spec/support/goim-browser-client.js, loaded as it is)
 * against a real cloud node and a test logic node.
 *
 * Needs Debian's chromium at /usr/bin/chromium (playwright-core drives it;
 * playwright's own browsers are not used). Without it the suite skips,
 * except when CI is set: there a missing browser is a failure.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBatchBody } from '../system/codec/batch';
import { encodePacket, Op } from '../system/codec/packet';
import { CloudHarness } from './support/cloud-harness';
import { GOIM_TOKEN } from './support/test-client';

const CHROMIUM = '/usr/bin/chromium';
const CLIENT_JS = path.resolve(__dirname, '../../spec/support/goim-browser-client.js');
const HEARTBEAT_MS = 200;
const RECONNECT_MS = 300;
/** Every client heartbeat goes on to logic, so the test sees it there. */
const NODE_OVERRIDES = { logic: { heartbeatMinMs: 0, heartbeatMaxMs: 0 } };
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** What the page keeps (see goim-browser-client.js). */
interface LoggedPacket {
  op: number;
  body: string;
  ver: number;
  seq: number;
  batched: boolean;
}

interface ConnectionStats {
  opened: boolean;
  authReplies: number;
  heartbeatsSent: number;
  heartbeatReplies: number;
}

interface ClientStats {
  opens: number;
  authSent: number;
  authReplies: number;
  heartbeatsSent: number;
  heartbeatsSkipped: number;
  heartbeatReplies: number;
  heartbeatTimers: number;
  messages: number;
  batches: number;
  framesReceived: number;
  reconnects: number;
  errors: number;
  closes: Array<{ code: number; reason: string; wasClean: boolean }>;
  connections: ConnectionStats[];
}

interface GoimPage {
  goimLog?: LoggedPacket[];
  goimStats?: ClientStats;
}

interface ClientState {
  log: LoggedPacket[];
  stats: ClientStats;
}

function page(wsPort: number): string {
  const config = { url: `ws://127.0.0.1:${wsPort}/sub`, heartbeatMs: HEARTBEAT_MS, reconnectMs: RECONNECT_MS, token: GOIM_TOKEN };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>goim browser client</title></head>
<body>
<script>window.goimConfig = ${JSON.stringify(config)};</script>
<script src="/goim-browser-client.js"></script>
</body></html>`;
}

function serve(wsPort: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page(wsPort));
    } else if (req.url === '/goim-browser-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(fs.readFileSync(CLIENT_JS));
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('browser: goim-style client (wire.md §8) in headless Chromium', function () {
  let h: CloudHarness | null = null;
  /** The node the client reconnects to after the first one drained. */
  let h2: CloudHarness | null = null;
  let server: http.Server | null = null;
  let browser: Browser | null = null;
  let tab: Page;
  let key = '';
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (!process.env.CI) this.skip();
      throw new Error(`${CHROMIUM} is missing; CI must install it (apt-get install -y --no-install-recommends chromium)`);
    }
    h = await CloudHarness.start(NODE_OVERRIDES);
    server = await serve(h.ports.ws);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    tab = await browser.newPage();
    tab.on('pageerror', (err) => pageErrors.push(String(err.stack ?? err.message)));
    tab.on('console', (msg) => {
      // Chromium logs each refused reconnect attempt (the drain test provokes them); anything else counts.
      if (msg.type() === 'error' && !/^WebSocket connection to .* failed/.test(msg.text())) consoleErrors.push(msg.text());
    });
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });

  after(async () => {
    if (browser) await browser.close();
    browser = null;
    if (server) {
      const s = server;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    server = null;
    if (h) await h.stop();
    h = null;
    if (h2) await h2.stop();
    h2 = null;
  });

  function harness(): CloudHarness {
    if (!h) throw new Error('harness not started');
    return h;
  }

  function state(): Promise<ClientState> {
    return tab.evaluate(() => {
      const w = globalThis as unknown as GoimPage;
      if (!w.goimLog || !w.goimStats) throw new Error('goim-browser-client.js did not load');
      return { log: w.goimLog, stats: w.goimStats };
    });
  }

  /** Polls the page until `predicate` holds; the failure shows what the page saw. */
  async function until(predicate: (s: ClientState) => boolean, what: string, timeoutMs = 5000): Promise<ClientState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await state();
      if (predicate(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(`page: timed out waiting for ${what}; stats=${JSON.stringify(s.stats)} ops=[${s.log.map((p) => p.op).join(',')}] pageErrors=${JSON.stringify(pageErrors)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The connection the client holds now (the last one it created). */
  function current(s: ClientState): ConnectionStats {
    const c = s.stats.connections[s.stats.connections.length - 1];
    if (!c) throw new Error('the client never created a WebSocket');
    return c;
  }

  function messages(s: ClientState): LoggedPacket[] {
    return s.log.filter((p) => p.op !== Op.AuthReply && p.op !== Op.HeartbeatReply);
  }

  /** Waits for a message with `body`; returns the messages that came after `from`. */
  async function messageArrives(body: string, from: number, what: string): Promise<LoggedPacket[]> {
    const s = await until((x) => messages(x).slice(from).some((p) => p.body === body), what);
    return messages(s).slice(from);
  }

  it('authenticates: op 8 arrives exactly once and carries the key', async () => {
    const s = await until((x) => x.stats.authReplies >= 1, 'op 8');
    expect(s.stats.authSent).to.equal(1);
    expect(s.stats.opens).to.equal(1);
    const replies = s.log.filter((p) => p.op === Op.AuthReply);
    expect(replies).to.have.length(1);
    expect(replies[0].seq).to.equal(1);
    const auth = JSON.parse(replies[0].body) as { key: string; mid: number; room_id: string };
    expect(auth.key).to.be.a('string').and.not.equal('');
    expect(auth.mid).to.equal(123);
    expect(auth.room_id).to.equal('live://1000');
    key = auth.key;
    const [connect] = harness().logic[0].calls.connect;
    expect(JSON.parse(connect.token.toString('utf8'))).to.deep.equal(GOIM_TOKEN);
  });

  it('answers every op 2 with op 3 (and never sends a second op 8)', async () => {
    const s = await until(
      (x) => current(x).heartbeatsSent >= 4 && current(x).heartbeatReplies === current(x).heartbeatsSent,
      'op 3 for each of at least 4 op 2', 10_000);
    expect(s.stats.connections).to.have.length(1);
    expect(s.stats.authReplies).to.equal(1);
    expect(s.stats.heartbeatTimers).to.equal(1);
    for (const reply of s.log.filter((p) => p.op === Op.HeartbeatReply)) {
      expect(reply.seq).to.equal(1);
      expect(reply.ver).to.equal(1);
    }
    await harness().logic[0].waitFor((c) => c.heartbeat.length >= 1, 5000, 'logic Heartbeat');
  });

  it('PushMsg with an accepted protoOp arrives as one message', async () => {
    const from = messages(await state()).length;
    await harness().pushMsg([key], 1000, { op: 1000, body: '{"test":1}' });
    const got = await messageArrives('{"test":1}', from, 'the PushMsg');
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ op: 1000, body: '{"test":1}', ver: 1, seq: 0, batched: false });
  });

  it('BroadcastRoom to live://1000 arrives', async () => {
    const from = messages(await state()).length;
    await harness().broadcastRoom('live://1000', { op: 1001, body: '{"room":"live://1000"}' });
    const got = await messageArrives('{"room":"live://1000"}', from, 'the BroadcastRoom');
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ op: 1001, batched: false });
  });

  it('Broadcast with an accepted protoOp arrives', async () => {
    const from = messages(await state()).length;
    await harness().broadcast(1002, { op: 1002, body: '{"all":1}' });
    const got = await messageArrives('{"all":1}', from, 'the Broadcast');
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ op: 1002, batched: false });
  });

  it('an op-9 batch of 3 packets arrives as 3 messages in order', async () => {
    const before = await state();
    const from = messages(before).length;
    const body = buildBatchBody([
      encodePacket(1, 1000, 0, '{"batch":1}'),
      encodePacket(1, 1001, 0, '{"batch":2}'),
      encodePacket(1, 1002, 0, '{"batch":3,"text":"ünïcødé"}'),
    ]);
    await harness().pushMsg([key], 1000, { op: Op.Raw, body });
    const got = await messageArrives('{"batch":3,"text":"ünïcødé"}', from, 'the batch');
    expect(got.map((p) => [p.op, p.body, p.batched])).to.deep.equal([
      [1000, '{"batch":1}', true],
      [1001, '{"batch":2}', true],
      [1002, '{"batch":3,"text":"ünïcødé"}', true],
    ]);
    const after = await state();
    expect(after.stats.batches - before.stats.batches).to.equal(1);
  });

  it('a push with a protoOp the client does not accept never reaches it', async () => {
    const from = messages(await state()).length;
    await harness().pushMsg([key], 1003, { op: 1003, body: '{"unwanted":"push"}' });
    await harness().broadcast(1003, { op: 1003, body: '{"unwanted":"broadcast"}' });
    await harness().pushMsg([key], 1000, { op: 1000, body: '{"sentinel":1}' });
    const got = await messageArrives('{"sentinel":1}', from, 'the sentinel push');
    expect(got.map((p) => p.body)).to.deep.equal(['{"sentinel":1}']);
  });

  it('so far: no page errors, one op 8, no close', async () => {
    const s = await state();
    expect(pageErrors, 'page errors (a text frame would throw in the client)').to.deep.equal([]);
    expect(s.stats.authReplies).to.equal(1);
    expect(s.stats.closes).to.deep.equal([]);
    expect(s.stats.errors).to.equal(0);
    expect(s.stats.reconnects).to.equal(0);
    expect(s.log.every((p) => p.op !== Op.Raw), 'op 9 is walked, never shown').to.equal(true);
  });

  it('drain: op 6 then close; the client reconnects and authenticates again (op 8 once per connection)', async () => {
    const first = harness();
    const wsPort = first.ports.ws;
    const from = (await state()).log.length;
    await first.node.stop();
    const closed = await until((x) => x.stats.closes.length >= 1, 'the close event');
    const op6 = closed.log.slice(from).filter((p) => p.op === Op.DisconnectReply);
    expect(op6, 'op 6 before the close').to.have.length(1);
    expect(JSON.parse(op6[0].body)).to.have.property('code').that.is.a('string');
    expect(closed.stats.closes[0].wasClean, 'a clean close after op 6').to.equal(true);

    // A new node on the same ws port; the client's next attempt (every RECONNECT_MS, doubling) finds it.
    h2 = await CloudHarness.start({ ...NODE_OVERRIDES, ws: { port: wsPort } });
    const again = await until((x) => x.stats.authReplies === 2, 'op 8 on the new connection', 10_000);
    expect(again.stats.authSent).to.equal(again.stats.opens);
    expect(again.stats.opens).to.equal(2);
    // Refused attempts in between are connections that never opened; each opened one got op 8 exactly once.
    expect(again.stats.connections.filter((c) => c.opened).map((c) => c.authReplies)).to.deep.equal([1, 1]);
    expect(again.stats.connections.filter((c) => !c.opened).every((c) => c.authReplies === 0)).to.equal(true);
    const replies = again.log.filter((p) => p.op === Op.AuthReply);
    expect(replies).to.have.length(2);
    const newKey = (JSON.parse(replies[1].body) as { key: string }).key;
    expect(h2.logic[0].calls.connect).to.have.length(1);
    expect(JSON.parse(h2.logic[0].calls.connect[0].token.toString('utf8'))).to.deep.equal(GOIM_TOKEN);

    const hb = await until(
      (x) => current(x).heartbeatsSent >= 4 && current(x).heartbeatReplies === current(x).heartbeatsSent,
      'op 3 for each of at least 4 op 2 on the new connection', 10_000);
    expect(hb.stats.authReplies).to.equal(2);
    expect(current(hb).authReplies).to.equal(1);

    const msgFrom = messages(await state()).length;
    await h2.pushMsg([newKey], 1000, { op: 1000, body: '{"after":"reconnect"}' });
    const got = await messageArrives('{"after":"reconnect"}', msgFrom, 'a push after the reconnect');
    expect(got).to.have.length(1);
  });

  it('the page saw no errors at all (binary frames only)', async () => {
    expect(pageErrors, 'page errors (a text frame would throw in the client)').to.deep.equal([]);
    expect(consoleErrors).to.deep.equal([]);
  });
});

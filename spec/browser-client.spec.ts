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

interface ClientStats {
  opens: number;
  authSent: number;
  authReplies: number;
  heartbeatsSent: number;
  heartbeatReplies: number;
  heartbeatTimers: number;
  messages: number;
  batches: number;
  framesReceived: number;
  reconnects: number;
  errors: number;
  closes: Array<{ code: number; reason: string; wasClean: boolean }>;
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
  const config = { url: `ws://127.0.0.1:${wsPort}/sub`, heartbeatMs: HEARTBEAT_MS, token: GOIM_TOKEN };
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
    h = await CloudHarness.start();
    server = await serve(h.ports.ws);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    tab = await browser.newPage();
    tab.on('pageerror', (err) => pageErrors.push(String(err.stack ?? err.message)));
    tab.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
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
      (x) => x.stats.heartbeatsSent >= 4 && x.stats.heartbeatReplies === x.stats.heartbeatsSent,
      'op 3 for each of at least 4 op 2', 10_000);
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

  it('the page saw no errors, binary frames only, one op 8, and no close', async () => {
    const s = await state();
    expect(pageErrors, 'page errors (a text frame would throw in the client)').to.deep.equal([]);
    expect(s.stats.authReplies).to.equal(1);
    expect(s.stats.closes).to.deep.equal([]);
    expect(s.stats.errors).to.equal(0);
    expect(s.stats.reconnects).to.equal(0);
    expect(consoleErrors).to.deep.equal([]);
    expect(s.log.every((p) => p.op !== Op.Raw), 'op 9 is walked, never shown').to.equal(true);
  });
});

/**
 * The admin page (`GET /` of the admin endpoint): first what can be checked
 * on the string itself, then the page in real headless Chromium against a
 * real cloud node and logic node with real clients: the tree opened down to
 * a connection, a search by key, a kick (the client gets op 6 E_KICKED,
 * logic its Disconnect), polling, the token prompt, and no kick button
 * where kicking is off.
 *
 * Screenshots go to $IM_TEST_OUTPUT/admin-page, or to
 * <os tmpdir>/im-cloud-test-output/admin-page; the spec prints where.
 *
 * Needs Debian's chromium at /usr/bin/chromium, like browser-client.spec.ts:
 * without it the browser suites skip, except under CI.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { adminPage } from '../system/admin/admin-page';
import { ADMIN_PAGE_SCRIPT } from '../system/admin/admin-page-script';
import { Op } from '../system/codec/packet';
import { adminJson } from './support/admin-client';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { SystemHarness, until } from './support/system-harness';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
/** A key a client chose: markup and characters a URL path must escape; the page must show it as text and kick it. */
const HOSTILE_KEY = `<img src=x onerror="window.pwned=1">/kick?&#${process.pid}`;
const ADMIN_TOKEN = 'admin-page-spec-token-0123456789';
const BUCKETS = 150;
const OUTPUT_DIR = path.join(process.env.IM_TEST_OUTPUT ?? path.join(os.tmpdir(), 'im-cloud-test-output'), 'admin-page');

interface PageStats {
  polls: number;
  running: number;
  maxRunning: number;
  requests: number;
}

interface ConnectionAnswer {
  key: string;
  path: string;
}

function needsChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (!process.env.CI) ctx.skip();
  throw new Error(`${CHROMIUM} is missing; CI must install it (apt-get install -y --no-install-recommends chromium)`);
}

async function connectionPath(port: number, key: string, token?: string): Promise<string> {
  const { connections } = await adminJson<{ connections: ConnectionAnswer[] }>(port, `/connections?key=${encodeURIComponent(key)}`, token);
  expect(connections.map((c) => c.key), `the connection with key ${key}`).to.deep.equal([key]);
  return connections[0].path;
}

/** What the page collected that it should not have: uncaught errors and console errors other than refused requests. */
function watch(tab: Page): { pageErrors: string[]; consoleErrors: string[] } {
  const seen = { pageErrors: [] as string[], consoleErrors: [] as string[] };
  tab.on('pageerror', (err) => seen.pageErrors.push(String(err.stack ?? err.message)));
  tab.on('console', (msg) => {
    // Chromium logs every non-2xx fetch; the 401 before the token is asked for is one the page expects.
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) seen.consoleErrors.push(msg.text());
  });
  tab.on('dialog', (dialog) => {
    seen.pageErrors.push(`unexpected dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return seen;
}

function treeNode(tab: Page, actorPath: string): Locator {
  return tab.locator(`[data-testid="tree-node"][data-path="${actorPath}"]`);
}

function rowOf(tab: Page, actorPath: string): Locator {
  return treeNode(tab, actorPath).locator(':scope > .row');
}

/** Opens every ancestor of `actorPath` in the tree by clicking its toggle, root first (the root opens by itself). */
async function openDownTo(tab: Page, actorPath: string): Promise<void> {
  const segments = actorPath.split('/').filter((s) => s !== '');
  for (let i = 2; i < segments.length; i++) {
    const ancestor = '/' + segments.slice(0, i).join('/');
    const toggle = rowOf(tab, ancestor).getByTestId('tree-toggle');
    await toggle.waitFor();
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    await treeNode(tab, ancestor).locator(':scope > [data-testid="tree-children"] > [data-testid="tree-node"]').first().waitFor();
  }
  await treeNode(tab, actorPath).waitFor();
}

async function stats(tab: Page): Promise<PageStats> {
  return tab.evaluate(() => (globalThis as unknown as { imAdmin: PageStats }).imAdmin);
}

/** What the page reads as document.visibilityState, and the event it listens to (the spec has no DOM types: a string runs in the page). */
async function setVisibility(tab: Page, state: 'visible' | 'hidden'): Promise<void> {
  await tab.evaluate(`Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' });
    document.dispatchEvent(new Event('visibilitychange'));`);
}

/** Polls a locator's text until `done` holds. */
function textUntil(target: Locator, done: (text: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
  return until(async () => (await target.textContent()) ?? '', done, what, timeoutMs);
}

/** The data-key of each search result row, in order. */
async function resultKeys(tab: Page): Promise<string[]> {
  const rows = tab.locator('[data-testid="connection-row"]');
  const keys: string[] = [];
  for (let i = 0; i < await rows.count(); i++) keys.push((await rows.nth(i).getAttribute('data-key')) ?? '');
  return keys;
}

async function screenshot(tab: Page, name: string): Promise<string> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, name);
  await tab.screenshot({ path: file });
  console.log(`      screenshot: ${file}`);
  return file;
}

describe('admin page: the document itself', () => {
  const html = adminPage();

  it('is one self-contained document: no external URL, no external script or style', () => {
    expect(html).to.match(/^<!doctype html>/);
    expect(html).to.not.match(/https?:\/\//);
    expect(html).to.not.match(/\bsrc\s*=/i);
    expect(html.match(/\bhref\s*=\s*"([^"]*)"/gi) ?? []).to.deep.equal(['href="data:,"']);
    expect(html.match(/<script>/g)).to.have.length(1);
    expect(html).to.not.match(/@import|url\(/);
  });

  it('its script parses, and builds DOM without HTML sinks', () => {
    expect(() => new vm.Script(ADMIN_PAGE_SCRIPT, { filename: 'admin-page-script.js' })).to.not.throw();
    expect(html).to.include(ADMIN_PAGE_SCRIPT);
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) {
      expect(ADMIN_PAGE_SCRIPT, sink).to.not.include(sink);
    }
    expect(ADMIN_PAGE_SCRIPT.toLowerCase()).to.not.include('</script');
  });

  it('is the same string every time (the server builds it once)', () => {
    expect(adminPage()).to.equal(html);
  });
});

describe('admin page in headless Chromium: cloud node with allowDestructive', function () {
  this.timeout(30000);
  let sys: SystemHarness | null = null;
  let browser: Browser | null = null;
  let tab: Page;
  let seen: { pageErrors: string[]; consoleErrors: string[] };
  let port = 0;
  let hostile: { client: TestClient; key: string; path: string };
  let other: { client: TestClient; key: string; path: string };

  before(async function () {
    needsChromium(this);
    // 150 buckets: one child list longer than the page's 100.
    sys = await SystemHarness.start({ cloudOverrides: { admin: { allowDestructive: true }, actors: { buckets: BUCKETS } } });
    port = sys.cloud[0].adminPort;
    const a = await sys.online(0, 'ws', { ...GOIM_TOKEN, mid: 4101, key: HOSTILE_KEY, room_id: 'live://admin-page' });
    const b = await sys.online(0, 'tcp', { ...GOIM_TOKEN, mid: 4102, room_id: 'live://admin-page' });
    hostile = { client: a.client, key: a.auth.key, path: await connectionPath(port, a.auth.key) };
    other = { client: b.client, key: b.auth.key, path: await connectionPath(port, b.auth.key) };
    expect(hostile.key).to.equal(HOSTILE_KEY);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    seen = watch(tab);
    await tab.goto(`http://127.0.0.1:${port}/`);
  });

  after(async () => {
    if (browser) await browser.close();
    browser = null;
    if (sys) await sys.stop();
    sys = null;
  });

  function system(): SystemHarness {
    if (!sys) throw new Error('system not started');
    return sys;
  }

  it('shows the node and its headline figures', async () => {
    await tab.getByTestId('headline-connections').waitFor();
    const title = await tab.getByTestId('node-title').textContent();
    expect(title).to.match(/^cloud node /);
    const connections = await tab.getByTestId('headline-connections').getByTestId('headline-value').textContent();
    expect(connections).to.equal('2');
    for (const figure of ['actors', 'mailbox', 'rssBytes', 'heapUsedBytes', 'eventLoopDelayP99Ms']) {
      expect(await tab.getByTestId(`headline-${figure}`).count(), figure).to.equal(1);
    }
    expect(await tab.getByTestId('token-form').isVisible()).to.equal(false);
  });

  it('opens the tree, one click per level, down to a connection actor showing its key, room and transport', async () => {
    await openDownTo(tab, hostile.path);
    const row = rowOf(tab, hostile.path);
    expect(await row.getByTestId('actor-kind').textContent()).to.equal('connection');
    const state = await row.getByTestId('actor-state').textContent();
    expect(state).to.include(`key=${HOSTILE_KEY.slice(0, 40)}`).and.include('room=live://admin-page').and.include('transport=ws');
    expect(await row.getByTestId('actor-stats').textContent()).to.match(/mailbox \d+ · restarts 0 · processed \d+/);
    // The key is text: the markup in it was never parsed.
    expect(await tab.evaluate(() => 'pwned' in globalThis)).to.equal(false);
    expect(await tab.locator('[data-testid="tree"] img').count()).to.equal(0);
    await rowOf(tab, hostile.path).scrollIntoViewIfNeeded();
    await screenshot(tab, 'admin-page-tree.png');
  });

  it('pages through a child list longer than a page: "more…" adds the rest', async () => {
    const root = (await adminJson<{ actor: { path: string } }>(port, '/actors?limit=1')).actor.path;
    const buckets = `${root}/buckets`;
    await rowOf(tab, buckets).getByTestId('tree-toggle').click();
    const shown = treeNode(tab, buckets).locator(':scope > [data-testid="tree-children"] > [data-testid="tree-node"]');
    const more = treeNode(tab, buckets).locator(':scope > [data-testid="tree-children"] [data-testid="tree-more"]');
    await more.waitFor();
    expect(await shown.count()).to.equal(100);
    expect(await more.textContent()).to.equal(`more… (100 of ${BUCKETS} shown)`);
    await more.click();
    await until(() => shown.count(), (n) => n === BUCKETS, 'every bucket');
    expect(await more.count()).to.equal(0);
    expect(await shown.last().getAttribute('data-path')).to.equal(`${buckets}/bucket-${BUCKETS - 1}`);
    // A refresh re-reads both pages: still all of them, once each.
    const polls = (await stats(tab)).polls;
    await until(() => stats(tab), (s) => s.polls >= polls + 1 && s.running === 0, 'a refresh');
    expect(await shown.count()).to.equal(BUCKETS);
    await rowOf(tab, buckets).getByTestId('tree-toggle').click();
    expect(await shown.count()).to.equal(0);
  });

  it('searches by key: one row with the key, mid, room and transport; "show in tree" opens the other client\'s actor', async () => {
    await tab.getByTestId('search-field').selectOption('key');
    await tab.getByTestId('search-input').fill(other.key);
    await tab.getByTestId('search-button').click();
    const row = tab.locator(`[data-testid="connection-row"]`);
    await row.first().waitFor();
    expect(await row.count()).to.equal(1);
    expect(await row.getByTestId('connection-key').textContent()).to.equal(other.key);
    expect(await row.getByTestId('connection-mid').textContent()).to.equal('4102');
    expect(await row.getByTestId('connection-room').textContent()).to.equal('live://admin-page');
    expect(await row.getByTestId('connection-transport').textContent()).to.equal('tcp');
    await row.getByTestId('connection-path').click();
    await tab.locator(`.node.focus[data-path="${other.path}"]`).waitFor();
  });

  it('kicks the hostile key: the client gets op 6 E_KICKED and is closed, and logic gets its Disconnect', async () => {
    await tab.getByTestId('search-input').fill(HOSTILE_KEY);
    await tab.getByTestId('search-button').click();
    const row = tab.locator('[data-testid="connection-row"]');
    await until(() => resultKeys(tab), (keys) => keys.length === 1 && keys[0] === HOSTILE_KEY, 'one result row, the hostile key');
    expect(await row.getByTestId('connection-key').textContent()).to.equal(HOSTILE_KEY);
    expect(await system().stores[0].serversByKeys([HOSTILE_KEY])).to.deep.equal(new Map([[HOSTILE_KEY, system().cloudAddress(0)]]));

    const kick = row.getByTestId('kick-button');
    await kick.click();
    expect(await kick.getAttribute('data-state'), 'a first click only asks to confirm').to.equal('confirm');
    expect(hostile.client.closed).to.equal(false);
    await kick.click();
    await textUntil(tab.getByTestId('kick-result'), (t) => /^kicked /.test(t), 'the kick answer');
    expect(await tab.getByTestId('kick-result').textContent()).to.equal(`kicked ${HOSTILE_KEY} (${hostile.path})`);

    await hostile.client.waitForClose(5000);
    expect(hostile.client.received(Op.DisconnectReply), 'one op 6').to.have.length(1);
    expect(hostile.client.disconnectReason()).to.include({ code: 'E_KICKED' });
    // Logic's Disconnect removed that session, and only that one.
    await until(() => system().stores[0].serversByKeys([HOSTILE_KEY]), (m) => m.size === 0, 'logic to drop the kicked session');
    expect(await system().stores[0].serversByKeys([other.key])).to.deep.equal(new Map([[other.key, system().cloudAddress(0)]]));
    expect(other.client.closed).to.equal(false);

    // The next refreshes show it gone: no search result, and its row left the tree.
    await until(() => resultKeys(tab), (keys) => keys.length === 0, 'the search to come back empty', 10000);
    await treeNode(tab, hostile.path).waitFor({ state: 'detached', timeout: 10000 });
    await screenshot(tab, 'admin-page-kicked.png');
  });

  it('polls one refresh at a time, and not at all while the tab is hidden', async () => {
    const first = await stats(tab);
    const polled = await until(() => stats(tab), (s) => s.polls >= first.polls + 2, 'two more polls', 10000);
    expect(polled.maxRunning).to.equal(1);

    await until(() => stats(tab), (s) => s.running === 0, 'the poll in progress to end');
    await setVisibility(tab, 'hidden');
    const hidden = await stats(tab);
    await new Promise((r) => setTimeout(r, 4500));
    const later = await stats(tab);
    expect(later.polls, 'no poll while hidden').to.equal(hidden.polls);
    expect(later.requests, 'no request while hidden').to.equal(hidden.requests);
    expect(await tab.getByTestId('poll-state').textContent()).to.include('hidden');

    await setVisibility(tab, 'visible');
    const back = await until(() => stats(tab), (s) => s.polls > later.polls, 'a poll once visible again', 1000);
    expect(back.maxRunning).to.equal(1);
  });

  it('the page saw no errors', () => {
    expect(seen.pageErrors).to.deep.equal([]);
    expect(seen.consoleErrors).to.deep.equal([]);
    expect(fs.existsSync(path.join(OUTPUT_DIR, 'admin-page-kicked.png'))).to.equal(true);
  });
});

describe('admin page in headless Chromium: a token, and no kicking', function () {
  this.timeout(30000);
  let sys: SystemHarness | null = null;
  let browser: Browser | null = null;

  before(async function () {
    needsChromium(this);
    sys = await SystemHarness.start({ cloudOverrides: { admin: { token: ADMIN_TOKEN } } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    if (browser) await browser.close();
    browser = null;
    if (sys) await sys.stop();
    sys = null;
  });

  function system(): SystemHarness {
    if (!sys) throw new Error('system not started');
    return sys;
  }

  async function open(port: number): Promise<{ tab: Page; seen: ReturnType<typeof watch> }> {
    if (!browser) throw new Error('browser not started');
    const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const seen = watch(tab);
    await tab.goto(`http://127.0.0.1:${port}/`);
    return { tab, seen };
  }

  it('asks for the token on 401, keeps it in sessionStorage, and then shows the node without a kick button', async () => {
    const { client, auth } = await system().online(0, 'ws', { ...GOIM_TOKEN, mid: 4201 });
    const port = system().cloud[0].adminPort;
    const { tab, seen } = await open(port);
    await tab.getByTestId('token-form').waitFor({ state: 'visible' });
    expect(await tab.getByTestId('poll-state').textContent()).to.include('token');

    await tab.getByTestId('token-input').fill('not-the-token-0123456789');
    await tab.getByTestId('token-save').click();
    await textUntil(tab.getByTestId('token-message'), (t) => /refused/.test(t), 'the refused-token message');
    expect(await tab.getByTestId('token-form').isVisible()).to.equal(true);

    await tab.getByTestId('token-input').fill(ADMIN_TOKEN);
    await tab.getByTestId('token-save').click();
    await tab.getByTestId('token-form').waitFor({ state: 'hidden' });
    expect(await tab.evaluate("sessionStorage.getItem('im-admin-token')")).to.equal(ADMIN_TOKEN);
    await tab.getByTestId('headline-connections').waitFor();

    await tab.getByTestId('search-input').fill(auth.key);
    await tab.getByTestId('search-button').click();
    const row = tab.locator('[data-testid="connection-row"]');
    await row.first().waitFor();
    expect(await row.getByTestId('connection-key').textContent()).to.equal(auth.key);
    expect(await tab.getByTestId('kick-button').count(), 'no kick button when allowDestructive is false').to.equal(0);
    expect(await tab.getByTestId('kick-hint').textContent()).to.include('admin.allowDestructive');

    // A reload keeps the token: no prompt.
    await tab.reload();
    await tab.getByTestId('headline-connections').waitFor();
    expect(await tab.getByTestId('token-form').isVisible()).to.equal(false);
    await openDownTo(tab, await connectionPath(port, auth.key, ADMIN_TOKEN));
    expect(client.closed).to.equal(false);
    expect(seen.pageErrors).to.deep.equal([]);
    expect(seen.consoleErrors).to.deep.equal([]);
    await tab.close();
  });

  it('a logic node serves the page too: its tree, and no connection search', async () => {
    const { tab, seen } = await open(system().logic[0].adminPort);
    await textUntil(tab.getByTestId('node-title'), (t) => /^logic node /.test(t), 'the logic node title');
    await tab.locator('[data-testid="tree"] > [data-testid="tree-node"]').waitFor();
    expect(await tab.getByTestId('search-section').isVisible()).to.equal(false);
    expect(await tab.getByTestId('headline-connections').count()).to.equal(0);
    expect(seen.pageErrors).to.deep.equal([]);
    expect(seen.consoleErrors).to.deep.equal([]);
    await tab.close();
  });
});

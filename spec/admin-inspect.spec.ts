/**
 * `im-cloud inspect`: the real CLI (`node bin/im-cloud.js inspect`) as a
 * child process against a real cloud node with real clients. The printed
 * tree names the clients' connection actors with their keys; depth, paths,
 * paging, the token and the failures (unreachable, 401, no such actor)
 * behave as the usage says.
 */
import { expect } from 'chai';
import { actorLine, printable, shortState } from '../system/admin/inspect-command';
import { adminJson } from './support/admin-client';
import { ChildNode } from './support/child-node';
import { freePort } from './support/free-ports';
import { SystemHarness } from './support/system-harness';
import { GOIM_TOKEN } from './support/test-client';

const ADMIN_TOKEN = 'admin-inspect-spec-token-0123456789';

interface ActorsAnswer {
  actor: { path: string; name: string };
  children: Array<{ path: string; name: string }>;
  childCount: number;
}

async function connectionPath(port: number, key: string, token?: string): Promise<string> {
  const { connections } = await adminJson<{ connections: Array<{ key: string; path: string }> }>(port, `/connections?key=${encodeURIComponent(key)}`, token);
  expect(connections.map((c) => c.key)).to.deep.equal([key]);
  return connections[0].path;
}

/** Runs the CLI to its end; its environment has no admin token unless given. */
async function inspect(args: string[], env: Record<string, string> = {}): Promise<ChildNode> {
  const child = ChildNode.spawn({ args: ['inspect', ...args], env, removeEnvPrefixes: ['IM_ADMIN_', 'IM_LOGIC_'] });
  await child.waitForExit(15000);
  return child;
}

function lines(child: ChildNode): string[] {
  return child.stdout.split('\n').filter((l) => l !== '');
}

describe('im-cloud inspect: formatting', () => {
  it('escapes what could drive a terminal, and cuts a long state', () => {
    expect(printable('key\u001b[2J\nx\u0085')).to.equal('key\\u001b[2J\\u000ax\\u0085');
    expect(printable('a\u202eb\u2066c')).to.equal('a\\u202eb\\u2066c');
    expect(shortState({ phase: 'online', nodes: [{ healthy: true }], room: 'live://1', key: 'k', mid: 7 }))
      .to.equal('key=k mid=7 room=live://1 phase=online nodes=[{"healthy":true}]');
    expect(shortState({ key: 'x'.repeat(1000) })).to.have.length(400);
    expect(shortState({ key: 'x'.repeat(300) }, 50)).to.have.length(50).and.match(/…$/);
  });

  it('one actor per line: path at the start, name below it, the figures, children not opened, the state', () => {
    const a = { name: 'conn-1', path: '/cloud-1/connections/shard-0/conn-1', kind: 'connection', mailbox: 2, busy: true, restarts: 1, ageMs: 5, processed: 9, childCount: 0, state: { key: 'k1' } };
    expect(actorLine(a, 0, 0)).to.equal('/cloud-1/connections/shard-0/conn-1  connection  mailbox=2 restarts=1 processed=9 busy  key=k1');
    expect(actorLine({ ...a, busy: false, state: {} }, 2, 3)).to.equal('    conn-1  connection  mailbox=2 restarts=1 processed=9 children=3');
    // In a terminal 120 columns wide, the state is cut to fit; a narrow one still gets 32 characters of it.
    const long = actorLine({ ...a, state: { key: 'k'.repeat(200) } }, 1, 0, 120);
    expect(long).to.have.length(120).and.match(/…$/);
    expect(actorLine({ ...a, state: { key: 'k'.repeat(200) } }, 1, 0, 40).split('  ').pop()).to.have.length(32);
  });
});

describe('im-cloud inspect (the real CLI against a real cloud node)', function () {
  this.timeout(30000);
  let sys: SystemHarness | null = null;
  let url = '';
  let port = 0;
  const clients: Array<{ key: string; path: string; transport: string }> = [];

  before(async () => {
    sys = await SystemHarness.start();
    port = sys.cloud[0].adminPort;
    url = `http://127.0.0.1:${port}`;
    for (const [i, transport] of (['ws', 'tcp'] as const).entries()) {
      const { auth } = await sys.online(0, transport, { ...GOIM_TOKEN, mid: 5100 + i, room_id: 'live://inspect' });
      clients.push({ key: auth.key, path: await connectionPath(port, auth.key), transport });
    }
  });

  after(async () => {
    await ChildNode.killAll();
    if (sys) await sys.stop();
    sys = null;
  });

  it('prints the tree from the root down to the connection actors, each line naming its key, room and transport', async () => {
    const child = await inspect(['--url', url, '--depth', '3', '--limit', '100']);
    expect(child.exit, child.describe()).to.deep.equal({ code: 0, signal: null });
    expect(child.stderr).to.equal('');
    const out = lines(child);
    const root = (await adminJson<ActorsAnswer>(port, '/actors')).actor.path;
    expect(out[0]).to.match(new RegExp(`^${root}  `));
    for (const c of clients) {
      const name = c.path.split('/').pop() ?? '';
      const line = out.find((l) => l.startsWith(`      ${name}  `));
      expect(line, `a line for ${c.path} three levels down:\n${child.stdout}`).to.be.a('string');
      expect(line).to.match(/^ {6}conn-\S+ {2}connection {2}mailbox=\d+ restarts=0 processed=\d+/);
      expect(line).to.include(`key=${c.key}`).and.include('room=live://inspect').and.include(`transport=${c.transport}`);
      // Its shard is printed above it, one level up.
      const shard = c.path.split('/').slice(-2)[0];
      const shardIndex = out.findIndex((l) => l.startsWith(`    ${shard}  `));
      expect(shardIndex).to.be.greaterThan(0).and.lessThan(out.indexOf(line ?? ''));
    }
  });

  it('starts at the path given; --depth 0 prints that actor alone', async () => {
    const [c] = clients;
    const shard = c.path.slice(0, c.path.lastIndexOf('/'));
    const below = await inspect(['--url', url, '--depth', '1', shard]);
    expect(below.exit).to.deep.equal({ code: 0, signal: null });
    const out = lines(below);
    expect(out[0]).to.match(new RegExp(`^${shard}  `));
    expect(out.slice(1).some((l) => l.startsWith(`  ${c.path.split('/').pop() ?? ''}  connection  `) && l.includes(`key=${c.key}`))).to.equal(true);

    const alone = await inspect(['--url', url, '--depth', '0', c.path]);
    expect(alone.exit).to.deep.equal({ code: 0, signal: null });
    expect(lines(alone)).to.have.length(1);
    expect(lines(alone)[0]).to.match(new RegExp(`^${c.path}  connection  `)).and.include(`key=${c.key}`);
  });

  it('a child list longer than --limit shows its first page and "… N more"', async () => {
    const top = await adminJson<ActorsAnswer>(port, '/actors?limit=500');
    expect(top.childCount).to.be.greaterThan(2);
    const child = await inspect(['--url', url, '--depth', '1', '--limit', '2']);
    expect(child.exit).to.deep.equal({ code: 0, signal: null });
    const out = lines(child);
    expect(out).to.have.length(4);
    expect(out.slice(1, 3).map((l) => l.trim().split('  ')[0])).to.deep.equal(top.children.slice(0, 2).map((a) => a.name));
    expect(out[3]).to.equal(`  … ${top.childCount - 2} more`);
  });

  it('exits 1 naming the actor when the path is not running', async () => {
    const child = await inspect(['--url', url, '/no/such/actor']);
    expect(child.exit).to.deep.equal({ code: 1, signal: null });
    expect(child.stderr).to.match(/^im-cloud inspect: no actor at \/no\/such\/actor/);
    expect(child.stdout).to.equal('');
  });

  it('exits 1 with a clear message when nothing answers at the URL', async () => {
    const closed = await freePort();
    const child = await inspect(['--url', `http://127.0.0.1:${closed}`]);
    expect(child.exit).to.deep.equal({ code: 1, signal: null });
    expect(child.stderr).to.equal(`im-cloud inspect: cannot reach the admin endpoint at http://127.0.0.1:${closed}/ (ECONNREFUSED)\n`);
  });

  it('bad usage exits 2', async () => {
    for (const args of [['--depth', 'deep'], ['--limit', '0'], ['--url', 'not a url'], ['/a', '/b'], ['--frobnicate']]) {
      const child = await inspect(args);
      expect(child.exit, args.join(' ')).to.deep.equal({ code: 2, signal: null });
      expect(child.stderr, args.join(' ')).to.match(/^E_CONFIG_INVALID: /);
    }
  });

  describe('a node with admin.token', () => {
    let secured: SystemHarness | null = null;
    let securedUrl = '';

    before(async () => {
      secured = await SystemHarness.start({ cloudOverrides: { admin: { token: ADMIN_TOKEN } } });
      securedUrl = `http://127.0.0.1:${secured.cloud[0].adminPort}`;
      await secured.online(0, 'ws', { ...GOIM_TOKEN, mid: 5200 });
    });

    after(async () => {
      if (secured) await secured.stop();
      secured = null;
    });

    it('without the token: exit 1, naming the 401 and how to pass a token', async () => {
      const child = await inspect(['--url', securedUrl]);
      expect(child.exit).to.deep.equal({ code: 1, signal: null });
      expect(child.stderr).to.include('asks for a bearer token').and.include('E_ADMIN_UNAUTHORIZED').and.include('--token or set IM_ADMIN_TOKEN');
      const wrong = await inspect(['--url', securedUrl, '--token', 'wrong-token-0123456789']);
      expect(wrong.exit).to.deep.equal({ code: 1, signal: null });
      expect(wrong.stderr).to.include('the token given was refused');
    });

    it('with --token or IM_ADMIN_TOKEN it prints the tree', async () => {
      for (const child of [
        await inspect(['--url', securedUrl, '--token', ADMIN_TOKEN, '--depth', '3', '--limit', '100']),
        await inspect(['--url', securedUrl, '--depth', '3', '--limit', '100'], { IM_ADMIN_TOKEN: ADMIN_TOKEN }),
      ]) {
        expect(child.exit, child.describe()).to.deep.equal({ code: 0, signal: null });
        expect(lines(child).filter((l) => /^ {6}\S+ {2}connection {2}/.test(l))).to.have.length(1);
      }
    });
  });
});

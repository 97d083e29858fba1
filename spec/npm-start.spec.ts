/**
 * What the README tells a newcomer, run for real: `npm start` (its
 * `node bin/im-cloud.js start` part; `npm test`'s pretest has built already),
 * then the client command and the curl line from the start banner, each run
 * exactly as printed with `bash -c` in the repository root. The pushed message
 * must reach the client, SIGINT must drain (op 6 E_NODE_DRAINING) and exit 0,
 * and the README must show the very commands the banner prints for the default
 * ports.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { adminUrl, startBanner } from '../system/cli';
import { adminRequest } from './support/admin-client';
import { ChildNode, REPO_ROOT } from './support/child-node';
import { freePorts } from './support/free-ports';

const CLIENT_PREFIX = 'node bin/im-cloud.js client';
const CURL_PREFIX = 'curl -d';
const START_COMMAND = 'node bin/im-cloud.js start';
const BODY = 'hello from im-cloud';

interface StartPorts {
  readonly tcp: number;
  readonly ws: number;
  readonly cloudGrpc: number;
  readonly logicGrpc: number;
  readonly http: number;
  readonly cloudAdmin: number;
  readonly logicAdmin: number;
}

function startEnv(ports: StartPorts): Record<string, string> {
  return {
    IM_CLOUD_TCP_PORT: String(ports.tcp),
    IM_CLOUD_WS_PORT: String(ports.ws),
    IM_CLOUD_GRPC_PORT: String(ports.cloudGrpc),
    IM_LOGIC_GRPC_PORT: String(ports.logicGrpc),
    IM_LOGIC_HTTP_PORT: String(ports.http),
    IM_CLOUD_ADMIN_PORT: String(ports.cloudAdmin),
    IM_LOGIC_ADMIN_PORT: String(ports.logicAdmin),
  };
}

/** The environment of a pasted command: `node` is the node running these tests. */
function shellEnv(): Record<string, string> {
  return { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
}

/** Lines of `text` that, without indentation, start with `prefix`. */
function linesStartingWith(text: string, prefix: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(prefix));
}

/** The one line of the banner that starts with `prefix`. */
function bannerLine(banner: string, prefix: string): string {
  const lines = linesStartingWith(banner, prefix);
  if (lines.length !== 1) throw new Error(`expected one banner line starting with "${prefix}", got ${lines.length}:\n${banner}`);
  return lines[0];
}

/** Whether bash (as the pasted curl line will) finds a curl. */
function curlAvailable(): boolean {
  return spawnSync('bash', ['-c', 'command -v curl'], { env: { ...process.env, ...shellEnv() } }).status === 0;
}

function requireCurl(ctx: Mocha.Context): void {
  if (curlAvailable()) return;
  if (process.env.CI) throw new Error('curl is not installed (expected at /usr/bin/curl): the README\'s push command needs it; CI must install curl');
  ctx.skip();
}

describe('npm start, then the README\'s client command and curl line (child processes)', function () {
  this.timeout(45000);

  let children: ChildNode[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const c of children) console.log(`--- child ${c.process.spawnargs.join(' ')}\n${c.describe()}`);
    }
    children = [];
    await ChildNode.killAll();
  });

  function track(child: ChildNode): ChildNode {
    children.push(child);
    return child;
  }

  /** `node bin/im-cloud.js start` on free ports; resolves once its banner is out. */
  async function start(): Promise<{ node: ChildNode; ports: StartPorts; clientLine: string; curlLine: string }> {
    const [tcp, ws, cloudGrpc, logicGrpc, http, cloudAdmin, logicAdmin] = await freePorts(7, undefined);
    const ports: StartPorts = { tcp, ws, cloudGrpc, logicGrpc, http, cloudAdmin, logicAdmin };
    const node = track(ChildNode.spawn({ args: ['start'], env: startEnv(ports), removeEnvPrefixes: ['IM_LOGIC_'] }));
    await node.waitForLine((l) => l.trim().startsWith(CURL_PREFIX), 15000, `the start banner's "${CURL_PREFIX}" line`);
    const banner = node.otherStdout.join('\n');
    const started = node.logsWith('cloud node started')[0];
    expect(started, `"cloud node started" before the banner\n${node.describe()}`).to.not.equal(undefined);
    expect([started.tcp, started.ws, started.grpc], 'cloud ports from the env').to.deep.equal([tcp, ws, cloudGrpc]);
    const logicStarted = node.logsWith('logic node started')[0];
    expect(logicStarted, `"logic node started" before the banner\n${node.describe()}`).to.not.equal(undefined);
    expect([logicStarted.grpc, logicStarted.http], 'logic ports from the env').to.deep.equal([logicGrpc, http]);
    return { node, ports, clientLine: bannerLine(banner, CLIENT_PREFIX), curlLine: bannerLine(banner, CURL_PREFIX) };
  }

  it('npm start runs `node bin/im-cloud.js start` after its build (what these tests spawn)', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    const script = pkg.scripts?.start ?? '';
    const steps = script.split('&&').map((s) => s.trim());
    expect(steps, `package.json scripts.start: ${JSON.stringify(script)}`).to.deep.equal(['npm run build', START_COMMAND]);
  });

  it('the README shows the client command and curl line the banner prints for the default ports', () => {
    const cloud = loadCloudConfig({ env: {} });
    const logic = loadLogicConfig({ env: {} });
    expect([cloud.ws.port, logic.http.port], 'default ws and http ports').to.deep.equal([3102, 3111]);
    const admin = { cloud: adminUrl(cloud.admin.host, cloud.admin.port), logic: adminUrl(logic.admin.host, logic.admin.port) };
    const banner = startBanner(cloud, { tcp: cloud.tcp.port, ws: cloud.ws.port }, logic.http.port, logic.node.bindHost, admin);
    const expected = { client: bannerLine(banner, CLIENT_PREFIX), curl: bannerLine(banner, CURL_PREFIX) };
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const hint = `README.md must contain (as lines of their own, indentation allowed) exactly:\n${expected.client}\n${expected.curl}`;
    const clients = linesStartingWith(readme, CLIENT_PREFIX);
    const curls = linesStartingWith(readme, CURL_PREFIX);
    expect(clients, `README lines starting with "${CLIENT_PREFIX}"; ${hint}`).to.not.be.empty;
    expect(curls, `README lines starting with "${CURL_PREFIX}"; ${hint}`).to.not.be.empty;
    for (const line of clients) expect(line, `a README client command differs from the banner's; ${hint}`).to.equal(expected.client);
    for (const line of curls) expect(line, `a README curl line differs from the banner's; ${hint}`).to.equal(expected.curl);
  });

  it('the banner\'s client command receives the banner\'s curl push; SIGINT drains it (op 6 E_NODE_DRAINING) and exits 0', async function () {
    requireCurl(this);
    const { node, ports, clientLine, curlLine } = await start();

    // The banner is what startBanner prints for the ports the env asked for.
    const cloud = loadCloudConfig({ env: startEnv(ports) });
    const logic = loadLogicConfig({ env: startEnv(ports) });
    const admin = { cloud: `http://127.0.0.1:${ports.cloudAdmin}/`, logic: `http://127.0.0.1:${ports.logicAdmin}/` };
    const expectedBanner = startBanner(cloud, { tcp: ports.tcp, ws: ports.ws }, ports.http, logic.node.bindHost, admin);
    expect(node.otherStdout.join('\n'), 'the start banner').to.equal(expectedBanner.split('\n').filter((l) => l.trim() !== '').join('\n'));
    expect(clientLine).to.match(new RegExp(`^${CLIENT_PREFIX} --port ${ports.ws} --token '\\{.*\\}'$`));
    // Both admin endpoints the banner names serve, and say the node is ready.
    for (const port of [ports.cloudAdmin, ports.logicAdmin]) expect((await adminRequest(port, '/ready')).json, `admin on ${port}`).to.deep.include({ status: 'ready' });
    expect(curlLine).to.equal(`curl -d '${BODY}' 'http://127.0.0.1:${ports.http}/im/push/mids?operation=1000&mids=123'`);

    const client = track(ChildNode.shell(clientLine, { env: shellEnv() }));
    const authenticated = await client.waitForLine((l) => l.startsWith('authenticated:'), 10000, 'the client\'s "authenticated:" line');
    expect(authenticated).to.match(/^authenticated: key=\S+ mid=123 room=live:\/\/1000$/);

    const curl = track(ChildNode.shell(curlLine, { env: shellEnv() }));
    const curlExit = await curl.waitForExit(10000);
    expect(curlExit, `curl exit\n${curl.describe()}\nstdout: ${curl.stdout}`).to.deep.equal({ code: 0, signal: null });
    expect(JSON.parse(curl.stdout), 'the push API\'s reply').to.deep.include({ code: 0 });

    const message = await client.waitForLine((l) => l.startsWith('message '), 10000, 'the pushed message at the client');
    expect(message).to.match(new RegExp(`^message op=1000 ver=\\d+ seq=\\d+ body=${BODY}$`));

    node.signal('SIGINT');
    const disconnected = await client.waitForLine((l) => l.startsWith('disconnected by server:'), 10000, 'op 6 at the client after SIGINT');
    const reason = JSON.parse(disconnected.slice('disconnected by server:'.length)) as { code?: string };
    expect(reason.code, disconnected).to.equal('E_NODE_DRAINING');
    await client.waitForLine((l) => l.startsWith('closed:'), 10000, 'the client\'s "closed:" line');
    expect(await client.waitForExit(10000), 'the client exits 1 when the server closes it').to.deep.equal({ code: 1, signal: null });

    const exit = await node.waitForExit(15000);
    expect(exit, `start exit after SIGINT\n${node.describe()}`).to.deep.equal({ code: 0, signal: null });
    expect(node.logs.find((l) => l.message === 'signal received; draining')).to.include({ signal: 'SIGINT' });
    expect(node.logsWith('cloud node stopped'), 'cloud node stopped').to.have.length(1);
    expect(node.logsWith('logic node stopped'), 'logic node stopped').to.have.length(1);
    expect(node.stderr, 'start stderr').to.equal('');
    expect(client.stderr, 'client stderr').to.equal('');
    expect(client.otherStdout.filter((l) => l.startsWith('message ')), 'messages at the client').to.have.length(1);
  });

  it('client without --token exits 2 with E_CONFIG_INVALID', async () => {
    const client = track(ChildNode.spawn({ args: ['client', '--port', '1'] }));
    expect(await client.waitForExit(10000), client.describe()).to.deep.equal({ code: 2, signal: null });
    expect(client.stderr).to.match(/^E_CONFIG_INVALID: .*--token is required/);
    expect(client.stdout).to.equal('');
  });

  it('client with a token logic refuses prints the op-6 reason (E_AUTH_REFUSED) and exits 1', async () => {
    const { node, ports } = await start();
    const client = track(ChildNode.spawn({ args: ['client', '--port', String(ports.ws), '--token', '{"mid":"x"}'] }));
    expect(await client.waitForExit(10000), client.describe()).to.deep.equal({ code: 1, signal: null });
    const disconnected = client.otherStdout.find((l) => l.startsWith('disconnected by server:'));
    expect(disconnected, `op 6 at the client\n${client.describe()}`).to.be.a('string');
    const reason = JSON.parse((disconnected ?? '').slice('disconnected by server:'.length)) as { code?: string };
    expect(reason.code, disconnected).to.equal('E_AUTH_REFUSED');
    expect(client.otherStdout.some((l) => l.startsWith('authenticated:')), 'never authenticated').to.equal(false);
    expect(client.otherStdout[client.otherStdout.length - 1]).to.match(/^closed: /);
    expect(node.alive, 'start keeps running').to.equal(true);

    node.signal('SIGINT');
    expect(await node.waitForExit(15000), node.describe()).to.deep.equal({ code: 0, signal: null });
  });
});

/**
 * The real CLI (`node bin/im-cloud.js`) as a child process: running a cloud
 * node and draining it on a signal, refusing bad configuration with exit
 * code 2, and its other commands.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cloudOptions } from '../config/cloud-options';
import { ChildNode } from './support/child-node';
import { TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

/** Env for a node on free loopback ports that talks to `logic`. */
function nodeEnv(logic: TestLogicNode, extra: Record<string, string> = {}): Record<string, string> {
  return {
    IM_CLOUD_BIND_HOST: '127.0.0.1',
    IM_CLOUD_TCP_PORT: '0',
    IM_CLOUD_WS_PORT: '0',
    IM_CLOUD_GRPC_PORT: '0',
    IM_CLOUD_ADMIN_PORT: '0',
    IM_CLOUD_LOGIC_NODES: logic.address,
    IM_CLOUD_LOG_LEVEL: 'info',
    ...extra,
  };
}

describe('im-cloud CLI (child process)', function () {
  this.timeout(30000);

  let tmp: string;
  let clients: TestClient[] = [];
  let logic: TestLogicNode | null = null;
  let last: ChildNode | null = null;

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'im-cloud-cli-'));
  });

  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && last) console.log(last.describe());
    for (const c of clients) c.destroy();
    clients = [];
    await ChildNode.killAll();
    last = null;
    await logic?.stop();
    logic = null;
  });

  function run(args: string[], env: Record<string, string> = {}): ChildNode {
    last = ChildNode.spawn({ args, env });
    return last;
  }

  function file(name: string, content: string): string {
    const p = path.join(tmp, name);
    writeFileSync(p, content);
    return p;
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`cloud: ${signal} drains (op 6 E_NODE_DRAINING to every client, Disconnect to logic) and exits 0`, async () => {
      const l = await new TestLogicNode().start();
      logic = l;
      const node = run(['cloud'], nodeEnv(l));
      const ports = await node.started();
      const ws = await TestClient.online('ws', ports.ws);
      const tcp = await TestClient.online('tcp', ports.tcp);
      clients.push(ws.client, tcp.client);

      node.signal(signal);
      await Promise.all([ws.client.waitForClose(10000), tcp.client.waitForClose(10000)]);
      for (const c of [ws.client, tcp.client]) {
        expect(c.disconnectReason(), `${c.transport} client's op 6`).to.include({ code: 'E_NODE_DRAINING' });
      }
      await l.waitFor((calls) => calls.disconnect.length >= 2, 10000, 'Disconnect for both clients');
      expect(l.calls.disconnect.map((d) => d.key).sort()).to.deep.equal([ws.auth.key, tcp.auth.key].sort());

      const exit = await node.waitForExit(15000);
      expect(exit).to.deep.equal({ code: 0, signal: null });
      expect(node.logs.find((line) => line.message === 'signal received; draining')).to.include({ signal });
      expect(node.logsWith('cloud node stopped')).to.have.length(1);
      expect(node.stderr).to.equal('');
    });
  }

  it('cloud: reads --config, and IM_CLOUD_* variables win over the file', async () => {
    const l = await new TestLogicNode().start();
    logic = l;
    const config = file('good.json', JSON.stringify({ ws: { path: '/from-file' }, tcp: { port: 1 }, log: { level: 'info' } }));
    const node = run(['cloud', '--config', config], nodeEnv(l));
    const ports = await node.started();
    const started = node.logsWith('cloud node started')[0];
    expect(started.wsPath).to.equal('/from-file');
    expect(ports.tcp, 'IM_CLOUD_TCP_PORT=0 beats the file\'s 1').to.not.equal(1);
    const { client } = await TestClient.online('tcp', ports.tcp);
    clients.push(client);
    node.signal('SIGTERM');
    expect(await node.waitForExit(15000)).to.deep.equal({ code: 0, signal: null });
  });

  describe('bad configuration exits 2 before binding anything', () => {
    it('an env value that is not a port names the option, the variable and E_CONFIG_INVALID', async () => {
      const node = run(['cloud'], { IM_CLOUD_TCP_PORT: 'notaport' });
      expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
      expect(node.stderr).to.match(/^E_CONFIG_INVALID: /);
      expect(node.stderr).to.include('tcp.port (IM_CLOUD_TCP_PORT)').and.include('"notaport"');
      expect(node.logsWith('cloud node started')).to.have.length(0);
    });

    for (const kind of ['cloud', 'logic'] as const) {
      it(`${kind}: an admin endpoint bound beyond loopback without a token refuses to start, saying why`, async () => {
        const prefix = kind === 'cloud' ? 'IM_CLOUD' : 'IM_LOGIC';
        const node = run([kind], { [`${prefix}_ADMIN_HOST`]: '0.0.0.0' });
        expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
        expect(node.stderr).to.match(/^E_CONFIG_INVALID: /);
        expect(node.stderr).to.include('admin.host 0.0.0.0 is not a loopback address: set admin.token');
        expect(node.logsWith(`${kind} node started`)).to.have.length(0);
      });
    }

    it('an unknown option in the --config file is named', async () => {
      const config = file('unknown.json', JSON.stringify({ tcp: { prot: 4101 } }));
      const node = run(['cloud', '--config', config]);
      expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
      expect(node.stderr).to.match(/^E_CONFIG_INVALID: /);
      expect(node.stderr).to.include('tcp.prot').and.include('unknown option');
    });

    it('a --config file that is not JSON is E_CONFIG_FILE naming the file', async () => {
      const config = file('broken.json', '{ "tcp": { "port": 4101 ');
      const node = run(['cloud', '--config', config]);
      expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
      expect(node.stderr).to.match(/^E_CONFIG_FILE: /);
      expect(node.stderr).to.include(config).and.include('not valid JSON');
    });

    it('a missing config file (IM_CLOUD_CONFIG) is E_CONFIG_FILE', async () => {
      const missing = path.join(tmp, 'missing.json');
      const node = run(['cloud'], { IM_CLOUD_CONFIG: missing });
      expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
      expect(node.stderr).to.match(/^E_CONFIG_FILE: /);
      expect(node.stderr).to.include(missing);
    });

    it('--config without a value is E_CONFIG_INVALID', async () => {
      const node = run(['cloud', '--config']);
      expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
      expect(node.stderr).to.match(/^E_CONFIG_INVALID: .*--config needs a value/);
    });
  });

  it('options: prints the markdown option table, one row per option', async () => {
    const node = run(['options']);
    expect(await node.waitForExit()).to.deep.equal({ code: 0, signal: null });
    const lines = node.stdout.trim().split('\n');
    expect(lines[0]).to.equal('| option (file) | environment | default | meaning |');
    expect(lines[1]).to.equal('|---|---|---|---|');
    expect(lines).to.have.length(2 + cloudOptions.length);
    for (const option of cloudOptions) {
      expect(node.stdout, option.path).to.include(`| \`${option.path}\` | \`${option.env}\` |`);
    }
  });

  it('an unknown command exits 2 with the usage on stderr', async () => {
    const node = run(['frobnicate']);
    expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
    expect(node.stderr).to.include('unknown command: frobnicate').and.include('usage: im-cloud');
    expect(node.stdout).to.equal('');
  });

  it('client --send: op 5 prints as `ack` when logic took the message and as `error ack` with its code when Receive failed', async () => {
    const l = await new TestLogicNode().start();
    logic = l;
    const node = run(['cloud'], nodeEnv(l));
    const ports = await node.started();
    const token = JSON.stringify({ mid: 123, room_id: 'live://1000', accepts: [1000] });
    const acks = (c: ChildNode): string[] => c.otherStdout.filter((line) => /^(error )?ack /.test(line)).sort();

    const taken = run(['client', '--port', String(ports.ws), '--token', token, '--send', 'hello', '--send', '{"error":"E_X"}']);
    await taken.waitForLine(() => acks(taken).length === 2, 10000, 'two op-5 lines');
    expect(acks(taken)).to.deep.equal(['ack seq=2 body=hello', 'ack seq=3 body={"error":"E_X"}']);

    l.refuseReceiveWith = grpc.status.INTERNAL;
    const refused = run(['client', '--tcp', '--port', String(ports.tcp), '--token', token, '--send', 'hello']);
    await refused.waitForLine(() => acks(refused).length === 1, 10000, 'one op-5 line');
    expect(acks(refused)).to.deep.equal(['error ack seq=2 E_RECEIVE_REFUSED: logic did not accept the upstream message']);
    expect(l.calls.receive.map((r) => r.proto?.body.toString()).sort()).to.deep.equal(['hello', 'hello', '{"error":"E_X"}']);
  });

  it('no command exits 2 with the usage; help exits 0', async () => {
    const none = run([]);
    expect(await none.waitForExit()).to.deep.equal({ code: 2, signal: null });
    expect(none.stdout).to.include('usage: im-cloud');
    const help = run(['help']);
    expect(await help.waitForExit()).to.deep.equal({ code: 0, signal: null });
    expect(help.stdout).to.include('usage: im-cloud');
  });
});

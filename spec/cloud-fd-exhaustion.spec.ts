/**
 * Requirement: running out of file descriptors pauses accepting, is logged
 * and counted, and never crashes the node; accepting resumes when
 * descriptors free up. Tested for real: the CLI runs as a child process under
 * `ulimit -n 128` and this test opens sockets until the child runs out.
 *
 * Why it needs a test of its own: at EMFILE libuv accepts and closes pending
 * connections itself and Node emits nothing, so a node that waits for an
 * 'error' event never notices and silently drops every new client (see
 * system/edges/accept-guard.ts).
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import type { CloudClient } from '../proto/generated/im/cloud/Cloud';
import { Op } from '../system/codec/packet';
import { closeClientChannel, loadWireProtos } from '../system/proto-loader';
import { ChildNode, LogLine, sleep, StartedPorts } from './support/child-node';
import { rawUpgrade } from './support/raw-upgrade';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

/** Connects a raw TCP socket that never sends a byte; resolves with the socket or the reason it failed. */
function connectRaw(port: number, timeoutMs = 2000): Promise<net.Socket | string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('connect timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    // Also after connecting: a socket the child never accepted is reset when its listener closes.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/** One attempt to connect and authenticate over tcp; a string says why it did not work. */
async function tryOnline(port: number): Promise<TestClient | string> {
  let client: TestClient;
  try {
    client = await TestClient.tcp(port);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
  client.send(Op.Auth, JSON.stringify(GOIM_TOKEN));
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (client.received(Op.AuthReply).length > 0) return client;
    if (client.closed) return 'closed before op 8';
    await sleep(20);
  }
  client.destroy();
  return 'no op 8 within 3 s';
}

/** Retries tryOnline until it works or the deadline passes. */
async function onlineWithin(port: number, timeoutMs: number): Promise<{ client: TestClient | null; failures: string[] }> {
  const failures: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await tryOnline(port);
    if (typeof result !== 'string') return { client: result, failures };
    failures.push(result);
    await sleep(100);
  }
  return { client: null, failures };
}

function unary(call: (cb: (err: grpc.ServiceError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}

const isPause = (code: string) => (l: LogLine): boolean => l.message === 'accepting paused' && l.code === code;

describe('cloud node: accepting under descriptor exhaustion (real CLI child process)', function () {
  this.timeout(60000);

  let logic: TestLogicNode;
  let child: ChildNode | null = null;
  let cloud: CloudClient | null = null;
  let sockets: net.Socket[] = [];
  let clients: TestClient[] = [];

  beforeEach(async () => {
    logic = await new TestLogicNode().start();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && child) console.log(child.describe());
    for (const s of sockets) s.destroy();
    for (const c of clients) c.destroy();
    sockets = [];
    clients = [];
    if (cloud) closeClientChannel(cloud);
    cloud = null;
    await ChildNode.killAll();
    child = null;
    await logic.stop();
  });

  function startChild(env: Record<string, string>, openFileLimit?: number): Promise<StartedPorts> {
    child = ChildNode.spawn({
      args: ['cloud'],
      openFileLimit,
      env: {
        IM_CLOUD_BIND_HOST: '127.0.0.1',
        IM_CLOUD_TCP_PORT: '0',
        IM_CLOUD_WS_PORT: '0',
        IM_CLOUD_GRPC_PORT: '0',
        IM_CLOUD_LOGIC_NODES: logic.address,
        IM_CLOUD_HANDSHAKE_TIMEOUT_MS: '60000',
        IM_CLOUD_ACCEPT_RETRY_MS: '200',
        IM_CLOUD_SWEEP_INTERVAL_MS: '100',
        IM_CLOUD_LOG_LEVEL: 'info',
        ...env,
      },
    });
    return child.started();
  }

  function running(): ChildNode {
    if (!child) throw new Error('no child node');
    return child;
  }

  it('ulimit -n 128: pauses on EMFILE, keeps serving its clients, resumes once sockets close, stops cleanly', async () => {
    const ports = await startChild({ IM_CLOUD_MAX_CONNECTIONS: '100000' }, 128);
    const node = running();

    // A client online before exhaustion, and a gRPC channel already connected.
    const first = await tryOnline(ports.tcp);
    if (typeof first === 'string') throw new Error(`first client: ${first}`);
    clients.push(first);
    const { key } = JSON.parse(first.received(Op.AuthReply)[0].body.toString('utf8')) as { key: string };
    const rpc = new (loadWireProtos().im.cloud.Cloud)(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure());
    cloud = rpc;
    await unary((cb) => rpc.Ping({}, cb));

    // Exhaust the child's descriptors with idle sockets.
    let refusedAt = -1;
    let refusal = '';
    for (let i = 0; i < 300 && refusedAt === -1; i++) {
      const result = await connectRaw(ports.tcp);
      if (typeof result === 'string') {
        refusedAt = i;
        refusal = result;
      } else {
        sockets.push(result);
      }
    }
    expect(refusedAt, `connects never started failing (first failure at attempt ${refusedAt}: ${refusal})`).to.be.greaterThan(0);
    // Connections the kernel completed but the child never accepted are reset when its listeners close.
    await sleep(300);
    const idle = sockets.filter((s) => !s.destroyed && s.readyState === 'open');
    expect(idle.length, 'idle sockets the child holds').to.be.greaterThan(60);

    expect(node.alive, node.describe()).to.equal(true);
    const pause = await node.waitForLog(isPause('E_ACCEPT_EMFILE'), 5000, 'accepting paused (E_ACCEPT_EMFILE)');
    expect(pause.level).to.equal('warn');

    // The client that was online keeps working.
    await unary((cb) => rpc.PushMsg({ keys: [key], protoOp: 1000, proto: { ver: 1, op: 1000, seq: 0, body: Buffer.from('still here') } }, cb));
    const pushed = await first.waitFor((p) => p.op === 1000, 5000, 'the push after exhaustion');
    expect(pushed.body.toString()).to.equal('still here');
    expect(await first.heartbeat()).to.equal(1);

    // Free descriptors: accepting resumes and a new client gets in.
    const pauseIndex = node.logs.indexOf(pause);
    for (const s of idle.slice(0, 60)) s.destroy();
    const { client, failures } = await onlineWithin(ports.tcp, 10000);
    expect(client, `no new client within 10 s; attempts failed with: ${failures.join(', ')}`).to.not.equal(null);
    if (client) clients.push(client);
    expect(node.logs.slice(pauseIndex).some((l) => l.message === 'accepting resumed'), 'an "accepting resumed" line after the pause').to.equal(true);
    expect(node.alive).to.equal(true);

    node.signal('SIGTERM');
    const exit = await node.waitForExit(15000);
    expect(exit, node.describe()).to.deep.equal({ code: 0, signal: null });
    expect(node.logsWith('cloud node stopped')).to.have.length(1);
  });

  it('limits.maxConnections = 5: the 6th socket is refused (op 6 / 503 E_NODE_FULL) with the listeners open, logged once at warn, never a pause', async () => {
    const ports = await startChild({ IM_CLOUD_MAX_CONNECTIONS: '5' });
    const node = running();

    for (let i = 0; i < 5; i++) {
      const result = await connectRaw(ports.tcp);
      if (typeof result === 'string') throw new Error(`connection ${i + 1} of 5 failed: ${result}`);
      sockets.push(result);
    }
    for (let i = 0; i < 3; i++) {
      const refused = await TestClient.tcp(ports.tcp);
      clients.push(refused);
      await refused.waitForClose(5000);
      expect(refused.disconnectReason()?.code, `refusal ${i + 1}`).to.equal('E_NODE_FULL');
    }
    const answer = await rawUpgrade(ports.ws);
    expect(answer.status, 'the ws listener answers too').to.equal(503);
    expect(JSON.parse(answer.body)).to.include({ code: 'E_NODE_FULL' });

    const line = await node.waitForLog((l) => l.message === 'client sockets refused' && l.code === 'E_NODE_FULL', 5000, 'the refusal logged');
    expect(line.level).to.equal('warn');
    expect(line.maxConnections).to.equal(5);
    expect(node.logsWith('client sockets refused'), 'four refusals, one line').to.have.length(1);
    expect(node.logsWith('accepting paused')).to.have.length(0);
    expect(node.alive).to.equal(true);

    for (const s of sockets.splice(0, 2)) s.destroy();
    const { client, failures } = await onlineWithin(ports.tcp, 5000);
    expect(client, `no new client after the closes; attempts failed with: ${failures.join(', ')}`).to.not.equal(null);
    if (client) clients.push(client);
  });
});

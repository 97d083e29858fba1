/**
 * SIGTERM to real node processes (`node bin/im-cloud.js cloud|logic`): a
 * cloud node holding 200 real clients drains them at its configured rate,
 * each told to reconnect with a jittered hint, logic hears one Disconnect
 * for each, and the process exits 0 within shutdown.deadlineMs; a rate too
 * slow for the deadline is raised so the drain still ends in time; a logic
 * node's waits are cut to fit its deadline.
 *
 * Timing is checked only loosely: the op 6s must be spread over at least
 * half the time count/rate predicts (all at once would be a few ms), and an
 * exit code of 0 is the proof of the deadline (past it the CLI exits 3).
 */
import { expect } from 'chai';
import http2 from 'node:http2';
import net from 'node:net';
import { parseDisconnectBody, DisconnectBody } from '../system/codec/disconnect-body';
import { Op } from '../system/codec/packet';
import { adminRequest } from './support/admin-client';
import { ChildNode } from './support/child-node';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const CLIENTS = 200;

function cloudEnv(logic: TestLogicNode, extra: Record<string, string>): Record<string, string> {
  return {
    IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0', IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0',
    IM_CLOUD_LOGIC_NODES: logic.address, IM_CLOUD_GRPC_SHUTDOWN_GRACE_MS: '1000', IM_CLOUD_LOG_LEVEL: 'info', ...extra,
  };
}

interface Told {
  readonly client: TestClient;
  readonly key: string;
  /** When its op 6 arrived (ms since the epoch), once it has. */
  at: number | null;
}

/** CLIENTS online clients, half ws and half tcp, each recording when its op 6 arrives. */
async function connectClients(ports: { ws: number; tcp: number }, prefix: string): Promise<Told[]> {
  const out: Told[] = [];
  for (let from = 0; from < CLIENTS; from += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, async (_, j) => {
      const i = from + j;
      const key = `${prefix}-${i}`;
      const transport = i % 2 === 0 ? 'ws' : 'tcp';
      const { client } = await TestClient.online(transport, transport === 'ws' ? ports.ws : ports.tcp, { ...GOIM_TOKEN, key });
      return { client, key, at: null } as Told;
    }));
    out.push(...batch);
  }
  for (const told of out) {
    void told.client.waitFor((p) => p.op === Op.DisconnectReply, 30_000, 'op 6').then(() => { told.at = Date.now(); }, () => undefined);
  }
  return out;
}

function op6(client: TestClient): DisconnectBody | null {
  const packet = client.received(Op.DisconnectReply)[0];
  return packet ? parseDisconnectBody(packet.body) : null;
}

describe('drain on SIGTERM (real child processes)', function () {
  this.timeout(40_000);

  let logic: TestLogicNode | null = null;
  let clients: TestClient[] = [];
  let last: ChildNode | null = null;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && last) console.log(last.describe());
    for (const c of clients) c.destroy();
    clients = [];
    await ChildNode.killAll();
    last = null;
    await logic?.stop();
    logic = null;
  });

  it('cloud: /ready 503 at once, new clients refused, every client told at about the rate with a jittered hint, one Disconnect each, exit 0', async () => {
    const rate = 100;
    const deadlineMs = 10_000;
    logic = await new TestLogicNode().start();
    const node = ChildNode.spawn({ args: ['cloud'], env: cloudEnv(logic, { IM_CLOUD_DRAIN_RATE: String(rate), IM_CLOUD_SHUTDOWN_DEADLINE_MS: String(deadlineMs) }) });
    last = node;
    const ports = await node.started();
    const adminPort = Number(node.logsWith('cloud node started')[0].admin);
    const told = await connectClients(ports, 'drain-proc');
    clients = told.map((t) => t.client);
    expect((await adminRequest(adminPort, '/ready')).status).to.equal(200);

    const signalledAt = Date.now();
    node.signal('SIGTERM');

    // /ready answers 503 before the drain is far along: readiness flips first.
    let ready = await adminRequest(adminPort, '/ready');
    while (ready.status === 200) ready = await adminRequest(adminPort, '/ready');
    expect(ready.status).to.equal(503);
    expect(ready.json).to.deep.include({ status: 'draining' });
    const toldWhenUnready = told.filter((t) => t.at !== null).length;
    expect(toldWhenUnready, 'clients told by the time /ready answered 503').to.be.below(CLIENTS / 2);

    // New clients are refused: the client listeners are closed.
    const attempt = (connect: () => Promise<TestClient>): Promise<string> => connect().then(
      (c) => { clients.push(c); return 'connected'; },
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    expect(await attempt(() => TestClient.ws(ports.ws)), 'a ws client while draining').to.equal('ECONNREFUSED');
    expect(await attempt(() => TestClient.tcp(ports.tcp)), 'a tcp client while draining').to.equal('ECONNREFUSED');

    for (const t of told) await t.client.waitForClose(deadlineMs);
    const exit = await node.waitForExit(deadlineMs);
    const exitedInMs = Date.now() - signalledAt;
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(exitedInMs, 'from the signal to the exit').to.be.below(deadlineMs);

    const bodies = told.map((t) => op6(t.client));
    expect(bodies.filter((b) => b?.code === 'E_NODE_DRAINING' && b.reconnect !== undefined), 'op 6 E_NODE_DRAINING with a hint').to.have.length(CLIENTS);
    const afterMs = bodies.map((b) => b?.reconnect?.afterMs ?? -1);
    expect(new Set(afterMs).size, 'distinct reconnect hints').to.be.above(CLIENTS / 2);
    expect(Math.min(...afterMs)).to.be.at.least(0);

    const times = told.map((t) => t.at ?? 0).sort((a, b) => a - b);
    expect(times[0], 'every op 6 was timed').to.be.above(0);
    const spreadMs = times[times.length - 1] - times[0];
    expect(spreadMs, `op 6s spread over (count/rate = ${(CLIENTS / rate) * 1000} ms)`).to.be.at.least((CLIENTS / rate) * 1000 * 0.5);

    expect(logic.calls.disconnect.map((d) => d.key).sort()).to.deep.equal(told.map((t) => t.key).sort());
    const started = node.logsWith('drain started')[0];
    expect(started).to.include({ level: 'info', connections: CLIENTS, ratePerSec: rate });
    expect(node.logsWith('drain rate raised so the stop ends within shutdown.deadlineMs')).to.have.length(0);
    expect(node.logsWith('drain finished')[0]).to.include({ level: 'info', told: CLIENTS, cutConnections: 0, cutLogicCalls: 0 });
    expect(node.stderr).to.equal('');
  });

  it('cloud: a rate too slow for the deadline is raised (and logged); the drain ends and the process exits 0 in time', async () => {
    const deadlineMs = 3000;
    logic = await new TestLogicNode().start();
    const node = ChildNode.spawn({ args: ['cloud'], env: cloudEnv(logic, { IM_CLOUD_DRAIN_RATE: '1', IM_CLOUD_SHUTDOWN_DEADLINE_MS: String(deadlineMs) }) });
    last = node;
    const ports = await node.started();
    const told = await connectClients(ports, 'drain-slow');
    clients = told.map((t) => t.client);

    node.signal('SIGTERM');
    const exit = await node.waitForExit(deadlineMs + 5000);
    expect(exit, 'exit 0: the stop ended before the deadline (past it the CLI exits 3)').to.deep.equal({ code: 0, signal: null });

    const raised = node.logsWith('drain rate raised so the stop ends within shutdown.deadlineMs')[0];
    expect(raised).to.include({ level: 'warn', connections: CLIENTS, configuredRatePerSec: 1 });
    expect(Number(raised.ratePerSec)).to.be.above(CLIENTS / (deadlineMs / 1000));
    for (const t of told) await t.client.waitForClose(1000);
    const bodies = told.map((t) => op6(t.client));
    expect(bodies.filter((b) => b?.code === 'E_NODE_DRAINING' && b.reconnect !== undefined)).to.have.length(CLIENTS);
    // Told faster than 1 a second, they are asked to come back about 1 a second all the same.
    expect(Math.max(...bodies.map((b) => b?.reconnect?.afterMs ?? 0))).to.be.above((CLIENTS / 2) * 1000);
    expect(node.logsWith('drain finished')[0]).to.include({ told: CLIENTS });
    const keys = logic.calls.disconnect.map((d) => d.key);
    expect(new Set(keys).size, 'never two Disconnects for one client').to.equal(keys.length);
  });

  it('logic: waits longer than the deadline (an HTTP request and a gRPC call in flight, grace 20 s) are cut to fit; exit 0', async () => {
    const deadlineMs = 2000;
    const node = ChildNode.spawn({
      args: ['logic'], removeEnvPrefixes: ['IM_LOGIC_'],
      env: {
        IM_LOGIC_BIND_HOST: '127.0.0.1', IM_LOGIC_GRPC_PORT: '0', IM_LOGIC_HTTP_PORT: '0', IM_LOGIC_ADMIN_PORT: '0',
        IM_LOGIC_SHUTDOWN_DEADLINE_MS: String(deadlineMs), IM_LOGIC_GRPC_SHUTDOWN_GRACE_MS: '20000', IM_LOGIC_LOG_LEVEL: 'info',
      },
    });
    last = node;
    const started = await node.waitForLog((l) => l.message === 'logic node started', 10_000, '"logic node started"');

    // An HTTP push whose body never finishes, and a gRPC call whose message never comes: both stay in flight.
    const upload = net.connect(Number(started.http), '127.0.0.1');
    await new Promise((resolve) => upload.once('connect', resolve));
    upload.write('POST /im/push/keys?keys=k&operation=1000 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
    const uploadClosed = new Promise((resolve) => upload.once('close', resolve));
    upload.on('error', () => undefined);
    const session = http2.connect(`http://127.0.0.1:${Number(started.grpc)}`);
    session.on('error', () => undefined);
    const call = session.request({ ':method': 'POST', ':path': '/im.logic.Logic/Receive', 'content-type': 'application/grpc', te: 'trailers' });
    call.on('error', () => undefined);
    const callEnded = new Promise((resolve) => call.once('close', resolve));
    await new Promise((resolve) => session.once('remoteSettings', resolve));

    node.signal('SIGTERM');
    const exit = await node.waitForExit(deadlineMs + 5000);
    expect(exit, 'exit 0: the stop ended before the deadline (past it the CLI exits 3)').to.deep.equal({ code: 0, signal: null });
    await Promise.all([uploadClosed, callEnded]);
    session.destroy();
    const stopped = node.logsWith('logic node stopped')[0];
    // It did wait for them (so they were in flight), for the share of the deadline each wait got, not for their own bounds.
    expect(Number(stopped.tookMs)).to.be.at.least(deadlineMs / 4).and.below(deadlineMs);
    expect(node.logsWith('shutdown deadline passed; exiting before the stop finished')).to.have.length(0);
  });
});

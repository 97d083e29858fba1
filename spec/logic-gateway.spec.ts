/**
 * Issue 8, item 6a: bounded calls from a cloud node to logic, always over
 * real gRPC to a TestLogicNode (which can delay its answers).
 *
 * First the logic gateway actor alone (a runtime of its own, a gRPC client,
 * a clock the test may move forward), where queue and deadline behaviour can
 * be set up exactly; then a whole cloud node (CloudHarness) for what a
 * client sees: the op-6 reason, the connection actor's bounds, and which
 * calls logic gets.
 */
import { expect } from 'chai';
import type { GatewayDeps, GatewayMsg } from '../actors/logic-gateway-actor';
import { logicGatewayActor } from '../actors/logic-gateway-actor';
import type { ConnectResult, Log, Outcome } from '../actors/ports';
import type { ActorRef } from '../system/actor-kind';
import { ActorRuntime } from '../system/actor-runtime';
import { Op } from '../system/codec/packet';
import { GrpcLogicClient } from '../system/logic-client';
import { silentLogger } from '../system/logger';
import { Metrics } from '../system/metrics';
import type { MetricName, PickArgs } from '../system/metrics-catalogue';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta?: Record<string, unknown>;
}

/** What a connect's reply delivered, and when (ms after the test's start mark). */
interface Answer {
  readonly outcome: Outcome<ConnectResult>;
  readonly at: number;
}

let runtimeSerial = 0;

describe('logic gateway: bounded calls (the actor over real gRPC)', () => {
  let runtime: ActorRuntime;
  let logic: TestLogicNode[];
  let clients: GrpcLogicClient[];
  let metrics: Metrics;
  let lines: LogLine[];
  /** Added to Date.now() for the gateway: lets a test age queued calls without waiting. */
  let clockOffset: number;
  let gateway: ActorRef<GatewayMsg>;
  let started: number;

  const log: Log = {
    error: (message, meta) => lines.push({ level: 'error', message, meta }),
    warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
    info: (message, meta) => lines.push({ level: 'info', message, meta }),
    debug: (message, meta) => lines.push({ level: 'debug', message, meta }),
  };

  async function startGateway(options: { maxInFlight: number; maxQueued: number; callTimeoutMs: number; logicNodes?: number; delayMs?: number }): Promise<void> {
    logic = await Promise.all(Array.from({ length: options.logicNodes ?? 1 }, () => new TestLogicNode().start()));
    for (const node of logic) node.delayMs = options.delayMs ?? 0;
    clients = logic.map((node) => new GrpcLogicClient(node.address));
    const deps: GatewayDeps = {
      nodes: clients, serverId: () => '127.0.0.1:1', roomDirectories: [], stats: () => ({ connCount: 0, ipCount: 0 }),
      maxInFlight: options.maxInFlight, maxQueued: options.maxQueued, callTimeoutMs: options.callTimeoutMs,
      renewOnlineTimeoutMs: 10_000, renewOnlineIntervalMs: 10_000, now: () => Date.now() + clockOffset, metrics, log,
    };
    gateway = runtime.spawnRoot(logicGatewayActor, 'logic-gateway', deps);
    started = Date.now();
  }

  /** Tells the gateway a Connect; the returned promise resolves with its answer. */
  function connect(token: object): Promise<Answer> {
    return new Promise((resolve) => {
      gateway.tell({
        type: 'connect', cookie: '', token: Buffer.from(JSON.stringify({ ...GOIM_TOKEN, ...token })), connId: 'test.1',
        reply: (outcome) => resolve({ outcome, at: Date.now() - started }),
      });
    });
  }

  /** Tells the gateway the Disconnect of the session under `key`. */
  function disconnect(key: string): void {
    gateway.tell({ type: 'disconnect', mid: '1', key, connId: `test.${key}` });
  }

  function gatewayState(): { inFlight: number; queued: number } {
    return runtime.list({ kind: 'logic-gateway', withState: true })[0].state as { inFlight: number; queued: number };
  }

  function errorOf(answer: Answer): { code: string; message: string } {
    if (answer.outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(answer.outcome.value)}`);
    return { code: answer.outcome.error.code, message: answer.outcome.error.message };
  }

  const rejected = (rpc: string, cause: string): number => metrics.get('im_logic_calls_rejected_total', { rpc, cause });

  beforeEach(() => {
    metrics = new Metrics();
    lines = [];
    clockOffset = 0;
    runtime = new ActorRuntime(`gateway-spec-${++runtimeSerial}`, silentLogger(), metrics, { onCriticalFailure: () => undefined });
  });

  afterEach(async () => {
    runtime.shutdown();
    for (const client of clients ?? []) client.close();
    await Promise.all((logic ?? []).map((node) => node.stop()));
  });

  it('a full queue refuses at once: Connect gets E_LOGIC_BUSY, a Heartbeat is counted and logged, nothing is sent; a Disconnect still waits (owed)', async () => {
    await startGateway({ maxInFlight: 1, maxQueued: 1, callTimeoutMs: 5000, delayMs: 400 });
    let settledAhead = 0;
    const first = connect({ key: 'first' }).then((a) => { settledAhead++; return a; });
    const second = connect({ key: 'second' }).then((a) => { settledAhead++; return a; });
    const third = await connect({ key: 'third' });
    expect(errorOf(third).code).to.equal('E_LOGIC_BUSY');
    expect(settledAhead, 'refused at once, not after the calls ahead of it were answered').to.equal(0);
    gateway.tell({ type: 'heartbeat', mid: '1', key: 'k', connId: 'test.2' });
    gateway.tell({ type: 'disconnect', mid: '1', key: 'k', connId: 'test.2' });
    await eventually(() => rejected('Heartbeat', 'queue_full') === 1, 'the Heartbeat to be refused');
    expect(rejected('Connect', 'queue_full')).to.equal(1);
    await eventually(() => gatewayState().queued === 2, 'the Disconnect to wait beside the queued Connect');
    expect(rejected('Disconnect', 'queue_full')).to.equal(0);
    // One line for the burst (at most one a second), naming the first refusal.
    const refusals = lines.filter((l) => l.message === 'logic calls rejected');
    expect(refusals).to.have.length(1);
    expect(refusals[0]).to.deep.include({ level: 'warn' });
    expect(refusals[0].meta).to.include({ rpc: 'Connect', cause: 'queue_full', code: 'E_LOGIC_BUSY', rejected: 1, inFlight: 1, queued: 1 });

    // The calls ahead were served in turn, and the Disconnect; the refused ones never reached logic.
    expect((await first).outcome.ok).to.equal(true);
    expect((await second).outcome.ok).to.equal(true);
    await logic[0].waitFor((calls) => calls.disconnect.length === 1, 5000, 'the owed Disconnect');
    await eventually(() => gatewayState().inFlight === 0 && gatewayState().queued === 0, 'the gateway to go idle');
    await sleep(100);
    expect(logic[0].calls.connect.map((c) => JSON.parse(c.token.toString()).key)).to.deep.equal(['first', 'second']);
    expect(logic[0].summary()).to.include({ heartbeat: 0, disconnect: 1 });

    // A second later the next refusal is logged, with the count of those not logged yet.
    clockOffset += 1000;
    const busy = [connect({ key: 'a' }), connect({ key: 'b' }), connect({ key: 'c' })];
    expect(errorOf(await busy[2]).code).to.equal('E_LOGIC_BUSY');
    const next = lines.filter((l) => l.message === 'logic calls rejected');
    expect(next).to.have.length(2);
    // The Heartbeat refused earlier and this Connect (the Disconnect was not refused).
    expect(next[1].meta).to.include({ rpc: 'Connect', rejected: 2 });
    await Promise.all(busy);
  });

  it('a call still queued at its deadline fails without being sent (E_LOGIC_UNAVAILABLE)', async () => {
    await startGateway({ maxInFlight: 1, maxQueued: 10, callTimeoutMs: 400, delayMs: 3000 });
    const inFlight = connect({ key: 'in-flight' });
    const queued = connect({ key: 'queued' });
    gateway.tell({ type: 'heartbeat', mid: '1', key: 'k', connId: 'test.2' });
    await eventually(() => gatewayState().queued === 2 && logic[0].calls.connect.length === 1, 'one call sent, two queued');
    // The queued calls have spent part of their deadline already (as if they had waited longer).
    clockOffset += 100;
    const late = await queued;
    expect(errorOf(late).code).to.equal('E_LOGIC_UNAVAILABLE');
    expect(errorOf(late).message).to.match(/waited its whole 400 ms deadline/);
    // It waited what was left of its deadline on the moved clock (about 300 ms).
    expect(late.at).to.be.at.least(250);
    expect(errorOf(await inFlight).message).to.match(/DEADLINE_EXCEEDED/);
    await eventually(() => rejected('Heartbeat', 'expired') === 1, 'the Heartbeat to expire');
    expect(rejected('Connect', 'expired')).to.equal(1);
    await sleep(100);
    expect(logic[0].summary()).to.include({ connect: 1, heartbeat: 0 });
    expect(gatewayState()).to.deep.include({ inFlight: 0, queued: 0 });
  });

  it('a call sent late gets only what is left of its deadline', async () => {
    // Logic answers in 400 ms; each call has 600 ms from when the gateway got it.
    await startGateway({ maxInFlight: 1, maxQueued: 10, callTimeoutMs: 600, delayMs: 400 });
    const first = connect({ key: 'first' });
    const second = connect({ key: 'second' });
    expect((await first).outcome.ok).to.equal(true);
    const late = await second;
    // Sent at ~400 ms with ~200 ms left: it fails at ~600 ms (with a fresh deadline it would succeed at ~800 ms).
    expect(errorOf(late).code).to.equal('E_LOGIC_UNAVAILABLE');
    expect(errorOf(late).message).to.match(/DEADLINE_EXCEEDED/);
    expect(late.at).to.be.at.least(550);
    expect(logic[0].calls.connect).to.have.length(2, 'the late call was sent');
    expect(metrics.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'DEADLINE_EXCEEDED' })).to.equal(1);
    expect(metrics.total('im_logic_calls_rejected_total')).to.equal(0);
  });

  it('owed Disconnects wait past logic.maxQueued and past the deadline other calls have, and are all sent; a Connect still gets a slot among them', async () => {
    await startGateway({ maxInFlight: 1, maxQueued: 1, callTimeoutMs: 500, delayMs: 100 });
    const keys = ['d0', 'd1', 'd2', 'd3', 'd4'];
    for (const key of keys) disconnect(key);
    await eventually(() => gatewayState().inFlight === 1 && gatewayState().queued === 4, 'one Disconnect sent and four waiting (counted in queued)');
    // The waiting Disconnects are now older than any call's deadline: an owed call's deadline starts when it is sent.
    clockOffset += 1000;
    const queued = connect({ key: 'among-disconnects' });
    let disconnectsBeforeConnect = -1;
    const answered = queued.then((answer) => {
      disconnectsBeforeConnect = logic[0].calls.disconnect.length;
      return answer;
    });
    expect((await answered).outcome.ok, 'the Connect waits behind one Disconnect at most, not all of them').to.equal(true);
    expect(disconnectsBeforeConnect).to.be.below(keys.length);
    await logic[0].waitFor((calls) => calls.disconnect.length === keys.length, 5000, 'every Disconnect');
    expect(logic[0].calls.disconnect.map((d) => d.key)).to.deep.equal(keys);
    expect(metrics.total('im_logic_calls_rejected_total')).to.equal(0);
    expect(metrics.total('im_logic_call_failures_total')).to.equal(0);
    await eventually(() => gatewayState().inFlight === 0 && gatewayState().queued === 0, 'the gateway to go idle');
  });

  it('owed Disconnects are not starved by a queue of other calls: slots alternate between the two', async () => {
    await startGateway({ maxInFlight: 1, maxQueued: 10, callTimeoutMs: 3000, delayMs: 50 });
    const answers = [connect({ key: 'c0' })];
    await logic[0].waitFor((calls) => calls.connect.length === 1, 5000, 'the first Connect');
    disconnect('owed');
    for (const key of ['c1', 'c2', 'c3', 'c4']) answers.push(connect({ key }));
    await logic[0].waitFor((calls) => calls.disconnect.length === 1, 5000, 'the Disconnect');
    expect(logic[0].calls.connect.length, 'Connects sent before the Disconnect').to.be.at.most(2);
    for (const answer of await Promise.all(answers)) expect(answer.outcome.ok).to.equal(true);
  });

  it('a node that never answers costs one attempt (callTimeoutMs): the next node answers within the call\'s deadline', async () => {
    await startGateway({ maxInFlight: 4, maxQueued: 10, callTimeoutMs: 300, logicNodes: 2 });
    logic[0].delayMs = 3000;
    const answer = await connect({ key: 'k' });
    expect(answer.outcome.ok, JSON.stringify(answer.outcome)).to.equal(true);
    expect(answer.at, 'one attempt spent on the silent node first').to.be.at.least(280);
    expect(logic.map((node) => node.calls.connect.length)).to.deep.equal([1, 1]);
    expect(metrics.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'DEADLINE_EXCEEDED' })).to.equal(1);
    // Both silent: the call ends at its deadline, one attempt per node.
    logic[1].delayMs = 3000;
    const none = await connect({ key: 'k2' });
    expect(errorOf(none).code).to.equal('E_LOGIC_UNAVAILABLE');
    expect(errorOf(none).message).to.match(/DEADLINE_EXCEEDED/);
    expect(none.at - answer.at).to.be.at.least(550);
  });
});

describe('logic gateway: bounded calls seen from a cloud node', () => {
  let h: CloudHarness;
  const clients: TestClient[] = [];

  async function client(transport: 'ws' | 'tcp' = 'ws'): Promise<TestClient> {
    const c = transport === 'ws' ? await TestClient.ws(h.ports.ws) : await TestClient.tcp(h.ports.tcp);
    clients.push(c);
    return c;
  }

  function sendAuth(c: TestClient, key: string): void {
    c.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key }));
  }

  function gatewayState(): { inFlight: number; queued: number } {
    return h.node.runtime.list({ kind: 'logic-gateway', withState: true })[0].state as { inFlight: number; queued: number };
  }

  const metric = <N extends MetricName>(name: N, ...labels: PickArgs<N>): number => h.node.metrics.get(name, ...labels);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await h.stop();
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: a Connect finding the queue full closes its client at once with E_LOGIC_BUSY; the others get online`, async () => {
      const logic = await new TestLogicNode().start();
      logic.delayMs = 500;
      h = await CloudHarness.start({ logic: { maxInFlight: 1, maxQueued: 1, callTimeoutMs: 3000 } }, [logic]);
      const [a, b, c] = [await client(transport), await client(transport), await client(transport)];
      sendAuth(a, 'busy-a');
      await logic.waitFor((calls) => calls.connect.length === 1, 5000, 'the first Connect');
      sendAuth(b, 'busy-b');
      await eventually(() => gatewayState().queued === 1, 'the second Connect to queue');
      sendAuth(c, 'busy-c');
      await c.waitForClose(400);
      expect(c.disconnectReason()?.code).to.equal('E_LOGIC_BUSY');
      expect(a.received(Op.AuthReply), 'refused before the calls ahead were answered').to.have.length(0);
      expect(metric('im_logic_calls_rejected_total', { rpc: 'Connect', cause: 'queue_full' })).to.equal(1);
      expect(metric('im_connections_closed_total', { reason: 'logic_unavailable' })).to.equal(1);
      expect(metric('im_auth_failures_total', { code: 'E_LOGIC_BUSY' })).to.equal(1);
      await a.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8 for a');
      await b.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8 for b');
      expect(logic.calls.connect.map((r) => JSON.parse(r.token.toString()).key)).to.deep.equal(['busy-a', 'busy-b']);
      expect(metric('im_auth_results_total', { outcome: 'unavailable' })).to.equal(1);
      expect(metric('im_auth_results_total', { outcome: 'ok' })).to.equal(2);
      await eventually(() => h.node.runtime.count('connection') === 2, 'the refused client\'s actor to stop');
      expect(metric('im_connections', { transport, phase: 'online' })).to.equal(2);
      expect(h.node.metrics.total('im_connections')).to.equal(2);
    });
  }

  it('a Connect whose client left while it was queued is never sent, and no Disconnect follows', async () => {
    const logic = await new TestLogicNode().start();
    logic.delayMs = 400;
    h = await CloudHarness.start({ logic: { maxInFlight: 1 } }, [logic]);
    const [a, b] = [await client('ws'), await client('tcp')];
    sendAuth(a, 'stays');
    await logic.waitFor((calls) => calls.connect.length === 1, 5000, 'the first Connect');
    sendAuth(b, 'leaves');
    await eventually(() => gatewayState().queued === 1, 'the second Connect to queue');
    b.destroy();
    await a.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8 for the client that stayed');
    await eventually(() => h.node.runtime.count('connection') === 1, 'the departed client\'s actor to stop');
    await eventually(() => gatewayState().inFlight === 0 && gatewayState().queued === 0, 'the gateway to go idle');
    await sleep(200);
    expect(logic.calls.connect.map((r) => JSON.parse(r.token.toString()).key)).to.deep.equal(['stays']);
    expect(logic.calls.disconnect).to.have.length(0);
    expect(metric('im_logic_calls_rejected_total', { rpc: 'Connect', cause: 'caller_gone' })).to.equal(1);
    expect(metric('im_connections_closed_total', { reason: 'client_closed' })).to.equal(1);
    expect(h.node.metrics.total('im_auth_failures_total')).to.equal(0);
    // The departed client's op 7 ended without an answer; the one that stayed is online on ws, none on tcp.
    expect(metric('im_auth_results_total', { outcome: 'abandoned' })).to.equal(1);
    expect(metric('im_auth_results_total', { outcome: 'ok' })).to.equal(1);
    expect(h.node.metrics.total('im_auth_results_total')).to.equal(2);
    expect(metric('im_connections', { transport: 'ws', phase: 'online' })).to.equal(1);
    expect(h.node.metrics.total('im_connections')).to.equal(1);
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: a client waiting longer than logic.connectWaitMs for logic is closed with E_LOGIC_TIMEOUT; the late session is disconnected`, async () => {
      const logic = await new TestLogicNode().start();
      logic.delayMs = 800;
      h = await CloudHarness.start({ logic: { callTimeoutMs: 3000, connectWaitMs: 300 } }, [logic]);
      const c = await client(transport);
      const sent = Date.now();
      sendAuth(c, `slow-${transport}`);
      await c.waitForClose(2000);
      // Not before connectWaitMs; that it was the wait (not logic's answer at ~800 ms) shows in the reason.
      expect(Date.now() - sent).to.be.at.least(280);
      expect(c.disconnectReason()?.code).to.equal('E_LOGIC_TIMEOUT');
      expect(metric('im_connections_closed_total', { reason: 'logic_timeout' })).to.equal(1);
      expect(metric('im_connection_errors_total', { code: 'E_LOGIC_TIMEOUT' })).to.equal(1);
      expect(metric('im_auth_results_total', { outcome: 'timeout' })).to.equal(1);
      expect(metric('im_connections', { transport, phase: 'closing' }), 'closing until logic answers').to.equal(1);
      // Logic answers at ~800 ms, having made a session: the connection, 'closing', undoes it.
      await logic.waitFor((calls) => calls.disconnect.length === 1, 3000, 'Disconnect of the late session');
      const [connected] = logic.calls.connect;
      expect(logic.calls.disconnect[0]).to.include({ key: `slow-${transport}`, mid: '123', connId: connected.connId });
      await eventually(() => h.node.runtime.count('connection') === 0, 'the connection actor to stop');
      await sleep(200);
      expect(logic.calls.disconnect).to.have.length(1);
      expect(metric('im_auth_ok_total')).to.equal(0);
      expect(h.node.metrics.total('im_connections'), 'no connection left in any phase').to.equal(0);
      expect(h.node.metrics.total('im_auth_results_total')).to.equal(1);
    });
  }

  it('a Connect queued behind a slow one gets what is left of its deadline: the client is closed when it runs out', async () => {
    const logic = await new TestLogicNode().start();
    logic.delayMs = 500;
    h = await CloudHarness.start({ logic: { maxInFlight: 1, callTimeoutMs: 600 } }, [logic]);
    const [a, b] = [await client('ws'), await client('ws')];
    sendAuth(a, 'first');
    await logic.waitFor((calls) => calls.connect.length === 1, 5000, 'the first Connect');
    await sleep(100);
    const queuedAt = Date.now();
    sendAuth(b, 'second');
    await a.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8 for the first client');
    // Sent ~400 ms after it was queued, with ~200 ms left; logic would answer 500 ms later.
    await b.waitForClose(2000);
    expect(b.disconnectReason()?.code).to.equal('E_LOGIC_UNAVAILABLE');
    // Not before its deadline (600 ms from when it was queued); the DEADLINE_EXCEEDED below shows it was cut there.
    expect(Date.now() - queuedAt).to.be.at.least(550);
    expect(logic.calls.connect).to.have.length(2);
    expect(metric('im_logic_call_failures_total', { rpc: 'Connect', status: 'DEADLINE_EXCEEDED' })).to.equal(1);
  });
});

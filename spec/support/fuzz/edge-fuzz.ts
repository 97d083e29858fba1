/**
 * Fuzzing the client edges of a running node: a logic node (memory
 * sessions) and a cloud node started through the real CLI as child
 * processes, many concurrent ws and tcp connections sending generated bad
 * input (edge-plans.ts), and well-behaved clients online beside them that
 * must be served throughout. Shared by spec/fuzz-edges.spec.ts and
 * `npm run fuzz`; the caller asserts on the returned figures.
 */
import fc from 'fast-check';
import * as http from 'node:http';
import { adminRequest } from '../admin-client';
import { ChildNode } from '../child-node';
import { freePort } from '../free-ports';
import { Exposition } from '../prometheus-text';
import { GOIM_TOKEN, TestClient } from '../test-client';
import { EdgePlan, authPacket } from './edge-plans';
import { INSPECT_NODE_OPTIONS, InspectorHeap, inspectorNoise } from './inspector-heap';
import { splitAt } from './packet-arbitraries';
import { RawWsClient, clientFrame } from './raw-ws-client';

/** How long a fuzz connection may take to be closed after its bad input (the close linger is 2 s). */
const CLOSE_WAIT_MS = 10_000;

export interface FuzzNodes {
  readonly cloud: ChildNode;
  readonly logic: ChildNode;
  readonly tcp: number;
  readonly ws: number;
  readonly cloudAdmin: number;
  readonly logicHttp: number;
  readonly heap: InspectorHeap;
}

export async function startFuzzNodes(): Promise<FuzzNodes> {
  const cloudGrpc = await freePort();
  const logic = ChildNode.spawn({
    args: ['logic'], removeEnvPrefixes: ['IM_LOGIC_'],
    env: {
      IM_LOGIC_BIND_HOST: '127.0.0.1', IM_LOGIC_GRPC_PORT: '0', IM_LOGIC_HTTP_PORT: '0', IM_LOGIC_ADMIN_PORT: '0',
      IM_LOGIC_CLOUD_NODES: `127.0.0.1:${cloudGrpc}`, IM_LOGIC_SESSION_STORE: 'memory', IM_LOGIC_BATCH_FLUSH_MS: '0', IM_LOGIC_LOG_LEVEL: 'info',
    },
  });
  const logicStarted = await logic.waitForLog((l) => l.message === 'logic node started', 15_000, '"logic node started"');
  const cloud = ChildNode.spawn({
    args: ['cloud'],
    env: {
      IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_ADVERTISE_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0',
      IM_CLOUD_GRPC_PORT: String(cloudGrpc), IM_CLOUD_ADMIN_PORT: '0', IM_CLOUD_LOGIC_NODES: `127.0.0.1:${Number(logicStarted.grpc)}`,
      IM_CLOUD_LOG_LEVEL: 'info', NODE_OPTIONS: INSPECT_NODE_OPTIONS,
    },
  });
  const cloudStarted = await cloud.waitForLog((l) => l.message === 'cloud node started', 15_000, '"cloud node started"');
  const heap = await InspectorHeap.attach(cloud);
  return {
    cloud, logic, heap, tcp: Number(cloudStarted.tcp), ws: Number(cloudStarted.ws), cloudAdmin: Number(cloudStarted.admin), logicHttp: Number(logicStarted.http),
  };
}

export async function stopFuzzNodes(nodes: FuzzNodes | null): Promise<void> {
  nodes?.heap.close();
  await nodes?.cloud.kill();
  await nodes?.logic.kill();
}

export async function scrape(nodes: FuzzNodes): Promise<Exposition> {
  const reply = await adminRequest(nodes.cloudAdmin, '/metrics');
  if (reply.status !== 200) throw new Error(`cloud /metrics: ${reply.status} ${reply.text}`);
  return Exposition.parse(reply.text);
}

/** POST /im/push/keys (op 1000) on the logic node; resolves with the HTTP status. */
export function pushToKeys(nodes: FuzzNodes, keys: readonly string[], body: string): Promise<number> {
  const query = keys.map((k) => `keys=${encodeURIComponent(k)}`).join('&');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: nodes.logicHttp, method: 'POST', path: `/im/push/keys?operation=1000&${query}` }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface PlanResult {
  readonly plan: EdgePlan;
  readonly closed: boolean;
  /** The code in op 6, when one came. */
  readonly op6Code: string | null;
  /** What went wrong on the client's side (a connect or an auth that failed), if anything. */
  readonly failure: string | null;
}

async function runTcp(plan: EdgePlan & { transport: 'tcp' }, nodes: FuzzNodes, key: string): Promise<PlanResult> {
  const client = await TestClient.tcp(nodes.tcp);
  try {
    if (plan.phase === 'online') await client.auth({ ...GOIM_TOKEN, key });
    const bytes = plan.phase === 'authing' ? Buffer.concat([authPacket(key), plan.bytes]) : plan.bytes;
    for (const chunk of splitAt(bytes, plan.cuts)) if (chunk.length > 0) client.writeRaw(chunk);
    await client.waitForClose(CLOSE_WAIT_MS);
    return { plan, closed: true, op6Code: client.disconnectReason()?.code ?? null, failure: null };
  } catch (err) {
    return { plan, closed: client.closed, op6Code: client.disconnectReason()?.code ?? null, failure: err instanceof Error ? err.message : String(err) };
  } finally {
    client.destroy();
  }
}

async function runWs(plan: EdgePlan & { transport: 'ws' }, nodes: FuzzNodes, key: string): Promise<PlanResult> {
  const client = await RawWsClient.connect(nodes.ws);
  try {
    if (plan.phase === 'online') await client.auth({ ...GOIM_TOKEN, key });
    client.write(plan.phase === 'authing' ? Buffer.concat([clientFrame({ opcode: 2, payload: authPacket(key) }), plan.bytes]) : plan.bytes);
    await client.waitForClose(CLOSE_WAIT_MS);
    return { plan, closed: true, op6Code: client.disconnectCode(), failure: null };
  } catch (err) {
    return { plan, closed: client.closed, op6Code: client.disconnectCode(), failure: err instanceof Error ? err.message : String(err) };
  } finally {
    client.destroy();
  }
}

/** Runs the plans, `concurrency` connections at a time. */
export async function runPlans(nodes: FuzzNodes, plans: readonly EdgePlan[], concurrency: number, keyPrefix: string): Promise<PlanResult[]> {
  const results: PlanResult[] = new Array<PlanResult>(plans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i];
      const key = `${keyPrefix}-${i}`;
      results[i] = plan.transport === 'tcp' ? await runTcp(plan, nodes, key) : await runWs(plan, nodes, key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  return results;
}

export function samplePlans(arb: fc.Arbitrary<EdgePlan>, seed: number, count: number): EdgePlan[] {
  return fc.sample(arb, { seed, numRuns: count });
}

/** Well-behaved clients, half ws and half tcp, online under known keys. */
export interface GoodClients {
  readonly clients: TestClient[];
  readonly keys: string[];
}

export async function goodClientsOnline(nodes: FuzzNodes, count: number, prefix: string): Promise<GoodClients> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const clients = await Promise.all(keys.map(async (key, i) =>
    (await TestClient.online(i % 2 === 0 ? 'ws' : 'tcp', i % 2 === 0 ? nodes.ws : nodes.tcp, { ...GOIM_TOKEN, key })).client));
  return { clients, keys };
}

/**
 * Pushes one body to every good client every `everyMs` while `during`
 * runs; returns the bodies pushed (each answered 200 by logic) and the
 * statuses that were not 200.
 */
export async function pushWhile<T>(nodes: FuzzNodes, good: GoodClients, everyMs: number, during: Promise<T>): Promise<{ value: T; bodies: string[]; refused: number[] }> {
  const bodies: string[] = [];
  const refused: number[] = [];
  let done = false;
  const loop = (async (): Promise<void> => {
    for (let n = 0; !done; n++) {
      const body = `served-${n}`;
      const status = await pushToKeys(nodes, good.keys, body);
      if (status === 200) bodies.push(body);
      else refused.push(status);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  const value = await during.finally(() => { done = true; });
  await loop;
  return { value, bodies, refused };
}

/** Whether each good client got every body (op 1000) and still answers a heartbeat. */
export async function goodClientsServed(good: GoodClients, bodies: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(good.clients.map(async (c, i) => {
    for (const body of bodies) {
      try {
        await c.waitFor((p) => p.op === 1000 && p.body.toString('utf8') === body, 5000, body);
      } catch {
        problems.push(`${good.keys[i]} (${c.transport}) missed push ${body}`);
        return;
      }
    }
    if (c.closed) problems.push(`${good.keys[i]} (${c.transport}) was closed`);
    else await c.heartbeat().catch(() => problems.push(`${good.keys[i]} (${c.transport}) got no op 3`));
  }));
  return problems;
}

/** Polls the cloud node's metrics until `done` holds (or the time is up: the caller's assertions then say what is off). */
export async function settle(nodes: FuzzNodes, done: (m: Exposition) => boolean, timeoutMs = 15_000): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await scrape(nodes);
    if (done(m) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Connections the node holds in any phase, and live connection actors. */
export function connectionsHeld(m: Exposition): { phases: number; actors: number } {
  return { phases: m.sum('im_connections'), actors: m.value('im_actors', { kind: 'connection' }) };
}

/** What a node's stderr holds besides the inspector's own lines: anything is an uncaught error or a crash. */
export function stderrFaults(node: ChildNode): string[] {
  return node.stderr.split('\n').filter((l) => l.trim() !== '' && !inspectorNoise(l));
}

/** Log lines at level error (crashes, actors that gave up) from either node. */
export function errorLogs(nodes: FuzzNodes): string[] {
  return [...nodes.cloud.logs, ...nodes.logic.logs].filter((l) => l.level === 'error').map((l) => JSON.stringify(l));
}

/**
 * Log lines above debug about single connections or upgrades: a flood of bad
 * clients may show as one line per code and window, never one per client.
 */
export function perClientLogFlood(nodes: FuzzNodes, badConnections: number): string[] {
  const perClient = new Set(['connection closed', 'websocket upgrade rejected']);
  const lines = nodes.cloud.logs.filter((l) => l.level !== 'debug' && typeof l.message === 'string' && perClient.has(l.message));
  // Nine codes, and a run may span a few 10 s windows: far below one line per bad connection.
  const bound = Math.max(40, Math.floor(badConnections / 10));
  return lines.length > bound ? [`${lines.length} per-client log lines above debug for ${badConnections} bad connections (bound ${bound})`] : [];
}

/** Expected protocol-error closes by `code|transport`, from the plans. */
export function expectedByCode(plans: readonly EdgePlan[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of plans) {
    const k = `${p.expected.code}|${p.transport}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** The change of im_protocol_errors_total by `code|transport` between two scrapes. */
export function protocolErrorDeltas(before: Exposition, after: Exposition): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of after.samples) {
    if (s.name !== 'im_protocol_errors_total') continue;
    const delta = s.value - before.value('im_protocol_errors_total', s.labels);
    if (delta !== 0) out.set(`${s.labels.code}|${s.labels.transport}`, delta);
  }
  return out;
}

/** Plans whose client saw something other than expected: not closed, a wrong op 6, a failed connect or auth. */
export function planMismatches(results: readonly PlanResult[]): string[] {
  const out: string[] = [];
  results.forEach((r, i) => {
    const want = r.plan.expected;
    const what = `#${i} ${r.plan.transport} ${r.plan.phase} expecting ${want.code}`;
    if (r.failure) out.push(`${what}: ${r.failure}`);
    else if (!r.closed) out.push(`${what}: not closed`);
    else if (want.op6 && r.op6Code !== want.code) out.push(`${what}: op 6 said ${r.op6Code}`);
    else if (!want.op6 && r.op6Code !== null) out.push(`${what}: unexpected op 6 ${r.op6Code}`);
  });
  return out;
}

/**
 * `im-cloud cloud --workers N`: N cloud nodes on one host through
 * node:cluster, sharing the ws and tcp ports, each with its own gRPC port,
 * admin port and server id. Run through the real CLI as a child process
 * (the workers are its own children), against a real gRPC logic node.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { loadCloudConfig } from '../config/cloud-config';
import { ImError } from '../system/errors';
import { RESTART_MAX_MS, RestartBudget } from '../system/workers/restart-budget';
import { adminJson } from './support/admin-client';
import { ChildNode } from './support/child-node';
import { TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';
import {
  clusterStarted, isPrimaryLine, KeyedClient, keyedClients, serverOfKeys, WorkerCluster, WorkerPusher, workerRestarted, workersEnv,
} from './support/worker-cluster';

interface Info {
  id: string;
  root: string;
  headline: { connections: number };
}

/** The soft open-file limit of process `pid`. */
function openFileLimitOf(pid: number): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

function listening(port: number): Promise<net.Server | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('not listening');
  return address.port;
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Two listeners on ports n and n + 1. */
async function adjacentPorts(): Promise<[net.Server, net.Server]> {
  // Many tries: on a busy host (thousands of client sockets) the port below a random free one is often taken.
  for (let attempt = 0; attempt < 500; attempt++) {
    const upper = await listening(0);
    if (upper === null) continue;
    const lower = await listening(portOf(upper) - 1);
    if (lower !== null) return [lower, upper];
    await close(upper);
  }
  throw new Error('no two adjacent free ports');
}

function configProblem(env: Record<string, string>): string {
  try {
    loadCloudConfig({ env });
  } catch (err) {
    if (err instanceof ImError) return err.message;
    throw err;
  }
  throw new Error('loadCloudConfig accepted a bad config');
}

describe('im-cloud cloud --workers (real CLI child processes)', function () {
  this.timeout(60000);

  let logic: TestLogicNode;
  let primary: ChildNode | null = null;
  let clients: TestClient[] = [];
  let pushers: WorkerPusher[] = [];

  beforeEach(async () => {
    logic = await new TestLogicNode().start();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && primary) console.log(primary.describe());
    for (const c of clients) c.destroy();
    for (const p of pushers) p.close();
    clients = [];
    pushers = [];
    // SIGKILL to a primary: its workers exit as soon as their IPC channel closes (node:cluster's rule).
    await ChildNode.killAll();
    primary = null;
    await logic.stop();
  });

  async function startWorkers(n: number, extra: Record<string, string> = {}, openFileLimit?: number): Promise<WorkerCluster> {
    primary = ChildNode.spawn({ args: ['cloud', '--workers', String(n)], env: workersEnv(logic, extra), openFileLimit });
    return clusterStarted(primary);
  }

  function online(ports: { ws: number; tcp: number }, count: number, prefix: string, batch = 1): Promise<KeyedClient[]> {
    return keyedClients(ports, count, prefix, batch).then((keyed) => {
      clients.push(...keyed.map((k) => k.client));
      return keyed;
    });
  }

  function pusher(port: number): WorkerPusher {
    const p = new WorkerPusher(port);
    pushers.push(p);
    return p;
  }

  /** The clients each worker holds, by the server id logic was given in their Connect. */
  function byWorker(cluster: WorkerCluster, keyed: readonly KeyedClient[]): KeyedClient[][] {
    const servers = serverOfKeys(logic);
    return cluster.workers.map((w) => keyed.filter((k) => servers.get(k.key) === w.serverId));
  }

  it('--workers 2: both serve the shared ws and tcp ports, each with its own server id, admin endpoint and gRPC port; SIGTERM to the primary drains both, exit 0', async () => {
    const cluster = await startWorkers(2);
    const [w0, w1] = cluster.workers;
    expect(cluster.workers.map((w) => w.worker)).to.deep.equal([0, 1]);
    expect(w0.pid).to.not.equal(w1.pid);
    expect(new Set([w0.grpc, w1.grpc, w0.admin, w1.admin, cluster.ws, cluster.tcp]).size, 'every port distinct').to.equal(6);
    expect([w0.serverId, w1.serverId]).to.deep.equal([`127.0.0.1:${w0.grpc}`, `127.0.0.1:${w1.grpc}`]);

    const keyed = await online(cluster, 8, 'two');
    expect(new Set(logic.calls.connect.map((c) => c.server)), 'server ids logic saw in Connect').to.deep.equal(new Set([w0.serverId, w1.serverId]));
    const held = byWorker(cluster, keyed);
    expect(held[0].length + held[1].length).to.equal(8);
    for (const [i, w] of cluster.workers.entries()) {
      const info = await adminJson<Info>(w.admin, '/info');
      expect(info.id, `worker ${i}'s /info`).to.equal(w.serverId);
      expect(info.root, 'the root actor is named after its own process').to.match(new RegExp(`^/cloud-${w.pid}-`));
      expect(info.headline.connections, `worker ${i}'s connections`).to.equal(held[i].length).and.be.greaterThan(0);
    }

    // A push through each worker's gRPC reaches the clients that worker holds, and only those.
    for (const [i, w] of cluster.workers.entries()) {
      const own = held[i];
      const other = held[1 - i];
      await pusher(w.grpc).pushKeys([...own, ...other].map((k) => k.key), `via worker ${i}`);
      await Promise.all(own.map((k) => k.client.waitFor((p) => p.op === 1000 && p.body.toString() === `via worker ${i}`, 5000, `worker ${i}'s push`)));
    }
    for (const [i, own] of held.entries()) {
      for (const k of own) expect(k.client.bodies(1000), k.key).to.deep.equal([`via worker ${i}`]);
    }
    const node = cluster.node;
    expect(node.logs.filter((l) => l.message === 'cloud node started').map((l) => l.worker).sort()).to.deep.equal([0, 1]);

    // SIGTERM to the primary: each worker drains (op 6 to its clients, Disconnect to logic), then the primary exits 0.
    node.signal('SIGTERM');
    await Promise.all(keyed.map((k) => k.client.waitForClose(10000)));
    for (const k of keyed) expect(k.client.disconnectReason(), k.key).to.include({ code: 'E_NODE_DRAINING' });
    await logic.waitFor((calls) => calls.disconnect.length >= keyed.length, 10000, 'a Disconnect per client');
    expect(logic.calls.disconnect.map((d) => d.key).sort()).to.deep.equal(keyed.map((k) => k.key).sort());
    expect(await node.waitForExit(20000), node.describe()).to.deep.equal({ code: 0, signal: null });
    expect(node.logs.filter((l) => l.message === 'the primary asked this worker to stop; draining').map((l) => l.worker).sort()).to.deep.equal([0, 1]);
    expect(node.logs.filter((l) => l.message === 'cloud node stopped').map((l) => l.worker).sort()).to.deep.equal([0, 1]);
    expect(node.logs.filter(isPrimaryLine).map((l) => l.message)).to.include('cloud workers stopped').and.not.include('worker restarted');
    expect(node.stderr).to.equal('');
  });

  it('a worker killed with SIGKILL is restarted in its slot (same ports and server id), the other\'s clients untouched; past workers.maxRestarts the primary gives up, exit 1', async () => {
    const cluster = await startWorkers(2, { IM_CLOUD_WORKER_MAX_RESTARTS: '1' });
    const node = cluster.node;
    const keyed = await online(cluster, 6, 'kill');
    const [lost, kept] = byWorker(cluster, keyed);
    expect(lost.length, 'clients on worker 0').to.be.greaterThan(0);
    expect(kept.length, 'clients on worker 1').to.be.greaterThan(0);
    const [w0, w1] = cluster.workers;

    const before = node.logs.length;
    process.kill(w0.pid, 'SIGKILL');
    const restarted = await workerRestarted(node, 0, before);
    const exited = node.logs.find((l) => l.message === 'worker exited unasked; restarting it');
    expect(exited, 'the restart is logged with why').to.include({ level: 'warn', code: 'E_WORKER_EXITED', worker: 0, pid: w0.pid, signal: 'SIGKILL', restarts: 1 });
    expect(restarted.pid).to.not.equal(w0.pid);
    expect(restarted).to.include({ serverId: w0.serverId, grpc: w0.grpc, admin: w0.admin });
    await Promise.all(lost.map((k) => k.client.waitForClose(5000)));

    // The new worker answers on the slot's admin and gRPC ports.
    const info = await adminJson<Info>(w0.admin, '/info');
    expect(info.id).to.equal(w0.serverId);
    expect(info.root).to.match(new RegExp(`^/cloud-${restarted.pid}-`));
    await pusher(w0.grpc).broadcast('to the new worker');

    // Worker 1 never noticed: its clients are open, heartbeat, and get its pushes.
    for (const k of kept) expect(k.client.closed, k.key).to.equal(false);
    await pusher(w1.grpc).pushKeys(kept.map((k) => k.key), 'still here');
    await Promise.all(kept.map((k) => k.client.waitFor((p) => p.op === 1000 && p.body.toString() === 'still here', 5000, 'the push after the kill')));
    for (const k of kept) expect(await k.client.heartbeat()).to.be.a('number');
    expect(node.logs.filter((l) => l.message === 'cloud node started' && l.worker === 1), 'worker 1 started once').to.have.length(1);

    // New clients reach both workers again.
    await online(cluster, 4, 'after');
    const servers = serverOfKeys(logic);
    expect(new Set(['after-0', 'after-1', 'after-2', 'after-3'].map((k) => servers.get(k)))).to.deep.equal(new Set([w0.serverId, w1.serverId]));
    expect(node.alive).to.equal(true);

    // A second exit within the window is one more than workers.maxRestarts (1): the primary drains worker 1 and exits 1.
    process.kill(restarted.pid, 'SIGKILL');
    expect(await node.waitForExit(20000), node.describe()).to.deep.equal({ code: 1, signal: null });
    const gaveUp = node.logs.find((l) => l.code === 'E_WORKER_RESTART_LIMIT');
    expect(gaveUp, 'the give-up is logged').to.include({ level: 'error', role: 'primary', worker: 0, exitsInWindow: 2, maxRestarts: 1 });
    expect(node.logs.filter((l) => l.message === 'worker restarted'), 'no third start in slot 0').to.have.length(1);
    expect(node.logs.filter((l) => l.message === 'cloud node stopped').map((l) => l.worker), 'worker 1 drained').to.deep.equal([1]);
    for (const k of kept) expect(k.client.disconnectReason(), k.key).to.include({ code: 'E_NODE_DRAINING' });
  });

  it('a worker that fails its first start (its gRPC port is taken) stops the cluster: the other drains, the primary exits 1', async () => {
    // Worker 1's gRPC port is held here; worker 0's, the one below, was free a moment ago.
    const [below, taken] = await adjacentPorts();
    const base = portOf(below);
    await close(below);
    try {
      primary = ChildNode.spawn({ args: ['cloud', '--workers', '2'], env: workersEnv(logic, { IM_CLOUD_GRPC_PORT: String(base) }) });
      const node = primary;
      expect(await node.waitForExit(20000), node.describe()).to.deep.equal({ code: 1, signal: null });
      expect(node.logs.find((l) => l.message === 'worker failed to start')).to.include({ level: 'error', worker: 1 });
      expect(node.logs.find((l) => l.code === 'E_WORKER_START_FAILED')).to.include({ level: 'error', role: 'primary', worker: 1, exitCode: 1 });
      expect(node.logs.filter((l) => l.message === 'worker restarted'), 'no restart').to.have.length(0);
      expect(node.logs.filter((l) => l.message === 'cloud workers started'), 'never all started').to.have.length(0);
      expect(node.logs.find((l) => l.message === 'worker stopped' && l.worker === 0), 'worker 0 asked to stop').to.include({ exitCode: 0 });
    } finally {
      await close(taken);
    }
  });

  it('ulimit -n 256: two workers hold 300 authenticated clients, more than one process could open descriptors for', async () => {
    const limit = 256;
    const total = 300;
    const cluster = await startWorkers(2, {}, limit);
    for (const w of cluster.workers) expect(openFileLimitOf(w.pid), `worker ${w.worker}'s open-file limit`).to.equal(limit);

    const keyed = await online(cluster, total, 'fd', 30);
    expect(keyed).to.have.length(total);
    const infos = await Promise.all(cluster.workers.map((w) => adminJson<Info>(w.admin, '/info')));
    const counts = infos.map((info) => info.headline.connections);
    expect(counts[0] + counts[1], `connections per worker: ${counts.join(', ')}`).to.equal(total);
    for (const count of counts) expect(count, 'each worker holds a share, within its own descriptors').to.be.greaterThan(0).and.lessThan(limit);

    // Every one of them is live: each worker's broadcast reaches exactly the clients it holds.
    await Promise.all(cluster.workers.map((w, i) => pusher(w.grpc).broadcast(`all of worker ${i}`)));
    await Promise.all(keyed.map((k) => k.client.waitFor((p) => p.op === 1000, 5000, `${k.key}'s broadcast`)));
    const heard = [0, 1].map((i) => keyed.filter((k) => k.client.bodies(1000).includes(`all of worker ${i}`)).length);
    expect(heard).to.deep.equal(counts);
    expect(keyed.filter((k) => k.client.closed), 'clients closed').to.have.length(0);
  });

  it('Ctrl-C (SIGINT to the whole process group): workers ignore it, the primary drains them once and exits 0', async () => {
    const env = workersEnv(logic);
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    primary = ChildNode.shell(`${assignments} exec node bin/im-cloud.js cloud --workers 2`);
    const cluster = await clusterStarted(primary);
    const node = cluster.node;
    const keyed = await online(cluster, 4, 'int');
    const group = node.process.pid;
    if (group === undefined) throw new Error('no pid');
    process.kill(-group, 'SIGINT');

    await Promise.all(keyed.map((k) => k.client.waitForClose(10000)));
    for (const k of keyed) expect(k.client.disconnectReason(), k.key).to.include({ code: 'E_NODE_DRAINING' });
    expect(await node.waitForExit(20000), node.describe()).to.deep.equal({ code: 0, signal: null });
    expect(node.logs.filter((l) => l.message === 'SIGINT ignored: the primary drains its workers').map((l) => l.worker).sort()).to.deep.equal([0, 1]);
    expect(node.logs.find((l) => l.message === 'signal received; draining every worker')).to.include({ signal: 'SIGINT', role: 'primary' });
    expect(node.logs.filter((l) => l.message === 'cloud node stopped')).to.have.length(2);
  });

  describe('configuration', () => {
    it('--workers out of range, a gRPC or admin range past 65535, or workers with `start`, exit 2 with E_CONFIG_INVALID before forking', async () => {
      for (const [args, env, says] of [
        [['--workers', '0'], {}, 'workers.count (override): 0 is outside 1..64'],
        [['--workers', '3'], { IM_CLOUD_GRPC_PORT: '65534' }, 'grpc.port 65534 + 3 workers passes 65535'],
      ] as const) {
        const node = ChildNode.spawn({ args: ['cloud', ...args], env: { ...env } });
        expect(await node.waitForExit(), node.describe()).to.deep.equal({ code: 2, signal: null });
        expect(node.stderr).to.match(/^E_CONFIG_INVALID: /).and.include(says);
        expect(node.logs, 'nothing started').to.have.length(0);
      }
      const start = ChildNode.spawn({ args: ['start'], env: { IM_CLOUD_WORKERS: '2' }, removeEnvPrefixes: ['IM_LOGIC_'] });
      expect(await start.waitForExit(), start.describe()).to.deep.equal({ code: 2, signal: null });
      expect(start.stderr).to.match(/^E_CONFIG_INVALID: /).and.include('start runs one cloud node');
    });

    it('each worker needs its own server id and ports: a fixed grpc.serverId and overlapping ranges are refused', () => {
      expect(configProblem({ IM_CLOUD_WORKERS: '2', IM_CLOUD_SERVER_ID: '10.0.0.1:3109' })).to.include('grpc.serverId (10.0.0.1:3109) cannot be set with workers.count 2');
      expect(configProblem({ IM_CLOUD_WORKERS: '4', IM_CLOUD_GRPC_PORT: '5000', IM_CLOUD_ADMIN_PORT: '5002' }))
        .to.include('grpc.port 5000..5003 and admin.port 5002..5005 overlap');
      expect(configProblem({ IM_CLOUD_WORKERS: '4', IM_CLOUD_GRPC_PORT: '5000', IM_CLOUD_WS_PORT: '5003' })).to.include('ws.port 5003 is inside grpc.port 5000..5003');
      expect(loadCloudConfig({ env: { IM_CLOUD_WORKERS: '4', IM_CLOUD_GRPC_PORT: '65532' } }).workers.count, 'the last worker on 65535').to.equal(4);
      expect(loadCloudConfig({ env: { IM_CLOUD_SERVER_ID: '10.0.0.1:3109' } }).workers.count, 'one process keeps its fixed id').to.equal(1);
    });

    it('restarts back off per slot (100 ms doubling, capped), and give up past maxRestarts exits within the window', () => {
      const budget = new RestartBudget(8, 60000);
      const delays = [0, 1, 2, 3, 4, 5, 6].map((i) => budget.exited(0, 1000 + i));
      expect(delays.map((d) => (d.restart ? d.delayMs : -1))).to.deep.equal([100, 200, 400, 800, 1600, 3200, RESTART_MAX_MS]);
      expect(budget.exited(1, 2000), 'slot 1 backs off on its own exits').to.deep.equal({ restart: true, delayMs: 100, exitsInWindow: 8 });
      expect(budget.exited(1, 2001), 'the ninth exit in the window').to.deep.equal({ restart: false, exitsInWindow: 9 });
      const windowed = new RestartBudget(1, 1000);
      expect(windowed.exited(0, 0)).to.include({ restart: true, delayMs: 100 });
      expect(windowed.exited(1, 500)).to.deep.equal({ restart: false, exitsInWindow: 2 });
      expect(windowed.exited(0, 5000), 'old exits leave the window').to.deep.equal({ restart: true, delayMs: 100, exitsInWindow: 1 });
    });
  });
});

/**
 * Room batching on the logic node: the same stream of room pushes through
 * the HTTP API, unbatched (push.batchFlushMs 0) and batched (the defaults),
 * delivered to N ws clients in another process: once as fast as possible
 * (delivered rate), once at a steady rate (the latency batching adds).
 * Prints a markdown table.
 *
 *   node dist/bench/room-batching.js [--clients 1000] [--messages 2000] [--concurrency 32] [--rate 30] [--no-coalesce]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { CloudNode } from '../system/cloud-node';
import { LogicNode } from '../system/logic-node';
import { createLogger } from '../system/logger';
import { freePort } from '../spec/support/free-ports';
import { argValue } from './lib/argv';
import { table } from './lib/markdown';

function arg(name: string, fallback: number): number {
  return Number(argValue(name, String(fallback)));
}

interface Result {
  mode: string;
  pushesPerSecond: number;
  deliveredPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  expected: number;
}

/** `rate` 0 pushes as fast as `concurrency` allows; otherwise at that many pushes per second. */
async function run(mode: string, batch: { batchFlushMs: number; batchMaxMessages: number }, clients: number, messages: number, concurrency: number, rate: number): Promise<Result> {
  const logger = createLogger('error');
  const cloudGrpcPort = await freePort();
  const logic = await LogicNode.start(loadLogicConfig({
    overrides: { node: { bindHost: '127.0.0.1' }, grpc: { port: 0 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: [`127.0.0.1:${cloudGrpcPort}`] }, push: batch },
  }), { logger });
  const wired = await CloudNode.start(loadCloudConfig({
    overrides: {
      node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: cloudGrpcPort }, admin: { port: 0 }, logic: { nodes: [`127.0.0.1:${logic.ports.grpc}`] },
      protocol: { coalesce: !process.argv.includes('--no-coalesce') },
      limits: { maxConnectionsPerIp: 0, newConnectionsPerSec: 0 },
    },
  }), { logger });

  const child = fork(path.join(__dirname, 'room-clients.js'), [String(wired.ports.ws), String(clients), String(messages)]);
  const results = new Promise<{ received: number; seconds: number; p50: number; p99: number; max: number }>((resolve, reject) => {
    child.on('message', (m: { type: string; message?: string } & { received: number; seconds: number; p50: number; p99: number; max: number }) => {
      if (m.type === 'done') resolve(m);
      if (m.type === 'error') reject(new Error(m.message));
    });
  });
  await new Promise<void>((resolve) => child.on('message', (m: { type: string }) => m.type === 'ready' && resolve()));

  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const push = (): Promise<void> => new Promise((resolve, reject) => {
    const body = Buffer.alloc(16);
    body.writeDoubleBE(performance.timeOrigin + performance.now(), 0);
    const req = http.request({ host: '127.0.0.1', port: logic.ports.http, method: 'POST', agent, path: '/im/push/room?operation=1000&type=live&room=bench' }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  const started = Date.now();
  let sent = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < messages) {
      const due = started + (sent * 1000) / (rate || Infinity);
      sent++;
      if (rate > 0 && due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      await push();
    }
  }));
  const pushSeconds = (Date.now() - started) / 1000;
  const r = await results;
  child.send({ type: 'close' });
  agent.destroy();
  await wired.stop();
  await logic.stop();
  return {
    mode, pushesPerSecond: messages / pushSeconds, deliveredPerSecond: r.received / r.seconds,
    p50: r.p50, p99: r.p99, max: r.max, delivered: r.received, expected: clients * messages,
  };
}

async function main(): Promise<void> {
  const clients = arg('clients', 1000);
  const messages = arg('messages', 2000);
  const concurrency = arg('concurrency', 32);
  const rate = arg('rate', 30);
  const unbatched = { batchFlushMs: 0, batchMaxMessages: 20 };
  const batched = { batchFlushMs: 2, batchMaxMessages: 20 };
  const rows = [
    await run('as fast as possible, unbatched (batchFlushMs 0)', unbatched, clients, messages, concurrency, 0),
    await run('as fast as possible, batched (20 msgs / 2 ms, default)', batched, clients, messages, concurrency, 0),
    await run(`${rate} pushes/s, unbatched`, unbatched, clients, Math.min(messages, rate * 5), concurrency, rate),
    await run(`${rate} pushes/s, batched`, batched, clients, Math.min(messages, rate * 5), concurrency, rate),
  ];
  const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  process.stdout.write(`${clients} ws clients in one room; pushes via HTTP /im/push/room (${concurrency} in flight at most); cloud coalescing ${process.argv.includes('--no-coalesce') ? 'off' : 'on'}\n\n`);
  process.stdout.write(`${table(['mode', 'pushes/s accepted', 'delivered msgs/s', 'latency p50', 'p99', 'max', 'delivered'], rows.map((r) => [
    r.mode, f(r.pushesPerSecond), f(r.deliveredPerSecond), `${f(r.p50, 1)} ms`, `${f(r.p99, 1)} ms`, `${f(r.max, 1)} ms`, `${f(r.delivered)} / ${f(r.expected)}`,
  ]))}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

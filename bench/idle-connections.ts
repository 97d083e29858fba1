/**
 * Quick check: how much memory an idle, authenticated connection costs a
 * cloud node. The node runs here (with --expose-gc); the logic double and
 * the clients run in processes of their own. Prints a markdown table.
 *
 *   node --expose-gc dist/bench/idle-connections.js [--n 10000] [--transport ws|tcp]
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { loadCloudConfig } from '../config/cloud-config';
import { CloudNode } from '../system/cloud-node';
import { createLogger } from '../system/logger';
import { memoryAfterGc } from './servers/server-kit';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

async function main(): Promise<void> {
  const n = Number(arg('n', '10000'));
  const transport = arg('transport', 'ws');
  const logic = fork(path.join(__dirname, 'logic-double.js'));
  const logicPort = await new Promise<number>((resolve, reject) => {
    logic.once('message', (m: { port: number }) => resolve(m.port));
    logic.once('exit', (code) => reject(new Error(`logic double exited with ${code}`)));
  });
  const config = loadCloudConfig({
    overrides: { node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0 }, logic: { nodes: [`127.0.0.1:${logicPort}`] } },
  });
  const node = await CloudNode.start(config, { logger: createLogger('warn') });
  // Let start-up allocations settle before the baseline.
  await new Promise((r) => setTimeout(r, 500));
  const before = await memoryAfterGc();
  const cpuBefore = process.cpuUsage();
  const child = fork(path.join(__dirname, 'idle-clients.js'), [String(transport === 'tcp' ? node.ports.tcp : node.ports.ws), String(n), transport]);
  const ready = await new Promise<{ count: number; ms: number }>((resolve, reject) => {
    child.on('message', (msg: { type: string; count: number; ms: number; message?: string }) => {
      if (msg.type === 'ready') resolve(msg);
      else reject(new Error(msg.message));
    });
    child.on('exit', (code) => reject(new Error(`client process exited with ${code}`)));
  });
  const connectCpu = process.cpuUsage(cpuBefore);
  // Let the connect phase's garbage settle: V8 returns spare heap pages only when the heap is idle.
  await new Promise((r) => setTimeout(r, Number(arg('settle', '1000'))));
  const after = await memoryAfterGc();
  const online = node.runtime.count('connection');
  const rows = [
    ['transport', transport],
    ['connections online', String(online)],
    ['connect + auth time', `${ready.ms} ms (${Math.round((ready.count * 1000) / ready.ms)} per second)`],
    ['node CPU per connect + auth', `${((connectCpu.user + connectCpu.system) / 1000 / ready.count).toFixed(3)} ms`],
    ['heap per connection', `${((after.heapUsed - before.heapUsed) / online / 1024).toFixed(2)} KB`],
    ['RSS per connection', `${((after.rss - before.rss) / online / 1024).toFixed(2)} KB`],
    ['heap reserved (heapTotal) per connection', `${((after.heapTotal - before.heapTotal) / online / 1024).toFixed(2)} KB`],
    ['off-heap (external) per connection', `${((after.external - before.external) / online / 1024).toFixed(2)} KB`],
    ['node RSS', `${(after.rss / 1024 / 1024).toFixed(1)} MB`],
  ];
  process.stdout.write(`| figure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`);
  child.removeAllListeners('exit');
  child.send({ type: 'close' });
  await new Promise((r) => child.once('exit', r));
  // Every reset socket ends in a Disconnect to logic; let them land before the logic double stops.
  const deadline = Date.now() + 120_000;
  while (node.runtime.count('connection') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await node.stop();
  logic.removeAllListeners('exit');
  logic.kill();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

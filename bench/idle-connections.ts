/**
 * Quick check: how much memory an idle, authenticated connection costs a
 * cloud node. The node and a logic double run here (with --expose-gc); the
 * clients run in a separate process. Prints a markdown table.
 *
 *   node --expose-gc dist/bench/idle-connections.js [--n 10000] [--transport ws|tcp]
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { loadCloudConfig } from '../config/cloud-config';
import { CloudNode } from '../system/cloud-node';
import { createLogger } from '../system/logger';
import { TestLogicNode } from '../spec/support/test-logic-node';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

function measure(): { rss: number; heap: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function main(): Promise<void> {
  const n = Number(arg('n', '10000'));
  const transport = arg('transport', 'ws');
  const logic = await new TestLogicNode({ heartbeatMs: 600_000 }).start();
  const config = loadCloudConfig({
    overrides: { node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0 }, logic: { nodes: [logic.address] } },
  });
  const node = await CloudNode.start(config, { logger: createLogger('warn') });
  // Let start-up allocations settle before the baseline.
  await new Promise((r) => setTimeout(r, 500));
  const before = measure();
  const child = fork(path.join(__dirname, 'idle-clients.js'), [String(transport === 'tcp' ? node.ports.tcp : node.ports.ws), String(n), transport]);
  const ready = await new Promise<{ count: number; ms: number }>((resolve, reject) => {
    child.on('message', (msg: { type: string; count: number; ms: number; message?: string }) => {
      if (msg.type === 'ready') resolve(msg);
      else reject(new Error(msg.message));
    });
    child.on('exit', (code) => reject(new Error(`client process exited with ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 1000));
  const after = measure();
  const online = node.runtime.count('connection');
  const rows = [
    ['transport', transport],
    ['connections online', String(online)],
    ['connect + auth time', `${ready.ms} ms (${Math.round((ready.count * 1000) / ready.ms)} per second)`],
    ['heap per connection', `${((after.heap - before.heap) / online / 1024).toFixed(2)} KB`],
    ['RSS per connection', `${((after.rss - before.rss) / online / 1024).toFixed(2)} KB`],
    ['node RSS', `${(after.rss / 1024 / 1024).toFixed(1)} MB`],
  ];
  process.stdout.write(`| figure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`);
  child.removeAllListeners('exit');
  child.send({ type: 'close' });
  await new Promise((r) => child.once('exit', r));
  // Every reset socket ends in a Disconnect to logic; let them land before the logic double stops.
  await logic.waitFor((calls) => calls.disconnect.length >= online, 120_000, 'Disconnect for every client').catch(() => undefined);
  await node.stop();
  await logic.stop();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

/**
 * Quick check: how much memory an idle, authenticated connection costs a
 * cloud node. The node runs here (with --expose-gc); the logic double and
 * the clients run in processes of their own. Prints a markdown table.
 *
 *   node --expose-gc dist/bench/idle-connections.js [--n 10000] [--transport ws|tcp] [--rooms one|distinct] [--snapshot PREFIX]
 *
 * --rooms distinct puts every client in a room of its own (one room actor each).
 * --snapshot writes PREFIX-before.heapsnapshot and PREFIX-after.heapsnapshot;
 * dist/bench/heap-by-constructor.js compares the two per connection.
 */
import { writeHeapSnapshot } from 'node:v8';
import { argValue } from './lib/argv';
import { IdleRooms, openIdleClients, startCloudUnderTest } from './lib/cloud-under-test';
import { table } from './lib/markdown';
import { memoryAfterGc } from './servers/server-kit';

async function main(): Promise<void> {
  const n = Number(argValue('n', '10000'));
  const transport = argValue('transport', 'ws') === 'tcp' ? 'tcp' : 'ws';
  const rooms: IdleRooms = argValue('rooms', 'one') === 'distinct' ? 'distinct' : 'one';
  const snapshot = argValue('snapshot', '');
  const { node, stop } = await startCloudUnderTest();
  // Let start-up allocations settle before the baseline.
  await new Promise((r) => setTimeout(r, 500));
  const before = await memoryAfterGc();
  if (snapshot) writeHeapSnapshot(`${snapshot}-before.heapsnapshot`);
  const cpuBefore = process.cpuUsage();
  const ready = await openIdleClients(node, n, transport, rooms);
  const connectCpu = process.cpuUsage(cpuBefore);
  // Let the connect phase's garbage settle: V8 returns spare heap pages only when the heap is idle.
  await new Promise((r) => setTimeout(r, Number(argValue('settle', '1000'))));
  const after = await memoryAfterGc();
  const online = node.runtime.count('connection');
  if (snapshot) writeHeapSnapshot(`${snapshot}-after.heapsnapshot`);
  const rows = [
    ['transport', transport],
    ['rooms', rooms === 'one' ? 'one for all' : 'one per client'],
    ['connections online', String(online)],
    ['connect + auth time', `${ready.ms} ms (${Math.round((ready.count * 1000) / ready.ms)} per second)`],
    ['node CPU per connect + auth', `${((connectCpu.user + connectCpu.system) / 1000 / ready.count).toFixed(3)} ms`],
    ['heap per connection', `${((after.heapUsed - before.heapUsed) / online / 1024).toFixed(2)} KB`],
    ['RSS per connection', `${((after.rss - before.rss) / online / 1024).toFixed(2)} KB`],
    ['heap reserved (heapTotal) per connection', `${((after.heapTotal - before.heapTotal) / online / 1024).toFixed(2)} KB`],
    ['off-heap (external) per connection', `${((after.external - before.external) / online / 1024).toFixed(2)} KB`],
    ['node RSS', `${(after.rss / 1024 / 1024).toFixed(1)} MB`],
  ];
  process.stdout.write(`${table(['figure', 'value'], rows)}\n`);
  await ready.close();
  await stop();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

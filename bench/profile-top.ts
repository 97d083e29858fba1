/**
 * Prints the functions with the most self time in a V8 .cpuprofile (as
 * written by `npm run bench -- --profile`).
 *
 *   node dist/bench/profile-top.js FILE.cpuprofile [--top 30]
 */
import fs from 'node:fs';
import { argValue } from './lib/argv';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const top = Number(argValue('top', '30'));
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-top.js FILE.cpuprofile [--top 30]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const dt = profile.timeDeltas[i] ?? 0;
  totalUs += dt;
  if (!node) return;
  const f = node.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const label = `${f.functionName || '(anonymous)'} ${where}`.trim();
  selfUs.set(label, (selfUs.get(label) ?? 0) + dt);
});
const rows = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled\n`);
for (const [label, us] of rows) {
  process.stdout.write(`${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${label}\n`);
}

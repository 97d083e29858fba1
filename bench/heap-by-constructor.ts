/**
 * Where an idle connection's heap goes: compares two V8 heap snapshots
 * (before and after N connections, from idle-connections --snapshot) and
 * prints the growth in self size per connection, by constructor.
 *
 *   node dist/bench/heap-by-constructor.js BEFORE.heapsnapshot AFTER.heapsnapshot N [--top 40] [--by-owner]
 */
import { readFileSync } from 'node:fs';
import { argValue } from './lib/argv';
import { table } from './lib/markdown';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

interface Totals {
  readonly bytes: Map<string, number>;
  readonly count: Map<string, number>;
}

/**
 * Self size and count by "type:name" (objects by constructor, closures by function name, strings/arrays by
 * type); with `byOwner`, each node is also labelled by its first retainer and the edge it is held by
 * ("WebSocket._receiver"), which tells the anonymous arrays, Objects and closures apart.
 */
function totalsOf(file: string, byOwner: boolean): Totals {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const edgeCountAt = fields.indexOf('edge_count');
  const nodeCount = snap.nodes.length / width;
  const labelOf = (node: number): string => {
    const type = types[snap.nodes[node * width + typeAt]] ?? '?';
    const rawName = snap.strings[snap.nodes[node * width + nameAt]] ?? '';
    // Strings and numbers are named by their contents: group them by type only.
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden';
    return named ? `${type}:${rawName.slice(0, 40)}` : type;
  };
  const owner = new Map<number, string>();
  if (byOwner) {
    const eFields = meta.edge_fields;
    const eTypes = meta.edge_types[0];
    const eWidth = eFields.length;
    const eTypeAt = eFields.indexOf('type');
    const eNameAt = eFields.indexOf('name_or_index');
    const eToAt = eFields.indexOf('to_node');
    let edge = 0;
    for (let node = 0; node < nodeCount; node++) {
      const edges = snap.nodes[node * width + edgeCountAt];
      for (let k = 0; k < edges; k++, edge += eWidth) {
        const eType = eTypes[snap.edges[edge + eTypeAt]];
        if (eType === 'weak' || eType === 'shortcut') continue;
        const to = snap.edges[edge + eToAt] / width;
        if (owner.has(to)) continue;
        const raw = snap.edges[edge + eNameAt];
        const via = eType === 'element' || eType === 'hidden' ? '[]' : (snap.strings[raw] ?? '?');
        owner.set(to, `${labelOf(node)}.${via}`);
      }
    }
  }
  const bytes = new Map<string, number>();
  const count = new Map<string, number>();
  for (let node = 0; node < nodeCount; node++) {
    const key = byOwner ? `${labelOf(node)} ← ${owner.get(node) ?? '(root)'}` : labelOf(node);
    bytes.set(key, (bytes.get(key) ?? 0) + snap.nodes[node * width + sizeAt]);
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  return { bytes, count };
}

function main(): void {
  const [beforeFile, afterFile, nArg] = process.argv.slice(2);
  if (!beforeFile || !afterFile || !nArg) throw new Error('usage: heap-by-constructor BEFORE AFTER N [--top 40]');
  const n = Number(nArg);
  const top = Number(argValue('top', '40'));
  const byOwner = process.argv.includes('--by-owner');
  const before = totalsOf(beforeFile, byOwner);
  const after = totalsOf(afterFile, byOwner);
  const rows: Array<[string, number, number]> = [];
  let total = 0;
  for (const [key, bytes] of after.bytes) {
    const grew = bytes - (before.bytes.get(key) ?? 0);
    total += grew;
    rows.push([key, grew / n, ((after.count.get(key) ?? 0) - (before.count.get(key) ?? 0)) / n]);
  }
  for (const [key, bytes] of before.bytes) if (!after.bytes.has(key)) total -= bytes;
  rows.sort((a, b) => b[1] - a[1]);
  process.stdout.write(`${table(['type:constructor', 'bytes per connection', 'objects per connection'],
    [...rows.slice(0, top).map(([k, b, c]) => [k, b.toFixed(0), c.toFixed(2)]), ['total (all types)', (total / n).toFixed(0), '']])}\n`);
}

main();

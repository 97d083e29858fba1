/**
 * One shared, never-changed Set per distinct accepts list. Nearly every
 * client of an app accepts the same ops, and a Set costs ~250 bytes of heap
 * even for one op: a node of 19k connections held 19k copies of `{1000}`.
 * The sets are read-only everywhere (Sub and Unsub build a new list), so
 * sharing is safe. At most MAX_SHARED lists are kept; past that a list
 * gets a Set of its own, as before.
 */
const MAX_SHARED = 1024;
const shared = new Map<string, ReadonlySet<number>>();

export function acceptsSet(ops: Iterable<number>): ReadonlySet<number> {
  const sorted = [...new Set(ops)].sort((a, b) => a - b);
  const key = sorted.join(',');
  const known = shared.get(key);
  if (known) return known;
  const set: ReadonlySet<number> = new Set(sorted);
  if (shared.size < MAX_SHARED) shared.set(key, set);
  return set;
}

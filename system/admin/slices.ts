/**
 * Walking big lists without stopping the node (Erlang Observer's rule): a
 * walk visits at most SLICE items, then lets the event loop run (pushes,
 * sockets, timers) before it goes on. The iterators walked are live Map and
 * Set iterators, which stay valid across the pauses: they skip entries
 * deleted meanwhile and reach entries added meanwhile.
 */
export const SLICE = 2000;

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Visits each item, SLICE at a time; `visit` returns false to stop early. */
export async function walkInSlices<T>(items: Iterable<T>, visit: (item: T) => boolean | void, slice = SLICE): Promise<void> {
  let inSlice = 0;
  for (const item of items) {
    if (visit(item) === false) return;
    if (++inSlice >= slice) {
      inSlice = 0;
      await yieldToLoop();
    }
  }
}

export interface Page<T> {
  readonly items: T[];
  /** Where the next page starts, or null when this one reached the end. */
  readonly next: number | null;
}

/**
 * What describing one item of a page costs, in items merely stepped over:
 * describing a connection (its state summary, its socket counters) takes
 * about 9 µs, twenty times a step; a slice holds about 100 described items.
 */
const DESCRIBE_COST = 20;

/**
 * Items [offset, offset + limit) of a live list, walked in slices that count
 * the items described as DESCRIBE_COST each. A position is all a cursor can
 * be over a list that changes between pages: items added or removed before
 * it shift the next page by as many.
 */
export async function pageOf<T, R>(items: Iterable<T>, offset: number, limit: number, map: (item: T) => R): Promise<Page<R>> {
  const out: R[] = [];
  let index = 0;
  let more = false;
  let inSlice = 0;
  for (const item of items) {
    if (index >= offset) {
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push(map(item));
      inSlice += DESCRIBE_COST;
    } else {
      inSlice++;
    }
    index++;
    if (inSlice >= SLICE) {
      inSlice = 0;
      await yieldToLoop();
    }
  }
  return { items: out, next: more ? offset + out.length : null };
}

/** A page cursor as the API shows it: an opaque string (today a position). */
export function encodeCursor(position: number | null): string | null {
  return position === null ? null : Buffer.from(`p${position}`).toString('base64url');
}

/** The position a cursor names; null when it is not one of ours. An absent cursor is position 0. */
export function decodeCursor(cursor: string | null): number | null {
  if (cursor === null || cursor === '') return 0;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^p\d{1,15}$/.test(text)) return null;
  return Number(text.slice(1));
}

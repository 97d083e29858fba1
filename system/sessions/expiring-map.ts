/**
 * A Map whose entries expire like Redis keys: each entry lives `ttlMs` from
 * its last set/renew, an expired entry is invisible (and dropped when met),
 * and sweep() drops every expired entry so memory does not grow unbounded.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly ttlMs: number, private readonly now: () => number) {}

  get(key: string): V | undefined {
    return this.live(key)?.value;
  }

  /** Stores the value with a fresh TTL (SET ... EX, or HSET + EXPIRE on a whole hash). */
  set(key: string, value: V): void {
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  /** EXPIRE: renews a live entry's TTL; false when there was none. */
  renew(key: string): boolean {
    const entry = this.live(key);
    if (entry) entry.expiresAt = this.now() + this.ttlMs;
    return entry !== undefined;
  }

  /** DEL: false when there was no live entry. */
  delete(key: string): boolean {
    return this.live(key) !== undefined && this.entries.delete(key);
  }

  /** Live entries (expired ones are dropped on the way). */
  *liveEntries(): IterableIterator<[string, V]> {
    for (const key of [...this.entries.keys()]) {
      const entry = this.live(key);
      if (entry) yield [key, entry.value];
    }
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Entries held, expired or not (what sweep() bounds). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private live(key: string): { value: V; expiresAt: number } | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

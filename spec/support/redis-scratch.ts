/**
 * A raw ioredis client for session-store tests on the shared Redis: every
 * test run works under its own key prefix, can age keys without sleeping,
 * and deletes what it wrote.
 */
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export class RedisScratch {
  readonly raw = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  /** Unique to this run, so parallel runs on the same Redis do not clash. */
  readonly prefix = `im-cloud-ts-test:${process.pid}:${Date.now().toString(36)}:`;
  private next = 0;

  /** A fresh prefix under the run's prefix (one per store under test). */
  subPrefix(): string {
    return `${this.prefix}${this.next++}:`;
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [nextCursor, keys] = await this.raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      found.push(...keys);
      cursor = nextCursor;
    } while (cursor !== '0');
    return found;
  }

  /** As if `ms` passed: shortens the TTL of every key under the prefix, deleting those it runs out. */
  async elapse(prefix: string, ms: number): Promise<void> {
    for (const key of await this.keysUnder(prefix)) {
      const left = await this.raw.pttl(key);
      if (left < 0) continue; // no TTL (or gone)
      if (left <= ms) await this.raw.del(key);
      else await this.raw.pexpire(key, left - ms);
    }
  }

  /** Deletes every key of this run and disconnects. */
  async cleanup(): Promise<void> {
    const keys = await this.keysUnder(this.prefix);
    if (keys.length > 0) await this.raw.del(...keys);
    await this.raw.quit();
  }
}

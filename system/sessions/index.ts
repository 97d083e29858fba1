import type { SessionStore } from '../../actors/logic-ports';
import type { LogicConfig } from '../../config/logic-config';
import { MemorySessionStore } from './memory-session-store';
import { RedisSessionStore } from './redis-session-store';

export { MemorySessionStore } from './memory-session-store';
export type { MemorySessionStoreOptions } from './memory-session-store';
export { RedisSessionStore } from './redis-session-store';
export type { RedisSessionStoreOptions } from './redis-session-store';

export interface SessionStoreOptions {
  /** Memory store clock in ms (tests). */
  readonly now?: () => number;
  /** Redis store: prefix before goim's key names. */
  readonly keyPrefix?: string;
}

/** The store `session.store` names, configured from `session.*`. */
export function createSessionStore(config: LogicConfig['session'], options: SessionStoreOptions = {}): SessionStore {
  switch (config.store) {
    case 'memory':
      return new MemorySessionStore({ ttlSeconds: config.ttlSeconds, now: options.now });
    case 'redis':
      return new RedisSessionStore({ url: config.redisUrl, ttlSeconds: config.ttlSeconds, keyPrefix: options.keyPrefix });
  }
}

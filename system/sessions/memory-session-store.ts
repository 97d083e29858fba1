/**
 * Sessions in this process only (one logic node). Mirrors the Redis store's
 * TTL semantics: key_ entries expire one by one, a mid_ hash expires as a
 * whole (any add/refresh of one of its keys renews it, like goim's HSET +
 * EXPIRE), ol_ reports expire per server. Expired entries are invisible,
 * dropped when met and by a periodic unref'd sweep. Each key_ entry also
 * holds which connection its session is (the Redis store's conn_<key>), so
 * a stale connection's Disconnect or Heartbeat leaves its successor alone
 * (see SessionStore.remove).
 */
import type { ServerOnline, SessionMapping, SessionStore } from '../../actors/logic-ports';
import { ImError } from '../errors';
import { ExpiringMap } from './expiring-map';
import { positiveMid } from './goim-layout';

export interface MemorySessionStoreOptions {
  readonly ttlSeconds: number;
  /** Clock in milliseconds (tests inject one to skip time). Default Date.now. */
  readonly now?: () => number;
  /** How often expired entries are swept. Default 60 s. */
  readonly sweepIntervalMs?: number;
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  /** key → server (goim's key_<key>) and the connection that session is (ours: conn_<key>). */
  private readonly keys: ExpiringMap<KeySession>;
  /** mid → key → server (goim's mid_<mid>), expiring as a whole. */
  private readonly mids: ExpiringMap<Map<string, string>>;
  /** server → last report (goim's ol_<server>). */
  private readonly onlines: ExpiringMap<ServerOnline>;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemorySessionStoreOptions) {
    const now = options.now ?? Date.now;
    const ttlMs = options.ttlSeconds * 1000;
    this.keys = new ExpiringMap(ttlMs, now);
    this.mids = new ExpiringMap(ttlMs, now);
    this.onlines = new ExpiringMap(ttlMs, now);
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  async add(mapping: SessionMapping): Promise<void> {
    this.assertOpen();
    this.addNow(mapping);
  }

  async addUnlessHeld(mapping: SessionMapping): Promise<boolean> {
    this.assertOpen();
    const session = this.keys.get(mapping.key);
    if (session && session.mid !== (positiveMid(mapping.mid) ?? '')) return false;
    this.addNow(mapping);
    return true;
  }

  /**
   * Only the server a key now maps to may remove it: a late Disconnect from its old server leaves
   * the new session alone; and with a connection id, only the connection the session is.
   */
  async remove(mapping: SessionMapping): Promise<boolean> {
    this.assertOpen();
    const mid = positiveMid(mapping.mid);
    const session = this.keys.get(mapping.key);
    if (session && isStale(session, mapping)) {
      // The key is another connection's now. This connection's own mid field goes only if that
      // session is another user's (else the field is the successor's too).
      if (mid !== null && session.mid !== mid) this.removeMidField(mid, mapping);
      return false;
    }
    if (mid !== null) this.removeMidField(mid, mapping);
    if (session?.server !== mapping.server) return false;
    return this.keys.delete(mapping.key);
  }

  async refresh(mapping: SessionMapping): Promise<void> {
    this.assertOpen();
    const session = this.keys.get(mapping.key);
    if (session && isStale(session, mapping)) return;
    const mid = positiveMid(mapping.mid);
    const midAlive = mid === null || this.mids.renew(mid);
    const keyAlive = this.keys.renew(mapping.key);
    if (!keyAlive || !midAlive) this.addNow(mapping);
  }

  async serversByKeys(keys: readonly string[]): Promise<Map<string, string>> {
    this.assertOpen();
    const found = new Map<string, string>();
    for (const key of keys) {
      const session = this.keys.get(key);
      if (session !== undefined) found.set(key, session.server);
    }
    return found;
  }

  async keysByMids(mids: readonly string[]): Promise<Map<string, string>> {
    this.assertOpen();
    const found = new Map<string, string>();
    for (const raw of mids) {
      const mid = positiveMid(raw);
      const hash = mid === null ? undefined : this.mids.get(mid);
      for (const [key, server] of hash ?? []) found.set(key, server);
    }
    return found;
  }

  async putOnline(online: ServerOnline): Promise<void> {
    this.assertOpen();
    this.onlines.set(online.server, copyOnline(online));
  }

  async allOnline(): Promise<ServerOnline[]> {
    this.assertOpen();
    return [...this.onlines.liveEntries()].map(([, online]) => copyOnline(online));
  }

  /** Drops every expired entry now (also runs periodically); returns how many. */
  sweep(): number {
    return this.keys.sweep() + this.mids.sweep() + this.onlines.sweep();
  }

  /** Entries held, expired or not: what the sweep keeps bounded. */
  get size(): number {
    return this.keys.size + this.mids.size + this.onlines.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.keys.clear();
    this.mids.clear();
    this.onlines.clear();
  }

  private addNow({ mid: rawMid, key, server, connId }: SessionMapping): void {
    const mid = positiveMid(rawMid);
    if (mid !== null) {
      const hash = this.mids.get(mid) ?? new Map<string, string>();
      hash.set(key, server);
      this.mids.set(mid, hash); // renews the whole hash, like EXPIRE mid_<mid>
    }
    this.keys.set(key, { server, connId: connId ?? '', mid: mid ?? '' });
  }

  /** HDEL mid_<mid> key, only while it names the mapping's server. */
  private removeMidField(mid: string, { key, server }: SessionMapping): void {
    const hash = this.mids.get(mid);
    if (hash && hash.get(key) === server) {
      hash.delete(key);
      if (hash.size === 0) this.mids.delete(mid); // Redis drops an empty hash
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ImError('SESSION_STORE', 'memory store is closed');
  }
}

/** One key_ entry: its server, and the connection (id and canonical mid, '' for none) the session is. */
interface KeySession {
  readonly server: string;
  readonly connId: string;
  readonly mid: string;
}

/** A mapping from a connection other than the one the key's session records (see SessionStore.remove). */
function isStale(session: KeySession, mapping: SessionMapping): boolean {
  const connId = mapping.connId ?? '';
  return connId !== '' && session.connId !== '' && session.connId !== connId;
}

function copyOnline(online: ServerOnline): ServerOnline {
  return { ...online, roomCount: { ...online.roomCount } };
}

/**
 * Sessions in Redis, shared by every logic node pointing at it, in goim's
 * exact layout (see goim-layout.ts).
 *
 * Failing fast: a call never waits on a Redis that is down. ioredis queues
 * commands while (re)connecting, but each queued command is rejected after
 * two failed connection attempts (maxRetriesPerRequest 1; reconnect delays
 * 100 ms growing to 1 s), a connection attempt gives up after connectTimeoutMs,
 * and every command gives up after commandTimeoutMs. Failures reject with
 * ImError E_SESSION_STORE. A short Redis blip (a restart) is ridden out by
 * the queue; a Redis that refuses connections makes calls fail within about
 * a second, one that accepts but never answers within commandTimeoutMs.
 *
 * Single Redis (or a primary) only: putOnline's MULTI and allOnline's prune
 * script touch ol_<server> and ol_servers together, and the session writes
 * touch key_, mid_ and conn_ together, which Redis Cluster would refuse
 * across slots.
 */
import { ChainableCommander, Redis } from 'ioredis';
import type { ServerOnline, SessionMapping, SessionStore } from '../../actors/logic-ports';
import { ImError } from '../errors';
import { decodeOnline, encodeOnline, GoimKeys, positiveMid } from './goim-layout';

export interface RedisSessionStoreOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  readonly ttlSeconds: number;
  /** Goes before goim's names (`<prefix>key_<key>`). Default ''. */
  readonly keyPrefix?: string;
  /** Longest a TCP connect may take. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** Longest any command may wait for its reply, queueing included. Default 3000. */
  readonly commandTimeoutMs?: number;
}

/*
 * The session scripts: KEYS = key_<key>, mid_<mid> ('' when the mid is not positive), conn_<key>;
 * ARGV = key, server, connId ('' when the cloud node sent none), canonical mid ('' for none), TTL.
 * A mapping is stale when it has a connId and key_ exists with a conn_ naming another connection
 * (SessionStore.remove). Each runs atomically, so a Connect's MULTI lands wholly before or after.
 */
const STALE = `
local owner = redis.call('HGET', KEYS[3], 'id')
local stale = ARGV[3] ~= '' and owner and owner ~= '' and owner ~= ARGV[3] and redis.call('EXISTS', KEYS[1]) == 1`;

/** Disconnect: DEL key_ (and conn_) and HDEL the mid_ field, each only while it names this server; answers whether key_ went. */
const REMOVE = `${STALE}
if stale then
  if KEYS[2] ~= '' and redis.call('HGET', KEYS[3], 'mid') ~= ARGV[4] and redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
  return 0
end
local removed = 0
if redis.call('GET', KEYS[1]) == ARGV[2] then
  removed = redis.call('DEL', KEYS[1])
  redis.call('DEL', KEYS[3])
end
if KEYS[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[1]) end
return removed`;

/** What Connect's MULTI writes to goim's key_ and mid_ (the scripts below re-add a session so), conn_ cleared. */
const WRITE_KEY_AND_MID = `if KEYS[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5])
redis.call('DEL', KEYS[3])`;

/**
 * Heartbeat: EXPIRE key_, mid_ and conn_; when key_ or mid_ was gone, re-add all three as Connect
 * does (goim's Heartbeat looks at key_ only; we also re-add when mid_ is gone, so the user stays
 * reachable). Answers -1 stale, 0 renewed, 1 re-added.
 */
const REFRESH = `${STALE}
if stale then return -1 end
local alive = redis.call('EXPIRE', KEYS[1], ARGV[5])
if KEYS[2] ~= '' and redis.call('EXPIRE', KEYS[2], ARGV[5]) == 0 then alive = 0 end
if alive == 1 then
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  return 0
end
${WRITE_KEY_AND_MID}
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], 'id', ARGV[3], 'mid', ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return 1`;

/**
 * Connect with auth.bindKeyToMid: refuses (0) when key_ lives and conn_ does not name this mid
 * (absent or '' for "no user"; a key_ without conn_, as goim writes, counts as another's), else
 * writes what Connect's MULTI writes, conn_ always (id '' when the cloud node sent none), and
 * answers 1. One script, so two Connects racing for a key cannot both pass the check.
 */
const ADD_UNLESS_HELD = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[3], 'mid') ~= ARGV[4] then return 0 end
${WRITE_KEY_AND_MID}
redis.call('HSET', KEYS[3], 'id', ARGV[3], 'mid', ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return 1`;

/** Drops a server from ol_servers only if its ol_ hash is really gone (a writer may have just re-put it). */
const PRUNE_SERVER = "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0";

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  private readonly keys: GoimKeys;
  private readonly redis: Redis;
  private readonly ttl: number;
  private lastConnectionError: Error | null = null;

  constructor(options: RedisSessionStoreOptions) {
    this.keys = new GoimKeys(options.keyPrefix ?? '');
    this.ttl = options.ttlSeconds;
    this.redis = new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 3000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    // Without a listener ioredis prints every failed reconnect; keep the last for error details
    // (ioredis also emits the queue flush it causes, which says nothing new).
    this.redis.on('error', (err: Error) => {
      if (err.name !== 'MaxRetriesPerRequestError') this.lastConnectionError = err;
    });
    this.redis.on('ready', () => {
      this.lastConnectionError = null;
    });
  }

  add(mapping: SessionMapping): Promise<void> {
    return this.run('add', async () => {
      await exec(this.addCommands(this.redis.multi(), mapping));
    });
  }

  addUnlessHeld(mapping: SessionMapping): Promise<boolean> {
    return this.run('addUnlessHeld', async () => {
      const added = await this.redis.eval(ADD_UNLESS_HELD, 3, ...this.scriptArgs(mapping), this.ttl);
      return added === 1;
    });
  }

  /**
   * Only the server a key now maps to may remove it: a late Disconnect from its old server leaves
   * the new session alone; and with a connection id, only the connection the session is.
   */
  remove(mapping: SessionMapping): Promise<boolean> {
    return this.run('remove', async () => {
      const removed = await this.redis.eval(REMOVE, 3, ...this.scriptArgs(mapping));
      return removed === 1;
    });
  }

  refresh(mapping: SessionMapping): Promise<void> {
    return this.run('refresh', async () => {
      await this.redis.eval(REFRESH, 3, ...this.scriptArgs(mapping), this.ttl);
    });
  }

  serversByKeys(keys: readonly string[]): Promise<Map<string, string>> {
    return this.run('serversByKeys', async () => {
      const found = new Map<string, string>();
      if (keys.length === 0) return found;
      const servers = await this.redis.mget(keys.map((key) => this.keys.key(key)));
      keys.forEach((key, i) => {
        const server = servers[i];
        if (typeof server === 'string') found.set(key, server);
      });
      return found;
    });
  }

  keysByMids(rawMids: readonly string[]): Promise<Map<string, string>> {
    return this.run('keysByMids', async () => {
      const found = new Map<string, string>();
      const mids = rawMids.map(positiveMid).filter((mid): mid is string => mid !== null);
      if (mids.length === 0) return found;
      const pipeline = this.redis.pipeline();
      for (const mid of mids) pipeline.hgetall(this.keys.mid(mid));
      for (const hash of await exec(pipeline)) {
        for (const [key, server] of Object.entries(asStringRecord(hash))) found.set(key, server);
      }
      return found;
    });
  }

  putOnline(online: ServerOnline): Promise<void> {
    return this.run('putOnline', async () => {
      const hash = this.keys.online(online.server);
      // One transaction: readers never see half a report, and shards whose rooms emptied vanish.
      await exec(
        this.redis
          .multi()
          .del(hash)
          .hset(hash, encodeOnline(online))
          .expire(hash, this.ttl)
          .sadd(this.keys.onlineServers, online.server),
      );
    });
  }

  allOnline(): Promise<ServerOnline[]> {
    return this.run('allOnline', async () => {
      const servers = await this.redis.smembers(this.keys.onlineServers);
      if (servers.length === 0) return [];
      const reads = this.redis.pipeline();
      for (const server of servers) reads.hgetall(this.keys.online(server));
      const hashes = await exec(reads);
      const onlines: ServerOnline[] = [];
      const gone: string[] = [];
      servers.forEach((server, i) => {
        const online = decodeOnline(server, asStringRecord(hashes[i]));
        if (online) onlines.push(online);
        else gone.push(server);
      });
      if (gone.length > 0) await this.prune(gone);
      return onlines;
    });
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // fall through: drop the connection without waiting
      }
    }
    this.redis.disconnect();
  }

  private async prune(servers: readonly string[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const server of servers) pipeline.eval(PRUNE_SERVER, 2, this.keys.online(server), this.keys.onlineServers, server);
    await exec(pipeline);
  }

  /** Connect's writes, in one MULTI: the mid_ field, key_, and conn_ (replaced, or dropped when there is no connId). */
  private addCommands(multi: ChainableCommander, { mid: rawMid, key, server, connId }: SessionMapping): ChainableCommander {
    const mid = positiveMid(rawMid);
    if (mid !== null) multi.hset(this.keys.mid(mid), key, server).expire(this.keys.mid(mid), this.ttl);
    multi.set(this.keys.key(key), server, 'EX', this.ttl).del(this.keys.conn(key));
    if (connId) multi.hset(this.keys.conn(key), 'id', connId, 'mid', mid ?? '').expire(this.keys.conn(key), this.ttl);
    return multi;
  }

  /** KEYS then ARGV of the session scripts, as documented above REMOVE. */
  private scriptArgs({ mid: rawMid, key, server, connId }: SessionMapping): string[] {
    const mid = positiveMid(rawMid);
    return [this.keys.key(key), mid === null ? '' : this.keys.mid(mid), this.keys.conn(key), key, server, connId ?? '', mid ?? ''];
  }

  /** Runs one operation; any failure becomes E_SESSION_STORE naming the operation and the cause. */
  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ImError) throw err;
      const cause = err instanceof Error ? err.message : String(err);
      const connection = this.lastConnectionError ? ` (last connection error: ${this.lastConnectionError.message})` : '';
      throw new ImError('SESSION_STORE', `redis ${operation}: ${cause}${connection}`);
    }
  }
}

/** Runs a pipeline or transaction; rejects with the first command error. */
async function exec(commands: ChainableCommander): Promise<unknown[]> {
  const results = await commands.exec();
  if (!results) throw new Error('transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function asStringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

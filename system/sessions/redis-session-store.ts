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
 * script touch ol_<server> and ol_servers together, which Redis Cluster
 * would refuse across slots.
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

/** Drops a server from ol_servers only if its ol_ hash is really gone (a writer may have just re-put it). */
/** DEL key_ and HDEL mid_ field, each only while it still names this server; answers whether key_ was removed. */
const REMOVE_IF_OWNED = `
local removed = 0
if redis.call('GET', KEYS[1]) == ARGV[2] then removed = redis.call('DEL', KEYS[1]) end
if KEYS[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[1]) end
return removed`;

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
      await exec(this.addCommands(this.redis.pipeline(), mapping));
    });
  }

  /** Only the server a key now maps to may remove it: a late Disconnect from its old server leaves the new session alone. */
  remove({ mid: rawMid, key, server }: SessionMapping): Promise<boolean> {
    return this.run('remove', async () => {
      const mid = positiveMid(rawMid);
      const removed = await this.redis.eval(REMOVE_IF_OWNED, 2, this.keys.key(key), mid === null ? '' : this.keys.mid(mid), key, server);
      return removed === 1;
    });
  }

  refresh(mapping: SessionMapping): Promise<void> {
    return this.run('refresh', async () => {
      const mid = positiveMid(mapping.mid);
      const pipeline = this.redis.pipeline();
      if (mid !== null) pipeline.expire(this.keys.mid(mid), this.ttl);
      pipeline.expire(this.keys.key(mapping.key), this.ttl);
      const results = await exec(pipeline);
      // EXPIRE answers 0 when the key is gone: re-add, as goim's Heartbeat does
      // (goim looks at key_ only; we also re-add when mid_ is gone, so the user stays reachable).
      if (results.some((renewed) => renewed !== 1)) await exec(this.addCommands(this.redis.pipeline(), mapping));
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

  private addCommands(pipeline: ChainableCommander, { mid: rawMid, key, server }: SessionMapping): ChainableCommander {
    const mid = positiveMid(rawMid);
    if (mid !== null) pipeline.hset(this.keys.mid(mid), key, server).expire(this.keys.mid(mid), this.ttl);
    return pipeline.set(this.keys.key(key), server, 'EX', this.ttl);
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

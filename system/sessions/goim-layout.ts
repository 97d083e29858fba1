/**
 * goim's Redis layout (goim internal/logic/dao/redis.go), kept exactly so
 * operators' Redis tooling and goim's own readers understand ours:
 *
 *   key_<key>    string  → server id
 *   mid_<mid>    hash    key → server id        (only for mid > 0)
 *   ol_<server>  hash    shard "0".."63" → JSON {"server","room_count","updated"}
 *
 * Our additions: shard "0" is always written and also carries "conn_count"
 * and "ip_count"; the set `ol_servers` lists every server with an ol_ hash so
 * readers need no SCAN; and
 *
 *   conn_<key>   hash    "id" → connection id, "mid" → mid ("" for none)
 *
 * which connection the session in key_<key> is: written with key_ (same
 * TTL, renewed with it) by Connect and by Heartbeat's re-add when the cloud
 * node sent a connection id, deleted with key_, absent when it sent none
 * (goim's comet), except that a Connect under auth.bindKeyToMid always
 * writes it (its "mid" is who holds the key). A Disconnect or Heartbeat carrying another connection's id
 * leaves that session's key_ and mid_ entries alone (SessionStore.remove),
 * so a client that reconnects with the same key keeps its new session
 * whatever order logic sees the calls in. goim's readers never look at it.
 * Every name may carry a deployment prefix.
 */
import type { ServerOnline } from '../../actors/logic-ports';
import { hashKey } from '../../actors/shard-router';

/** goim spreads a node's rooms over this many hash fields (it uses cityhash32(room) % 64). */
export const ONLINE_SHARDS = 64;

const INT64_MAX = (1n << 63n) - 1n;

/**
 * The canonical decimal of a positive int64 mid (goim formats `mid_%d`), or
 * null for goim's "no user" (0, negative, non-numeric, out of range): such
 * sessions get a key_ entry but no mid_ hash.
 */
export function positiveMid(mid: string): string | null {
  if (!/^\d+$/.test(mid)) return null;
  const value = BigInt(mid);
  return value > 0n && value <= INT64_MAX ? value.toString() : null;
}

/** Redis key names, with an optional prefix before goim's names. */
export class GoimKeys {
  constructor(readonly prefix = '') {}

  key(key: string): string {
    return `${this.prefix}key_${key}`;
  }

  mid(mid: string): string {
    return `${this.prefix}mid_${mid}`;
  }

  /** Ours, not goim's: which connection key_<key>'s session is. */
  conn(key: string): string {
    return `${this.prefix}conn_${key}`;
  }

  online(server: string): string {
    return `${this.prefix}ol_${server}`;
  }

  /** Ours, not goim's: the set of servers that have an ol_ hash. */
  get onlineServers(): string {
    return `${this.prefix}ol_servers`;
  }
}

/** The hash field a room's count lives in (any stable hash works: readers merge all 64 fields). */
export function onlineShard(room: string): number {
  return hashKey(room) % ONLINE_SHARDS;
}

/** One ol_ field's JSON. goim's Go struct ignores the two extra fields. */
interface OnlineShardJson {
  server: string;
  room_count: Record<string, number>;
  updated: number;
  conn_count?: number;
  ip_count?: number;
}

/** The ol_<server> hash fields for one report: shard number → JSON. Shard "0" is always present. */
export function encodeOnline(online: ServerOnline): Record<string, string> {
  const shards = new Map<number, Array<[string, number]>>([[0, []]]);
  for (const [room, count] of Object.entries(online.roomCount)) {
    const shard = onlineShard(room);
    const rooms = shards.get(shard) ?? [];
    rooms.push([room, count]);
    shards.set(shard, rooms);
  }
  const fields: Record<string, string> = {};
  for (const [shard, rooms] of shards) {
    const json: OnlineShardJson = { server: online.server, room_count: Object.fromEntries(rooms), updated: online.updated };
    if (shard === 0) {
      json.conn_count = online.connCount;
      json.ip_count = online.ipCount;
    }
    fields[String(shard)] = JSON.stringify(json);
  }
  return fields;
}

/**
 * Merges the fields of an ol_<server> hash (as HGETALL returns them) into one
 * report; null when no field holds a readable shard (hash gone or foreign).
 */
export function decodeOnline(server: string, fields: Readonly<Record<string, string>>): ServerOnline | null {
  const rooms = new Map<string, number>();
  let updated = 0;
  let connCount = 0;
  let ipCount = 0;
  let seen = false;
  for (const value of Object.values(fields)) {
    const shard = parseShard(value);
    if (!shard) continue;
    seen = true;
    for (const [room, count] of Object.entries(shard.room_count)) rooms.set(room, count);
    updated = Math.max(updated, shard.updated);
    connCount = Math.max(connCount, shard.conn_count ?? 0);
    ipCount = Math.max(ipCount, shard.ip_count ?? 0);
  }
  return seen ? { server, roomCount: Object.fromEntries(rooms), connCount, ipCount, updated } : null;
}

function parseShard(text: string): OnlineShardJson | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(parsed) || !isObject(parsed.room_count)) return null;
  const rooms = Object.entries(parsed.room_count).filter((entry): entry is [string, number] => isCount(entry[1]));
  return {
    server: typeof parsed.server === 'string' ? parsed.server : '',
    room_count: Object.fromEntries(rooms),
    updated: isCount(parsed.updated) ? parsed.updated : 0,
    conn_count: isCount(parsed.conn_count) ? parsed.conn_count : 0,
    ip_count: isCount(parsed.ip_count) ? parsed.ip_count : 0,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

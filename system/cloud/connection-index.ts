import type { ClientHandle, ConnectionIndex } from '../../actors/ports';

export type IndexedField = 'mid' | 'ip';

/** The address part of a remote `host:port` (IPv6 included), with IPv4-mapped IPv6 written as IPv4. */
export function ipOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  const host = colon === -1 ? remote : remote.slice(0, colon);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return normalizeIp(bare);
}

/** `::ffff:10.0.0.1` and `10.0.0.1` name the same client: index and look up both as the latter. */
export function normalizeIp(ip: string): string {
  return ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * One field's value → connection serials. Most values (a user's id) name one
 * connection: those hold the bare number, and only a shared value (an office
 * NAT's IP, a user on several devices) pays for a Set.
 */
class MultiMap {
  private readonly entries = new Map<string, number | Set<number>>();

  add(value: string, id: number): void {
    const held = this.entries.get(value);
    if (held === undefined) this.entries.set(value, id);
    else if (typeof held === 'number') {
      if (held !== id) this.entries.set(value, new Set([held, id]));
    } else held.add(id);
  }

  remove(value: string, id: number): void {
    const held = this.entries.get(value);
    if (held === undefined) return;
    if (typeof held === 'number') {
      if (held === id) this.entries.delete(value);
      return;
    }
    held.delete(id);
    if (held.size === 1) for (const only of held) this.entries.set(value, only);
  }

  /** Up to `limit` serials, and how many there are in all. */
  find(value: string, limit: number): { ids: number[]; total: number } {
    const held = this.entries.get(value);
    if (held === undefined) return { ids: [], total: 0 };
    if (typeof held === 'number') return { ids: [held], total: 1 };
    const ids: number[] = [];
    for (const id of held) {
      if (ids.length >= limit) break;
      ids.push(id);
    }
    return { ids, total: held.size };
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The cloud node's connection index by user (mid) and by client IP; keys and rooms are found through buckets and rooms. */
export class ConnectionLookup implements ConnectionIndex {
  private readonly fields: Record<IndexedField, MultiMap> = { mid: new MultiMap(), ip: new MultiMap() };

  opened(handle: ClientHandle): void {
    this.fields.ip.add(ipOf(handle.remoteAddress), handle.id);
  }

  identified(handle: ClientHandle, mid: string): void {
    this.fields.mid.add(mid, handle.id);
  }

  forgotten(handle: ClientHandle, mid: string): void {
    this.fields.mid.remove(mid, handle.id);
  }

  closed(handle: ClientHandle): void {
    this.fields.ip.remove(ipOf(handle.remoteAddress), handle.id);
  }

  find(field: IndexedField, value: string, limit: number): { ids: number[]; total: number } {
    return this.fields[field].find(field === 'ip' ? normalizeIp(value) : value, limit);
  }

  /** Distinct values held for a field (distinct users, distinct client IPs). */
  distinct(field: IndexedField): number {
    return this.fields[field].size;
  }
}

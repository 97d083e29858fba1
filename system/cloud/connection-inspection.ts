import { bucketActor, BucketMsg } from '../../actors/bucket-actor';
import { connectionActor, ConnectionMsg } from '../../actors/connection-actor';
import { roomActor, RoomMsg } from '../../actors/room-actor';
import type { ShardRouter } from '../../actors/shard-router';
import type { ActorRef } from '../actor-kind';
import type { ActorRuntime } from '../actor-runtime';
import { ImError } from '../errors';
import { summaryOf } from '../admin/actor-inspector';
import { decodeCursor, encodeCursor, pageOf } from '../admin/slices';
import { WalkGate } from '../admin/walk-gate';
import type { ConnectionLookup } from './connection-index';

/** How a search names its connections: exactly one field. */
export type ConnectionQuery =
  | { readonly by: 'key'; readonly value: string }
  | { readonly by: 'mid'; readonly value: string }
  | { readonly by: 'room'; readonly value: string }
  | { readonly by: 'ip'; readonly value: string };

export interface ConnectionJson {
  readonly path: string;
  readonly [field: string]: unknown;
}

export interface ConnectionsAnswer {
  readonly connections: ConnectionJson[];
  /** How many connections match in all (the answer holds at most `limit`). */
  readonly total: number;
}

export interface RoomJson {
  readonly roomId: string;
  readonly path: string;
  /** This node's members. */
  readonly members: number;
  /** Members on every node, as logic last reported the other nodes' share. */
  readonly online: number;
}

export interface RoomsAnswer {
  readonly rooms: RoomJson[];
  readonly total: number;
  readonly nextCursor: string | null;
}

export interface CloudInspectionDeps {
  readonly runtime: ActorRuntime;
  readonly buckets: ShardRouter<BucketMsg>;
  readonly roomIndex: ReadonlyMap<string, ActorRef<RoomMsg>>;
  readonly lookup: ConnectionLookup;
  /** Where the connection actor of a socket serial lives. */
  readonly connectionPath: (connId: number) => string;
}

/**
 * The cloud node's connections and rooms for the admin endpoint. Every
 * search goes through an index (a key's bucket, a room's actor, the user and
 * address index), never through the whole list of connections.
 */
export class CloudInspection {
  private readonly roomWalks = new WalkGate<RoomsAnswer>();

  constructor(private readonly deps: CloudInspectionDeps) {}

  find(query: ConnectionQuery, limit: number): ConnectionsAnswer {
    const { ids, total } = this.idsFor(query, limit);
    const connections: ConnectionJson[] = [];
    for (const id of ids) {
      const described = this.describe(this.deps.connectionPath(id));
      if (described) connections.push(described);
    }
    return { connections, total };
  }

  /**
   * Closes the connection holding `key` (op 6 E_KICKED; logic hears
   * Disconnect). Answers once the connection has handled the kick and
   * stopped; E_ADMIN_NOT_FOUND when it was already gone, or went for another
   * reason first; E_ADMIN_KICK_TIMEOUT when it did not get to it within waitMs.
   */
  async kick(key: string, waitMs: number): Promise<{ key: string; path: string }> {
    const owner = this.ownerOf(key);
    const ref = owner ? this.deps.runtime.refAt(owner.path) : undefined;
    if (!owner || !ref) throw new ImError('ADMIN_NOT_FOUND', `no connection holds key ${JSON.stringify(key)}`);
    let kicked = false;
    const message: ConnectionMsg = { type: 'kick', closing: () => { kicked = true; } };
    // A connection already stopping drops the message: the barrier then ends 'gone' with nothing kicked.
    ref.tell(message);
    const outcome = await this.deps.runtime.barrier(ref, waitMs);
    if (kicked) return { key, path: owner.path };
    if (outcome === 'timedOut') throw new ImError('ADMIN_KICK_TIMEOUT', `${waitMs} ms`);
    throw new ImError('ADMIN_NOT_FOUND', `the connection holding key ${JSON.stringify(key)} closed for another reason first`);
  }

  roomCount(): number {
    return this.deps.roomIndex.size;
  }

  /** A page of this node's rooms, walked in slices, one walk at a time. */
  rooms(limit: number, cursor: string | null): Promise<RoomsAnswer> {
    const offset = decodeCursor(cursor);
    if (offset === null) return Promise.reject(new ImError('ADMIN_BAD_PARAM', 'cursor is not one this endpoint gave'));
    return this.roomWalks.run(`${offset}\n${limit}`, async () => {
      const index = this.deps.roomIndex;
      const page = await pageOf(index, offset, limit, ([roomId, ref]) => {
        const room = this.deps.runtime.stateOf(ref, roomActor);
        const members = room?.members.size ?? 0;
        return { roomId, path: ref.path, members, online: members + (room?.elsewhere ?? 0) };
      });
      return { rooms: page.items, total: index.size, nextCursor: encodeCursor(page.next) };
    });
  }

  private idsFor(query: ConnectionQuery, limit: number): { ids: number[]; total: number } {
    switch (query.by) {
      case 'key': {
        const owner = this.ownerOf(query.value);
        return owner ? { ids: [owner.connId], total: 1 } : { ids: [], total: 0 };
      }
      case 'room': {
        const ref = this.deps.roomIndex.get(query.value);
        const members = ref ? this.deps.runtime.stateOf(ref, roomActor)?.members : undefined;
        if (!members) return { ids: [], total: 0 };
        const ids: number[] = [];
        for (const id of members.keys()) {
          if (ids.length >= limit) break;
          ids.push(id);
        }
        return { ids, total: members.size };
      }
      case 'mid':
      case 'ip':
        return this.deps.lookup.find(query.by, query.value, limit);
    }
  }

  /** The connection that holds `key` now, as its bucket knows it. */
  private ownerOf(key: string): { connId: number; path: string } | null {
    const bucket = this.deps.runtime.stateOf(this.deps.buckets.forKey(key), bucketActor);
    const member = bucket?.members.get(key);
    return member ? { connId: member.connId, path: member.owner.path } : null;
  }

  private describe(path: string): ConnectionJson | null {
    const view = this.deps.runtime.viewAt(path);
    if (!view || view.kind !== connectionActor.kind) return null;
    return { path, ...summaryOf(view) };
  }
}

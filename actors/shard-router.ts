import type { ActorRef } from '../system/actor-kind';

/** FNV-1a over UTF-16 code units: cheap, stable across restarts, spreads short keys well. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A fixed set of sibling actors, one chosen per key. */
export class ShardRouter<M> {
  constructor(readonly shards: readonly ActorRef<M>[]) {
    if (shards.length === 0) throw new Error('a shard router needs at least one shard');
  }

  forKey(key: string): ActorRef<M> {
    return this.shards[hashKey(key) % this.shards.length];
  }

  indexOf(key: string): number {
    return hashKey(key) % this.shards.length;
  }

  tellAll(msg: M): void {
    for (const shard of this.shards) shard.tell(msg);
  }
}

import type { BucketMsg } from '../../actors/bucket-actor';
import type { Log } from '../../actors/ports';
import type { RoomMsg } from '../../actors/room-actor';
import type { RoomDirectoryMsg } from '../../actors/room-directory-actor';
import type { ShardRouter } from '../../actors/shard-router';
import type { ActorRef } from '../actor-kind';
import type { Outbound } from '../codec/outbound';
import { ImError } from '../errors';
import type { CounterHandle, Metrics } from '../metrics';

export interface PushLimits {
  /** A push is refused while a mailbox it would enter holds more messages than this. */
  readonly maxMailboxDepth: number;
  /** Speed-limited broadcasts in progress at once; one more is refused. */
  readonly maxPacedBroadcasts: number;
}

export interface PushDispatcherDeps {
  readonly buckets: ShardRouter<BucketMsg>;
  readonly rooms: ShardRouter<RoomDirectoryMsg>;
  /** The room actor of each non-empty room, kept by the room directories. */
  readonly roomIndex: ReadonlyMap<string, ActorRef<RoomMsg>>;
  readonly mailboxDepth: (ref: ActorRef<unknown>) => number;
  readonly limits: PushLimits;
  readonly metrics: Metrics;
  readonly log: Log;
}

/**
 * Turns the cloud node's push rpcs into bucket and room messages, and refuses
 * a push (E_CLOUD_BUSY, E_BROADCAST_LIMIT; the gRPC edge answers
 * RESOURCE_EXHAUSTED) rather than queue it without limit: the caller learns
 * at once and may retry, and memory stays bounded while actors catch up.
 * Everything it accepts is told to the actors before the rpc answers.
 */
export class PushDispatcher {
  /** Paced broadcasts in progress: id → buckets still sending their share. */
  private readonly paced = new Map<number, number>();
  private pacedSerial = 0;
  /** Whether the last push was refused: the log line is written when this flips. */
  private refusing = false;

  /** im_pushes_total by rpc, resolved once. */
  private readonly pushes: Readonly<Record<'PushMsg' | 'Broadcast' | 'BroadcastRoom', CounterHandle>>;

  constructor(private readonly deps: PushDispatcherDeps) {
    const m = deps.metrics;
    this.pushes = {
      PushMsg: m.counterOf('im_pushes_total', { rpc: 'PushMsg' }),
      Broadcast: m.counterOf('im_pushes_total', { rpc: 'Broadcast' }),
      BroadcastRoom: m.counterOf('im_pushes_total', { rpc: 'BroadcastRoom' }),
    };
  }

  pushKeys(keys: readonly string[], protoOp: number, out: Outbound): void {
    const { buckets } = this.deps;
    const byBucket = new Map<number, string[]>();
    for (const key of keys) {
      const i = buckets.indexOf(key);
      const list = byBucket.get(i);
      if (list) list.push(key);
      else byBucket.set(i, [key]);
    }
    for (const i of byBucket.keys()) this.admit('PushMsg', buckets.shards[i]);
    this.accepted();
    this.pushes.PushMsg.inc();
    for (const [i, bucketKeys] of byBucket) buckets.shards[i].tell({ type: 'push', keys: bucketKeys, op: protoOp, out });
  }

  broadcast(protoOp: number, out: Outbound, speed: number): void {
    const { buckets, limits } = this.deps;
    for (const bucket of buckets.shards) this.admit('Broadcast', bucket);
    let broadcastId = 0;
    if (speed > 0) {
      if (this.paced.size >= limits.maxPacedBroadcasts) {
        this.refuse('Broadcast', new ImError('BROADCAST_LIMIT', `${this.paced.size} in progress, limit ${limits.maxPacedBroadcasts}`));
      }
      broadcastId = ++this.pacedSerial;
      this.paced.set(broadcastId, buckets.shards.length);
    }
    this.accepted();
    this.pushes.Broadcast.inc();
    // `speed` is for the whole node: each bucket takes its share.
    const perSecond = speed > 0 ? speed / buckets.shards.length : 0;
    buckets.tellAll({ type: 'broadcast', op: protoOp, out, perSecond, broadcastId });
  }

  broadcastRoom(roomId: string, out: Outbound): void {
    const directory = this.deps.rooms.forKey(roomId);
    this.admit('BroadcastRoom', directory);
    const room = this.deps.roomIndex.get(roomId);
    if (room) this.admit('BroadcastRoom', room);
    this.accepted();
    this.pushes.BroadcastRoom.inc();
    directory.tell({ type: 'broadcast', roomId, out });
  }

  /** A bucket finished its share of a paced broadcast (or dropped it when stopping). */
  pacedShareDone(broadcastId: number): void {
    const left = this.paced.get(broadcastId);
    if (left === undefined) return;
    if (left <= 1) this.paced.delete(broadcastId);
    else this.paced.set(broadcastId, left - 1);
  }

  get pacedInProgress(): number {
    return this.paced.size;
  }

  private admit(rpc: string, ref: ActorRef<unknown>): void {
    const depth = this.deps.mailboxDepth(ref);
    const max = this.deps.limits.maxMailboxDepth;
    if (depth > max) this.refuse(rpc, new ImError('CLOUD_BUSY', `${ref.path} holds ${depth} messages, limit ${max}`));
  }

  private refuse(rpc: string, error: ImError): never {
    this.deps.metrics.inc('im_pushes_refused_total', { rpc, code: error.code });
    if (!this.refusing) {
      this.refusing = true;
      this.deps.log.warn('refusing pushes', { component: 'push-dispatcher', rpc, code: error.code, error: error.message });
    } else {
      this.deps.log.debug('push refused', { component: 'push-dispatcher', rpc, code: error.code, error: error.message });
    }
    throw error;
  }

  private accepted(): void {
    if (!this.refusing) return;
    this.refusing = false;
    this.deps.log.info('accepting pushes again', { component: 'push-dispatcher' });
  }
}

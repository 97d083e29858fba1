import { encodeRawFrame } from '../codec/batch';
import type { Outbound } from '../codec/outbound';
import { encodeBinaryFrame } from '../codec/ws-frame';
import type { HistogramHandle } from '../metrics';

/**
 * The packets one connection was handed within one turn, as a path in a
 * trie shared by every connection of the turn: connections handed the same
 * packets in the same order (a room's members) share one node, so the
 * merged bytes are built once per distinct sequence, not once per socket.
 *
 * On WebSocket a sequence is one or more frames in one write: each run of
 * pushes is one frame (op 9 when the run holds more than one), and each
 * reply is a frame of its own between them, in the order they were handed.
 */
export class PacketSequence {
  private next: Map<Outbound, PacketSequence> | null = null;
  private tcp: Buffer | null = null;
  private ws: Buffer | null = null;
  /** The frame of the run of pushes that ends at this node (shared by every path through it). */
  private run: Buffer | null = null;
  /** How many pushes in a row end here: 0 when this node is a reply. */
  private readonly runLength: number;

  constructor(
    private readonly prev: PacketSequence | null,
    readonly last: Outbound,
    readonly length: number,
    /** Where the size of each op-9 frame built is observed (null: nowhere). */
    private readonly batchSizes: HistogramHandle | null,
  ) {
    this.runLength = last.mergeable ? (prev?.runLength ?? 0) + 1 : 0;
  }

  then(out: Outbound): PacketSequence {
    this.next ??= new Map();
    let seq = this.next.get(out);
    if (!seq) {
      seq = new PacketSequence(this, out, this.length + 1, this.batchSizes);
      this.next.set(out, seq);
    }
    return seq;
  }

  /** Bytes for a TCP client: the packets back to back (an op-9 push contributes its inner packets). */
  tcpBytes(): Buffer {
    if (this.length === 1) return this.last.tcp;
    this.tcp ??= Buffer.concat(this.outs(this.length).map((o) => o.tcp));
    return this.tcp;
  }

  /** Bytes for a WebSocket client: the frames of the runs of pushes and of the replies, in order (wire.md §3, §8). */
  wsFrames(): Buffer {
    if (this.length === 1) return this.last.wsFrame;
    if (this.ws !== null) return this.ws;
    const frames: Buffer[] = [];
    for (let s: PacketSequence | null = this; s !== null;) {
      if (s.runLength === 0) {
        frames.push(s.last.wsFrame);
        s = s.prev;
      } else {
        frames.push(s.runFrame());
        for (let i = s.runLength; i > 0 && s !== null; i--) s = s.prev;
      }
    }
    this.ws = frames.length === 1 ? frames[0] : Buffer.concat(frames.reverse());
    return this.ws;
  }

  /** One frame for the pushes that end here: the push itself, or one op-9 packet holding them all. */
  private runFrame(): Buffer {
    if (this.runLength === 1) return this.last.wsFrame;
    if (this.run === null) {
      this.run = encodeBinaryFrame(encodeRawFrame(Buffer.concat(this.outs(this.runLength).map((o) => o.tcp))));
      this.batchSizes?.observe(this.runLength);
    }
    return this.run;
  }

  /** The last `count` packets handed, oldest first. */
  private outs(count: number): Outbound[] {
    const outs: Outbound[] = [];
    for (let s: PacketSequence | null = this; s !== null && outs.length < count; s = s.prev) outs.push(s.last);
    return outs.reverse();
  }
}

/** A connection whose writes the coalescer holds until the end of the turn. */
export interface CoalescingTarget {
  pending: PacketSequence | null;
  writeSequence(seq: PacketSequence): void;
}

/**
 * Per-connection coalescing: packets handed to one connection within one
 * event-loop task (an actor drains up to 64 pushes in one) leave as one
 * write when the task ends — one buffer on tcp; on ws the pushes merged into
 * op-9 frames and each reply a frame of its own. No timer: nothing waits
 * longer than the task that produced it.
 */
export class Coalescer {
  private roots = new Map<Outbound, PacketSequence>();
  private dirty: CoalescingTarget[] = [];
  private scheduled = false;

  /** `batchSizes`: observes how many pushes each op-9 frame built merges (once per frame, however many clients share it). */
  constructor(private readonly batchSizes: HistogramHandle | null = null) {}

  append(target: CoalescingTarget, out: Outbound): void {
    if (target.pending !== null) {
      target.pending = target.pending.then(out);
      return;
    }
    let root = this.roots.get(out);
    if (!root) {
      root = new PacketSequence(null, out, 1, this.batchSizes);
      this.roots.set(out, root);
    }
    target.pending = root;
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Writes what one target holds now (before it closes, so its last packets precede op 6). */
  flushOne(target: CoalescingTarget): void {
    const seq = target.pending;
    if (seq === null) return;
    target.pending = null;
    target.writeSequence(seq);
  }

  private flush(): void {
    this.scheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    this.roots = new Map();
    for (const target of dirty) this.flushOne(target);
  }
}

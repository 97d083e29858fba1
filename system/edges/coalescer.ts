import { encodeRawFrame } from '../codec/batch';
import type { Outbound } from '../codec/outbound';
import { encodeBinaryFrame } from '../codec/ws-frame';

/**
 * The packets one connection was handed within one turn, as a path in a
 * trie shared by every connection of the turn: connections handed the same
 * packets in the same order (a room's members) share one node, so the
 * merged bytes are built once per distinct sequence, not once per socket.
 */
export class PacketSequence {
  private next: Map<Outbound, PacketSequence> | null = null;
  private tcp: Buffer | null = null;
  private ws: Buffer | null = null;

  constructor(private readonly prev: PacketSequence | null, readonly last: Outbound, readonly length: number) {}

  then(out: Outbound): PacketSequence {
    this.next ??= new Map();
    let seq = this.next.get(out);
    if (!seq) {
      seq = new PacketSequence(this, out, this.length + 1);
      this.next.set(out, seq);
    }
    return seq;
  }

  /** Bytes for a TCP client: the packets back to back (an op-9 push contributes its inner packets). */
  tcpBytes(): Buffer {
    if (this.length === 1) return this.last.tcp;
    this.tcp ??= Buffer.concat(this.outs().map((o) => o.tcp));
    return this.tcp;
  }

  /** One WebSocket frame: the packet itself, or one op-9 packet holding them all (wire.md §3). */
  wsFrame(): Buffer {
    if (this.length === 1) return this.last.wsFrame;
    this.ws ??= encodeBinaryFrame(encodeRawFrame(this.tcpBytes()));
    return this.ws;
  }

  private outs(): Outbound[] {
    const outs: Outbound[] = [];
    for (let s: PacketSequence | null = this; s !== null; s = s.prev) outs.push(s.last);
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
 * write — one op-9 frame on ws, one buffer on tcp — when the task ends.
 * No timer: nothing waits longer than the task that produced it.
 */
export class Coalescer {
  private roots = new Map<Outbound, PacketSequence>();
  private dirty: CoalescingTarget[] = [];
  private scheduled = false;

  append(target: CoalescingTarget, out: Outbound): void {
    if (target.pending !== null) {
      target.pending = target.pending.then(out);
      return;
    }
    let root = this.roots.get(out);
    if (!root) {
      root = new PacketSequence(null, out, 1);
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

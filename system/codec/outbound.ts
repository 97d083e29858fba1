import { encodeRawFrame } from './batch';
import { Op, encodePacket } from './packet';
import { encodeBinaryFrame } from './ws-frame';

/**
 * A packet framed once and shared by every recipient (wire.md §3): the bytes
 * are computed here and never re-encoded per connection. Consumers must
 * treat `tcp` and `ws` as read-only.
 *
 * Whether it may be merged with others into one op-9 frame is fixed when it
 * is built: pushes may, replies to a client's own packets may not (goim's
 * browser client reads op 8 and op 3 only as top-level frames, wire.md §8).
 * The op does not decide it: a push with op 3 is still a push.
 *
 * Whether a slow client may lose it is fixed here too: a room or broadcast
 * push (`fanOut`) is dropped for a client over its slow-consumer soft limit;
 * a key push and a reply are queued up to the hard limit.
 */
export class Outbound {
  private constructor(
    /** Bytes written to a TCP client. */
    readonly tcp: Buffer,
    /** Payload of the single binary frame written to a WebSocket client. */
    readonly ws: Buffer,
    /** The proto's op; the accepts filter looks at this, not at the framing. */
    readonly op: number,
    /** A push (true) may share an op-9 frame with other pushes; a reply (false) always leaves as a frame of its own. */
    readonly mergeable: boolean,
    /** A room or broadcast push: dropped, not queued, for a client over its soft limit. */
    readonly fanOut: boolean = false,
  ) {}

  private framed: Buffer | null = null;

  /** `ws` inside a complete WebSocket frame, built on first use and shared by every ws recipient. */
  get wsFrame(): Buffer {
    if (this.framed === null) this.framed = encodeBinaryFrame(this.ws);
    return this.framed;
  }

  /**
   * Frames a pushed proto exactly as given; the gRPC caller owns ver and seq.
   * An op-9 body is already framed packets: TCP clients get it as is (they
   * never see op 9), WebSocket clients get it wrapped in one op-9 frame. The
   * op-9 body is not validated here; whoever accepts the push checks it first.
   * `fanOut`: a room or broadcast push (see the class).
   */
  static fromProto(proto: { ver: number; op: number; seq: number; body: Buffer }, fanOut = false): Outbound {
    if (proto.op === Op.Raw) {
      return new Outbound(proto.body, encodeRawFrame(proto.body), proto.op, true, fanOut);
    }
    const framed = encodePacket(proto.ver, proto.op, proto.seq, proto.body);
    return new Outbound(framed, framed, proto.op, true, fanOut);
  }

  /** A push as one packet; TCP and WebSocket share the same Buffer. */
  static packet(ver: number, op: number, seq: number, body: Buffer | string): Outbound {
    const framed = encodePacket(ver, op, seq, body);
    return new Outbound(framed, framed, op, true);
  }

  /** A reply to the client's own packet (op 3, 5, 8, 13, 15, 17) as one packet, never merged into op 9. */
  static reply(ver: number, op: number, seq: number, body: Buffer | string): Outbound {
    const framed = encodePacket(ver, op, seq, body);
    return new Outbound(framed, framed, op, false);
  }
}

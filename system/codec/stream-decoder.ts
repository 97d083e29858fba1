import { ImError } from '../errors';
import { HEADER_LEN, Packet, PacketHeader, checkHeader, readHeader } from './packet';

export interface StreamDecoderEvents {
  packet(p: Packet): void;
  error(e: ImError): void;
}

/** A packet whose header has been read and checked but whose body is still arriving. */
interface PartialPacket {
  header: PacketHeader;
  body: Buffer;
  filled: number;
}

/**
 * Cuts a TCP byte stream into packets strictly by packLen (wire.md §1): a
 * chunk may hold half a packet, one, or many.
 *
 * Cost model: a packet lying wholly inside one chunk is delivered as a view of
 * that chunk (no copy). A packet straddling chunks is copied once into a
 * buffer sized from its header, so arrival in tiny pieces stays linear.
 *
 * Errors: the header is checked as soon as its 16 bytes are in, so an
 * oversized packLen is refused before its body arrives. The first error is
 * reported once through `events.error`; the decoder then drops what it holds
 * and ignores all later input. No input bytes make `push` throw.
 *
 * Handlers: an exception thrown by `events.packet` (or `events.error`)
 * propagates out of `push` to its caller. The decoder has already stepped
 * past the packet being delivered, and keeps the unread rest of that chunk,
 * so the next `push` carries on exactly where the stream left off.
 */
export class StreamDecoder {
  private readonly headerBytes = Buffer.alloc(HEADER_LEN);
  private headerFilled = 0;
  private partial: PartialPacket | null = null;
  /** Unread input left behind by a throwing handler; only ever set on that path. */
  private backlog: Buffer | null = null;
  private hasFailed = false;
  /** Read position inside the input being consumed; kept on the instance so a throw cannot lose it. */
  private cursor = 0;

  constructor(
    private readonly maxBodySize: number,
    private readonly events: StreamDecoderEvents,
  ) {}

  get failed(): boolean {
    return this.hasFailed;
  }

  get buffered(): number {
    const partialBytes = this.partial === null ? 0 : HEADER_LEN + this.partial.filled;
    return this.headerFilled + partialBytes + (this.backlog === null ? 0 : this.backlog.length);
  }

  push(chunk: Buffer): void {
    if (this.hasFailed) return;
    const input = this.backlog === null ? chunk : Buffer.concat([this.backlog, chunk]);
    this.backlog = null;
    if (input.length === 0) return;
    this.cursor = 0;
    try {
      this.consume(input);
    } finally {
      // Normal completion always reads the whole input; only a throwing handler stops short.
      if (!this.hasFailed && this.cursor < input.length) {
        this.backlog = Buffer.from(input.subarray(this.cursor));
      }
    }
  }

  private consume(input: Buffer): void {
    if (this.headerFilled > 0 && !this.completeHeader(input)) return;
    if (this.partial !== null && !this.completeBody(input)) return;
    this.consumeWholePackets(input);
  }

  /** Finishes a header split across chunks; false while incomplete or once it fails the checks. */
  private completeHeader(input: Buffer): boolean {
    const take = Math.min(HEADER_LEN - this.headerFilled, input.length);
    input.copy(this.headerBytes, this.headerFilled, 0, take);
    this.headerFilled += take;
    this.cursor = take;
    if (this.headerFilled < HEADER_LEN) return false;
    this.headerFilled = 0;
    const header = readHeader(this.headerBytes, 0);
    if (!this.accept(header)) return false;
    this.partial = { header, body: Buffer.allocUnsafe(header.packLen - HEADER_LEN), filled: 0 };
    return true;
  }

  /** Copies into the straddling packet's body; false while it is still incomplete. */
  private completeBody(input: Buffer): boolean {
    const partial = this.partial as PartialPacket;
    const copied = input.copy(partial.body, partial.filled, this.cursor);
    partial.filled += copied;
    this.cursor += copied;
    if (partial.filled < partial.body.length) return false;
    this.partial = null;
    this.deliver(partial.header, partial.body);
    return true;
  }

  private consumeWholePackets(input: Buffer): void {
    while (input.length - this.cursor >= HEADER_LEN) {
      const start = this.cursor;
      const header = readHeader(input, start);
      if (!this.accept(header)) return;
      const end = start + header.packLen;
      if (end > input.length) {
        const body = Buffer.allocUnsafe(header.packLen - HEADER_LEN);
        const filled = input.copy(body, 0, start + HEADER_LEN);
        this.partial = { header, body, filled };
        this.cursor = input.length;
        return;
      }
      this.cursor = end;
      this.deliver(header, input.subarray(start + HEADER_LEN, end));
    }
    this.headerFilled = input.copy(this.headerBytes, 0, this.cursor);
    this.cursor = input.length;
  }

  private accept(header: PacketHeader): boolean {
    const invalid = checkHeader(header, this.maxBodySize);
    if (invalid === null) return true;
    this.fail(invalid);
    return false;
  }

  private fail(error: ImError): void {
    this.hasFailed = true;
    this.headerFilled = 0;
    this.partial = null;
    this.backlog = null;
    this.events.error(error);
  }

  private deliver(header: PacketHeader, body: Buffer): void {
    this.events.packet({ ver: header.ver, op: header.op, seq: header.seq, body });
  }
}

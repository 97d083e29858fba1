import { expect } from 'chai';
import { walkBatch } from '../system/codec/batch';
import { Outbound } from '../system/codec/outbound';
import { encodePacket, Op, readHeader } from '../system/codec/packet';
import { encodeBinaryFrame } from '../system/codec/ws-frame';
import { Coalescer, CoalescingTarget, PacketSequence } from '../system/edges/coalescer';
import { buildBatchBody } from '../system/codec/batch';

class Recorder implements CoalescingTarget {
  pending: PacketSequence | null = null;
  readonly writes: PacketSequence[] = [];
  writeSequence(seq: PacketSequence): void {
    this.writes.push(seq);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The packets inside a ws frame built by a sequence (unwrapping the op-9 envelope). */
function packetsOfWsFrame(frame: Buffer): string[] {
  const headerLen = frame[1] < 126 ? 2 : frame[1] === 126 ? 4 : 10;
  const payload = frame.subarray(headerLen);
  const h = readHeader(payload, 0);
  if (h.op !== Op.Raw) return [payload.toString('hex')];
  const out: string[] = [];
  walkBatch(payload.subarray(16, h.packLen), (p) => out.push(encodePacket(p.ver, p.op, p.seq, p.body).toString('hex')));
  return out;
}

describe('edges/Coalescer', () => {
  const a = Outbound.packet(1, 1000, 0, 'a');
  const b = Outbound.packet(1, 1001, 0, 'bb');
  const batch = Outbound.fromProto({ ver: 1, op: Op.Raw, seq: 0, body: buildBatchBody([encodePacket(1, 1000, 0, 'x'), encodePacket(1, 1000, 0, 'y')]) });

  it('a lone packet leaves as its own shared bytes, untouched', async () => {
    const c = new Coalescer();
    const t = new Recorder();
    c.append(t, a);
    expect(t.writes).to.have.length(0);
    await tick();
    expect(t.writes).to.have.length(1);
    expect(t.writes[0].tcpBytes()).to.equal(a.tcp);
    expect(t.writes[0].wsFrame()).to.equal(a.wsFrame);
  });

  it('packets of one task leave as one write: back to back on tcp, one op-9 frame on ws, in order', async () => {
    const c = new Coalescer();
    const t = new Recorder();
    c.append(t, a);
    c.append(t, batch);
    c.append(t, b);
    await tick();
    expect(t.writes).to.have.length(1);
    const seq = t.writes[0];
    expect(seq.tcpBytes().equals(Buffer.concat([a.tcp, batch.tcp, b.tcp]))).to.equal(true);
    expect(packetsOfWsFrame(seq.wsFrame())).to.deep.equal([
      a.tcp.toString('hex'), encodePacket(1, 1000, 0, 'x').toString('hex'), encodePacket(1, 1000, 0, 'y').toString('hex'), b.tcp.toString('hex'),
    ]);
    const op9 = Buffer.concat([Buffer.alloc(16), a.tcp, batch.tcp, b.tcp]);
    expect(seq.wsFrame().length).to.equal(encodeBinaryFrame(op9).length);
  });

  it('connections handed the same packets share one sequence, so the bytes are built once', async () => {
    const c = new Coalescer();
    const members = [new Recorder(), new Recorder(), new Recorder()];
    for (const m of members) c.append(m, a);
    for (const m of members) c.append(m, b);
    const odd = new Recorder();
    c.append(odd, b);
    await tick();
    expect(members[0].writes[0]).to.equal(members[1].writes[0]).and.to.equal(members[2].writes[0]);
    expect(members[0].writes[0].wsFrame()).to.equal(members[2].writes[0].wsFrame());
    expect(odd.writes[0]).to.not.equal(members[0].writes[0]);
  });

  it('flushOne writes a target at once (before its close), and the end of the task then skips it', async () => {
    const c = new Coalescer();
    const t = new Recorder();
    c.append(t, a);
    c.flushOne(t);
    expect(t.writes).to.have.length(1);
    await tick();
    expect(t.writes).to.have.length(1);
    c.append(t, b);
    await tick();
    expect(t.writes).to.have.length(2);
  });
});

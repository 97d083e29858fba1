import { expect } from 'chai';
import { walkBatch } from '../system/codec/batch';
import { Outbound } from '../system/codec/outbound';
import { encodePacket, Op, readHeader } from '../system/codec/packet';
import { encodeBinaryFrame } from '../system/codec/ws-frame';
import { Coalescer, CoalescingTarget, PacketSequence } from '../system/edges/coalescer';
import { buildBatchBody } from '../system/codec/batch';
import { Metrics } from '../system/metrics';

class Recorder implements CoalescingTarget {
  pending: PacketSequence | null = null;
  readonly writes: PacketSequence[] = [];
  writeSequence(seq: PacketSequence): void {
    this.writes.push(seq);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The payloads of the unmasked server ws frames in `bytes`, which must hold whole frames only. */
function splitWsFrames(bytes: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    expect(bytes[at], 'FIN + binary opcode').to.equal(0x82);
    const len7 = bytes[at + 1] & 0x7f;
    expect(bytes[at + 1] & 0x80, 'server frames are unmasked').to.equal(0);
    const [headerLen, payloadLen] = len7 < 126 ? [2, len7] : len7 === 126 ? [4, bytes.readUInt16BE(at + 2)] : [10, Number(bytes.readBigUInt64BE(at + 2))];
    expect(at + headerLen + payloadLen, 'frame fits in the bytes').to.be.at.most(bytes.length);
    payloads.push(bytes.subarray(at + headerLen, at + headerLen + payloadLen));
    at += headerLen + payloadLen;
  }
  return payloads;
}

/** The packets inside a ws frame built by a sequence (unwrapping the op-9 envelope). */
function packetsOfWsFrame(frame: Buffer): string[] {
  const frames = splitWsFrames(frame);
  expect(frames, 'one ws frame').to.have.length(1);
  return packetsOfPayload(frames[0]);
}

function packetsOfPayload(payload: Buffer): string[] {
  const h = readHeader(payload, 0);
  expect(h.packLen, 'packLen covers the payload').to.equal(payload.length);
  if (h.op !== Op.Raw) return [payload.toString('hex')];
  const out: string[] = [];
  walkBatch(payload.subarray(16, h.packLen), (p) => out.push(encodePacket(p.ver, p.op, p.seq, p.body).toString('hex')));
  return out;
}

/** Each ws frame of a write as its top-level op and the packets it carries (hex). */
function framesOf(bytes: Buffer): Array<{ op: number; packets: string[] }> {
  return splitWsFrames(bytes).map((payload) => ({ op: readHeader(payload, 0).op, packets: packetsOfPayload(payload) }));
}

const hex = (...outs: Outbound[]): string[] => outs.map((o) => o.tcp.toString('hex'));

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
    expect(t.writes[0].wsFrames()).to.equal(a.wsFrame);
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
    expect(packetsOfWsFrame(seq.wsFrames())).to.deep.equal([
      a.tcp.toString('hex'), encodePacket(1, 1000, 0, 'x').toString('hex'), encodePacket(1, 1000, 0, 'y').toString('hex'), b.tcp.toString('hex'),
    ]);
    const op9 = Buffer.concat([Buffer.alloc(16), a.tcp, batch.tcp, b.tcp]);
    expect(seq.wsFrames().length).to.equal(encodeBinaryFrame(op9).length);
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
    expect(members[0].writes[0].wsFrames()).to.equal(members[2].writes[0].wsFrames());
    expect(odd.writes[0]).to.not.equal(members[0].writes[0]);
  });

  describe('replies are frames of their own; pushes between them still share op 9', () => {
    const heartbeat = Outbound.reply(1, Op.HeartbeatReply, 7, Buffer.alloc(4));
    const auth = Outbound.reply(1, Op.AuthReply, 1, '{"key":"k"}');
    const c1 = Outbound.packet(1, 1000, 0, 'c');

    it('Outbound: replies are not mergeable; pushes are, whatever their op', () => {
      expect([heartbeat.mergeable, auth.mergeable]).to.deep.equal([false, false]);
      expect([a.mergeable, batch.mergeable, Outbound.fromProto({ ver: 1, op: Op.HeartbeatReply, seq: 0, body: Buffer.alloc(4) }).mergeable])
        .to.deep.equal([true, true, true]);
    });

    it('push, reply, push, push, reply: four frames in one write, in order; tcp bytes unchanged', async () => {
      const c = new Coalescer();
      const t = new Recorder();
      for (const out of [a, heartbeat, b, c1, auth]) c.append(t, out);
      await tick();
      expect(t.writes).to.have.length(1);
      const seq = t.writes[0];
      expect(framesOf(seq.wsFrames())).to.deep.equal([
        { op: 1000, packets: hex(a) },
        { op: Op.HeartbeatReply, packets: hex(heartbeat) },
        { op: Op.Raw, packets: hex(b, c1) },
        { op: Op.AuthReply, packets: hex(auth) },
      ]);
      expect(seq.tcpBytes().equals(Buffer.concat([a.tcp, heartbeat.tcp, b.tcp, c1.tcp, auth.tcp]))).to.equal(true);
    });

    it('replies back to back: one frame each, never op 9', async () => {
      const c = new Coalescer();
      const t = new Recorder();
      const beats = [1, 2, 3].map((seq) => Outbound.reply(1, Op.HeartbeatReply, seq, Buffer.alloc(4)));
      for (const out of [auth, ...beats]) c.append(t, out);
      await tick();
      expect(framesOf(t.writes[0].wsFrames())).to.deep.equal([auth, ...beats].map((o) => ({ op: o.op, packets: hex(o) })));
    });

    it('a lone reply is its own shared frame; an op-9 push between replies keeps its inner packets in one op-9 frame', async () => {
      const c = new Coalescer();
      const lone = new Recorder();
      c.append(lone, heartbeat);
      const t = new Recorder();
      for (const out of [auth, batch, heartbeat]) c.append(t, out);
      await tick();
      expect(lone.writes[0].wsFrames()).to.equal(heartbeat.wsFrame);
      expect(framesOf(t.writes[0].wsFrames())).to.deep.equal([
        { op: Op.AuthReply, packets: hex(auth) },
        { op: Op.Raw, packets: [encodePacket(1, 1000, 0, 'x').toString('hex'), encodePacket(1, 1000, 0, 'y').toString('hex')] },
        { op: Op.HeartbeatReply, packets: hex(heartbeat) },
      ]);
    });

    it('members handed the same pushes and then different replies get the same op-9 frame for the pushes', async () => {
      const c = new Coalescer();
      const plain = new Recorder();
      const beating = new Recorder();
      for (const m of [plain, beating]) {
        c.append(m, a);
        c.append(m, b);
      }
      c.append(beating, heartbeat);
      await tick();
      const shared = plain.writes[0].wsFrames();
      const withReply = beating.writes[0].wsFrames();
      expect(framesOf(withReply)).to.deep.equal([{ op: Op.Raw, packets: hex(a, b) }, { op: Op.HeartbeatReply, packets: hex(heartbeat) }]);
      expect(withReply.subarray(0, shared.length).equals(shared)).to.equal(true);
    });
  });

  it('observes the pushes merged into each op-9 frame once per frame built, however many clients share it; a lone push or a tcp write builds none', async () => {
    const metrics = new Metrics('cloud');
    const batchSizes = metrics.histogramOf('im_op9_batch_pushes');
    const c = new Coalescer(batchSizes);
    const members = [new Recorder(), new Recorder(), new Recorder()];
    for (const m of members) {
      c.append(m, a);
      c.append(m, b);
      c.append(m, batch);
    }
    const lone = new Recorder();
    c.append(lone, a);
    await tick();
    for (const m of [...members, lone]) m.writes[0].tcpBytes();
    expect(batchSizes.count).to.equal(0);
    for (const m of [...members, lone]) m.writes[0].wsFrames();
    expect(batchSizes.count).to.equal(1);
    expect(batchSizes.sum).to.equal(3);
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

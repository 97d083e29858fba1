/**
 * The push path end to end: a real gRPC client → the gRPC edge → bucket and
 * room actors → real ws and tcp clients.
 *
 * How absence is asserted (no sleeps): after the push under test, a
 * *sentinel* is sent that must travel behind anything the push could have
 * caused, and the test waits for the sentinel. Three facts make that sound:
 *  - every nact mailbox is FIFO, and the gRPC edge tells the actors before it
 *    replies, so whatever a push tells an actor is queued ahead of anything
 *    told by a later rpc;
 *  - a connection's handle is held only by the bucket of its key and by the
 *    room actor of its room, and each actor writes to its members in one
 *    synchronous turn;
 *  - the clients run in the node's own process, so when a client has received
 *    a packet, the actor turn that wrote it has finished, with every other
 *    write of that turn already queued on its socket. Bytes on one socket
 *    arrive in the order they were written.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { RoomsReply__Output } from '../proto/generated/im/cloud/RoomsReply';
import { buildBatchBody } from '../system/codec/batch';
import { encodePacket, HEADER_LEN, Op, readHeader } from '../system/codec/packet';
import { CloudHarness, eventually, ProtoInput, toProto } from './support/cloud-harness';
import { GOIM_TOKEN, Received, TestClient } from './support/test-client';

type Transport = 'ws' | 'tcp';

/** One authenticated client and the key logic gave it (the token's key). */
interface Peer {
  readonly client: TestClient;
  readonly key: string;
  readonly transport: Transport;
}

interface PeerOptions {
  room?: string;
  accepts?: number[];
  mid?: number;
  key?: string;
}

const BIZ = 1000;

let keySerial = 0;
function uniqueKey(label: string): string {
  return `push-${label}-${process.pid}-${++keySerial}`;
}

async function join(h: CloudHarness, transport: Transport, options: PeerOptions = {}): Promise<Peer> {
  const key = options.key ?? uniqueKey(transport);
  const token = {
    ...GOIM_TOKEN, key, mid: options.mid ?? GOIM_TOKEN.mid, room_id: options.room ?? '', accepts: options.accepts ?? GOIM_TOKEN.accepts,
  };
  const { client, auth } = await TestClient.online(transport, transport === 'ws' ? h.ports.ws : h.ports.tcp, token);
  expect(auth.key).to.equal(key);
  return { client, key, transport };
}

function text(p: Received): string {
  return p.body.toString('utf8');
}

function arrived(peer: Peer, op: number, body: string): Promise<Received> {
  return peer.client.waitFor((p) => p.op === op && text(p) === body, 5000, `op ${op} "${body}" on ${peer.transport} ${peer.key}`);
}

function biz(body: string | Buffer, op = BIZ): ProtoInput {
  return { op, body };
}

/** Bodies of every pushed packet a peer got (business ops; batches are walked into their packets), in arrival order. */
function pushes(peer: Peer): string[] {
  return peer.client.packets.filter((p) => p.op >= 1000 || p.op === Op.Raw).map(text);
}

/**
 * Sentinel through the buckets: one PushMsg to every peer's key; waits until
 * each has it. Anything a bucket was told before is delivered before it.
 */
async function keySentinel(h: CloudHarness, peers: readonly Peer[], body = 'sentinel-key'): Promise<void> {
  await h.pushMsg(peers.map((p) => p.key), BIZ, biz(body));
  await Promise.all(peers.map((p) => arrived(p, BIZ, body)));
}

const SENTINELS = ['sentinel-key', 'sentinel-room', 'sentinel-all'];

/**
 * Sentinels down every push path (bucket by key, room, all buckets) to peers
 * that all sit in `room`; waits until each peer has all three.
 */
async function allPathSentinels(h: CloudHarness, peers: readonly Peer[], room: string): Promise<void> {
  await h.pushMsg(peers.map((p) => p.key), BIZ, biz('sentinel-key'));
  await h.broadcastRoom(room, biz('sentinel-room'));
  await h.broadcast(BIZ, biz('sentinel-all'));
  await Promise.all(peers.flatMap((p) => SENTINELS.map((body) => arrived(p, BIZ, body))));
}

/** Resolves with the gRPC error of a call that must fail. */
async function rejection(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded; expected it to fail');
}

async function expectInvalid(call: Promise<unknown>, code: string): Promise<void> {
  const error = await rejection(call);
  expect(error.code, `status of ${error.details}`).to.equal(grpc.status.INVALID_ARGUMENT);
  expect(error.details.startsWith(`${code}:`) || error.details === code, `details "${error.details}" start with ${code}`).to.equal(true);
}

/** A generated client's unary call as a promise. */
function unary<Res>(invoke: (callback: (err: grpc.ServiceError | null, res?: Res) => void) => unknown): Promise<Res | undefined> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The gateway has no logic call in flight or queued: every call it was told about has been answered. */
function gatewayIdle(h: CloudHarness): boolean {
  const [gateway] = h.node.runtime.list({ kind: 'logic-gateway', withState: true });
  const state = gateway?.state as { inFlight?: number; queued?: number } | undefined;
  return state !== undefined && state.inFlight === 0 && state.queued === 0;
}

function bucketJobsRunning(h: CloudHarness): number {
  return h.node.runtime.list({ kind: 'bucket', withState: true })
    .reduce((n, b) => n + ((b.state as { broadcastsInProgress?: number } | undefined)?.broadcastsInProgress ?? 0), 0);
}

describe('cloud node: pushes through the real gRPC edge to ws and tcp clients', () => {
  let current: CloudHarness | null = null;

  async function boot(overrides: Record<string, unknown> = {}): Promise<CloudHarness> {
    current = await CloudHarness.start(overrides);
    return current;
  }

  afterEach(async () => {
    await current?.stop();
    current = null;
  });

  describe('PushMsg', () => {
    it('reaches exactly the addressed keys, on both transports', async () => {
      const h = await boot();
      const [ws, tcp, otherWs, otherTcp] = await Promise.all([join(h, 'ws'), join(h, 'tcp'), join(h, 'ws'), join(h, 'tcp')]);
      // An unknown key is not an error: it may live on another node.
      await h.pushMsg([ws.key, tcp.key, uniqueKey('nobody')], BIZ, biz('to-two'));
      const [wsGot, tcpGot] = await Promise.all([arrived(ws, BIZ, 'to-two'), arrived(tcp, BIZ, 'to-two')]);
      for (const p of [wsGot, tcpGot]) expect({ ver: p.ver, seq: p.seq, batched: p.batched }).to.deep.equal({ ver: 1, seq: 0, batched: false });
      await keySentinel(h, [ws, tcp, otherWs, otherTcp]);
      expect(pushes(ws)).to.deep.equal(['to-two', 'sentinel-key']);
      expect(pushes(tcp)).to.deep.equal(['to-two', 'sentinel-key']);
      expect(pushes(otherWs)).to.deep.equal(['sentinel-key']);
      expect(pushes(otherTcp)).to.deep.equal(['sentinel-key']);
    });

    it('reaches only connections whose accepts contain protoOp', async () => {
      const h = await boot();
      const [ws, tcp] = await Promise.all([join(h, 'ws'), join(h, 'tcp')]);
      const fan = await join(h, 'tcp', { accepts: [1000, 1003] });
      await h.pushMsg([ws.key, tcp.key, fan.key], 1003, biz('op-1003', 1003));
      await arrived(fan, 1003, 'op-1003');
      // Same key, same bucket: the sentinel is handled after the 1003 push.
      await keySentinel(h, [ws, tcp, fan]);
      expect(ws.client.received(1003)).to.have.length(0);
      expect(tcp.client.received(1003)).to.have.length(0);
      expect(pushes(ws)).to.deep.equal(['sentinel-key']);
      expect(pushes(tcp)).to.deep.equal(['sentinel-key']);
      expect(pushes(fan)).to.deep.equal(['op-1003', 'sentinel-key']);
    });
  });

  describe('BroadcastRoom', () => {
    it('reaches the room\'s members on both transports and nobody else', async () => {
      // Why the sentinels below prove absence: a room-A push could reach a
      // room-B member (or a roomless one) only through (1) room A's actor,
      // (2) room B's actor, after a misroute, or (3) a bucket, after a misroute.
      // (1) Room A's actor wrote to a1 and a2 in the same turn in which it
      //     would have written to b1/b2; once a1 and a2 have the push, that
      //     turn is over and its bytes are queued ahead of any later write.
      // (2) With one room directory, every room message passes through it in
      //     order, so anything room A's push sent towards room B's actor is in
      //     that actor's mailbox ahead of the room-B sentinel.
      // (3) A bucket would have been told during the rpc, ahead of the key sentinel.
      const h = await boot({ actors: { roomShards: 1 } });
      const [a1, a2] = await Promise.all([join(h, 'ws', { room: 'live://a' }), join(h, 'tcp', { room: 'live://a' })]);
      const [b1, b2] = await Promise.all([join(h, 'ws', { room: 'live://b' }), join(h, 'tcp', { room: 'live://b' })]);
      const roomless = await join(h, 'tcp');

      await h.broadcastRoom('live://a', biz('to-a'));
      await Promise.all([arrived(a1, BIZ, 'to-a'), arrived(a2, BIZ, 'to-a')]);
      await h.broadcastRoom('live://b', biz('sentinel-room'));
      await Promise.all([arrived(b1, BIZ, 'sentinel-room'), arrived(b2, BIZ, 'sentinel-room')]);
      await keySentinel(h, [a1, a2, b1, b2, roomless]);

      expect(pushes(a1)).to.deep.equal(['to-a', 'sentinel-key']);
      expect(pushes(a2)).to.deep.equal(['to-a', 'sentinel-key']);
      expect(pushes(b1).sort()).to.deep.equal(['sentinel-key', 'sentinel-room']);
      expect(pushes(b2).sort()).to.deep.equal(['sentinel-key', 'sentinel-room']);
      expect(pushes(roomless)).to.deep.equal(['sentinel-key']);
    });

    it('does not filter by accepts (goim semantics)', async () => {
      const h = await boot();
      const deaf = await join(h, 'ws', { room: 'live://deaf', accepts: [] });
      await h.broadcastRoom('live://deaf', biz('room-push', 1234));
      await arrived(deaf, 1234, 'room-push');
    });
  });

  describe('Broadcast', () => {
    it('reaches everyone who accepts protoOp, on both transports, and not the others', async () => {
      const h = await boot();
      const [ws, tcp] = await Promise.all([join(h, 'ws', { room: 'live://x' }), join(h, 'tcp')]);
      const [deafWs, deafTcp] = await Promise.all([join(h, 'ws', { accepts: [1001] }), join(h, 'tcp', { accepts: [1001] })]);
      await h.broadcast(BIZ, biz('to-all'));
      await Promise.all([arrived(ws, BIZ, 'to-all'), arrived(tcp, BIZ, 'to-all')]);
      // Broadcast tells every bucket, so a second one is a sentinel behind the first in each of them.
      await h.broadcast(1001, biz('sentinel-1001', 1001));
      await Promise.all([ws, tcp, deafWs, deafTcp].map((p) => arrived(p, 1001, 'sentinel-1001')));
      expect(pushes(ws)).to.deep.equal(['to-all', 'sentinel-1001']);
      expect(pushes(tcp)).to.deep.equal(['to-all', 'sentinel-1001']);
      expect(pushes(deafWs)).to.deep.equal(['sentinel-1001']);
      expect(pushes(deafTcp)).to.deep.equal(['sentinel-1001']);
    });

    it('with speed > 0 still reaches everyone who accepts protoOp, once', async () => {
      // One bucket and more recipients than one slice holds (speed 100 → 5 per 50 ms tick), so slicing happens.
      const h = await boot({ actors: { buckets: 1 } });
      const transports: Transport[] = ['ws', 'tcp', 'ws', 'tcp', 'ws', 'tcp', 'ws', 'tcp'];
      const hearing = await Promise.all(transports.map((t) => join(h, t)));
      const deaf = await Promise.all([join(h, 'ws', { accepts: [1001] }), join(h, 'tcp', { accepts: [1001] })]);
      await h.broadcast(BIZ, biz('paced'), 100);
      await Promise.all(hearing.map((p) => arrived(p, BIZ, 'paced')));
      // Slices go out on timers, not in mailbox order: wait until the job is over
      // (all its writes done), then a plain broadcast is a sound sentinel.
      await eventually(() => bucketJobsRunning(h) === 0, 'the paced broadcast to finish');
      await h.broadcast(1001, biz('sentinel-1001', 1001));
      await Promise.all([...hearing, ...deaf].map((p) => arrived(p, 1001, 'sentinel-1001')));
      for (const p of hearing) expect(pushes(p)).to.deep.equal(['paced', 'sentinel-1001']);
      for (const p of deaf) expect(pushes(p)).to.deep.equal(['sentinel-1001']);
    });

    it('with speed > 0 still reaches a recipient that subscribed to another op while it was under way', async () => {
      // One bucket, speed 4: the first recipient at once, the next one a few 50 ms ticks later.
      const h = await boot({ actors: { buckets: 1 } });
      const early = await join(h, 'ws');
      const late = await join(h, 'tcp');
      await h.broadcast(BIZ, biz('paced'), 4);
      await arrived(early, BIZ, 'paced');
      late.client.send(Op.Sub, '1005');
      await late.client.waitFor((p) => p.op === Op.SubReply, 5000, 'op 15');
      // Still accepts 1000: changing its accepts must not drop it from the broadcast.
      await arrived(late, BIZ, 'paced');
    });
  });

  describe('op-9 batches (wire.md §3)', () => {
    const inner = [encodePacket(1, 1000, 0, 'one'), encodePacket(1, 1001, 7, 'two'), encodePacket(2, 1002, 0, 'three')];
    const batch = buildBatchBody(inner);
    const sentinelPacket = encodePacket(1, BIZ, 0, 'sentinel-key');

    const paths: ReadonlyArray<[string, (h: CloudHarness, peers: Peer[], room: string, proto: ProtoInput) => Promise<void>]> = [
      ['PushMsg', (h, peers, _room, proto) => h.pushMsg(peers.map((p) => p.key), BIZ, proto)],
      ['BroadcastRoom', (h, _peers, room, proto) => h.broadcastRoom(room, proto)],
      ['Broadcast', (h, _peers, _room, proto) => h.broadcast(BIZ, proto)],
    ];

    for (const [rpc, send] of paths) {
      it(`${rpc}: tcp gets the inner packets as written, ws gets one op-9 frame around them`, async () => {
        const h = await boot();
        const room = 'live://batch';
        const [ws, tcp] = await Promise.all([join(h, 'ws', { room }), join(h, 'tcp', { room })]);
        const wsMark = ws.client.frames.length;
        const tcpMark = Buffer.concat(tcp.client.frames).length;

        await send(h, [ws, tcp], room, { op: Op.Raw, body: batch });
        await Promise.all([arrived(ws, 1002, 'three'), arrived(tcp, 1002, 'three')]);
        await keySentinel(h, [ws, tcp]);

        // tcp: exactly the batch bytes, then the sentinel; op 9 never shows.
        expect(Buffer.concat(tcp.client.frames).subarray(tcpMark).equals(Buffer.concat([batch, sentinelPacket]))).to.equal(true);
        expect(tcp.client.received(Op.Raw)).to.have.length(0);
        expect(tcp.client.packets.slice(1).map((p) => [p.ver, p.op, p.seq, text(p)])).to.deep.equal([
          [1, 1000, 0, 'one'], [1, 1001, 7, 'two'], [2, 1002, 0, 'three'], [1, BIZ, 0, 'sentinel-key'],
        ]);

        // ws: one frame = 16-byte op-9 header (ver 1, seq 0) + exactly the batch, then the sentinel frame.
        const frames = ws.client.frames.slice(wsMark);
        expect(frames).to.have.length(2);
        const header = readHeader(frames[0], 0);
        expect(header).to.deep.equal({ packLen: HEADER_LEN + batch.length, headerLen: HEADER_LEN, ver: 1, op: Op.Raw, seq: 0 });
        expect(frames[0].length).to.equal(HEADER_LEN + batch.length);
        expect(frames[0].subarray(HEADER_LEN).equals(batch)).to.equal(true);
        expect(frames[1].equals(sentinelPacket)).to.equal(true);
        expect(ws.client.packets.slice(1).map((p) => [p.op, text(p), p.batched])).to.deep.equal([
          [1000, 'one', true], [1001, 'two', true], [1002, 'three', true], [BIZ, 'sentinel-key', false],
        ]);
      });
    }

    it('a body that does not tile into packets is INVALID_ARGUMENT and nothing is delivered', async () => {
      const h = await boot();
      const room = 'live://bad-batch';
      const [ws, tcp] = await Promise.all([join(h, 'ws', { room }), join(h, 'tcp', { room })]);
      const zeroLen = encodePacket(1, 1000, 0, 'x');
      zeroLen.writeUInt32BE(0, 0);
      const badHeaderLen = encodePacket(1, 1000, 0, 'x');
      badHeaderLen.writeUInt16BE(12, 4);
      const bodies: Array<[string, Buffer]> = [
        ['inner packLen 0', Buffer.concat([inner[0], zeroLen])],
        ['trailing bytes', Buffer.concat([batch, Buffer.from([1, 2, 3])])],
        ['packLen past the end', batch.subarray(0, batch.length - 1)],
        ['inner headerLen 12', badHeaderLen],
        ['empty body', Buffer.alloc(0)],
      ];
      const invalidBefore = h.node.metrics.total('im_grpc_invalid_total');
      for (const [, body] of bodies) {
        for (const [, send] of paths) await expectInvalid(send(h, [ws, tcp], room, { op: Op.Raw, body }), 'E_BAD_BATCH');
      }
      expect(h.node.metrics.total('im_grpc_invalid_total') - invalidBefore).to.equal(bodies.length * paths.length);
      await allPathSentinels(h, [ws, tcp], room);
      expect(pushes(ws).sort()).to.deep.equal([...SENTINELS].sort());
      expect(pushes(tcp).sort()).to.deep.equal([...SENTINELS].sort());
    });
  });

  describe('client ops that change what a connection receives', () => {
    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: change room (op 12) moves the connection; "" leaves`, async () => {
        const h = await boot();
        const stayer = await join(h, transport === 'ws' ? 'tcp' : 'ws', { room: 'live://old' });
        const mover = await join(h, transport, { room: 'live://old' });
        expect(await mover.client.heartbeat()).to.equal(2);

        mover.client.send(Op.ChangeRoom, 'live://new', 1, 42);
        const moved = await mover.client.waitFor((p) => p.op === Op.ChangeRoomReply && p.seq === 42, 5000, 'op 13');
        expect(text(moved)).to.equal('live://new');
        // The leave and the join were told before op 13 left: later messages queue behind them.
        expect(await mover.client.heartbeat()).to.equal(1);
        expect(await stayer.client.heartbeat()).to.equal(1);
        expect(await h.rooms()).to.deep.equal(['live://new', 'live://old']);

        await h.broadcastRoom('live://old', biz('to-old'));
        // The old room's actor wrote to every member in one turn; the stayer has its copy, so that turn is over.
        await arrived(stayer, BIZ, 'to-old');
        await h.broadcastRoom('live://new', biz('to-new'));
        await arrived(mover, BIZ, 'to-new');
        expect(pushes(mover)).to.deep.equal(['to-new']);
        expect(pushes(stayer)).to.deep.equal(['to-old']);

        mover.client.send(Op.ChangeRoom, '', 1, 43);
        const left = await mover.client.waitFor((p) => p.op === Op.ChangeRoomReply && p.seq === 43, 5000, 'second op 13');
        expect(left.body).to.have.length(0);
        expect(await mover.client.heartbeat()).to.equal(0);
        expect(await h.rooms()).to.deep.equal(['live://old']);
      });

      it(`${transport}: sub (op 14) and unsub (op 16) change which protoOps arrive`, async () => {
        const h = await boot();
        const peer = await join(h, transport);
        peer.client.send(Op.Sub, '1003,1004', 1, 11);
        const subbed = await peer.client.waitFor((p) => p.op === Op.SubReply, 5000, 'op 15');
        expect([text(subbed), subbed.seq]).to.deep.equal(['1003,1004', 11]);
        // The bucket was told the new accepts before op 15 left.
        await h.pushMsg([peer.key], 1003, biz('after-sub', 1003));
        await arrived(peer, 1003, 'after-sub');

        peer.client.send(Op.Unsub, '1003', 1, 12);
        const unsubbed = await peer.client.waitFor((p) => p.op === Op.UnsubReply, 5000, 'op 17');
        expect([text(unsubbed), unsubbed.seq]).to.deep.equal(['1003', 12]);
        await h.pushMsg([peer.key], 1003, biz('after-unsub', 1003));
        // Same key, same bucket: still subscribed to 1004, so this arrives after the 1003 push would have.
        await h.pushMsg([peer.key], 1004, biz('sentinel-1004', 1004));
        await arrived(peer, 1004, 'sentinel-1004');
        expect(pushes(peer)).to.deep.equal(['after-sub', 'sentinel-1004']);
      });
    }
  });

  describe('a second login with the same key', () => {
    it('replaces the first connection: op 6 E_REPLACED, pushes reach only the new one, Disconnect only for the new one', async () => {
      const h = await boot();
      const logic = h.logic[0];
      const key = uniqueKey('twice');
      const first = await join(h, 'ws', { key, mid: 72, room: 'live://replace' });
      const second = await join(h, 'tcp', { key, mid: 72, room: 'live://replace' });
      // Told to the bucket behind the second connection's registration, before the first may even have closed.
      await h.pushMsg([key], BIZ, biz('after-replace'));
      await arrived(second, BIZ, 'after-replace');

      // Anything written to the first socket before it closed arrives before the close.
      await first.client.waitForClose();
      expect(first.client.disconnectReason()?.code).to.equal('E_REPLACED');
      expect(pushes(first)).to.deep.equal([]);
      expect(h.node.metrics.get('im_connections_closed_total', { reason: 'replaced' })).to.equal(1);
      // The replaced connection left the room in the turn that closed it.
      expect(await second.client.heartbeat()).to.equal(1);

      // Each Connect named its own connection.
      const [firstConn, secondConn] = logic.calls.connect.map((c) => c.connId);
      expect(firstConn).to.match(/^[0-9a-f]{16}\.\d+$/);
      expect(secondConn).to.match(/^[0-9a-f]{16}\.\d+$/).and.not.equal(firstConn);
      second.client.close();
      await logic.waitFor((c) => c.disconnect.length > 0, 5000, 'Disconnect of the second login');
      // A Disconnect for the first login would have been told to the gateway before this one
      // (its connection had already closed): once the gateway is idle it would have been answered.
      await eventually(() => gatewayIdle(h), 'the logic gateway to go idle');
      expect(logic.calls.disconnect.map((d) => [d.mid, d.key, d.connId])).to.deep.equal([['72', key, secondConn]]);
    });

    it('by another user (a shared device key): the first login\'s Disconnect is still sent, naming its own connection', async () => {
      const h = await boot();
      const logic = h.logic[0];
      const key = uniqueKey('handover');
      const first = await join(h, 'ws', { key, mid: 71 });
      const second = await join(h, 'tcp', { key, mid: 72 });
      await first.client.waitForClose();
      expect(first.client.disconnectReason()?.code).to.equal('E_REPLACED');
      const [firstConn, secondConn] = logic.calls.connect.map((c) => c.connId);
      // Logic removes only user 71's mid_ entry for the key (the session is 72's connection): else
      // pushes to 71 would still be routed to the key, now 72's.
      await logic.waitFor((c) => c.disconnect.length === 1, 5000, 'Disconnect of the first login');
      expect(logic.calls.disconnect.map((d) => [d.mid, d.key, d.connId])).to.deep.equal([['71', key, firstConn]]);
      await h.pushMsg([key], BIZ, biz('to-72'));
      await arrived(second, BIZ, 'to-72');
      second.client.close();
      await logic.waitFor((c) => c.disconnect.length === 2, 5000, 'Disconnect of the second login');
      expect(logic.calls.disconnect[1]).to.include({ mid: '72', key, connId: secondConn });
    });
  });

  describe('services and housekeeping rpcs', () => {
    it('goim.comet.Comet serves PushMsg, BroadcastRoom, Broadcast and Rooms', async () => {
      const h = await boot();
      const room = 'live://comet';
      const [ws, tcp] = await Promise.all([join(h, 'ws', { room }), join(h, 'tcp', { room })]);
      const keys = [ws.key, tcp.key];
      await unary((cb) => h.comet.PushMsg({ keys, protoOp: BIZ, proto: toProto(biz('comet-keys')) }, cb));
      await unary((cb) => h.comet.BroadcastRoom({ roomID: room, proto: toProto(biz('comet-room')) }, cb));
      await unary((cb) => h.comet.Broadcast({ protoOp: BIZ, proto: toProto(biz('comet-all')), speed: 0 }, cb));
      for (const body of ['comet-keys', 'comet-room', 'comet-all']) await Promise.all([arrived(ws, BIZ, body), arrived(tcp, BIZ, body)]);
      const rooms = await unary<RoomsReply__Output>((cb) => h.comet.Rooms({}, cb));
      expect(rooms?.rooms).to.deep.equal({ [room]: true });
      await expectInvalid(unary((cb) => h.comet.PushMsg({ keys: [], protoOp: BIZ, proto: toProto(biz('x')) }, cb)), 'E_GRPC_NO_KEYS');
    });

    it('Rooms lists exactly the non-empty rooms; a room goes when its last member leaves', async () => {
      const h = await boot();
      const logic = h.logic[0];
      const [a1, a2] = await Promise.all([join(h, 'ws', { room: 'live://r-a' }), join(h, 'tcp', { room: 'live://r-a' })]);
      const b = await join(h, 'tcp', { room: 'live://r-b' });
      await join(h, 'ws');
      expect(await h.rooms()).to.deep.equal(['live://r-a', 'live://r-b']);

      // A connection leaves its room in the same turn that tells logic Disconnect: once logic has
      // it, the leave is queued at the room directory ahead of the next Rooms query.
      const gone = async (peer: Peer): Promise<void> => {
        peer.client.close();
        await logic.waitFor((c) => c.disconnect.some((d) => d.key === peer.key), 5000, `Disconnect of ${peer.key}`);
      };
      await gone(b);
      expect(await h.rooms()).to.deep.equal(['live://r-a']);
      await gone(a1);
      expect(await h.rooms()).to.deep.equal(['live://r-a']);
      await gone(a2);
      expect(await h.rooms()).to.deep.equal([]);

      // A room that emptied can fill again (a fresh room actor).
      const again = await join(h, 'tcp', { room: 'live://r-a' });
      expect(await h.rooms()).to.deep.equal(['live://r-a']);
      await h.broadcastRoom('live://r-a', biz('refilled'));
      await arrived(again, BIZ, 'refilled');
    });

    it('Ping answers', async () => {
      const h = await boot();
      expect(await unary((cb) => h.cloud.Ping({}, cb))).to.deep.equal({});
    });

    it('CClose is an alias of Close', async () => {
      const h = await boot({ grpc: { allowClose: true } });
      const peer = await join(h, 'tcp');
      await unary((cb) => h.cloud.CClose({}, cb));
      await h.node.stopped;
      await peer.client.waitForClose();
      expect(peer.client.disconnectReason()?.code).to.equal('E_NODE_DRAINING');
    });
  });

  describe('malformed requests', () => {
    it('are INVALID_ARGUMENT with a stable code, counted, and deliver nothing', async () => {
      const h = await boot({ grpc: { maxPushBytes: 1024 } });
      const room = 'live://invalid';
      const [ws, tcp] = await Promise.all([join(h, 'ws', { room }), join(h, 'tcp', { room })]);
      const keys = [ws.key, tcp.key];
      const tooBig = biz(Buffer.alloc(1025, 0x61));
      const cases: Array<[string, () => Promise<void>]> = [
        ['E_GRPC_NO_KEYS', () => h.pushMsg([], BIZ, biz('no keys'))],
        ['E_GRPC_NO_KEYS', () => h.pushMsg([''], BIZ, biz('empty key'))],
        ['E_GRPC_NO_PROTO', () => h.pushMsg(keys, BIZ, null)],
        ['E_GRPC_BODY_TOO_LARGE', () => h.pushMsg(keys, BIZ, tooBig)],
        ['E_GRPC_BAD_ROOM', () => h.broadcastRoom('', biz('no room'))],
        ['E_GRPC_NO_PROTO', () => h.broadcastRoom(room, null)],
        ['E_GRPC_BODY_TOO_LARGE', () => h.broadcastRoom(room, tooBig)],
        ['E_GRPC_BAD_SPEED', () => h.broadcast(BIZ, biz('negative speed'), -1)],
        ['E_GRPC_NO_PROTO', () => h.broadcast(BIZ, null)],
        ['E_GRPC_BODY_TOO_LARGE', () => h.broadcast(BIZ, tooBig)],
      ];
      for (const [code, call] of cases) {
        const before = h.node.metrics.total('im_grpc_invalid_total');
        await expectInvalid(call(), code);
        expect(h.node.metrics.total('im_grpc_invalid_total'), `im_grpc_invalid_total after ${code}`).to.equal(before + 1);
      }
      // Each rejected rpc would have told its actors before replying: the sentinels queue behind that.
      await allPathSentinels(h, [ws, tcp], room);
      expect(pushes(ws).sort()).to.deep.equal([...SENTINELS].sort());
      expect(pushes(tcp).sort()).to.deep.equal([...SENTINELS].sort());
    });

    it('a body of exactly maxPushBytes is accepted', async () => {
      const h = await boot({ grpc: { maxPushBytes: 1024 } });
      const [ws, tcp] = await Promise.all([join(h, 'ws'), join(h, 'tcp')]);
      const body = 'b'.repeat(1024);
      await h.pushMsg([ws.key, tcp.key], BIZ, biz(body));
      await Promise.all([arrived(ws, BIZ, body), arrived(tcp, BIZ, body)]);
    });
  });

  describe('Close rpc', () => {
    it('drains: op 6 E_NODE_DRAINING to every client, Disconnect for each, then the node stops', async () => {
      const h = await boot({ grpc: { allowClose: true } });
      const logic = h.logic[0];
      const peers = await Promise.all([join(h, 'ws', { room: 'live://drain' }), join(h, 'tcp', { room: 'live://drain' }), join(h, 'tcp')]);
      await unary((cb) => h.cloud.Close({}, cb));
      await h.node.stopped;
      for (const peer of peers) {
        await peer.client.waitForClose();
        expect(peer.client.disconnectReason()?.code, `${peer.transport} ${peer.key}`).to.equal('E_NODE_DRAINING');
      }
      await logic.waitFor((c) => peers.every((p) => c.disconnect.some((d) => d.key === p.key)), 5000, 'a Disconnect per client');
      expect(logic.calls.disconnect.map((d) => d.key).sort()).to.deep.equal(peers.map((p) => p.key).sort());
      expect(h.node.failure).to.equal(null);
    });
  });
});

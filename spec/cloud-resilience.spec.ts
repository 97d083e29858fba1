import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { roomActor } from '../actors/room-actor';
import { Op } from '../system/codec/packet';
import { Bystanders, bystandersOnline, closeBystanders, expectBystandersServed } from './support/bystanders';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

type Transport = 'ws' | 'tcp';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portOf(h: CloudHarness, transport: Transport): number {
  return transport === 'ws' ? h.ports.ws : h.ports.tcp;
}

/** The path of the connection actor holding `key`, from the runtime's registry. */
function connectionPathOf(h: CloudHarness, key: string): string {
  const found = h.node.runtime.list({ kind: 'connection', withState: true }).find((a) => a.state?.key === key);
  if (!found) throw new Error(`no connection actor holds key ${key}`);
  return found.path;
}

/** A message no actor kind understands; actors receive it only through an untyped ref. */
const NONSENSE: unknown = { type: 'no-such-message' };

describe('cloud node resilience', () => {
  let h: CloudHarness;
  let others: Bystanders | undefined;
  const clients: TestClient[] = [];

  async function online(transport: Transport, token: object = GOIM_TOKEN): Promise<{ client: TestClient; key: string }> {
    const { client, auth } = await TestClient.online(transport, portOf(h, transport), token);
    clients.push(client);
    return { client, key: auth.key };
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    closeBystanders(others);
    others = undefined;
    await h.stop();
  });

  describe('heartbeat timeout (logic grants 400 ms)', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({}, [await new TestLogicNode({ heartbeatMs: 400 }).start()]);
    });

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: a silent client is evicted once, and only it`, async () => {
        // A companion on the other transport keeps heartbeating, so it must outlive the silent one.
        const companion = await online(transport === 'ws' ? 'tcp' : 'ws');
        let beating = true;
        const heartbeats = (async () => {
          while (beating) {
            await companion.client.heartbeat();
            await sleep(100);
          }
        })();
        try {
          const { client, key } = await online(transport);
          client.goSilent();
          await h.logic[0].waitFor((c) => c.disconnect.some((d) => d.key === key), 5000, 'Disconnect of the silent client');
          await eventually(() => h.node.runtime.count('connection') === 1, 'the silent client\'s actor to stop');
          await sleep(300);
          expect(h.logic[0].calls.disconnect.filter((d) => d.key === key)).to.have.length(1);
          expect(h.logic[0].calls.disconnect).to.have.length(1, 'the companion was not disconnected');
          expect(h.node.metrics.get('im_connections_closed_total', { reason: 'heartbeat_timeout' })).to.equal(1);
          expect(h.node.metrics.get('im_connection_errors_total', { code: 'E_HEARTBEAT_TIMEOUT' })).to.equal(1);
          expect(h.node.metrics.get('im_heartbeat_timeouts_total')).to.equal(1);
          expect(h.node.runtime.list({ kind: 'connection', withState: true }).map((a) => a.state?.key)).to.deep.equal([companion.key]);
        } finally {
          beating = false;
          await heartbeats;
        }
      });

      it(`${transport}: a client heartbeating within the timeout stays online`, async () => {
        const { client, key } = await online(transport);
        const until = Date.now() + 1200;
        while (Date.now() < until) {
          await client.heartbeat();
          await sleep(150);
        }
        await h.pushMsg([key], 1000, { op: 1000, body: 'still online' });
        await client.waitFor((p) => p.op === 1000 && p.body.toString() === 'still online', 5000, 'the push');
        expect(h.node.metrics.get('im_connections_closed_total', { reason: 'heartbeat_timeout' })).to.equal(0);
        expect(h.node.metrics.get('im_heartbeat_timeouts_total')).to.equal(0);
        expect(h.logic[0].calls.disconnect).to.have.length(0);
      });
    }
  });

  describe('supervision', () => {
    beforeEach(async () => {
      h = await CloudHarness.start();
      others = await bystandersOnline(h);
    });

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: a crash inside one connection actor closes that connection only`, async () => {
        const { client, key } = await online(transport);
        const ref = h.node.runtime.refAt(connectionPathOf(h, key));
        ref?.tell(NONSENSE);
        await client.waitForClose();
        expect(client.disconnectReason()?.code).to.equal('E_ACTOR_CRASHED');
        await h.logic[0].waitFor((c) => c.disconnect.length === 1, 5000, 'Disconnect of the crashed connection');
        expect(h.logic[0].calls.disconnect[0].key).to.equal(key);
        expect(h.node.metrics.get('im_actor_gave_up_total', { kind: 'connection' })).to.equal(1);
        expect(h.node.metrics.get('im_connections_closed_total', { reason: 'actor_crashed' })).to.equal(1);
        await eventually(() => h.node.runtime.count('connection') === 2, 'the crashed actor to be gone');
        // The crashed actor left the count by phase: the two bystanders are all that is online.
        expect(h.node.metrics.total('im_connections')).to.equal(2);
        expect(h.node.metrics.get('im_connections', { transport, phase: 'online' })).to.equal(1);

        const bystanders = others as Bystanders;
        await expectBystandersServed(h, bystanders);
        expect(await bystanders.ws.heartbeat()).to.equal(2);
        expect(await bystanders.tcp.heartbeat()).to.equal(2);
        await sleep(100);
        expect(h.logic[0].calls.disconnect).to.have.length(1);
        expect(h.node.failure).to.equal(null);
      });
    }

    it('a bucket survives a fault within its budget and keeps its members', async () => {
      const bystanders = others as Bystanders;
      // A bystander is online once it has op 8, but its bucket may not have handled its put yet (the put is
      // told, not awaited): a push to both, which reaches them through their buckets, proves it has.
      await expectBystandersServed(h, bystanders);
      const [bucket] = h.node.runtime.list({ kind: 'bucket', withState: true }).filter((b) => Number(b.state?.connections) > 0);
      h.node.runtime.refAt(bucket.path)?.tell(NONSENSE);
      await eventually(() => h.node.metrics.get('im_actor_faults_total', { kind: 'bucket' }) === 1, 'the bucket fault to be counted');
      await expectBystandersServed(h, bystanders);
      await expectBystandersServed(h, bystanders);
      expect(h.node.metrics.get('im_actor_faults_total', { kind: 'bucket' })).to.equal(1);
      expect(h.node.metrics.get('im_actor_gave_up_total', { kind: 'bucket' })).to.equal(0);
      const after = h.node.runtime.list({ kind: 'bucket', withState: true }).find((b) => b.path === bucket.path);
      expect(after?.restarts).to.equal(1);
      expect(after?.state?.connections).to.equal(bucket.state?.connections);
      expect(h.node.failure).to.equal(null);
    });

    it('a room that faults past its budget is rebuilt with its members; the other rooms and the node keep running', async () => {
      const faulty = 'live://faulty';
      const calm = 'live://calm';
      const members = [await online('ws', { ...GOIM_TOKEN, room_id: faulty }), await online('tcp', { ...GOIM_TOKEN, room_id: faulty })];
      const neighbour = await online('ws', { ...GOIM_TOKEN, room_id: calm });
      const [room] = h.node.runtime.list({ kind: 'room', withState: true }).filter((r) => r.state?.roomId === faulty);
      const budget = roomActor.supervision.maxRestarts;
      const faults = budget + 2;
      // Unknown messages, and known ones that throw inside the room's own handlers (one halfway through a broadcast).
      const throwing: unknown[] = [
        NONSENSE, { type: 'join', handle: null }, { type: 'heartbeat', handle: null, ver: 1, seq: 1 }, { type: 'broadcast', out: null },
      ];
      for (let i = 0; i < faults; i++) h.node.runtime.refAt(room.path)?.tell(throwing[i % throwing.length]);
      await eventually(() => h.node.metrics.get('im_actor_faults_total', { kind: 'room' }) === faults || h.node.failure !== null,
        'the room faults to be counted');
      expect(h.node.failure?.message ?? null, 'the node\'s failure').to.equal(null);

      await h.broadcastRoom(faulty, { op: 1000, body: 'after the faults' });
      await h.broadcastRoom(calm, { op: 1000, body: 'next door' });
      for (const member of members) {
        await member.client.waitFor((p) => p.op === 1000 && p.body.toString() === 'after the faults', 5000, 'the faulty room\'s push');
        expect(await member.client.heartbeat()).to.equal(2);
      }
      await neighbour.client.waitFor((p) => p.op === 1000 && p.body.toString() === 'next door', 5000, 'the calm room\'s push');
      expect(await neighbour.client.heartbeat()).to.equal(1);
      await expectBystandersServed(h, others as Bystanders);

      const after = h.node.runtime.list({ kind: 'room', withState: true }).find((r) => r.path === room.path);
      expect(after?.restarts).to.equal(faults);
      expect(after?.state?.members).to.equal(2);
      expect(h.node.metrics.get('im_actor_faults_total', { kind: 'room' })).to.equal(faults);
      expect(h.node.metrics.get('im_actor_rebuilt_total', { kind: 'room', cause: 'budget' })).to.equal(1);
      expect(h.node.metrics.get('im_actor_gave_up_total', { kind: 'room' })).to.equal(0);
      expect(h.node.failure).to.equal(null);
    });
  });

  describe('RenewOnline', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({ logic: { renewOnlineIntervalMs: 200 } });
    });

    it('reports this node\'s room counts and serves the cluster total in op 3', async () => {
      const logic = h.logic[0];
      const { client } = await online('ws');
      await online('tcp');
      await logic.waitFor((c) => c.renewOnline.some((r) => r.roomCount['live://1000'] === 2), 5000, 'RenewOnline with both clients');
      const report = logic.calls.renewOnline.find((r) => r.roomCount['live://1000'] === 2);
      expect(report?.server).to.equal(`127.0.0.1:${h.ports.grpc}`);
      expect(report?.roomCount).to.deep.equal({ 'live://1000': 2 });
      expect(await client.heartbeat()).to.equal(2);

      logic.clusterCounts = { 'live://1000': 7 };
      const seen = logic.calls.renewOnline.length;
      await logic.waitFor((c) => c.renewOnline.length > seen, 5000, 'a RenewOnline answered with the cluster counts');
      // 5 members elsewhere + 2 here, once the answer has reached the room.
      let roomOnline = await client.heartbeat();
      const deadline = Date.now() + 3000;
      while (roomOnline !== 7 && Date.now() < deadline) {
        await sleep(50);
        roomOnline = await client.heartbeat();
      }
      expect(roomOnline).to.equal(7);
    });
  });

  describe('logic Heartbeat cadence', () => {
    it('with a zero interval every client heartbeat calls logic Heartbeat', async () => {
      h = await CloudHarness.start({ logic: { heartbeatMinMs: 0, heartbeatMaxMs: 0 } });
      const { client, key } = await online('ws');
      for (let i = 0; i < 10; i++) await client.heartbeat();
      await h.logic[0].waitFor((c) => c.heartbeat.length === 10, 5000, 'ten logic Heartbeats');
      expect(h.logic[0].calls.heartbeat[0]).to.include({ mid: '123', key, server: `127.0.0.1:${h.ports.grpc}` });
    });

    it('with the default jittered interval (minutes) ten client heartbeats call logic Heartbeat zero times', async () => {
      h = await CloudHarness.start();
      const { client } = await online('tcp');
      for (let i = 0; i < 10; i++) await client.heartbeat();
      await sleep(200);
      expect(h.logic[0].calls.heartbeat).to.have.length(0);
    });
  });

  describe('upstream messages with two logic nodes', () => {
    let logic: TestLogicNode[];

    beforeEach(async () => {
      logic = [await new TestLogicNode().start(), await new TestLogicNode().start()];
      h = await CloudHarness.start({ logic: { callTimeoutMs: 300 } }, logic);
    });

    const receives = (): number => logic[0].calls.receive.length + logic[1].calls.receive.length;

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: a Receive that times out is not sent to the other node; op 5 says its outcome is unknown (E_RECEIVE_TIMEOUT)`, async () => {
        const { client } = await online(transport);
        for (const node of logic) node.delayMs = 2000;
        client.send(Op.SendMsg, 'maybe taken', 1, 42);
        const ack = await client.waitFor((p) => p.op === Op.SendMsgReply, 5000, 'op 5');
        // The gateway answers only once it has made every attempt it will make, so a second one would be recorded by now.
        expect(receives(), 'Receive calls').to.equal(1);
        expect({ ver: ack.ver, seq: ack.seq, batched: ack.batched }).to.deep.equal({ ver: 1, seq: 42, batched: false });
        expect(JSON.parse(ack.body.toString('utf8'))).to.deep.equal({
          code: -500, error: 'E_RECEIVE_TIMEOUT', message: 'logic did not answer in time: the message may or may not have been taken',
        });
        expect(h.node.metrics.get('im_receive_failures_total', { code: 'E_RECEIVE_TIMEOUT' })).to.equal(1);
        expect(h.node.metrics.get('im_logic_call_failures_total', { rpc: 'Receive', status: 'DEADLINE_EXCEEDED' })).to.equal(1);
        expect(client.closed, 'the connection stays open').to.equal(false);
      });
    }

    it('a Receive a node answers UNAVAILABLE (nothing taken) goes to the other node and is echoed', async () => {
      const { client } = await online('ws');
      logic[1].refuseReceiveWith = grpc.status.UNAVAILABLE;
      // Round robin: one of the two starts at the refusing node.
      client.send(Op.SendMsg, 'first', 1, 1);
      client.send(Op.SendMsg, 'second', 1, 2);
      const acks = [
        await client.waitFor((p) => p.op === Op.SendMsgReply && p.seq === 1, 5000, 'op 5 for seq 1'),
        await client.waitFor((p) => p.op === Op.SendMsgReply && p.seq === 2, 5000, 'op 5 for seq 2'),
      ];
      expect(acks.map((a) => a.body.toString('utf8'))).to.deep.equal(['first', 'second']);
      expect(logic[1].calls.receive).to.have.length(1);
      expect(logic[0].calls.receive.map((r) => r.proto?.body.toString()).sort()).to.deep.equal(['first', 'second']);
      expect(h.node.metrics.get('im_logic_call_failures_total', { rpc: 'Receive', status: 'UNAVAILABLE' })).to.equal(1);
    });
  });

  describe('upstream messages and late closes', () => {
    beforeEach(async () => {
      h = await CloudHarness.start();
    });

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: op 4 goes to logic Receive with mid and proto; the client gets op 5 echoing the body`, async () => {
        const { client } = await online(transport);
        client.send(Op.SendMsg, 'hello upstream', 1, 42);
        const ack = await client.waitFor((p) => p.op === Op.SendMsgReply, 5000, 'op 5');
        expect(ack.seq).to.equal(42);
        expect(ack.body.toString()).to.equal('hello upstream');
        const [received] = h.logic[0].calls.receive;
        expect(received.mid).to.equal('123');
        expect(received.proto?.op).to.equal(Op.SendMsg);
        expect(received.proto?.seq).to.equal(42);
        expect(received.proto?.ver).to.equal(1);
        expect(received.proto?.body.toString()).to.equal('hello upstream');
      });

      for (const [status, code, message] of [
        [grpc.status.INTERNAL, 'E_RECEIVE_REFUSED', 'logic did not accept the upstream message'],
        [grpc.status.UNAVAILABLE, 'E_LOGIC_UNAVAILABLE', 'no logic node answered'],
      ] as const) {
        it(`${transport}: op 4 whose Receive fails with ${grpc.status[status]} gets op 5 with a JSON error body (${code}), not the echo`, async () => {
          const { client } = await online(transport);
          h.logic[0].refuseReceiveWith = status;
          client.send(Op.SendMsg, 'hello upstream', 1, 42);
          const ack = await client.waitFor((p) => p.op === Op.SendMsgReply, 5000, 'op 5');
          expect({ ver: ack.ver, seq: ack.seq, batched: ack.batched }).to.deep.equal({ ver: 1, seq: 42, batched: false });
          expect(JSON.parse(ack.body.toString('utf8'))).to.deep.equal({ code: -500, error: code, message });
          expect(h.logic[0].calls.receive).to.have.length(1);
          expect(h.node.metrics.get('im_receive_failures_total', { code })).to.equal(1);
          expect(client.closed, 'the connection stays open').to.equal(false);
          // The next message, accepted, is echoed as before.
          h.logic[0].refuseReceiveWith = null;
          client.send(Op.SendMsg, 'second', 1, 43);
          const echo = await client.waitFor((p) => p.op === Op.SendMsgReply && p.seq === 43, 5000, 'op 5 for seq 43');
          expect(echo.body.toString('utf8')).to.equal('second');
        });
      }

      it(`${transport}: a socket that closes while logic decides is disconnected once logic answers`, async () => {
        const logic = h.logic[0];
        logic.delayMs = 300;
        const client = transport === 'ws' ? await TestClient.ws(h.ports.ws) : await TestClient.tcp(h.ports.tcp);
        client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: 'late-key' }));
        await logic.waitFor((c) => c.connect.length === 1, 5000, 'Connect to reach logic');
        client.destroy();
        await logic.waitFor((c) => c.disconnect.length === 1, 5000, 'Disconnect of the late session');
        expect(logic.calls.disconnect[0]).to.include({ key: 'late-key', mid: '123' });
        await eventually(() => h.node.runtime.count('connection') === 0, 'the connection actor to stop');
        await sleep(400);
        expect(logic.calls.disconnect).to.have.length(1);
        expect(await h.rooms()).to.deep.equal([]);
        expect(h.node.metrics.get('im_auth_ok_total')).to.equal(0);
      });
    }
  });
});

/**
 * PushMsg, BroadcastRoom and Broadcast from a logic node to a cloud node on
 * long-lived streams (im.cloud.CloudStream), over real gRPC: a real logic
 * node pushing to a real cloud node through its HTTP API; a refusal on the
 * stream reading as the unary one; a goim-style comet serving only the
 * unary rpcs; a stream cut mid-flight; a push past its deadline; a stop
 * that does not wait out its grace for an open stream.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CometHandlers } from '../proto/generated/goim/comet/Comet';
import type { CloudHandlers } from '../proto/generated/im/cloud/Cloud';
import type { CloudStreamHandlers } from '../proto/generated/im/cloud/CloudStream';
import type { PushMsgReq__Output } from '../proto/generated/im/cloud/PushMsgReq';
import type { PushReply } from '../proto/generated/im/cloud/PushReply';
import type { PushRequest__Output } from '../proto/generated/im/cloud/PushRequest';
import { GrpcCloudClient } from '../system/cloud-client';
import { Metrics } from '../system/metrics';
import { PeerAuth } from '../system/peer-auth';
import { loadWireProtos } from '../system/proto-loader';
import type { RequestStreamOptions } from '../system/request-streams';
import { CloudHarness, eventually } from './support/cloud-harness';
import { ChildNode } from './support/child-node';
import { SystemHarness, until } from './support/system-harness';
import { TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

const TOKEN = 'cloud-stream-spec-token';
const STREAMS: RequestStreamOptions = { count: 2, reprobeMs: 60_000, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } };
const PROTO = { ver: 1, op: 1000, seq: 0, body: Buffer.from('streamed') };

/** A grpc-js server on a free port: goim's comet (unary only), or one serving CloudStream that never answers. */
class FakeCloud {
  readonly pushes: PushMsgReq__Output[] = [];
  streamRequests = 0;
  streamsOpened = 0;
  streamsCancelled = 0;
  private constructor(readonly server: grpc.Server, readonly address: string) {}

  static async start(kind: 'goim-comet' | 'silent-stream'): Promise<FakeCloud> {
    const { im, goim } = loadWireProtos();
    const server = new grpc.Server();
    let fake: FakeCloud | null = null;
    if (kind === 'goim-comet') {
      const comet: CometHandlers = {
        PushMsg: (call, cb) => { fake?.pushes.push(call.request); cb(null, {}); },
        Broadcast: (_call, cb) => cb(null, {}),
        BroadcastRoom: (_call, cb) => cb(null, {}),
        Rooms: (_call, cb) => cb(null, { rooms: {} }),
      };
      const cloud: CloudHandlers = { ...comet, Ping: (_call, cb) => cb(null, {}), Close: (_call, cb) => cb(null, {}), CClose: (_call, cb) => cb(null, {}) };
      server.addService(goim.comet.Comet.service, comet);
      server.addService(im.cloud.Cloud.service, cloud);
    } else {
      const handlers: CloudStreamHandlers = {
        Pushes: (call: grpc.ServerDuplexStream<PushRequest__Output, PushReply>) => {
          if (fake) fake.streamsOpened++;
          call.on('data', () => { if (fake) fake.streamRequests++; });
          call.on('cancelled', () => { if (fake) fake.streamsCancelled++; });
          call.on('error', () => undefined);
        },
      };
      server.addService(im.cloud.CloudStream.service, handlers);
    }
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    fake = new FakeCloud(server, `127.0.0.1:${port}`);
    return fake;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

function failureOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => { throw new Error('the push was taken'); }, (err: Error) => err.message);
}

describe('cloud streams (the push rpcs on long-lived gRPC streams)', function () {
  this.timeout(20000);

  describe('a real logic node and a real cloud node', () => {
    let sys: SystemHarness | null = null;
    afterEach(async () => {
      await sys?.stop();
      sys = null;
    });

    it('key, room and broadcast pushes travel on the streams, with security.token', async () => {
      sys = await SystemHarness.start({
        cloudOverrides: { security: { token: TOKEN } },
        logicOverrides: { security: { token: TOKEN }, cloud: { streams: 2, maxInFlight: 4 } },
      });
      const { client } = await sys.online(0, 'ws', { mid: 91, key: 'streamed-key', room_id: 'live://91', accepts: [1000] });
      const headers = { authorization: `Bearer ${TOKEN}` };
      const keys = await sys.http('/im/push/keys', { method: 'POST', query: { operation: 1000, keys: 'streamed-key' }, body: 'key-on-stream', headers });
      expect(keys.status, keys.text).to.equal(200);
      expect(keys.json.data).to.deep.include({ targets: 1 });
      await client.waitFor((p) => p.body.toString() === 'key-on-stream', 5000, 'the key push');
      const room = await sys.http('/im/push/room', { method: 'POST', query: { operation: 1000, type: 'live', room: '91' }, body: 'room-on-stream', headers });
      expect(room.status, room.text).to.equal(200);
      await client.waitFor((p) => p.body.toString() === 'room-on-stream', 5000, 'the room push');
      const all = await sys.http('/im/push/all', { method: 'POST', query: { operation: 1000 }, body: 'all-on-stream', headers });
      expect(all.status, all.text).to.equal(200);
      await client.waitFor((p) => p.body.toString() === 'all-on-stream', 5000, 'the broadcast');

      const logic = sys.logic[0].metrics;
      const cloud = sys.cloud[0].metrics;
      // Three pushes round-robin over two streams: both opened, none broken, the node never called unary.
      expect(logic.get('im_cloud_streams_total', { event: 'opened' })).to.equal(2);
      expect(logic.get('im_cloud_streams_total', { event: 'broken' })).to.equal(0);
      expect(logic.get('im_cloud_streams_total', { event: 'unary_only' })).to.equal(0);
      expect(cloud.get('im_grpc_push_streams')).to.equal(2);
      for (const rpc of ['PushMsg', 'BroadcastRoom', 'Broadcast']) {
        // Room and all pushes are answered before the cloud node's reply reaches logic: wait for it.
        await until(async () => logic.get('im_cloud_call_seconds', { rpc, outcome: 'ok' }), (n) => n === 1, `${rpc} answered`);
        expect(cloud.get('im_grpc_requests_total', { rpc }), rpc).to.equal(1);
      }
      expect(cloud.get('im_internal_auth_failures_total', { surface: 'grpc' })).to.equal(0);
    });
  });

  describe('a cloud node process that stalls (SIGSTOP), then resumes', () => {
    let child: ChildNode | null = null;
    let logic: TestLogicNode | null = null;
    const closing: Array<{ close(): void }> = [];
    afterEach(async () => {
      if (child?.process.pid !== undefined && child.alive) process.kill(child.process.pid, 'SIGCONT');
      for (const c of closing.splice(0)) c.close();
      await ChildNode.killAll();
      await logic?.stop();
      child = null;
      logic = null;
    });

    it('delivers, once resumed, none of the pushes reported failed at their deadline but what had reached its socket; the next push goes on a new stream', async () => {
      logic = await new TestLogicNode().start();
      child = ChildNode.spawn({
        args: ['cloud'],
        env: {
          IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0', IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0',
          IM_CLOUD_LOGIC_NODES: logic.address, IM_CLOUD_LOG_LEVEL: 'info',
        },
      });
      const ports = await child.started();
      const ws = await TestClient.tcp(ports.tcp);
      closing.push({ close: () => ws.destroy() });
      await ws.auth({ mid: 4, key: 'stalled-key', accepts: [1000] });
      const metrics = new Metrics('logic');
      const c = new GrpcCloudClient(`127.0.0.1:${ports.grpc}`, 300, metrics, undefined, null, STREAMS);
      closing.push(c);
      // 40 KiB: one push fills most of a stream's HTTP/2 window, so a stalled node holds at most one per stream in its socket.
      const proto = (body: string): typeof PROTO => ({ ...PROTO, body: Buffer.from(body.padEnd(40 * 1024, '.')) });
      await c.pushMsg(['stalled-key'], 1000, proto('before'));
      await ws.waitFor((p) => p.body.toString().startsWith('before'), 5000, 'the push before the stall');

      const pid = child.process.pid ?? 0;
      process.kill(pid, 'SIGSTOP');
      const during = await Promise.all(Array.from({ length: 8 }, (_, i) => failureOf(c.pushMsg(['stalled-key'], 1000, proto(`during-${i}`)))));
      for (const failure of during) expect(failure).to.match(/DEADLINE_EXCEEDED|UNAVAILABLE: the stream was cancelled/);
      expect(metrics.get('im_cloud_streams_total', { event: 'deadline' })).to.be.greaterThan(0);
      process.kill(pid, 'SIGCONT');

      await c.pushMsg(['stalled-key'], 1000, proto('after'));
      await ws.waitFor((p) => p.body.toString().startsWith('after'), 5000, 'the push after the stall');
      // Anything the node still took from before would have arrived ahead of 'after', on the client's one socket.
      await new Promise((r) => setTimeout(r, 200));
      const late = ws.received(1000).map((p) => p.body.toString().slice(0, 12)).filter((b) => b.startsWith('during'));
      // Cancelled with their streams, the pushes queued behind are gone; kept open, the streams would deliver all 8.
      expect(late.length, `pushes reported failed, delivered after all: ${late.join(', ')}`).to.be.at.most(STREAMS.count);
    });
  });

  describe('a client of one cloud node', () => {
    let harness: CloudHarness | null = null;
    const closing: Array<{ close(): void }> = [];
    const fakes: FakeCloud[] = [];
    afterEach(async () => {
      for (const c of closing.splice(0)) c.close();
      for (const f of fakes.splice(0)) f.stop();
      await harness?.stop();
      harness = null;
    });

    function client(address: string, timeoutMs = 2000, metrics: Metrics | null = null, auth: PeerAuth | null = null, streams: RequestStreamOptions | null = STREAMS): GrpcCloudClient {
      const c = new GrpcCloudClient(address, timeoutMs, metrics, undefined, auth, streams);
      closing.push(c);
      return c;
    }

    it('a stream request carrying no call is answered INVALID_ARGUMENT E_GRPC_BAD_STREAM_REQUEST; the stream stays usable', async () => {
      harness = await CloudHarness.start();
      const { im } = loadWireProtos();
      const raw = new im.cloud.CloudStream(`127.0.0.1:${harness.ports.grpc}`, grpc.credentials.createInsecure());
      closing.push(raw);
      const call = raw.Pushes();
      const replies: Array<{ id: number; code: number; details: string }> = [];
      call.on('data', (r: { id: number; code: number; details: string }) => replies.push(r));
      call.on('error', () => undefined);
      call.write({ id: 7 });
      call.write({ id: 8, pushMsg: { keys: ['nobody'], protoOp: 1000, proto: PROTO } });
      await eventually(() => replies.length === 2, 'both replies');
      expect(replies[0].id).to.equal(7);
      expect(replies[0].code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(replies[0].details).to.match(/^E_GRPC_BAD_STREAM_REQUEST: /);
      expect(replies[1]).to.deep.include({ id: 8, code: 0 });
      expect(harness.node.metrics.get('im_grpc_requests_total', { rpc: 'PushMsg' })).to.equal(1);
      expect(harness.node.metrics.get('im_grpc_invalid_total', { rpc: 'Pushes', code: 'E_GRPC_BAD_STREAM_REQUEST' })).to.equal(1);
      call.end();
    });

    it('a push the cloud node refuses on the stream fails as the unary call does: status and catalogued code', async () => {
      harness = await CloudHarness.start({ grpc: { maxPushBytes: 64 } });
      const address = `127.0.0.1:${harness.ports.grpc}`;
      const metrics = new Metrics('logic');
      const streamed = client(address, 2000, metrics);
      const unary = client(address, 2000, null, null, null);
      const big = { ...PROTO, body: Buffer.alloc(65) };
      const cases: Array<[string, (c: GrpcCloudClient) => Promise<void>]> = [
        ['no keys', (c) => c.pushMsg([''], 1000, PROTO)],
        ['no room', (c) => c.broadcastRoom('', PROTO)],
        ['a negative speed', (c) => c.broadcast(1000, PROTO, -1)],
        ['a body too large', (c) => c.pushMsg(['k'], 1000, big)],
      ];
      for (const [what, push] of cases) {
        expect(await failureOf(push(streamed)), what).to.equal(await failureOf(push(unary)));
      }
      expect(await failureOf(streamed.pushMsg([''], 1000, PROTO))).to.match(/^PushMsg on 127\.0\.0\.1:\d+: INVALID_ARGUMENT: E_GRPC_NO_KEYS: /);
      // Each refusal counted once per request at the node, whichever way it came; the streams stayed open.
      expect(harness.node.metrics.get('im_grpc_invalid_total', { rpc: 'PushMsg', code: 'E_GRPC_NO_KEYS' })).to.equal(3);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'INVALID_ARGUMENT' })).to.equal(3);
      expect(metrics.get('im_cloud_streams_total', { event: 'broken' })).to.equal(0);
      expect(harness.node.metrics.get('im_grpc_push_streams')).to.equal(2);
    });

    it('a stream without the node\'s token is refused: the push fails UNAUTHENTICATED, counted as a refused peer token', async () => {
      harness = await CloudHarness.start({ security: { token: TOKEN } });
      const address = `127.0.0.1:${harness.ports.grpc}`;
      const metrics = new Metrics('logic');
      const refused = client(address, 2000, metrics, new PeerAuth('', metrics, null));
      expect(await failureOf(refused.pushMsg(['k'], 1000, PROTO))).to.match(/UNAUTHENTICATED/);
      expect(metrics.get('im_peer_auth_refused_total', { rpc: 'PushMsg' })).to.equal(1);
      expect(harness.node.metrics.get('im_pushes_total', { rpc: 'PushMsg' })).to.equal(0);
      const allowed = client(address, 2000, metrics, new PeerAuth(TOKEN, metrics, null));
      await allowed.pushMsg(['nobody'], 1000, PROTO);
      expect(harness.node.metrics.get('im_grpc_requests_total', { rpc: 'PushMsg' })).to.equal(1);
    });

    it('a unary-only (goim) comet is detected and called unary; the stream is not tried again before the re-probe', async () => {
      const comet = await FakeCloud.start('goim-comet');
      fakes.push(comet);
      const metrics = new Metrics('logic');
      const c = client(comet.address, 2000, metrics);
      await c.pushMsg(['goim-1'], 1000, PROTO);
      await c.pushMsg(['goim-2'], 1000, PROTO);
      await c.pushMsg(['goim-3'], 1000, PROTO);
      expect(comet.pushes.map((p) => p.keys[0])).to.deep.equal(['goim-1', 'goim-2', 'goim-3']);
      expect(metrics.get('im_cloud_streams_total', { event: 'unary_only' })).to.equal(1);
      expect(metrics.get('im_cloud_streams_total', { event: 'opened' })).to.equal(1);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'ok' })).to.equal(3);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'UNIMPLEMENTED' })).to.equal(0);
    });

    it('a stream cut mid-flight fails its pushes at once, not at their deadline', async () => {
      const silent = await FakeCloud.start('silent-stream');
      fakes.push(silent);
      const metrics = new Metrics('logic');
      // A deadline far beyond the test's: only the stream's end can fail the push in time.
      const c = client(silent.address, 60_000, metrics);
      const started = Date.now();
      const failed = failureOf(c.pushMsg(['cut'], 1000, PROTO));
      await eventually(() => silent.streamRequests === 1, 'the push on the stream');
      silent.stop();
      expect(await failed).to.match(/^PushMsg on 127\.0\.0\.1:\d+: UNAVAILABLE: the stream ended/);
      expect(Date.now() - started).to.be.below(5000);
      expect(metrics.get('im_cloud_streams_total', { event: 'broken' })).to.equal(1);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'UNAVAILABLE' })).to.equal(1);
    });

    it('a push past its deadline fails DEADLINE_EXCEEDED and cancels its stream, as a unary call is; the others on it fail, the next push opens a new one', async () => {
      const silent = await FakeCloud.start('silent-stream');
      fakes.push(silent);
      const metrics = new Metrics('logic');
      const c = client(silent.address, 300, metrics, null, { ...STREAMS, count: 1 });
      const first = failureOf(c.pushMsg(['late'], 1000, PROTO));
      await new Promise((r) => setTimeout(r, 100));
      const second = failureOf(c.pushMsg(['late-2'], 1000, PROTO));
      expect(await first).to.match(/DEADLINE_EXCEEDED: no answer on the stream within 300 ms/);
      // Its deadline was 100 ms away: it failed with the first, as the stream went, retryable.
      expect(await second).to.match(/UNAVAILABLE: the stream was cancelled: another request on it got no answer within 300 ms/);
      await eventually(() => silent.streamsCancelled === 1, 'the node seeing the stream cancelled');
      expect(metrics.get('im_cloud_streams_total', { event: 'deadline' })).to.equal(1);
      expect(metrics.get('im_cloud_streams_total', { event: 'broken' })).to.equal(0);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'DEADLINE_EXCEEDED' })).to.equal(1);
      expect(metrics.get('im_cloud_call_seconds', { rpc: 'PushMsg', outcome: 'UNAVAILABLE' })).to.equal(1);
      expect(await failureOf(c.pushMsg(['late-3'], 1000, PROTO))).to.match(/DEADLINE_EXCEEDED/);
      expect(silent.streamsOpened).to.equal(2);
      expect(silent.streamRequests).to.equal(3);
    });

    it('a push whose request may not fit the node\'s receive limit goes unary: refused alone, the stream and its pushes untouched', async () => {
      harness = await CloudHarness.start({ grpc: { maxPushBytes: 64 } });
      const address = `127.0.0.1:${harness.ports.grpc}`;
      const metrics = new Metrics('logic');
      const c = client(address, 2000, metrics);
      // Over the node's receive limit (64 + 64 KiB): on a stream grpc-js would end the whole call.
      const huge = { ...PROTO, body: Buffer.alloc(70 * 1024) };
      const results = await Promise.all([
        c.pushMsg(['a'], 1000, PROTO).then(() => 'ok', (e: Error) => e.message),
        c.pushMsg(['b'], 1000, huge).then(() => 'ok', (e: Error) => e.message),
        c.pushMsg(['c'], 1000, PROTO).then(() => 'ok', (e: Error) => e.message),
      ]);
      expect(results[0]).to.equal('ok');
      expect(results[1]).to.match(/RESOURCE_EXHAUSTED/);
      expect(results[2]).to.equal('ok');
      expect(metrics.get('im_cloud_streams_total', { event: 'broken' })).to.equal(0);
      expect(harness.node.metrics.get('im_grpc_push_streams')).to.equal(2);
    });

    it('a cloud node stopping ends its push streams instead of waiting out the grace; the next push finds it gone', async () => {
      harness = await CloudHarness.start({ grpc: { shutdownGraceMs: 10_000 }, shutdown: { deadlineMs: 20_000 } });
      const address = `127.0.0.1:${harness.ports.grpc}`;
      const ws = await TestClient.ws(harness.ports.ws);
      closing.push({ close: () => ws.destroy() });
      await ws.auth({ mid: 3, key: 'before-stop', accepts: [1000] });
      const metrics = new Metrics('logic');
      const c = client(address, 2000, metrics);
      await c.pushMsg(['before-stop'], 1000, PROTO);
      await c.pushMsg(['before-stop'], 1000, PROTO);
      await ws.waitFor((p, i) => i > 0 && p.body.toString() === 'streamed', 5000, 'the pushes');
      expect(harness.node.metrics.get('im_grpc_push_streams')).to.equal(2);
      ws.destroy();
      const started = Date.now();
      await harness.node.stop();
      expect(Date.now() - started, 'the stop waited for the open streams').to.be.below(2000);
      expect(harness.node.metrics.get('im_grpc_push_streams')).to.equal(0);
      await until(async () => metrics.get('im_cloud_streams_total', { event: 'broken' }), (n) => n === 2, 'both streams ended at the client');
      expect(await failureOf(c.pushMsg(['after-stop'], 1000, PROTO))).to.match(/UNAVAILABLE/);
    });
  });
});

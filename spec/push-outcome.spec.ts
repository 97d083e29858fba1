/**
 * What a key or mid push answers, through the real system (SystemHarness):
 * the HTTP push API and logic's gRPC PushKeys/PushMids answer once the cloud
 * nodes holding the targets took or failed the push, and say how many targets
 * and nodes that was; a failed or unknown node is named with its share.
 * Logic talks only to cloud nodes it knows: Connect naming another server is
 * refused, and the router's node list can be replaced at run time.
 */
import { expect } from 'chai';
import type { Outcome } from '../actors/ports';
import type { PushReach } from '../actors/push-outcome';
import type { PushRouterMsg } from '../actors/push-router-actor';
import { GrpcCloudClient } from '../system/cloud-client';
import { Op } from '../system/codec/packet';
import { LogicPushClient } from './support/logic-push-client';
import { HttpReply, SystemHarness, SystemOptions, Transport, until } from './support/system-harness';
import type { TestClient } from './support/test-client';

const BIZ = 1000;
/** Documentation range (RFC 5737): nothing listens there, and logic must never try. */
const STRANGER = '203.0.113.7:3109';

interface Peer {
  readonly client: TestClient;
  readonly key: string;
}

let serial = 0;

function uniqueKey(label: string): string {
  return `outcome-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;
}

function token(mid: number, key: string, room = 'live://1000'): object {
  return { mid, key, room_id: room, platform: 'web', accepts: [BIZ] };
}

async function join(sys: SystemHarness, cloud: number, transport: Transport, mid: number, label: string): Promise<Peer> {
  const key = uniqueKey(label);
  const { client } = await sys.online(cloud, transport, token(mid, key));
  return { client, key };
}

function arrived(peer: Peer, body: string): Promise<unknown> {
  return peer.client.waitFor((p) => p.op === BIZ && p.body.toString('utf8') === body, 5000, `"${body}"`);
}

function pushKeys(sys: SystemHarness, keys: readonly string[], body: string): Promise<HttpReply> {
  return sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys }, body });
}

/** The failed nodes of a 503's data, without their free-text reasons (checked to be there). */
function failedNodes(reply: HttpReply): unknown {
  const data = reply.json.data as { failed?: Array<Record<string, unknown>> } | undefined;
  expect(data?.failed, reply.text).to.be.an('array');
  return (data?.failed ?? []).map(({ reason, ...rest }) => {
    expect(reason).to.be.a('string').and.not.equal('');
    return rest;
  });
}

function linkNodes(sys: SystemHarness): string[] {
  return sys.logic[0].runtime.list({ kind: 'cloud-link', withState: true }).map((l) => String(l.state?.node)).sort();
}

describe('push outcome: the push API says what happened', function () {
  this.timeout(20000);

  let current: SystemHarness | null = null;
  const clients: LogicPushClient[] = [];

  async function boot(options: SystemOptions): Promise<SystemHarness> {
    current = await SystemHarness.start(options);
    return current;
  }

  function grpcClient(sys: SystemHarness): LogicPushClient {
    const client = new LogicPushClient(sys.logicAddress(0));
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await current?.stop();
    current = null;
  });

  it('a key or mid push answers with the targets and nodes it reached; keys nobody holds answer 0 targets', async () => {
    const sys = await boot({ cloud: 2 });
    const a = await join(sys, 0, 'ws', 7101, 'a');
    const b = await join(sys, 1, 'tcp', 7102, 'b');

    const both = await pushKeys(sys, [a.key, b.key, uniqueKey('nobody')], 'to-both');
    expect([both.status, both.json], both.text).to.deep.equal([200, { code: 0, message: '', data: { targets: 2, nodes: 2 } }]);
    await Promise.all([arrived(a, 'to-both'), arrived(b, 'to-both')]);

    const nobody = await pushKeys(sys, [uniqueKey('nobody')], 'to-nobody');
    expect([nobody.status, nobody.json], nobody.text).to.deep.equal([200, { code: 0, message: '', data: { targets: 0, nodes: 0 } }]);

    const mid = await sys.http('/im/push/mids', { method: 'POST', query: { operation: BIZ, mids: [7101] }, body: 'to-mid' });
    expect([mid.status, mid.json], mid.text).to.deep.equal([200, { code: 0, message: '', data: { targets: 1, nodes: 1 } }]);
    await arrived(a, 'to-mid');

    const grpc = grpcClient(sys);
    expect(await grpc.pushKeys({ keys: [a.key, b.key], msg: Buffer.from('grpc-keys'), operation: BIZ }))
      .to.deep.equal({ ok: true, reply: { targets: 2, nodes: 2 } });
    expect(await grpc.pushMids({ mids: ['7199'], msg: Buffer.from('grpc-nobody'), operation: BIZ }))
      .to.deep.equal({ ok: true, reply: { targets: 0, nodes: 0 } });
    await Promise.all([arrived(a, 'grpc-keys'), arrived(b, 'grpc-keys')]);
  });

  it('a cloud node that fails its share makes the push a 503 / UNAVAILABLE naming it and its targets; the others still get it', async () => {
    const sys = await boot({ cloud: 2 });
    const a = await join(sys, 0, 'ws', 7201, 'a');
    const nodeB = sys.cloudAddress(1);
    await sys.stopCloud(1);
    // Sessions that still name node B, as when it died without telling logic.
    const ghosts = [uniqueKey('ghost-1'), uniqueKey('ghost-2')];
    for (const key of ghosts) await sys.stores[0].add({ mid: '7202', key, server: nodeB });

    const r = await pushKeys(sys, [a.key, ...ghosts], 'half');
    expect(r.status, r.text).to.equal(503);
    expect({ code: r.json.code, error: r.json.error }).to.deep.equal({ code: -500, error: 'E_CLOUD_UNAVAILABLE' });
    expect(r.json.message).to.include(nodeB);
    expect((r.json.data as Record<string, unknown>).targets).to.equal(3);
    expect((r.json.data as Record<string, unknown>).nodes).to.equal(2);
    expect(failedNodes(r)).to.deep.equal([{ node: nodeB, targets: 2, code: 'E_CLOUD_UNAVAILABLE' }]);
    await arrived(a, 'half');

    const mids = await sys.http('/im/push/mids', { method: 'POST', query: { operation: BIZ, mids: [7202] }, body: 'to-ghosts' });
    expect(mids.status, mids.text).to.equal(503);
    expect(failedNodes(mids)).to.deep.equal([{ node: nodeB, targets: 2, code: 'E_CLOUD_UNAVAILABLE' }]);

    const grpc = await grpcClient(sys).pushKeys({ keys: [a.key, ghosts[0]], msg: Buffer.from('grpc-half'), operation: BIZ });
    expect(grpc.ok).to.equal(false);
    if (grpc.ok) return;
    expect(grpc.status).to.equal('UNAVAILABLE');
    expect(grpc.details).to.match(/^E_CLOUD_UNAVAILABLE: /);
    expect(grpc.details).to.include(`${nodeB} held 1 target`);
    await arrived(a, 'grpc-half');
    // The link counts a failure once its caller has heard of it.
    const metrics = sys.logic[0].metrics;
    await until(async () => metrics.get('im_cloud_push_failures_total', { node: nodeB, rpc: 'PushMsg' }), (n) => n === 3, 'the three failures to be counted');
  });

  it('a session naming a server that is not a cloud node is a failed target: named in the answer, counted, never dialled', async () => {
    const sys = await boot({ cloud: 1 });
    const a = await join(sys, 0, 'tcp', 7301, 'a');
    const stray = uniqueKey('stray');
    await sys.stores[0].add({ mid: '7302', key: stray, server: STRANGER });

    const r = await pushKeys(sys, [a.key, stray], 'stray');
    expect(r.status, r.text).to.equal(503);
    expect(r.json.error).to.equal('E_CLOUD_UNAVAILABLE');
    expect(failedNodes(r)).to.deep.equal([{ node: STRANGER, targets: 1, code: 'E_UNKNOWN_CLOUD_NODE' }]);
    await arrived(a, 'stray');
    expect(linkNodes(sys)).to.deep.equal([sys.cloudAddress(0)]);
    expect(sys.logic[0].metrics.get('im_logic_unknown_node_total', { source: 'session' })).to.equal(1);
  });

  it('Connect naming a server that is not a cloud node is refused: PERMISSION_DENIED E_UNKNOWN_CLOUD_NODE, counted, no session', async () => {
    const sys = await boot({ cloud: 1 });
    const grpc = grpcClient(sys);
    const key = uniqueKey('stranger');
    const refused = await grpc.connect({ server: STRANGER, cookie: '', token: Buffer.from(JSON.stringify(token(7401, key))) });
    expect(refused.ok).to.equal(false);
    if (refused.ok) return;
    expect(refused.status).to.equal('PERMISSION_DENIED');
    expect(refused.details).to.match(/^E_UNKNOWN_CLOUD_NODE: /);
    expect(refused.details).to.include(STRANGER);
    expect(await sys.stores[0].serversByKeys([key])).to.deep.equal(new Map());
    const metrics = sys.logic[0].metrics;
    expect(metrics.get('im_logic_unknown_node_total', { source: 'connect' })).to.equal(1);
    expect(metrics.get('im_logic_grpc_errors_total', { rpc: 'Connect', code: 'E_UNKNOWN_CLOUD_NODE' })).to.equal(1);
    expect(metrics.get('im_logic_connects_total')).to.equal(0);

    const known = await grpc.connect({ server: sys.cloudAddress(0), cookie: '', token: Buffer.from(JSON.stringify(token(7402, uniqueKey('known')))) });
    expect(known.ok, JSON.stringify(known)).to.equal(true);
  });

  it('Heartbeat and RenewOnline naming a server that is not a cloud node are refused like Connect; nothing is stored', async () => {
    const sys = await boot({ cloud: 1 });
    const grpc = grpcClient(sys);
    const metrics = sys.logic[0].metrics;
    const key = uniqueKey('hb-stranger');
    const expectRefused = (result: { ok: boolean; status?: string; details?: string }, what: string): void => {
      expect(result.ok, `${what}: ${JSON.stringify(result)}`).to.equal(false);
      expect(result.status, what).to.equal('PERMISSION_DENIED');
      expect(result.details, what).to.match(/^E_UNKNOWN_CLOUD_NODE: /).and.include(STRANGER);
    };

    // A Heartbeat re-adds an expired session: from a stranger it would route the key to an address of its choosing.
    expectRefused(await grpc.heartbeat({ mid: 7701, key, server: STRANGER, connId: 'c-1' }), 'Heartbeat');
    expect(await sys.stores[0].serversByKeys([key])).to.deep.equal(new Map());
    expect(metrics.get('im_logic_unknown_node_total', { source: 'heartbeat' })).to.equal(1);

    expectRefused(await grpc.renewOnline({ server: STRANGER, roomCount: { 'live://stranger': 500 }, connCount: 500, ipCount: 9 }), 'RenewOnline');
    expect((await sys.stores[0].allOnline()).map((o) => o.server)).to.not.include(STRANGER);
    expect(metrics.get('im_logic_unknown_node_total', { source: 'renew_online' })).to.equal(1);
    const top = await sys.http('/im/online/top', { query: { type: 'live', limit: 10 } });
    expect(top.json.data, top.text).to.not.deep.include({ room_id: 'stranger', count: 500 });

    // The same calls from a known node are taken.
    const node = sys.cloudAddress(0);
    expect(await grpc.heartbeat({ mid: 7701, key, server: node, connId: 'c-1' })).to.deep.equal({ ok: true, reply: {} });
    expect(await sys.stores[0].serversByKeys([key])).to.deep.equal(new Map([[key, node]]));
    const renewed = await grpc.renewOnline({ server: node, roomCount: { 'live://known': 2 }, connCount: 2, ipCount: 1 });
    expect(renewed.ok, JSON.stringify(renewed)).to.equal(true);
  });

  it('a link that cannot be opened fails its share at once (E_CLOUD_LINK_FAILED); the other nodes still get key, room and all pushes', async () => {
    let broken = '';
    const sys = await boot({
      cloud: 2,
      logic: [{
        cloudClient: (address) => {
          if (address === broken) throw new Error(`cannot open a channel to ${address}`);
          return new GrpcCloudClient(address, 1000);
        },
      }],
    });
    broken = sys.cloudAddress(0);
    const a = await join(sys, 0, 'ws', 7801, 'a');
    const b = await join(sys, 1, 'tcp', 7802, 'b');

    // The broken node's share comes first: the shares after it must still be sent and reported.
    const r = await pushKeys(sys, [a.key, b.key], 'one-broken');
    expect([r.status, r.json.error], r.text).to.deep.equal([503, 'E_CLOUD_UNAVAILABLE']);
    expect(failedNodes(r)).to.deep.equal([{ node: broken, targets: 1, code: 'E_CLOUD_LINK_FAILED' }]);
    await arrived(b, 'one-broken');

    const room = await sys.http('/im/push/room', { method: 'POST', query: { operation: BIZ, type: 'live', room: '1000' }, body: 'room-one-broken' });
    expect(room.status, room.text).to.equal(200);
    await arrived(b, 'room-one-broken');
    const all = await sys.http('/im/push/all', { method: 'POST', query: { operation: BIZ }, body: 'all-one-broken' });
    expect(all.status, all.text).to.equal(200);
    await arrived(b, 'all-one-broken');

    const metrics = sys.logic[0].metrics;
    for (const rpc of ['PushMsg', 'BroadcastRoom', 'Broadcast']) {
      expect(metrics.get('im_cloud_push_dropped_total', { node: broken, rpc, bound: 'link' }), rpc).to.equal(1);
    }
    // Each of the three pushes tried to open the link once.
    expect(metrics.get('im_cloud_link_failures_total', { node: broken, cause: 'open' })).to.equal(3);
    expect(linkNodes(sys)).to.deep.equal([sys.cloudAddress(1)]);
  });

  it('a cloud client that throws instead of rejecting fails its share at once; the link keeps its slot and sends the next push', async () => {
    let throwOnce = true;
    const sys = await boot({
      logic: [{
        cloudClient: (address) => {
          const client = new GrpcCloudClient(address, 1000);
          const pushMsg = client.pushMsg.bind(client);
          client.pushMsg = (keys, protoOp, proto) => {
            if (throwOnce) {
              throwOnce = false;
              throw new Error('request could not be serialized');
            }
            return pushMsg(keys, protoOp, proto);
          };
          return client;
        },
      }],
      logicOverrides: { cloud: { maxInFlight: 1 } },
    });
    const a = await join(sys, 0, 'ws', 7811, 'a');
    const first = await pushKeys(sys, [a.key], 'thrown');
    expect([first.status, first.json.error], first.text).to.deep.equal([503, 'E_CLOUD_UNAVAILABLE']);
    expect(first.json.message).to.match(/could not be serialized/);
    // With one in-flight slot, the next push goes only if the failed one gave its slot back.
    const second = await pushKeys(sys, [a.key], 'after-the-throw');
    expect(second.status, second.text).to.equal(200);
    await arrived(a, 'after-the-throw');
    expect(sys.logic[0].metrics.get('im_cloud_push_failures_total', { node: sys.cloudAddress(0), rpc: 'PushMsg' })).to.equal(1);
  });

  it('the router\'s node list can be replaced: links of nodes that left stop, their pushes fail, their Connects are refused', async () => {
    // No grace: a node that leaves gets nothing more at once.
    const sys = await boot({ cloud: 2, logicOverrides: { cloud: { leavingGraceMs: 0 } } });
    const [nodeA, nodeB] = [sys.cloudAddress(0), sys.cloudAddress(1)];
    const a = await join(sys, 0, 'ws', 7501, 'a');
    const b = await join(sys, 1, 'tcp', 7502, 'b');
    expect((await pushKeys(sys, [a.key, b.key], 'before')).status).to.equal(200);
    expect(linkNodes(sys)).to.deep.equal([nodeA, nodeB].sort());

    const runtime = sys.logic[0].runtime;
    const [routerInfo] = runtime.list({ kind: 'push-router' });
    const router = runtime.refAt(routerInfo.path);
    if (!router) throw new Error('no push router');
    const onlyA: PushRouterMsg = { type: 'setNodes', nodes: [nodeA] };
    router.tell(onlyA);
    await runtime.barrier(router, 1000);
    await until(async () => linkNodes(sys), (nodes) => nodes.length === 1, 'the retired link stops');
    expect(linkNodes(sys)).to.deep.equal([nodeA]);

    const r = await pushKeys(sys, [a.key, b.key], 'after');
    expect(r.status, r.text).to.equal(503);
    expect(failedNodes(r)).to.deep.equal([{ node: nodeB, targets: 1, code: 'E_UNKNOWN_CLOUD_NODE' }]);
    await arrived(a, 'after');

    // A client logging in on node B is refused by logic; the cloud node closes it.
    const late = await sys.connect(1, 'ws');
    late.send(Op.Auth, JSON.stringify(token(7503, uniqueKey('late'))));
    await late.waitForClose();
    expect(late.disconnectReason()?.code).to.equal('E_AUTH_REFUSED');

    // Room pushes go only to the nodes on the list.
    const room = await sys.http('/im/push/room', { method: 'POST', query: { operation: BIZ, type: 'live', room: '1000' }, body: 'room-after' });
    expect(room.status, room.text).to.equal(200);
    await arrived(a, 'room-after');
    expect(linkNodes(sys)).to.deep.equal([nodeA]);
    expect(sys.logic[0].metrics.total('im_cloud_push_failures_total')).to.equal(0);

    // Back on the list: node B is reached again through a new link.
    const both: PushRouterMsg = { type: 'setNodes', nodes: [nodeA, nodeB] };
    router.tell(both);
    const again = await pushKeys(sys, [a.key, b.key], 'again');
    expect([again.status, again.json.data], again.text).to.deep.equal([200, { targets: 2, nodes: 2 }]);
    await Promise.all([arrived(a, 'again'), arrived(b, 'again')]);
  });

  it('a push told to a link just before its node leaves the list is still sent and answered', async () => {
    const sys = await boot({ cloud: 2, logicOverrides: { cloud: { leavingGraceMs: 0 } } });
    const [nodeA, nodeB] = [sys.cloudAddress(0), sys.cloudAddress(1)];
    await join(sys, 0, 'ws', 7601, 'a');
    const b = await join(sys, 1, 'tcp', 7602, 'b');
    expect((await pushKeys(sys, [b.key], 'warm')).status).to.equal(200);
    const runtime = sys.logic[0].runtime;
    const [routerInfo] = runtime.list({ kind: 'push-router' });
    const router = runtime.refAt(routerInfo.path);
    if (!router) throw new Error('no push router');

    // In one turn: the share goes to B's link, then B leaves the list (discovery saw it go).
    const answered = new Promise<Outcome<PushReach>>((resolve) => {
      const routed: PushRouterMsg = { type: 'routed', kind: 'keys', byServer: new Map([[nodeB, [b.key]]]), op: BIZ, msg: Buffer.from('racing'), reply: resolve };
      router.tell(routed);
    });
    const onlyA: PushRouterMsg = { type: 'setNodes', nodes: [nodeA] };
    router.tell(onlyA);
    const outcome = await Promise.race([answered, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    expect(outcome, 'the push was answered').to.deep.equal({ ok: true, value: { targets: 1, nodes: 1 } });
    await arrived(b, 'racing');
    // Only B had a link (only it was pushed to), and it stopped once its last push was handled.
    await until(async () => linkNodes(sys), (nodes) => nodes.length === 0, 'the retired link stops');
  });

  it('a node that left keeps getting pushes for cloud.leavingGraceMs (it may be draining), but no new session; then its link retires', async () => {
    const sys = await boot({ cloud: 2, logicOverrides: { cloud: { leavingGraceMs: 1500 } } });
    const [nodeA, nodeB] = [sys.cloudAddress(0), sys.cloudAddress(1)];
    const a = await join(sys, 0, 'ws', 7701, 'a');
    const b = await join(sys, 1, 'tcp', 7702, 'b');
    const runtime = sys.logic[0].runtime;
    const [routerInfo] = runtime.list({ kind: 'push-router' });
    const router = runtime.refAt(routerInfo.path);
    if (!router) throw new Error('no push router');
    const onlyA: PushRouterMsg = { type: 'setNodes', nodes: [nodeA] };
    router.tell(onlyA);
    await runtime.barrier(router, 1000);

    // Leaving: key and room pushes still reach B's client ...
    const keyed = await pushKeys(sys, [a.key, b.key], 'while-leaving');
    expect([keyed.status, keyed.json.data], keyed.text).to.deep.equal([200, { targets: 2, nodes: 2 }]);
    await Promise.all([arrived(a, 'while-leaving'), arrived(b, 'while-leaving')]);
    const room = await sys.http('/im/push/room', { method: 'POST', query: { operation: BIZ, type: 'live', room: '1000' }, body: 'room-while-leaving' });
    expect(room.status, room.text).to.equal(200);
    await Promise.all([arrived(a, 'room-while-leaving'), arrived(b, 'room-while-leaving')]);
    // ... but no session may name it.
    const late = await sys.connect(1, 'ws');
    late.send(Op.Auth, JSON.stringify(token(7703, uniqueKey('late'))));
    await late.waitForClose();
    expect(late.disconnectReason()?.code).to.equal('E_AUTH_REFUSED');

    // The grace ends: B's link retires and its pushes fail as unknown.
    await until(async () => linkNodes(sys), (nodes) => nodes.length === 1, 'the leaving link retires', 5000);
    expect(linkNodes(sys)).to.deep.equal([nodeA]);
    const after = await pushKeys(sys, [a.key, b.key], 'after-grace');
    expect(after.status, after.text).to.equal(503);
    expect(failedNodes(after)).to.deep.equal([{ node: nodeB, targets: 1, code: 'E_UNKNOWN_CLOUD_NODE' }]);
  });
});

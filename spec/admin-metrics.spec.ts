/**
 * What a node exports, read the way Prometheus reads it (GET /metrics on
 * the admin endpoint, the text format parsed strictly), moves by exactly what the spec did: the connections it
 * opened on each transport, the pushes it sent through the HTTP API, the
 * bad packets its clients sent. Counters are compared as deltas between
 * two scrapes, so the bystanders of other specs in this process do not
 * matter (each node has its own registry anyway).
 *
 * Pushes are sent one at a time, each awaited at its recipients, so no two
 * are merged into one write: the packets and bytes the clients received
 * are then exactly what the node counts as written.
 */
import { expect } from 'chai';
import { encodePacket, Op } from '../system/codec/packet';
import { frameHeaderLength } from '../system/codec/ws-frame';
import type { CloudNode } from '../system/cloud-node';
import type { LogicNode } from '../system/logic-node';
import { adminRequest } from './support/admin-client';
import { Exposition } from './support/prometheus-text';
import { HttpReply, SystemHarness, Transport, until } from './support/system-harness';
import type { TestClient } from './support/test-client';

const BIZ = 1000;

/** Scrapes of each node so far. */
const scrapes = new Map<CloudNode | LogicNode, number>();

/** A node's metrics as Prometheus reads them: GET /metrics on its admin endpoint, in the text format. */
async function scrape(node: CloudNode | LogicNode): Promise<Exposition> {
  scrapes.set(node, (scrapes.get(node) ?? 0) + 1);
  const reply = await adminRequest(node.adminPort, '/metrics');
  expect(reply.status, reply.text).to.equal(200);
  expect(reply.headers['content-type']).to.equal(node.metrics.contentType);
  return Exposition.parse(reply.text);
}

interface Peer {
  readonly client: TestClient;
  readonly key: string;
  readonly mid: number;
  readonly transport: Transport;
}

/** What one transport's clients received: packets (a ws frame or a tcp packet each) and the bytes on the wire. */
function received(peers: readonly Peer[], transport: Transport): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const { client } of peers.filter((p) => p.transport === transport)) {
    if (transport === 'ws') {
      packets += client.frames.length;
      for (const frame of client.frames) bytes += frameHeaderLength(frame.length) + frame.length;
    } else {
      packets += client.packets.length;
      for (const chunk of client.frames) bytes += chunk.length;
    }
  }
  return { packets, bytes };
}

async function expectStatus(reply: Promise<HttpReply>, status: number): Promise<void> {
  const r = await reply;
  expect(r.status, r.text).to.equal(status);
}

describe('metrics: the exposition moves by exactly the connections, pushes and bad packets a spec produced', function () {
  this.timeout(30_000);
  let sys: SystemHarness;

  beforeEach(async () => {
    sys = await SystemHarness.start();
  });

  afterEach(async () => {
    await sys.stop();
  });

  it('cloud and logic counters, gauges and histograms, with labels that never name a key, a mid or a room', async () => {
    const [cloud, logic] = [sys.cloud[0], sys.logic[0]];
    const tag = `metrics-${process.pid}-${Date.now().toString(36)}`;
    const roomId = `live://${tag}`;
    const before = { cloud: await scrape(cloud), logic: await scrape(logic) };

    // Five clients online: three on ws, two on tcp; two share a room, two share a mid.
    const join = async (transport: Transport, name: string, mid: number, room = ''): Promise<Peer> => {
      const key = `${tag}-${name}`;
      const { client, auth } = await sys.online(0, transport, { mid, key, room_id: room, platform: 'web', accepts: [BIZ] });
      expect(auth.key).to.equal(key);
      return { client, key, mid, transport };
    };
    const a = await join('ws', 'a', 701, roomId);
    const b = await join('ws', 'b', 702, roomId);
    const c = await join('ws', 'c', 703);
    const d = await join('tcp', 'd', 703);
    const e = await join('tcp', 'e', 705);

    // Bad packets: one that is no packet (a wrong headerLen, on ws), op 4 before auth (tcp), an unknown op from a client online (tcp).
    const badWs = await sys.connect(0, 'ws');
    const badTcp = await sys.connect(0, 'tcp');
    const malformed = encodePacket(1, Op.Auth, 1, '{}');
    malformed.writeUInt16BE(20, 4);
    badWs.writeRaw(malformed);
    badTcp.send(Op.SendMsg, 'too early');
    e.client.send(99, 'no such op');
    for (const client of [badWs, badTcp, e.client]) await client.waitForClose();
    expect(badWs.disconnectReason()?.code).to.equal('E_BAD_HEADER_LEN');
    expect(badTcp.disconnectReason()?.code).to.equal('E_OP_BEFORE_AUTH');
    expect(e.client.disconnectReason()?.code).to.equal('E_UNKNOWN_OP');
    const peers: Peer[] = [a, b, c, d, e, { client: badWs, key: '', mid: 0, transport: 'ws' }, { client: badTcp, key: '', mid: 0, transport: 'tcp' }];

    // Pushes, one at a time: two to keys, one to a mid, one to the room, and one refused (no keys).
    const push = async (path: string, query: Record<string, string | number | readonly string[]>, body: string, to: readonly Peer[]): Promise<void> => {
      await expectStatus(sys.http(path, { method: 'POST', query: { operation: BIZ, ...query }, body }), 200);
      await Promise.all(to.map((p) => p.client.waitFor((packet) => packet.op === BIZ && packet.body.toString() === body, 5000, body)));
    };
    await push('/im/push/keys', { keys: [a.key, d.key] }, 'to-keys-1', [a, d]);
    await push('/im/push/keys', { keys: [b.key] }, 'to-keys-2', [b]);
    await push('/im/push/mids', { mids: '703' }, 'to-mid', [c, d]);
    await push('/im/push/room', { type: 'live', room: tag }, 'to-room', [a, b]);
    await expectStatus(sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ }, body: 'no keys' }), 400);

    // What finishes after the clients saw it: the closed connections' actors stop, logic gets e's Disconnect.
    const settled = await until(async () => ({ cloud: await scrape(cloud), logic: await scrape(logic) }), (now) =>
      now.cloud.value('im_actors', { kind: 'connection' }) === 4 &&
      now.logic.value('im_logic_disconnects_total') - before.logic.value('im_logic_disconnects_total') >= 1 &&
      now.cloud.value('im_logic_call_seconds_count', { rpc: 'Disconnect', outcome: 'ok' }) >= 1,
    'the bad connections gone and Disconnect answered');
    const after = settled;
    const cloudDelta = (name: string, labels: Record<string, string> = {}): number => after.cloud.value(name, labels) - before.cloud.value(name, labels);
    const logicDelta = (name: string, labels: Record<string, string> = {}): number => after.logic.value(name, labels) - before.logic.value(name, labels);

    // ── cloud: connections ──
    expect(cloudDelta('im_connections_opened_total', { transport: 'ws' }), 'ws opened').to.equal(4);
    expect(cloudDelta('im_connections_opened_total', { transport: 'tcp' }), 'tcp opened').to.equal(3);
    expect(cloudDelta('im_auth_ok_total'), 'auth ok').to.equal(5);
    expect(cloudDelta('im_auth_results_total', { outcome: 'ok' }), 'auth results ok').to.equal(5);
    expect(after.cloud.sum('im_auth_results_total') - before.cloud.sum('im_auth_results_total'), 'every auth result').to.equal(5);
    expect(after.cloud.value('im_connections', { transport: 'ws', phase: 'online' }), 'ws online now').to.equal(3);
    expect(after.cloud.value('im_connections', { transport: 'tcp', phase: 'online' }), 'tcp online now').to.equal(1);
    for (const phase of ['awaitingAuth', 'authenticating', 'closing']) {
      expect(after.cloud.sum('im_connections', { phase }), `${phase} now`).to.equal(0);
    }
    expect(after.cloud.value('im_connections_open'), 'sockets open').to.equal(4);
    expect(after.cloud.value('im_actors', { kind: 'connection' }), 'connection actors').to.equal(4);

    // ── cloud: the bad packets ──
    // A packet the codec cannot read is a protocol error; a readable packet out of turn closes the connection all the same.
    expect(cloudDelta('im_protocol_errors_total', { code: 'E_BAD_HEADER_LEN', transport: 'ws' })).to.equal(1);
    expect(after.cloud.sum('im_protocol_errors_total') - before.cloud.sum('im_protocol_errors_total'), 'every protocol error').to.equal(1);
    expect(cloudDelta('im_connection_errors_total', { code: 'E_BAD_HEADER_LEN' })).to.equal(1);
    expect(cloudDelta('im_connection_errors_total', { code: 'E_OP_BEFORE_AUTH' })).to.equal(1);
    expect(cloudDelta('im_connection_errors_total', { code: 'E_UNKNOWN_OP' })).to.equal(1);
    expect(after.cloud.sum('im_connection_errors_total') - before.cloud.sum('im_connection_errors_total'), 'every connection error').to.equal(3);
    expect(cloudDelta('im_connections_closed_total', { reason: 'protocol_error' })).to.equal(3);
    expect(after.cloud.sum('im_connections_closed_total') - before.cloud.sum('im_connections_closed_total'), 'every close').to.equal(3);

    // ── cloud: pushes, by rpc, and what reached the sockets ──
    expect(cloudDelta('im_pushes_total', { rpc: 'PushMsg' }), 'PushMsg').to.equal(3);
    expect(cloudDelta('im_pushes_total', { rpc: 'BroadcastRoom' }), 'BroadcastRoom').to.equal(1);
    expect(cloudDelta('im_pushes_total', { rpc: 'Broadcast' }), 'Broadcast').to.equal(0);
    expect(cloudDelta('im_grpc_requests_total', { rpc: 'PushMsg' })).to.equal(3);
    expect(cloudDelta('im_push_delivered_total'), 'recipients').to.equal(7);
    for (const transport of ['ws', 'tcp'] as const) {
      const got = received(peers, transport);
      expect(cloudDelta('im_client_packets_written_total', { transport }), `${transport} packets`).to.equal(got.packets);
      expect(cloudDelta('im_client_bytes_written_total', { transport }), `${transport} bytes`).to.equal(got.bytes);
      expect(after.cloud.sum('im_client_drops_total', { transport }) - before.cloud.sum('im_client_drops_total', { transport }), `${transport} drops`).to.equal(0);
    }
    // ws: three op 8, five pushes, one op 6; tcp: two op 8, two pushes, two op 6.
    expect(received(peers, 'ws').packets).to.equal(9);
    expect(received(peers, 'tcp').packets).to.equal(6);
    expect(cloudDelta('im_heartbeat_timeouts_total')).to.equal(0);

    // ── cloud: its calls to logic ──
    expect(cloudDelta('im_logic_call_seconds_count', { rpc: 'Connect', outcome: 'ok' }), 'Connect calls').to.equal(5);
    expect(cloudDelta('im_logic_call_seconds_count', { rpc: 'Disconnect', outcome: 'ok' }), 'Disconnect calls').to.equal(1);
    expect(cloudDelta('im_logic_call_seconds_bucket', { rpc: 'Connect', outcome: 'ok', le: '+Inf' })).to.equal(5);

    // ── logic ──
    expect(logicDelta('im_logic_connects_total')).to.equal(5);
    expect(logicDelta('im_logic_disconnects_total')).to.equal(1);
    expect(logicDelta('im_logic_grpc_requests_total', { rpc: 'Connect' })).to.equal(5);
    expect(logicDelta('im_http_requests_total', { route: 'push/keys', status: '200' })).to.equal(2);
    expect(logicDelta('im_http_requests_total', { route: 'push/keys', status: '400' })).to.equal(1);
    expect(logicDelta('im_http_requests_total', { route: 'push/mids', status: '200' })).to.equal(1);
    expect(logicDelta('im_http_requests_total', { route: 'push/room', status: '200' })).to.equal(1);
    expect(logicDelta('im_logic_push_seconds_count', { edge: 'http', kind: 'keys', outcome: 'ok' })).to.equal(2);
    expect(logicDelta('im_logic_push_seconds_count', { edge: 'http', kind: 'keys', outcome: 'E_HTTP_NO_KEYS' })).to.equal(1);
    expect(logicDelta('im_logic_push_seconds_count', { edge: 'http', kind: 'mids', outcome: 'ok' })).to.equal(1);
    expect(logicDelta('im_logic_push_seconds_count', { edge: 'http', kind: 'room', outcome: 'ok' })).to.equal(1);
    expect(logicDelta('im_logic_pushes_total', { kind: 'keys' })).to.equal(2);
    expect(logicDelta('im_logic_pushes_total', { kind: 'mids' })).to.equal(1);
    expect(logicDelta('im_logic_pushes_total', { kind: 'room' })).to.equal(1);
    expect(logicDelta('im_cloud_call_seconds_count', { rpc: 'PushMsg', outcome: 'ok' })).to.equal(3);
    expect(logicDelta('im_cloud_call_seconds_count', { rpc: 'BroadcastRoom', outcome: 'ok' })).to.equal(1);

    // ── both: the admin endpoint (a scrape is counted once answered: the last one is not in its own text), the runtime by kind, the process ──
    expect(after.cloud.value('im_admin_requests_total', { route: '/metrics', status: '200' })).to.equal((scrapes.get(cloud) ?? 0) - 1);
    expect(after.logic.value('im_admin_requests_total', { route: '/metrics', status: '200' })).to.equal((scrapes.get(logic) ?? 0) - 1);
    for (const text of [after.cloud, after.logic]) {
      expect(text.types.get('im_actors')).to.equal('gauge');
      expect(text.types.get('im_actor_mailbox_depth')).to.equal('gauge');
      expect(text.types.get('im_actor_restarts_total')).to.equal('counter');
      expect(text.has('nodejs_eventloop_lag_p99_seconds')).to.equal(true);
      expect(text.value('process_resident_memory_bytes')).to.be.greaterThan(0);
    }
    expect(after.cloud.value('im_actors', { kind: 'bucket' })).to.be.greaterThan(0);
    expect(cloudDelta('im_actor_messages_processed_total', { kind: 'bucket' }), 'bucket messages').to.be.greaterThan(0);
    expect(after.logic.value('im_actors', { kind: 'push-router' })).to.equal(1);
    expect(after.logic.value('im_actors', { kind: 'cloud-link' })).to.equal(1);

    // ── no label names a client, a key, a mid or a room ──
    const forbidden = new Set([...peers.map((p) => p.key).filter((k) => k !== ''), '701', '702', '703', '705', roomId, tag]);
    for (const text of [after.cloud, after.logic]) {
      for (const sample of text.samples.filter((s) => s.name.startsWith('im_'))) {
        for (const [label, value] of Object.entries(sample.labels)) {
          expect(['key', 'mid', 'room', 'id', 'conn'], `${sample.name} label ${label}`).to.not.include(label);
          expect(forbidden.has(value) || value.startsWith('conn-'), `${sample.name}{${label}="${value}"}`).to.equal(false);
        }
      }
    }
  });
});

describe('metrics: drops', function () {
  this.timeout(30_000);
  let sys: SystemHarness;

  afterEach(async () => {
    await sys.stop();
  });

  it('a client that stops reading is closed as a slow consumer: the packet refused over the limit is counted as that drop', async () => {
    sys = await SystemHarness.start({ cloudOverrides: { protocol: { sendBufferLimit: 64 * 1024 } } });
    const cloud = sys.cloud[0];
    const key = `metrics-slow-${process.pid}-${Date.now().toString(36)}`;
    const { client } = await sys.online(0, 'tcp', { mid: 801, key, room_id: '', platform: 'web', accepts: [BIZ] });
    const before = await scrape(cloud);
    client.goSilent();
    // The kernel's buffers take the first pushes; past them the socket's own queue grows to the limit.
    const message = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200; i++) {
      const reply = await sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: key }, body: message });
      if (reply.status !== 200) break;
      if (cloud.metrics.get('im_connections_closed_total', { reason: 'slow_consumer' }) === 1) break;
    }
    const after = await until(() => scrape(cloud), (now) => now.value('im_actors', { kind: 'connection' }) === 0, 'the slow client\'s actor to stop');
    const delta = (name: string, labels: Record<string, string>): number => after.value(name, labels) - before.value(name, labels);
    expect(delta('im_connections_closed_total', { reason: 'slow_consumer' })).to.equal(1);
    expect(delta('im_client_drops_total', { transport: 'tcp', reason: 'slow_consumer' })).to.equal(1);
    expect(delta('im_connection_errors_total', { code: 'E_SLOW_CONSUMER' })).to.equal(1);
    expect(after.sum('im_connections')).to.equal(0);
  });
});

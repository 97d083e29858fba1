import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { encodePacket, Op } from '../system/codec/packet';
import type { MetricName, PickArgs } from '../system/metrics-catalogue';
import { Bystanders, bystandersOnline, closeBystanders, expectBystandersServed } from './support/bystanders';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';

type Transport = 'ws' | 'tcp';

const MAX_BODY = 4096;
/** The packet-level codes a decoder may give for bytes that are not a packet. */
const PACKET_ERROR_CODES = ['E_PACKET_TOO_SHORT', 'E_BAD_HEADER_LEN', 'E_BODY_TOO_LARGE', 'E_FRAME_TRUNCATED'];

function portOf(h: CloudHarness, transport: Transport): number {
  return transport === 'ws' ? h.ports.ws : h.ports.tcp;
}

function connect(h: CloudHarness, transport: Transport): Promise<TestClient> {
  return transport === 'ws' ? TestClient.ws(h.ports.ws) : TestClient.tcp(h.ports.tcp);
}

/** A 16-byte header; `packLen` and `headerLen` may lie. */
function header(fields: { packLen: number; headerLen?: number; op?: number }): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(fields.packLen, 0);
  bytes.writeUInt16BE(fields.headerLen ?? 16, 4);
  bytes.writeUInt16BE(1, 6);
  bytes.writeInt32BE(fields.op ?? Op.Auth, 8);
  bytes.writeInt32BE(1, 12);
  return bytes;
}

/** Waits for the server to close the client and returns the op-6 code it sent first. */
async function closedWithCode(client: TestClient): Promise<string | undefined> {
  await client.waitForClose();
  return client.disconnectReason()?.code;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Writes a raw HTTP request on a plain socket and reads the answer until the server closes. */
function rawHttp(port: number, request: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const statusLine = text.slice(0, text.indexOf('\r\n'));
      resolve({ status: Number(statusLine.split(' ')[1]), body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}

function httpGet(port: number, path: string): Promise<HttpAnswer & { contentType: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8'),
      }));
    }).on('error', reject);
  });
}

describe('cloud node: bad input closes only the offending connection', () => {
  let h: CloudHarness;
  let others: Bystanders | undefined;
  const badClients: TestClient[] = [];

  /** Connects a client the test is about to misbehave with (destroyed after the test). */
  async function badClient(transport: Transport): Promise<TestClient> {
    const client = await connect(h, transport);
    badClients.push(client);
    return client;
  }

  const metric = <N extends MetricName>(name: N, ...labels: PickArgs<N>): number => h.node.metrics.get(name, ...labels);

  beforeEach(async () => {
    h = await CloudHarness.start();
    others = await bystandersOnline(h);
  });

  afterEach(async () => {
    for (const client of badClients.splice(0)) client.destroy();
    closeBystanders(others);
    others = undefined;
    await h.stop();
  });

  async function expectOthersServed(): Promise<void> {
    await expectBystandersServed(h, others as Bystanders);
  }

  for (const transport of ['ws', 'tcp'] as const) {
    describe(`${transport}`, () => {
      it('garbage bytes: protocol error, op 6 with the decoder\'s code, counted', async () => {
        const client = await badClient(transport);
        client.writeRaw(randomBytes(64));
        const code = await closedWithCode(client);
        expect(code).to.be.oneOf(PACKET_ERROR_CODES);
        expect(metric('im_protocol_errors_total', { code: code as string, transport })).to.equal(1);
        expect(metric('im_connections_closed_total', { reason: 'protocol_error' })).to.equal(1);
        await expectOthersServed();
      });

      it('wrong headerLen: E_BAD_HEADER_LEN', async () => {
        const client = await badClient(transport);
        const packet = encodePacket(1, Op.Auth, 1, JSON.stringify(GOIM_TOKEN));
        packet.writeUInt16BE(20, 4);
        client.writeRaw(packet);
        expect(await closedWithCode(client)).to.equal('E_BAD_HEADER_LEN');
        expect(metric('im_protocol_errors_total', { code: 'E_BAD_HEADER_LEN', transport })).to.equal(1);
        await expectOthersServed();
      });

      it('op before auth: op 6 with E_OP_BEFORE_AUTH, then close', async () => {
        const client = await badClient(transport);
        client.send(Op.Heartbeat);
        expect(await closedWithCode(client)).to.equal('E_OP_BEFORE_AUTH');
        expect(metric('im_connection_errors_total', { code: 'E_OP_BEFORE_AUTH' })).to.equal(1);
        expect(metric('im_connections_closed_total', { reason: 'protocol_error' })).to.equal(1);
        expect(h.logic[0].calls.connect).to.have.length(2, 'only the bystanders reached logic');
        await expectOthersServed();
      });

      for (const op of [Op.HeartbeatReply, Op.AuthReply]) {
        it(`server-only op ${op} after auth: E_UNKNOWN_OP, session released`, async () => {
          const client = await badClient(transport);
          const auth = await client.auth();
          client.send(op, '');
          expect(await closedWithCode(client)).to.equal('E_UNKNOWN_OP');
          expect(metric('im_connection_errors_total', { code: 'E_UNKNOWN_OP' })).to.equal(1);
          await h.logic[0].waitFor((c) => c.disconnect.length === 1, 5000, 'Disconnect of the bad client');
          expect(h.logic[0].calls.disconnect[0].key).to.equal(auth.key);
          await eventually(() => h.node.runtime.count('connection') === 2, 'only the bystanders\' actors left');
          await expectOthersServed();
        });
      }

      it('logic refusing the token: op 6 with E_AUTH_REFUSED, nothing registered', async () => {
        h.logic[0].refuseWith = grpc.status.PERMISSION_DENIED;
        const client = await badClient(transport);
        client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, room_id: 'live://refused' }));
        expect(await closedWithCode(client)).to.equal('E_AUTH_REFUSED');
        expect(metric('im_connections_closed_total', { reason: 'auth_refused' })).to.equal(1);
        expect(metric('im_auth_failures_total', { code: 'E_AUTH_REFUSED' })).to.equal(1);
        await eventually(() => h.node.runtime.count('connection') === 2, 'only the bystanders\' actors left');
        expect(await h.rooms()).to.deep.equal(['live://1000']);
        expect(h.logic[0].calls.disconnect).to.have.length(0);
        expect(client.received(Op.AuthReply)).to.have.length(0);
        await expectOthersServed();
      });

      it('logic down: op 6 with E_LOGIC_UNAVAILABLE, nothing registered', async () => {
        await h.logic[0].stop();
        const client = await badClient(transport);
        client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, room_id: 'live://unavailable' }));
        expect(await closedWithCode(client)).to.equal('E_LOGIC_UNAVAILABLE');
        expect(metric('im_connections_closed_total', { reason: 'logic_unavailable' })).to.equal(1);
        expect(metric('im_auth_failures_total', { code: 'E_LOGIC_UNAVAILABLE' })).to.equal(1);
        await eventually(() => h.node.runtime.count('connection') === 2, 'only the bystanders\' actors left');
        expect(await h.rooms()).to.deep.equal(['live://1000']);
        expect(client.received(Op.AuthReply)).to.have.length(0);
        await expectOthersServed();
      });
    });
  }

  describe('tcp framing', () => {
    it('an oversized packet is refused from its header alone: E_BODY_TOO_LARGE', async () => {
      const client = await badClient('tcp');
      // Only the header: the body it announces never comes.
      client.writeRaw(header({ packLen: 16 + MAX_BODY + 1 }));
      expect(await closedWithCode(client)).to.equal('E_BODY_TOO_LARGE');
      expect(metric('im_protocol_errors_total', { code: 'E_BODY_TOO_LARGE', transport: 'tcp' })).to.equal(1);
      await expectOthersServed();
    });
  });

  describe('ws framing', () => {
    it('a frame above ws.maxPayload is closed by the ws library: E_WS_FRAME_TOO_LARGE', async () => {
      const client = await badClient('ws');
      const body = Buffer.alloc(MAX_BODY + 100, 0x61);
      client.writeRaw(encodePacket(1, Op.Auth, 1, body));
      await client.waitForClose();
      expect(client.closeInfo.code).to.equal(1009, 'ws "message too big"');
      await eventually(() => metric('im_protocol_errors_total', { code: 'E_WS_FRAME_TOO_LARGE', transport: 'ws' }) === 1, 'the frame error counted');
      expect(metric('im_connections_closed_total', { reason: 'protocol_error' })).to.equal(1);
      await eventually(() => h.node.runtime.count('connection') === 2, 'only the bystanders\' actors left');
      await expectOthersServed();
    });

    it('a small frame whose packLen claims more than the body limit: E_BODY_TOO_LARGE', async () => {
      const client = await badClient('ws');
      client.writeRaw(Buffer.concat([header({ packLen: 16 + MAX_BODY + 1 }), Buffer.alloc(84)]));
      expect(await closedWithCode(client)).to.equal('E_BODY_TOO_LARGE');
      expect(metric('im_protocol_errors_total', { code: 'E_BODY_TOO_LARGE', transport: 'ws' })).to.equal(1);
      await expectOthersServed();
    });

    it('a text frame carrying an auth packet\'s bytes is accepted (wire.md §1)', async () => {
      const client = await badClient('ws');
      client.writeRawText(encodePacket(1, Op.Auth, 5, JSON.stringify(GOIM_TOKEN)));
      const reply = await client.waitFor((p) => p.op === Op.AuthReply, 5000, 'op 8');
      expect(reply.seq).to.equal(5);
      expect(JSON.parse(reply.body.toString('utf8'))).to.include({ mid: 123, room_id: 'live://1000' });
      expect(await client.heartbeat()).to.equal(3);
      expect(metric('im_protocol_errors_total', { code: 'E_TEXT_FRAME', transport: 'ws' })).to.equal(0);
    });
  });

  describe('ws upgrade', () => {
    it('a wrong path is refused with 404 and counted as E_WS_BAD_PATH', async () => {
      const refused = await TestClient.ws(h.ports.ws, { path: '/not-sub' }).then(
        (client) => { badClients.push(client); return undefined; },
        (error: Error & { statusCode?: number }) => error,
      );
      expect(refused?.statusCode).to.equal(404);
      expect(metric('im_ws_upgrade_rejected_total', { code: 'E_WS_BAD_PATH' })).to.equal(1);
      expect(metric('im_connections_opened_total', { transport: 'ws' })).to.equal(1, 'only the bystander');
      await expectOthersServed();
    });

    it('a malformed Sec-WebSocket-Key is refused with 400 and counted as E_WS_BAD_KEY', async () => {
      const answer = await rawHttp(h.ports.ws, [
        'GET /sub HTTP/1.1', `Host: 127.0.0.1:${h.ports.ws}`, 'Upgrade: websocket', 'Connection: Upgrade',
        'Sec-WebSocket-Key: not-a-key', 'Sec-WebSocket-Version: 13', '', '',
      ].join('\r\n'));
      expect(answer.status).to.equal(400);
      expect(JSON.parse(answer.body)).to.include({ code: 'E_WS_BAD_KEY' });
      expect(metric('im_ws_upgrade_rejected_total', { code: 'E_WS_BAD_KEY' })).to.equal(1);
      await expectOthersServed();
    });

    it('a plain HTTP GET gets 426 with a JSON reason', async () => {
      const answer = await httpGet(h.ports.ws, '/sub');
      expect(answer.status).to.equal(426);
      expect(answer.contentType).to.match(/^application\/json/);
      expect(JSON.parse(answer.body)).to.include({ code: 'E_WS_BAD_UPGRADE' });
      await expectOthersServed();
    });
  });
});

describe('cloud node: handshake timeout', () => {
  let h: CloudHarness;
  let others: Bystanders | undefined;
  const silent: TestClient[] = [];

  beforeEach(async () => {
    h = await CloudHarness.start({ protocol: { handshakeTimeoutMs: 300 } });
    others = await bystandersOnline(h);
  });

  afterEach(async () => {
    for (const client of silent.splice(0)) client.destroy();
    closeBystanders(others);
    others = undefined;
    await h.stop();
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: no auth in time: op 6 with E_AUTH_TIMEOUT, counted`, async () => {
      const client = await connect(h, transport);
      silent.push(client);
      expect(await closedWithCode(client)).to.equal('E_AUTH_TIMEOUT');
      expect(h.node.metrics.get('im_connections_closed_total', { reason: 'auth_timeout' })).to.equal(1);
      expect(h.node.metrics.get('im_connection_errors_total', { code: 'E_AUTH_TIMEOUT' })).to.equal(1);
      await eventually(() => h.node.runtime.count('connection') === 2, 'only the bystanders\' actors left');
      await expectBystandersServed(h, others as Bystanders);
    });
  }

  it('a client that authenticates in time is not timed out', async () => {
    await new Promise((r) => setTimeout(r, 500));
    expect(h.node.metrics.get('im_connections_closed_total', { reason: 'auth_timeout' })).to.equal(0);
    await expectBystandersServed(h, others as Bystanders);
  });
});

describe('cloud node: logic failover on auth', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.stop();
  });

  for (const transport of ['ws', 'tcp'] as const) {
    it(`${transport}: logic node A down, B up: auth succeeds through B`, async () => {
      const a = await new TestLogicNode().start();
      const b = await new TestLogicNode().start();
      h = await CloudHarness.start({}, [a, b]);
      await a.stop();
      const { client, auth } = await TestClient.online(transport, portOf(h, transport));
      expect(auth.mid).to.equal(123);
      expect(b.calls.connect).to.have.length(1);
      expect(h.node.metrics.total('im_logic_call_failures_total')).to.be.at.least(1);
      await h.pushMsg([auth.key], 1000, { op: 1000, body: 'through B' });
      await client.waitFor((p) => p.op === 1000 && p.body.toString() === 'through B', 5000, 'push');
      client.destroy();
    });
  }
});

/**
 * The internal surfaces' shared token (security.token), end to end over
 * real sockets: cloud gRPC (im.cloud.Cloud, goim.comet.Comet), logic gRPC
 * (im.logic.Logic) and logic's HTTP push API refuse a call without it or
 * with a wrong one, grpc.health.v1 and the node list stay open, a cloud and
 * a logic node sharing it work together while different tokens are visible
 * on both sides; Close needs grpc.allowClose; and a node serving an
 * internal surface beyond loopback needs a token or security.insecure.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import type { CloudClient } from '../proto/generated/im/cloud/Cloud';
import type { CometClient } from '../proto/generated/goim/comet/Comet';
import { Op } from '../system/codec/packet';
import { CloudNode } from '../system/cloud-node';
import { LogicNode } from '../system/logic-node';
import { PeerAuth } from '../system/peer-auth';
import { closeClientChannel, loadWireProtos } from '../system/proto-loader';
import { ChildNode } from './support/child-node';
import { CloudHarness, eventually, toProto } from './support/cloud-harness';
import { probeGrpcHealth } from './support/grpc-health-probe';
import { LogicPushClient } from './support/logic-push-client';
import { SystemHarness } from './support/system-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { TestLogicNode } from './support/test-logic-node';
import { loggerInto } from './support/captured-logger';

const TOKEN = 'cluster-token-0123456789';
const WRONG = 'another-token-0123456789';
const BIZ = 1000;
const REFUSED_LINE = 'internal call refused: missing or wrong security.token';

let serial = 0;
function uniqueKey(label: string): string {
  return `auth-${label}-${process.pid}-${++serial}`;
}

/** Resolves with the error a call failed with; fails the test when it succeeded. */
function failure(invoke: (callback: (err: grpc.ServiceError | null) => void) => unknown): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    invoke((err) => (err ? resolve(err) : reject(new Error('the call succeeded'))));
  });
}

function succeeds(invoke: (callback: (err: grpc.ServiceError | null) => void) => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    invoke((err) => (err ? reject(err) : resolve()));
  });
}

function expectStatus(err: grpc.ServiceError, status: grpc.status, code: string, what = ''): void {
  expect(err.code, `${what} ${err.details}`).to.equal(status);
  expect(err.details.startsWith(`${code}:`), `${what} details "${err.details}" start with ${code}`).to.equal(true);
}

/** Clients of a cloud node's two push services sending `token` ('' sends none). */
function cloudClients(port: number, token: string): { cloud: CloudClient; comet: CometClient; close(): void } {
  const { im, goim } = loadWireProtos();
  const options = { interceptors: new PeerAuth(token, null, null).interceptors };
  const cloud = new im.cloud.Cloud(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
  const comet = new goim.comet.Comet(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
  return { cloud, comet, close: () => { closeClientChannel(cloud); closeClientChannel(comet); } };
}

/** One HTTP request to a logic node's push API; resolves with any status. */
async function httpCall(port: number, path: string, init: { method?: string; token?: string; body?: string } = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = init.token === undefined ? {} : { authorization: `Bearer ${init.token}` };
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: init.method ?? 'GET', headers, body: init.body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('internal surfaces: the shared security.token', function () {
  this.timeout(30000);

  describe('cloud gRPC', () => {
    let h: CloudHarness | null = null;
    const clients: Array<{ close(): void }> = [];
    const peers: TestClient[] = [];

    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      for (const p of peers.splice(0)) p.destroy();
      await h?.stop();
      h = null;
    });

    async function online(harness: CloudHarness): Promise<{ client: TestClient; key: string }> {
      const key = uniqueKey('cloud');
      const client = await TestClient.tcp(harness.ports.tcp);
      peers.push(client);
      await client.auth({ ...GOIM_TOKEN, key });
      return { client, key };
    }

    it('refuses every Cloud and Comet call without the token or with a wrong one, before its handler; the right token passes', async () => {
      h = await CloudHarness.start({ security: { token: TOKEN } });
      const { client, key } = await online(h);
      const proto = (body: string): ReturnType<typeof toProto> => toProto({ op: BIZ, body });
      for (const token of ['', WRONG]) {
        const c = cloudClients(h.ports.grpc, token);
        clients.push(c);
        const calls: Array<[string, (cb: (err: grpc.ServiceError | null) => void) => unknown]> = [
          ['Cloud.PushMsg', (cb) => c.cloud.PushMsg({ keys: [key], protoOp: BIZ, proto: proto(`refused-${token}`) }, cb)],
          ['Cloud.Broadcast', (cb) => c.cloud.Broadcast({ protoOp: BIZ, proto: proto(`refused-${token}`) }, cb)],
          ['Cloud.Ping', (cb) => c.cloud.Ping({}, cb)],
          ['Cloud.Close', (cb) => c.cloud.Close({}, cb)],
          ['Comet.PushMsg', (cb) => c.comet.PushMsg({ keys: [key], protoOp: BIZ, proto: proto(`refused-${token}`) }, cb)],
          ['Comet.Rooms', (cb) => c.comet.Rooms({}, cb)],
        ];
        for (const [name, call] of calls) expectStatus(await failure(call), grpc.status.UNAUTHENTICATED, 'E_UNAUTHENTICATED', `${name} with ${token || 'no token'}`);
      }
      expect(h.node.metrics.total('im_internal_auth_failures_total')).to.equal(12);
      // No handler ran: the interceptor answered before the request was read.
      expect(h.node.metrics.total('im_grpc_requests_total')).to.equal(0);

      const right = cloudClients(h.ports.grpc, TOKEN);
      clients.push(right);
      await succeeds((cb) => right.cloud.Ping({}, cb));
      await succeeds((cb) => right.comet.PushMsg({ keys: [key], protoOp: BIZ, proto: proto('with-token') }, cb));
      await client.waitFor((p) => p.op === BIZ && p.body.toString() === 'with-token', 5000, 'the push sent with the token');
      // Nothing sent without the token arrived (it would have come first).
      expect(client.bodies(BIZ)).to.deep.equal(['with-token']);
    });

    it('leaves grpc.health.v1 open: a probe without the token finds the node and its services SERVING', async () => {
      h = await CloudHarness.start({ security: { token: TOKEN } });
      for (const target of ['', '/im.cloud.Cloud', '/goim.comet.Comet']) {
        const result = await probeGrpcHealth(`127.0.0.1:${h.ports.grpc}${target}`, 3000, false).done;
        expect(result, target).to.include({ healthy: true });
      }
      expect(h.node.metrics.total('im_internal_auth_failures_total')).to.equal(0);
    });

    it('refuses Close and CClose with PERMISSION_DENIED E_CLOSE_NOT_ALLOWED without grpc.allowClose, and keeps serving', async () => {
      h = await CloudHarness.start();
      const { client, key } = await online(h);
      const c = cloudClients(h.ports.grpc, '');
      clients.push(c);
      expectStatus(await failure((cb) => c.cloud.Close({}, cb)), grpc.status.PERMISSION_DENIED, 'E_CLOSE_NOT_ALLOWED');
      expectStatus(await failure((cb) => c.cloud.CClose({}, cb)), grpc.status.PERMISSION_DENIED, 'E_CLOSE_NOT_ALLOWED');
      await h.pushMsg([key], BIZ, { op: BIZ, body: 'still-serving' });
      await client.waitFor((p) => p.op === BIZ && p.body.toString() === 'still-serving', 5000, 'a push after the refused Close');
      expect(client.received(Op.DisconnectReply)).to.deep.equal([]);
    });
  });

  describe('logic gRPC and HTTP push API', () => {
    const nodes: LogicNode[] = [];
    const grpcClients: LogicPushClient[] = [];
    let logs: Array<Record<string, unknown>> = [];

    afterEach(async () => {
      for (const c of grpcClients.splice(0)) c.close();
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
      logs = [];
    });

    async function startLogic(overrides: Record<string, unknown> = {}): Promise<LogicNode> {
      const config = loadLogicConfig({
        overrides: {
          grpc: { port: 0, shutdownGraceMs: 500 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: ['127.0.0.1:1'] }, security: { token: TOKEN },
          ...overrides,
        },
      });
      const node = await LogicNode.start(config, { logger: loggerInto(logs) });
      nodes.push(node);
      return node;
    }

    function grpcClient(node: LogicNode, token: string): LogicPushClient {
      const client = new LogicPushClient(`127.0.0.1:${node.ports.grpc}`, 5000, token);
      grpcClients.push(client);
      return client;
    }

    it('gRPC: refused without the token or with a wrong one, health open, the right token passes', async () => {
      const node = await startLogic();
      for (const token of ['', WRONG]) {
        const results = [await grpcClient(node, token).ping(), await grpcClient(node, token).pushMids({ operation: BIZ, mids: ['1'], msg: Buffer.from('x') })];
        for (const r of results) {
          expect(r.ok).to.equal(false);
          if (!r.ok) expect({ status: r.status, code: r.details.split(':')[0] }).to.deep.equal({ status: 'UNAUTHENTICATED', code: 'E_UNAUTHENTICATED' });
        }
      }
      expect(node.metrics.total('im_internal_auth_failures_total')).to.equal(4);
      expect(node.metrics.total('im_logic_grpc_requests_total')).to.equal(0);
      expect(await grpcClient(node, TOKEN).ping()).to.deep.equal({ ok: true, reply: {} });
      const health = await probeGrpcHealth(`127.0.0.1:${node.ports.grpc}/im.logic.Logic`, 3000, false).done;
      expect(health).to.include({ healthy: true });
    });

    it('HTTP: 401 E_UNAUTHENTICATED with WWW-Authenticate: Bearer without the token or with a wrong one; the node list stays open; one warn line', async () => {
      const node = await startLogic();
      const port = node.ports.http;
      const refused = [
        await httpCall(port, '/im/online/total'),
        await httpCall(port, '/im/online/total', { token: WRONG }),
        await httpCall(port, '/goim/online/total', { token: '' }),
        await httpCall(port, '/im/push/mids?operation=1000&mids=1', { method: 'POST', body: 'hello' }),
        await httpCall(port, '/im/no-such-route'),
      ];
      for (const r of refused) {
        expect({ status: r.status, error: r.json.error, auth: r.headers.get('www-authenticate') }).to.deep.equal({ status: 401, error: 'E_UNAUTHENTICATED', auth: 'Bearer' });
      }
      // The refused POST's body was never read: its connection closes rather than carry another request.
      expect(refused[3].headers.get('connection')).to.equal('close');
      expect(refused[0].headers.get('connection')).to.not.equal('close');
      expect(node.metrics.total('im_internal_auth_failures_total')).to.equal(refused.length);
      expect((await httpCall(port, '/im/online/total', { token: TOKEN })).status).to.equal(200);
      for (const path of ['/im/nodes?platform=web', '/goim/nodes?platform=web']) {
        const open = await httpCall(port, path);
        expect(open.status, path).to.equal(200);
        expect(open.json.code).to.equal(0);
      }
      // Rate-limited: many refusals, one line (the counter has them all).
      expect(logs.filter((l) => l.message === REFUSED_LINE)).to.have.length(1);
      expect(logs.filter((l) => l.message === 'http request rejected')).to.have.length(0);
    });

    it('Close is refused with PERMISSION_DENIED E_CLOSE_NOT_ALLOWED without grpc.allowClose, and stops the node with it', async () => {
      const kept = await startLogic();
      const refused = await grpcClient(kept, TOKEN).closeRpc();
      expect(refused).to.deep.include({ ok: false, status: 'PERMISSION_DENIED' });
      if (!refused.ok) expect(refused.details.split(':')[0]).to.equal('E_CLOSE_NOT_ALLOWED');
      expect(await grpcClient(kept, TOKEN).ping()).to.deep.equal({ ok: true, reply: {} });

      const closable = await startLogic({ grpc: { port: 0, shutdownGraceMs: 500, allowClose: true } });
      expect(await grpcClient(closable, TOKEN).closeRpc()).to.deep.equal({ ok: true, reply: {} });
      await closable.stopped;
    });
  });

  describe('a cloud node and a logic node', () => {
    let sys: SystemHarness | null = null;

    afterEach(async () => {
      await sys?.stop();
      sys = null;
    });

    it('sharing the token: a client authenticates through logic and a push reaches it', async () => {
      sys = await SystemHarness.start({ logicOverrides: { security: { token: TOKEN } }, cloudOverrides: { security: { token: TOKEN } } });
      const key = uniqueKey('pair');
      const { client, auth } = await sys.online(0, 'ws', { ...GOIM_TOKEN, key });
      expect(auth.key).to.equal(key);
      const reply = await sys.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: key }, body: 'shared-token', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(reply.status, reply.text).to.equal(200);
      await client.waitFor((p) => p.op === BIZ && p.body.toString() === 'shared-token', 5000, 'the push');
      expect(sys.cloud[0].metrics.total('im_peer_auth_refused_total') + sys.logic[0].metrics.total('im_peer_auth_refused_total')).to.equal(0);
    });

    it('with different tokens: the client is closed with E_LOGIC_UNAVAILABLE, and each side counts the refusals', async () => {
      sys = await SystemHarness.start({ logicOverrides: { security: { token: TOKEN } }, cloudOverrides: { security: { token: WRONG } } });
      const cloud = sys.cloud[0];
      const logic = sys.logic[0];
      const client = await sys.connect(0, 'tcp');
      client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: uniqueKey('mismatch') }));
      await client.waitForClose(10000);
      // Not E_AUTH_REFUSED: the client's token was never looked at.
      expect(client.disconnectReason()?.code).to.equal('E_LOGIC_UNAVAILABLE');
      expect(client.received(Op.AuthReply)).to.deep.equal([]);
      expect(cloud.metrics.total('im_peer_auth_refused_total')).to.be.greaterThan(0);
      expect(logic.metrics.total('im_internal_auth_failures_total')).to.be.greaterThan(0);

      // The other way: logic's pushes, sent with its token, refused by the cloud node.
      const pushed = await sys.http('/im/push/all', { method: 'POST', query: { operation: BIZ }, body: 'refused', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(pushed.status, pushed.text).to.equal(200);
      await eventually(() => logic.metrics.total('im_peer_auth_refused_total') > 0, 'logic counting the cloud node\'s refusal');
      expect(cloud.metrics.total('im_internal_auth_failures_total')).to.be.greaterThan(0);
    });
  });

  describe('start-up', () => {
    afterEach(async () => {
      await ChildNode.killAll();
    });

    const cases = [
      { kind: 'cloud', bind: { IM_CLOUD_GRPC_BIND_HOST: '0.0.0.0' }, option: 'grpc.bindHost 0.0.0.0', prefix: 'IM_CLOUD' },
      { kind: 'logic', bind: { IM_LOGIC_BIND_HOST: '0.0.0.0' }, option: 'node.bindHost 0.0.0.0', prefix: 'IM_LOGIC' },
    ] as const;
    const freeEnv = {
      IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0', IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0', IM_CLOUD_BIND_HOST: '127.0.0.1',
      IM_LOGIC_GRPC_PORT: '0', IM_LOGIC_HTTP_PORT: '0', IM_LOGIC_ADMIN_PORT: '0', IM_LOGIC_CLOUD_NODES: '127.0.0.1:1', IM_CLOUD_LOGIC_NODES: '127.0.0.1:1',
    };

    for (const c of cases) {
      it(`${c.kind}: an internal surface bound beyond loopback without a token refuses to start, naming what to set`, async () => {
        const node = ChildNode.spawn({ args: [c.kind], env: { ...freeEnv, ...c.bind }, removeEnvPrefixes: ['IM_LOGIC_'] });
        expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
        expect(node.stderr).to.match(/^E_CONFIG_INVALID: /);
        expect(node.stderr).to.include(`${c.option} is not a loopback address: set security.token (${c.prefix}_TOKEN`);
        expect(node.stderr).to.include(`${c.prefix}_INSECURE`);
        expect(node.logsWith(`${c.kind} node started`)).to.have.length(0);
      });
    }

    it('cloud with security.insecure warns once at start and serves gRPC without a token', async () => {
      const logic = await new TestLogicNode().start();
      try {
        const node = ChildNode.spawn({
          args: ['cloud'], env: { ...freeEnv, IM_CLOUD_GRPC_BIND_HOST: '0.0.0.0', IM_CLOUD_INSECURE: 'true', IM_CLOUD_LOGIC_NODES: logic.address }, removeEnvPrefixes: ['IM_LOGIC_'],
        });
        const ports = await node.started();
        const warnings = node.logs.filter((l) => l.level === 'warn' && l.message.startsWith('internal surfaces are open to the network without a token'));
        expect(warnings, node.describe()).to.have.length(1);
        expect(warnings[0].message).to.include('grpc.bindHost 0.0.0.0');
        const c = cloudClients(ports.grpc, '');
        try {
          await succeeds((cb) => c.cloud.Ping({}, cb));
        } finally {
          c.close();
        }
      } finally {
        await logic.stop();
      }
    });

    it('cloud: a loopback grpc.bindHost under a server id other machines dial is warned about at start', async () => {
      const lines: Array<Record<string, unknown>> = [];
      const config = loadCloudConfig({
        overrides: { node: { bindHost: '127.0.0.1', advertiseHost: '10.255.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0, shutdownGraceMs: 200 }, admin: { port: 0 } },
      });
      const node = await CloudNode.start(config, { logger: loggerInto(lines) });
      await node.stop();
      const warned = lines.filter((l) => l.level === 'warn' && String(l.message).startsWith('grpc.bindHost 127.0.0.1 is loopback but logic nodes reach this node at 10.255.0.1:'));
      expect(warned).to.have.length(1);
    });

    it('logic with security.insecure warns once at start and serves the push API without a token', async () => {
      const node = ChildNode.spawn({ args: ['logic'], env: { ...freeEnv, IM_LOGIC_BIND_HOST: '0.0.0.0', IM_LOGIC_INSECURE: '1' }, removeEnvPrefixes: ['IM_LOGIC_'] });
      const started = await node.waitForLog((l) => l.message === 'logic node started', 10000, '"logic node started"');
      const warnings = node.logs.filter((l) => l.level === 'warn' && l.message.startsWith('internal surfaces are open to the network without a token'));
      expect(warnings, node.describe()).to.have.length(1);
      expect(warnings[0].message).to.include('node.bindHost 0.0.0.0');
      expect((await httpCall(Number(started.http), '/im/online/total')).status).to.equal(200);
    });
  });
});

import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import Consul from 'consul';
import { NODE_CHANNEL_OPTIONS } from '../system/proto-loader';
import { ConsulDouble } from './support/consul-double';
import { eventually } from './support/cloud-harness';
import { healthServiceDefinition } from './support/grpc-health-probe';

/**
 * The Consul double must behave as Consul's documented agent API does, or
 * the discovery specs built on it prove nothing: these drive it over HTTP
 * (a fresh connection per request), with a real gRPC health server, and once
 * with the consul npm client the discovery code uses.
 */

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
}

function request(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const serviceIds = (json: unknown): unknown[] => list(json).map((entry) => field(field(entry, 'Service'), 'ID'));
const indexOf = (reply: Reply): number => Number(reply.headers['x-consul-index']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A definition as the discovery code registers one: a TTL check by default. */
function definition(id: string, check: Record<string, unknown> = {}): Record<string, unknown> {
  return { ID: id, Name: 'im-cloud', Address: '127.0.0.1', Port: 3109, Meta: { grpc_port: '3109' }, Tags: ['cloud'], Check: { CheckID: `${id}:ttl`, TTL: '10s', ...check } };
}

/** A grpc.health.v1 server whose answer the spec sets; it records the service asked about and each caller's address. */
async function healthServer(): Promise<{ port: number; status: { value: string }; asked: string[]; peers: string[]; server: grpc.Server }> {
  const status = { value: 'SERVING' };
  const asked: string[] = [];
  const peers: string[] = [];
  const server = new grpc.Server();
  server.addService(healthServiceDefinition(), {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<{ status: string }>) => {
      asked.push(call.request.service);
      peers.push(call.getPeer());
      callback(null, { status: status.value });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: string }>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
  return { port, status, asked, peers, server };
}

describe('Consul double', () => {
  let consul: ConsulDouble;
  const put = (path: string, body?: unknown): Promise<Reply> => request(consul.port, 'PUT', path, body);
  const health = (query = ''): Promise<Reply> => request(consul.port, 'GET', `/v1/health/service/im-cloud${query}`);

  beforeEach(async () => {
    consul = await ConsulDouble.start();
  });

  afterEach(async () => {
    await consul.close();
  });

  describe('registration and TTL checks', () => {
    it('a new TTL check is critical and outside ?passing; a pass brings it in and moves the index', async () => {
      expect((await put('/v1/agent/service/register', definition('cloud-1'))).status).to.equal(200);
      expect(consul.services('im-cloud').map((s) => s.checks.map((c) => [c.checkId, c.status, c.type]))).to.deep.equal([[['cloud-1:ttl', 'critical', 'ttl']]]);

      const all = await health();
      expect(all.status).to.equal(200);
      expect(all.headers['content-type']).to.equal('application/json');
      expect(all.headers['x-consul-knownleader']).to.equal('true');
      expect(all.headers['x-consul-lastcontact']).to.equal('0');
      expect(serviceIds(all.json)).to.deep.equal(['cloud-1']);
      const entry = list(all.json)[0];
      expect(field(entry, 'Service')).to.deep.include({ ID: 'cloud-1', Service: 'im-cloud', Address: '127.0.0.1', Port: 3109, Tags: ['cloud'] });
      expect(field(entry, 'Node')).to.deep.include({ Node: 'consul-double', Datacenter: 'dc1' });
      expect(list(field(entry, 'Checks')).map((c) => [field(c, 'CheckID'), field(c, 'Status'), field(c, 'ServiceID')])).to.deep.equal([
        ['serfHealth', 'passing', ''],
        ['cloud-1:ttl', 'critical', 'cloud-1'],
      ]);

      const before = await health('?passing');
      expect(before.json).to.deep.equal([]);
      expect(indexOf(before)).to.be.at.least(1);

      expect((await put('/v1/agent/check/pass/cloud-1:ttl?note=ready')).status).to.equal(200);
      const after = await health('?passing=true');
      expect(serviceIds(after.json)).to.deep.equal(['cloud-1']);
      expect(indexOf(after)).to.be.greaterThan(indexOf(before));
      expect(consul.services()[0].checks[0]).to.include({ status: 'passing', output: 'ready' });

      await put('/v1/agent/check/pass/cloud-1:ttl');
      expect(indexOf(await health()), 'a pass that changes no status leaves the index').to.equal(indexOf(after));
      await put('/v1/agent/check/warn/cloud-1:ttl');
      expect((await health('?passing=1')).json, 'warning is not passing').to.deep.equal([]);
    });

    it('validates a definition as the agent does, and takes its defaults', async () => {
      const refused: Array<[unknown, string]> = [
        [{ ID: 'x', Check: { TTL: '10s' } }, 'Missing service name'],
        [definition('x', { Interval: '5s' }), 'Invalid check: Interval and TTL cannot both be specified'],
        [{ Name: 'im-cloud', Check: { GRPC: '127.0.0.1:1' } }, 'Invalid check: Interval must be > 0'],
        [{ Name: 'im-cloud', Check: { CheckID: 'c' } }, 'Invalid check: TTL must be > 0 for TTL checks'],
        [definition('x', { TTL: '10 s' }), 'Request decode failed: time: invalid duration "10 s"'],
        [{ Name: 'im-cloud', Check: { HTTP: 'http://127.0.0.1/', Interval: '1s' } }, 'Invalid check: the Consul double runs TTL and GRPC checks only'],
        [{ Name: 'im-cloud', Meta: { 'grpc.port': '1' } }, 'Invalid Service Meta:'],
        [{ Name: 'im-cloud', Address: '0.0.0.0' }, 'Invalid service address'],
        [definition('x', { Status: 'ok' }), "Status for checks must 'passing', 'warning', 'critical'"],
        ['{"Name":', 'Request decode failed:'],
      ];
      for (const [body, reason] of refused) {
        const reply = await put('/v1/agent/service/register', body);
        expect(reply.status, JSON.stringify(body)).to.equal(400);
        expect(reply.text).to.contain(reason);
      }
      expect(consul.services()).to.deep.equal([]);

      // Keys in any case or snake_case; ID defaults to Name, CheckID to service:<id>; durations parsed Go-style.
      const ok = await put('/v1/agent/service/register', { name: 'im-cloud', port: 1, checks: [{ ttl: '1m30s', status: 'passing', deregister_critical_service_after: '1.5s' }, { TTL: '500ms' }] });
      expect(ok.status).to.equal(200);
      const [service] = consul.services();
      expect(service).to.include({ id: 'im-cloud', name: 'im-cloud', address: '', port: 1 });
      expect(service.checks.map((c) => [c.checkId, c.status, c.ttlMs, c.deregisterCriticalServiceAfterMs])).to.deep.equal([
        ['service:im-cloud:1', 'passing', 90_000, 1500],
        ['service:im-cloud:2', 'critical', 500, undefined],
      ]);
    });

    it('answers unknown ids, non-TTL updates, other paths and methods as the agent does', async () => {
      const grpcCheck = { CheckID: 'g', GRPC: '127.0.0.1:1', Interval: '10s', TTL: undefined };
      await put('/v1/agent/service/register', definition('cloud-1', grpcCheck));
      const unknownCheck = await put('/v1/agent/check/pass/nope');
      expect([unknownCheck.status, unknownCheck.text]).to.deep.equal([404, 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.']);
      const notTtl = await put('/v1/agent/check/fail/g');
      expect([notTtl.status, notTtl.text]).to.deep.equal([500, 'CheckID "g" does not have associated TTL']);
      const unknownService = await put('/v1/agent/service/deregister/nope');
      expect(unknownService.status).to.equal(404);
      expect(unknownService.text).to.contain('Unknown service ID "nope"');
      expect((await request(consul.port, 'GET', '/v1/agent/self')).status).to.equal(404);
      expect((await request(consul.port, 'GET', '/v1/agent/service/register')).status).to.equal(405);
      expect((await health('?passing=maybe')).status).to.equal(400);
      expect((await health('?index=1&wait=soon')).text).to.equal('Invalid wait time');
    });

    it('deregister removes the instance and its checks, and moves the index', async () => {
      await put('/v1/agent/service/register', definition('cloud-1', { Status: 'passing' }));
      await put('/v1/agent/service/register', definition('cloud-2', { Status: 'passing' }));
      const before = await health('?passing');
      expect(serviceIds(before.json)).to.deep.equal(['cloud-1', 'cloud-2']);
      expect((await put('/v1/agent/service/deregister/cloud-1')).status).to.equal(200);
      const after = await health('?passing');
      expect(serviceIds(after.json)).to.deep.equal(['cloud-2']);
      expect(indexOf(after)).to.be.greaterThan(indexOf(before));
      expect((await put('/v1/agent/check/pass/cloud-1:ttl')).status, 'its check went with it').to.equal(404);
    });

    it('a TTL that passes unrenewed turns critical (out of ?passing), and DeregisterCriticalServiceAfter reaps the instance', async () => {
      await put('/v1/agent/service/register', definition('cloud-1', { TTL: '600ms', Status: 'passing', DeregisterCriticalServiceAfter: '1s' }));
      const first = await health('?passing');
      expect(serviceIds(first.json)).to.deep.equal(['cloud-1']);
      for (let i = 0; i < 3; i++) {
        await sleep(300);
        await put('/v1/agent/check/pass/cloud-1:ttl');
      }
      expect(consul.index('im-cloud'), 'each pass restarted the TTL: never critical').to.equal(indexOf(first));
      const woken = await health(`?passing&index=${indexOf(first)}&wait=10s`);
      expect(woken.json, 'the expiry wakes the blocked query').to.deep.equal([]);
      expect(consul.services()[0].checks[0]).to.include({ status: 'critical', output: 'TTL expired' });
      await eventually(() => consul.services().length === 0, 'the critical instance reaped', 4000);
      expect((await health()).json).to.deep.equal([]);
    });
  });

  describe('blocking queries', () => {
    it('hold until the service changes, then answer with the new index', async () => {
      await put('/v1/agent/service/register', definition('cloud-1'));
      const index = indexOf(await health());
      let answered = false;
      const blocked = health(`?passing&index=${index}&wait=10s`).then((reply) => {
        answered = true;
        return reply;
      });
      await sleep(200);
      expect(answered, 'held while nothing changes').to.equal(false);
      await put('/v1/agent/check/pass/cloud-1:ttl');
      const reply = await blocked;
      expect(indexOf(reply)).to.be.greaterThan(index);
      expect(serviceIds(reply.json)).to.deep.equal(['cloud-1']);
      expect(indexOf(await health(`?index=${index}`)), 'an index behind answers at once').to.equal(indexOf(reply));
    });

    it('answer with the same index once wait elapses', async () => {
      await put('/v1/agent/service/register', definition('cloud-1'));
      const index = indexOf(await health());
      const started = Date.now();
      const reply = await health(`?index=${index}&wait=300ms`);
      expect(Date.now() - started).to.be.at.least(300);
      expect(indexOf(reply)).to.equal(index);
      expect(serviceIds(reply.json)).to.deep.equal(['cloud-1']);
    });

    it('resetIndex sends the index back below what clients hold and wakes them', async () => {
      await put('/v1/agent/service/register', definition('cloud-1'));
      await put('/v1/agent/check/pass/cloud-1:ttl');
      const index = indexOf(await health());
      expect(index).to.be.greaterThan(1);
      const blocked = health(`?index=${index}&wait=10s`);
      await sleep(50);
      consul.resetIndex();
      expect(indexOf(await blocked)).to.be.lessThan(index);
      expect(indexOf(await health(`?index=${index}&wait=10s`)), 'an index from before the reset answers at once').to.equal(consul.index('im-cloud'));
      await put('/v1/agent/check/fail/cloud-1:ttl');
      expect(consul.index('im-cloud')).to.be.greaterThan(1).and.lessThan(index);
    });

    it('setStatus forces a status and always moves the index', async () => {
      await put('/v1/agent/service/register', definition('cloud-1'));
      const index = consul.index('im-cloud');
      consul.setStatus('cloud-1:ttl', 'passing');
      expect(serviceIds((await health('?passing')).json)).to.deep.equal(['cloud-1']);
      const moved = consul.index('im-cloud');
      expect(moved).to.be.greaterThan(index);
      consul.setStatus('cloud-1:ttl', 'passing');
      expect(consul.index('im-cloud')).to.be.greaterThan(moved);
    });
  });

  describe('gRPC checks', () => {
    it('probe grpc.health.v1 on a new connection each time: SERVING passes, NOT_SERVING or a stopped server is critical', async () => {
      const target = await healthServer();
      // A channel like the nodes' own, already connected to the target: grpc-js would lend its connection to a probe without a pool of its own.
      const held = new grpc.Client(`127.0.0.1:${target.port}`, grpc.credentials.createInsecure(), NODE_CHANNEL_OPTIONS);
      try {
        const method = healthServiceDefinition().Check;
        await new Promise<void>((resolve, reject) =>
          held.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, { service: '' }, (err) => (err ? reject(err) : resolve())));
        const heldPeer = target.peers.shift();
        target.asked.length = 0;

        const check = { CheckID: 'cloud-1:grpc', TTL: undefined, GRPC: `127.0.0.1:${target.port}/im.cloud.Cloud`, Interval: '100ms', Timeout: '1s' };
        await put('/v1/agent/service/register', definition('cloud-1', check));
        const status = (): string => consul.services()[0].checks[0].status;
        await eventually(() => status() === 'passing', 'SERVING → passing');
        expect(target.asked[0]).to.equal('im.cloud.Cloud');
        await eventually(() => target.peers.length >= 3, 'three probes');
        expect(new Set(target.peers).size, 'each probe on a connection of its own').to.equal(target.peers.length);
        expect(target.peers).not.to.include(heldPeer);
        target.status.value = 'NOT_SERVING';
        await eventually(() => status() === 'critical', 'NOT_SERVING → critical');
        expect((await health('?passing')).json).to.deep.equal([]);
        target.status.value = 'SERVING';
        await eventually(() => status() === 'passing', 'SERVING again → passing');
        target.server.forceShutdown();
        await eventually(() => status() === 'critical', 'server stopped → critical');
      } finally {
        held.close();
        target.server.forceShutdown();
      }
    });
  });

  describe('fault injection', () => {
    it('down() refuses connections and cuts blocked queries; up() serves the same registrations on the same port', async () => {
      await put('/v1/agent/service/register', definition('cloud-1'));
      const port = consul.port;
      const blocked = health(`?index=${consul.index('im-cloud')}&wait=10s`);
      await sleep(50);
      await consul.down();
      const cut = await blocked.then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
      expect(cut).to.be.oneOf(['ECONNRESET', 'EPIPE']);
      const refused = await health().then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
      expect(refused).to.equal('ECONNREFUSED');
      await consul.up();
      expect(consul.port).to.equal(port);
      expect(serviceIds((await health()).json)).to.deep.equal(['cloud-1']);
    });

    it('slow() delays answers and failWith() answers every request with its status until restored', async () => {
      consul.slow(300);
      const started = Date.now();
      expect((await health()).status).to.equal(200);
      expect(Date.now() - started).to.be.at.least(300);
      consul.slow(0);

      consul.failWith(503);
      const failed = await put('/v1/agent/service/register', definition('cloud-1'));
      expect(failed.status).to.equal(503);
      expect(failed.headers['content-type']).to.match(/^text\/plain/);
      expect((await health()).status).to.equal(503);
      expect(consul.services(), 'nothing registered while failing').to.deep.equal([]);
      consul.failWith(null);
      expect((await put('/v1/agent/service/register', definition('cloud-1'))).status).to.equal(200);
    });

    it('hold() carries requests to a path out only once released, even one whose client gave up meanwhile', async () => {
      const release = consul.hold('/v1/agent/service/register');
      const answered = put('/v1/agent/service/register', definition('cloud-1'));
      const gaveUp = http.request({ host: '127.0.0.1', port: consul.port, path: '/v1/agent/service/register', method: 'PUT', agent: false });
      gaveUp.on('error', () => undefined);
      gaveUp.end(JSON.stringify(definition('cloud-2')));
      await eventually(() => consul.requests().length === 2, 'both registers recorded');
      gaveUp.destroy();
      expect((await health()).status, 'other paths are not held').to.equal(200);
      expect(consul.services(), 'nothing carried out yet').to.deep.equal([]);
      await release();
      expect((await answered).status).to.equal(200);
      expect(consul.services().map((s) => s.id)).to.deep.equal(['cloud-1', 'cloud-2']);
    });

    it('records every request: method, path, query, lower-case headers, body', async () => {
      await request(consul.port, 'GET', '/v1/health/service/im-cloud?dc=dc1&tag=cloud&near=_agent&filter=x', undefined, { 'X-Consul-Token': 'secret' });
      const [recorded] = consul.requests();
      expect(recorded).to.deep.include({ method: 'GET', path: '/v1/health/service/im-cloud', query: { dc: 'dc1', tag: 'cloud', near: '_agent', filter: 'x' } });
      expect(recorded.headers['x-consul-token']).to.equal('secret');
      consul.clearRequests();
      expect(consul.requests()).to.deep.equal([]);
    });
  });

  describe('with the consul npm client', () => {
    it('register, health.service passing, check.pass, deregister and a watch agree with the double', async () => {
      const client = new Consul({ host: '127.0.0.1', port: consul.port, defaults: { token: 'secret' } });
      try {
        await client.agent.service.register({
          name: 'im-cloud', id: 'cloud-1', address: '127.0.0.1', port: 3109, tags: ['cloud'], meta: { grpc_port: '3109' },
          check: { name: 'ttl', checkid: 'cloud-1:ttl', ttl: '10s', timeout: '1s', deregistercriticalserviceafter: '1m' },
        });
        const registered = consul.requests()[0];
        expect(registered).to.deep.include({ method: 'PUT', path: '/v1/agent/service/register' });
        expect(registered.headers['x-consul-token']).to.equal('secret');
        expect(JSON.parse(registered.body)).to.deep.include({ Name: 'im-cloud', ID: 'cloud-1', Port: 3109 });
        expect(consul.services()[0].checks[0]).to.include({ checkId: 'cloud-1:ttl', type: 'ttl', ttlMs: 10_000, deregisterCriticalServiceAfterMs: 60_000 });

        const changes: unknown[][] = [];
        const watch = client.watch({ method: client.health.service, options: { service: 'im-cloud', passing: 'true', wait: '5s' } });
        watch.on('change', (data: unknown[]) => changes.push(data));
        watch.on('error', () => undefined);
        try {
          const none: unknown[] = await client.health.service({ service: 'im-cloud', passing: true });
          expect(none).to.deep.equal([]);
          await eventually(() => changes.length === 1, 'the watch sees the first answer');
          await client.agent.check.pass({ id: 'cloud-1:ttl', note: 'ready' });
          const one: unknown[] = await client.health.service({ service: 'im-cloud', passing: true });
          expect(serviceIds(one)).to.deep.equal(['cloud-1']);
          await eventually(() => changes.length === 2, 'the watch sees the pass');
          expect(serviceIds(changes[1])).to.deep.equal(['cloud-1']);
        } finally {
          watch.end();
        }

        await client.agent.service.deregister('cloud-1');
        expect(await client.health.service({ service: 'im-cloud' })).to.deep.equal([]);
        expect(consul.requests().map((r) => `${r.method} ${r.path}`)).to.include.members([
          'GET /v1/health/service/im-cloud', 'PUT /v1/agent/check/pass/cloud-1:ttl', 'PUT /v1/agent/service/deregister/cloud-1',
        ]);
        expect(consul.requests().find((r) => r.path === '/v1/agent/check/pass/cloud-1:ttl')?.query).to.deep.equal({ note: 'ready' });
      } finally {
        client.destroy();
      }
    });
  });
});

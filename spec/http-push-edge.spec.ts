import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import { PushFailedError, PushReach } from '../actors/push-outcome';
import { ImError } from '../system/errors';
import { HttpPushEdge, NodesInfo, PushService } from '../system/edges/http-push-edge';
import { Metrics } from '../system/metrics';
import { loggerInto } from './support/captured-logger';

const MAX_BODY = 1024;
/** Below MAX_BODY, so a body the edge reads can still carry a message too large to push. */
const MAX_MESSAGE = 512;
/** What the fake reports a key or mid push reached. */
const REACH: PushReach = { targets: 3, nodes: 2 };
const ROOM_TYPES = ['live', 'chat'] as const;

interface Call {
  readonly method: string;
  readonly args: readonly unknown[];
}

const NODES: NodesInfo = {
  domain: 'im.example.com',
  tcp_port: 3101,
  ws_port: 3102,
  wss_port: 3103,
  heartbeat: 30,
  heartbeat_max: 3,
  nodes: ['10.0.0.1', '10.0.0.2'],
  backoff: { max_delay: 300, base_delay: 3, factor: 1.8, jitter: 0.3 },
};

/** Records every call; a message is recorded as its text. `failWith` makes every call throw it. */
class FakePushService implements PushService {
  readonly calls: Call[] = [];
  failWith: Error | undefined;

  async pushKeys(operation: number, keys: string[], msg: Buffer): Promise<PushReach> {
    this.record('pushKeys', operation, keys, msg.toString());
    return REACH;
  }
  async pushMids(operation: number, mids: string[], msg: Buffer): Promise<PushReach> {
    this.record('pushMids', operation, mids, msg.toString());
    return REACH;
  }
  async pushRoom(operation: number, roomId: string, msg: Buffer): Promise<void> {
    this.record('pushRoom', operation, roomId, msg.toString());
  }
  async pushAll(operation: number, speed: number, msg: Buffer): Promise<void> {
    this.record('pushAll', operation, speed, msg.toString());
  }
  async onlineTop(type: string, limit: number): Promise<Array<{ room_id: string; count: number }>> {
    this.record('onlineTop', type, limit);
    return [{ room_id: '1000', count: 7 }];
  }
  async onlineRoom(type: string, rooms: string[]): Promise<Record<string, number>> {
    this.record('onlineRoom', type, rooms);
    return Object.fromEntries(rooms.map((room, i) => [room, i + 1]));
  }
  async onlineTotal(): Promise<{ conn_count: number; ip_count: number }> {
    this.record('onlineTotal');
    return { conn_count: 5, ip_count: 2 };
  }
  nodes(platform: string, clientIp: string): NodesInfo {
    this.record('nodes', platform, clientIp);
    return NODES;
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failWith) throw this.failWith;
  }
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: { code: number; message: string; error?: string; data?: unknown };
}

interface RequestOptions {
  readonly body?: string | Buffer;
  readonly headers?: http.OutgoingHttpHeaders;
}

function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: http.OutgoingHttpHeaders = { ...options.headers };
  // A GET body is not chunked by default: frame it with a length unless the test chose chunking.
  if (options.body !== undefined && headers['transfer-encoding'] === undefined) headers['content-length'] = Buffer.byteLength(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Reply['json'] });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const form = (body: string): RequestOptions => ({ body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const json = (body: unknown): RequestOptions => ({
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

/** Writes raw bytes and reads until the server closes; resolves with status, headers text and body. */
function rawExchange(port: number, writes: readonly string[]): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server did not answer and close; got: ${Buffer.concat(chunks).toString()}`));
    }, 3000);
    const done = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString();
      const [head, body = ''] = text.split('\r\n\r\n');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!match) reject(new Error(`no HTTP response: ${text}`));
      else resolve({ status: Number(match[1]), head, body });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined); // a reset after the reply still leaves the reply in `chunks`
    socket.on('connect', () => {
      for (const w of writes) socket.write(w);
    });
  });
}

describe('logic node: HTTP push edge', () => {
  let fake: FakePushService;
  let metrics: Metrics;
  let logLines: Array<Record<string, unknown>>;
  let edge: HttpPushEdge;
  let port: number;

  beforeEach(async () => {
    fake = new FakePushService();
    metrics = new Metrics();
    logLines = [];
    edge = new HttpPushEdge({ maxBodyBytes: MAX_BODY, maxMessageBytes: MAX_MESSAGE, roomTypes: ROOM_TYPES }, fake, metrics, loggerInto(logLines));
    port = await edge.listen(0, '127.0.0.1');
  });

  afterEach(async () => {
    await edge.close();
  });

  const call = (method: string, path: string, options?: RequestOptions): Promise<Reply> => request(port, method, path, options);

  async function expectRejected(reply: Promise<Reply>, status: number, code: string): Promise<Reply> {
    const r = await reply;
    expect(r.status, JSON.stringify(r.json)).to.equal(status);
    expect(r.json.error).to.equal(code);
    expect(r.json.code).to.equal(status >= 500 ? -500 : -400);
    expect(r.json.message).to.be.a('string').and.not.equal('');
    expect(r.headers['content-type']).to.match(/^application\/json/);
    if (status < 500) expect(fake.calls, 'nothing reaches the service').to.deep.equal([]);
    return r;
  }

  describe('every route under /im and /goim', () => {
    for (const prefix of ['/im', '/goim']) {
      it(`${prefix}: POST push/keys, push/mids, push/room, push/all with the raw body as message`, async () => {
        // Key and mid pushes say what they reached; room and all pushes answer once queued, with no data.
        const pushes: Array<[string, Call, object]> = [
          ['push/keys?operation=1000&keys=k1&keys=k2', { method: 'pushKeys', args: [1000, ['k1', 'k2'], 'hello'] }, { data: REACH }],
          ['push/mids?operation=1000&mids=123&mids=456', { method: 'pushMids', args: [1000, ['123', '456'], 'hello'] }, { data: REACH }],
          ['push/room?operation=1001&type=live&room=1000', { method: 'pushRoom', args: [1001, 'live://1000', 'hello'] }, {}],
          ['push/all?operation=1002&speed=50', { method: 'pushAll', args: [1002, 50, 'hello'] }, {}],
        ];
        for (const [path, expected, data] of pushes) {
          const r = await call('POST', `${prefix}/${path}`, { body: 'hello' });
          expect(r.status).to.equal(200);
          expect(r.json).to.deep.equal({ code: 0, message: '', ...data });
          expect(fake.calls.at(-1)).to.deep.equal(expected);
        }
        expect(fake.calls).to.have.length(4);
      });

      it(`${prefix}: GET online/top, online/room, online/total, nodes return the service's data`, async () => {
        const top = await call('GET', `${prefix}/online/top?type=live&limit=5`);
        expect(top.json).to.deep.equal({ code: 0, message: '', data: [{ room_id: '1000', count: 7 }] });
        const room = await call('GET', `${prefix}/online/room?type=live&rooms=1000&rooms=1001`);
        expect(room.json).to.deep.equal({ code: 0, message: '', data: { '1000': 1, '1001': 2 } });
        const total = await call('GET', `${prefix}/online/total`);
        expect(total.json).to.deep.equal({ code: 0, message: '', data: { conn_count: 5, ip_count: 2 } });
        const nodes = await call('GET', `${prefix}/nodes?platform=web`);
        expect(nodes.status).to.equal(200);
        expect(nodes.json.data).to.deep.equal(NODES);
        expect(fake.calls).to.deep.equal([
          { method: 'onlineTop', args: ['live', 5] },
          { method: 'onlineRoom', args: ['live', ['1000', '1001']] },
          { method: 'onlineTotal', args: [] },
          { method: 'nodes', args: ['web', '127.0.0.1'] },
        ]);
      });
    }
  });

  describe('parameters and message', () => {
    it('takes parameters and msg from a form body', async () => {
      const r = await call('POST', '/im/push/keys', form('keys=a&keys=b%2Cc&operation=7&msg=hi+there%21'));
      expect(r.status).to.equal(200);
      expect(fake.calls).to.deep.equal([{ method: 'pushKeys', args: [7, ['a', 'b', 'c'], 'hi there!'] }]);
    });

    it('takes parameters and msg from a JSON body; an object msg is stringified', async () => {
      await call('POST', '/im/push/mids', json({ mids: [123, '456', '007'], operation: 1000, msg: { text: 'hi', n: [1, 2] } }));
      await call('POST', '/goim/push/room', json({ type: 'chat', room: 42, operation: '5', msg: 'plain' }));
      await call('POST', '/im/push/all', json({ operation: 9, speed: 100, msg: ['x'] }));
      await call('POST', '/im/push/keys', json({ keys: 'k1,k2', operation: 1 }));
      expect(fake.calls).to.deep.equal([
        { method: 'pushMids', args: [1000, ['123', '456', '7'], '{"text":"hi","n":[1,2]}'] },
        { method: 'pushRoom', args: [5, 'chat://42', 'plain'] },
        { method: 'pushAll', args: [9, 100, '["x"]'] },
        { method: 'pushKeys', args: [1, ['k1', 'k2'], ''] },
      ]);
    });

    it('takes parameters and msg from the query string alone', async () => {
      const r = await call('POST', '/im/push/room?type=live&room=1000&operation=1000&msg=%E4%BD%A0%E5%A5%BD');
      expect(r.status).to.equal(200);
      expect(fake.calls).to.deep.equal([{ method: 'pushRoom', args: [1000, 'live://1000', '你好'] }]);
    });

    it('GET routes read form and JSON bodies too', async () => {
      await call('GET', '/im/online/room', form('type=live&rooms=1,2'));
      await call('GET', '/im/online/top', json({ type: 'chat' }));
      expect(fake.calls).to.deep.equal([
        { method: 'onlineRoom', args: ['live', ['1', '2']] },
        { method: 'onlineTop', args: ['chat', 10] },
      ]);
    });

    it('accepts keys and mids repeated, comma-separated, or both', async () => {
      await call('POST', '/im/push/keys?operation=1&keys=a,b&keys=c&keys=%20d%20,,', { body: 'm' });
      await call('POST', '/im/push/mids?operation=1&mids=1,2&mids=3', { body: 'm' });
      expect(fake.calls.map((c) => c.args[1])).to.deep.equal([
        ['a', 'b', 'c', 'd'],
        ['1', '2', '3'],
      ]);
    });

    it('with params in the query the body is the raw message whatever its content type (goim, curl -d)', async () => {
      const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
      await call('POST', '/goim/push/mids?operation=1000&mids=123', form('mid message'));
      await call('POST', '/goim/push/mids?operation=1000&mids=123', json({ text: 'hello goim' }));
      await call('POST', '/goim/push/all?operation=1000', { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      expect(fake.calls[0].args[2]).to.equal('mid message');
      expect(fake.calls[1].args[2]).to.equal('{"text":"hello goim"}');
      expect(fake.calls[2].args[2]).to.equal(bytes.toString());
    });

    it('a msg param wins over the raw body', async () => {
      await call('POST', '/im/push/keys?operation=1&keys=a&msg=from-query', { body: 'from-body' });
      expect(fake.calls[0].args[2]).to.equal('from-query');
    });

    it('allows an empty message; speed defaults to 0 and limit to 10', async () => {
      const r = await call('POST', '/im/push/all?operation=3');
      expect(r.status).to.equal(200);
      await call('GET', '/im/online/top?type=live');
      expect(fake.calls).to.deep.equal([
        { method: 'pushAll', args: [3, 0, ''] },
        { method: 'onlineTop', args: ['live', 10] },
      ]);
    });

    it('a body exactly at the limit is accepted', async () => {
      const body = 'x'.repeat(MAX_BODY);
      const r = await call('GET', '/im/online/total', { body });
      expect(r.status).to.equal(200);
      expect(fake.calls).to.deep.equal([{ method: 'onlineTotal', args: [] }]);
    });

    it('a message exactly at maxMessageBytes is pushed', async () => {
      const msg = 'm'.repeat(MAX_MESSAGE);
      const r = await call('POST', '/im/push/room?operation=1&type=live&room=1', { body: msg });
      expect(r.status).to.equal(200);
      expect(fake.calls).to.deep.equal([{ method: 'pushRoom', args: [1, 'live://1', msg] }]);
    });
  });

  describe('nodes', () => {
    it('passes the platform and the socket address as clientIp', async () => {
      const r = await call('GET', '/goim/nodes?platform=android');
      expect(r.json.data).to.deep.equal(NODES);
      expect(fake.calls).to.deep.equal([{ method: 'nodes', args: ['android', '127.0.0.1'] }]);
    });

    it('takes clientIp from the first X-Forwarded-For entry', async () => {
      await call('GET', '/im/nodes?platform=web', { headers: { 'x-forwarded-for': ' 203.0.113.9 , 10.0.0.1' } });
      await call('GET', '/im/nodes', { headers: { 'x-forwarded-for': '' } });
      expect(fake.calls).to.deep.equal([
        { method: 'nodes', args: ['web', '203.0.113.9'] },
        { method: 'nodes', args: ['', '127.0.0.1'] },
      ]);
    });
  });

  describe('validation: a real 4xx, a JSON error, nothing pushed', () => {
    const cases: Array<[string, string, string, RequestOptions | undefined, number, string]> = [
      ['keys missing', 'POST', '/im/push/keys?operation=1', { body: 'm' }, 400, 'E_HTTP_NO_KEYS'],
      ['keys empty', 'POST', '/im/push/keys?operation=1&keys=&keys=,', { body: 'm' }, 400, 'E_HTTP_NO_KEYS'],
      ['keys an empty JSON array', 'POST', '/im/push/keys', json({ keys: [], operation: 1 }), 400, 'E_HTTP_NO_KEYS'],
      ['mids missing', 'POST', '/goim/push/mids?operation=1', { body: 'm' }, 400, 'E_HTTP_NO_MIDS'],
      ['mids empty', 'POST', '/goim/push/mids', form('operation=1&mids='), 400, 'E_HTTP_NO_MIDS'],
      ['a mid not an integer', 'POST', '/im/push/mids?operation=1&mids=1,abc', { body: 'm' }, 400, 'E_HTTP_BAD_MID'],
      ['a mid fractional', 'POST', '/im/push/mids', json({ mids: [1.5], operation: 1 }), 400, 'E_HTTP_BAD_MID'],
      ['a mid beyond int64', 'POST', '/im/push/mids?operation=1&mids=9223372036854775808', { body: 'm' }, 400, 'E_HTTP_BAD_MID'],
      ['a JSON mid beyond 2^53', 'POST', '/im/push/mids', { body: '{"mids":[12345678901234567890],"operation":1}', headers: { 'content-type': 'application/json' } }, 400, 'E_HTTP_BAD_MID'],
      ['operation missing', 'POST', '/im/push/keys', form('keys=a'), 400, 'E_HTTP_BAD_OPERATION'],
      ['operation not a number', 'POST', '/im/push/keys?operation=abc&keys=a', { body: 'm' }, 400, 'E_HTTP_BAD_OPERATION'],
      ['operation negative', 'POST', '/im/push/room?operation=-1&type=live&room=1', { body: 'm' }, 400, 'E_HTTP_BAD_OPERATION'],
      ['operation above int32', 'POST', '/im/push/all?operation=2147483648', { body: 'm' }, 400, 'E_HTTP_BAD_OPERATION'],
      ['operation fractional', 'POST', '/im/push/all', json({ operation: 1.5 }), 400, 'E_HTTP_BAD_OPERATION'],
      ['room missing', 'POST', '/im/push/room?operation=1&type=live', { body: 'm' }, 400, 'E_HTTP_BAD_ROOM'],
      ['room empty', 'POST', '/im/push/room', form('operation=1&type=live&room='), 400, 'E_HTTP_BAD_ROOM'],
      ['room type unknown', 'POST', '/im/push/room?operation=1&type=vip&room=1', { body: 'm' }, 400, 'E_HTTP_BAD_ROOM_TYPE'],
      ['room type missing', 'POST', '/im/push/room?operation=1&room=1', { body: 'm' }, 400, 'E_HTTP_BAD_ROOM_TYPE'],
      ['online/top type unknown', 'GET', '/im/online/top?type=vip', undefined, 400, 'E_HTTP_BAD_ROOM_TYPE'],
      ['online/room type missing', 'GET', '/im/online/room?rooms=1', undefined, 400, 'E_HTTP_BAD_ROOM_TYPE'],
      ['online/room rooms missing', 'GET', '/im/online/room?type=live', undefined, 400, 'E_HTTP_BAD_ROOM'],
      ['speed negative', 'POST', '/im/push/all?operation=1&speed=-5', { body: 'm' }, 400, 'E_HTTP_BAD_PARAM'],
      ['speed not a number', 'POST', '/im/push/all', json({ operation: 1, speed: 'fast' }), 400, 'E_HTTP_BAD_PARAM'],
      ['limit 0', 'GET', '/im/online/top?type=live&limit=0', undefined, 400, 'E_HTTP_BAD_PARAM'],
      ['limit above 1000', 'GET', '/im/online/top?type=live&limit=1001', undefined, 400, 'E_HTTP_BAD_PARAM'],
      ['limit not a number', 'GET', '/goim/online/top?type=live&limit=ten', undefined, 400, 'E_HTTP_BAD_PARAM'],
      ['a JSON field of the wrong type', 'POST', '/im/push/keys', json({ keys: [true], operation: 1 }), 400, 'E_HTTP_BAD_PARAM'],
      ['a malformed query escape', 'POST', '/im/push/keys?operation=1&keys=%zz', { body: 'm' }, 400, 'E_HTTP_BAD_PARAM'],
      ['malformed JSON', 'POST', '/im/push/keys', json('{"keys": ["a"], "operation": '), 400, 'E_HTTP_BAD_BODY'],
      ['a JSON body that is not an object', 'POST', '/im/push/keys', json(['a']), 400, 'E_HTTP_BAD_BODY'],
      ['a malformed form escape', 'POST', '/im/push/keys', form('keys=a&operation=1&msg=%E4%zz'), 400, 'E_HTTP_BAD_BODY'],
      ['a form body not UTF-8', 'POST', '/im/push/keys', { body: Buffer.from([0x6b, 0x65, 0x79, 0x73, 0x3d, 0xff]), headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 400, 'E_HTTP_BAD_BODY'],
      ['an unknown route', 'POST', '/im/push/nobody?operation=1', { body: 'm' }, 404, 'E_HTTP_NOT_FOUND'],
      ['an unknown prefix', 'POST', '/api/push/keys?operation=1&keys=a', { body: 'm' }, 404, 'E_HTTP_NOT_FOUND'],
      ['the bare prefix', 'GET', '/goim/', undefined, 404, 'E_HTTP_NOT_FOUND'],
      ['the root', 'GET', '/', undefined, 404, 'E_HTTP_NOT_FOUND'],
    ];
    for (const [what, method, path, options, status, code] of cases) {
      it(`${what}: ${status} ${code}`, async () => {
        await expectRejected(call(method, path, options), status, code);
      });
    }

    it('a wrong method: 405 with Allow', async () => {
      const post = await expectRejected(call('GET', '/im/push/keys?operation=1&keys=a'), 405, 'E_HTTP_METHOD');
      expect(post.headers.allow).to.equal('POST');
      const get = await expectRejected(call('POST', '/goim/online/total', { body: 'x' }), 405, 'E_HTTP_METHOD');
      expect(get.headers.allow).to.equal('GET');
      await expectRejected(call('DELETE', '/im/nodes'), 405, 'E_HTTP_METHOD');
    });

    it('logs a rejection at warn, one line with route, code and reason, and counts it', async () => {
      await call('POST', '/im/push/keys?operation=1', { body: 'm' });
      await call('POST', '/im/push/keys?operation=1&keys=a', { body: 'm' });
      const warns = logLines.filter((l) => l.level === 'warn');
      expect(warns).to.have.length(1);
      expect(warns[0]).to.include({ route: 'push/keys', code: 'E_HTTP_NO_KEYS', status: 400 });
      expect(warns[0].reason).to.be.a('string');
      expect(metrics.get('im_http_errors_total', { code: 'E_HTTP_NO_KEYS' })).to.equal(1);
      expect(metrics.get('im_http_requests_total', { route: 'push/keys', status: '400' })).to.equal(1);
      expect(metrics.get('im_http_requests_total', { route: 'push/keys', status: '200' })).to.equal(1);
    });
  });

  describe('oversized bodies: 413 without reading the rest', () => {
    it('refuses a declared Content-Length over the limit before the body arrives', async () => {
      const reply = await rawExchange(port, [
        'POST /im/push/all?operation=1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n' + `Content-Length: ${10 * 1024 * 1024}\r\n\r\n`,
        'only the first bytes',
      ]);
      expect(reply.status).to.equal(413);
      expect(reply.head.toLowerCase()).to.include('connection: close');
      expect(JSON.parse(reply.body)).to.include({ code: -400, error: 'E_HTTP_BODY_TOO_LARGE' });
      expect(fake.calls).to.deep.equal([]);
      expect(metrics.get('im_http_errors_total', { code: 'E_HTTP_BODY_TOO_LARGE' })).to.equal(1);
    });

    it('stops a chunked body as soon as it crosses the limit', async () => {
      const chunk = 'y'.repeat(600);
      const sized = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      // Two chunks cross the 1024-byte limit; the terminating chunk is never sent.
      const reply = await rawExchange(port, [
        'POST /goim/push/keys?operation=1&keys=a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
        sized,
        sized,
      ]);
      expect(reply.status).to.equal(413);
      expect(JSON.parse(reply.body)).to.include({ error: 'E_HTTP_BODY_TOO_LARGE' });
      expect(fake.calls).to.deep.equal([]);
    });

    it('a chunked body over the limit through an ordinary client also gets 413', async () => {
      const r = await call('POST', '/im/push/all', { ...json({ operation: 1, msg: 'z'.repeat(MAX_BODY) }), headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      expect(r.status).to.equal(413);
      expect(fake.calls).to.deep.equal([]);
    });

    it('answers Expect: 100-continue with 413 at once when the declared body is too large', async () => {
      const reply = await rawExchange(port, [
        'POST /im/push/all?operation=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n' + `Content-Length: ${MAX_BODY + 1}\r\n\r\n`,
      ]);
      expect(reply.status).to.equal(413);
      expect(reply.head).not.to.include('100 Continue');
    });

    it('answers Expect: 100-continue with 100 and then handles the body', async () => {
      const reply = await rawExchange(port, [
        'POST /im/push/all?operation=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
        'hello',
      ]);
      expect(reply.head).to.match(/^HTTP\/1\.1 100 Continue/);
      expect(reply.body).to.match(/^HTTP\/1\.1 200/);
      expect(fake.calls).to.deep.equal([{ method: 'pushAll', args: [1, 0, 'hello'] }]);
    });
  });

  describe('a push message over maxMessageBytes: 413 E_HTTP_MESSAGE_TOO_LARGE, nothing pushed', () => {
    const over = 'm'.repeat(MAX_MESSAGE + 1);
    const cases: Array<[string, RequestOptions]> = [
      ['/im/push/keys?operation=1&keys=k1', { body: over }],
      ['/im/push/mids?operation=1&mids=1', { body: over }],
      ['/im/push/room', form(`operation=1&type=live&room=1&msg=${over}`)],
      ['/goim/push/all', json({ operation: 1, msg: over })],
    ];
    for (const [path, options] of cases) {
      it(path, async () => {
        const r = await expectRejected(call('POST', path, options), 413, 'E_HTTP_MESSAGE_TOO_LARGE');
        expect(r.json.message).to.include(`${MAX_MESSAGE + 1} > ${MAX_MESSAGE}`);
      });
    }
  });

  describe('service failures', () => {
    it('a key push some cloud nodes failed is a 503 whose data names them and their targets', async () => {
      const report = { targets: 3, nodes: 2, failed: [{ node: '10.0.0.9:3109', targets: 2, code: 'E_CLOUD_UNAVAILABLE' as const, reason: 'UNAVAILABLE' }] };
      fake.failWith = new PushFailedError(report);
      const r = await expectRejected(call('POST', '/im/push/keys?operation=1&keys=k1', { body: 'm' }), 503, 'E_CLOUD_UNAVAILABLE');
      expect(r.json.data).to.deep.equal(report);
      expect(r.json.message).to.include('10.0.0.9:3109 held 2 targets');
    });

    it('an ImError CLOUD_UNAVAILABLE is a 503 JSON error, logged at error', async () => {
      fake.failWith = new ImError('CLOUD_UNAVAILABLE', '127.0.0.1:3109');
      const r = await expectRejected(call('POST', '/im/push/room?operation=1&type=live&room=1', { body: 'm' }), 503, 'E_CLOUD_UNAVAILABLE');
      expect(r.json.message).to.include('127.0.0.1:3109');
      expect(fake.calls).to.have.length(1);
      const errors = logLines.filter((l) => l.level === 'error');
      expect(errors).to.have.length(1);
      expect(errors[0]).to.include({ route: 'push/room', code: 'E_CLOUD_UNAVAILABLE', status: 503 });
    });

    it('an ImError SESSION_STORE is a 503', async () => {
      fake.failWith = new ImError('SESSION_STORE');
      await expectRejected(call('GET', '/im/online/total'), 503, 'E_SESSION_STORE');
    });

    it('another ImError is a 500 carrying its own code', async () => {
      fake.failWith = new ImError('RECEIVE_SINK');
      await expectRejected(call('POST', '/im/push/mids?operation=1&mids=1', { body: 'm' }), 500, 'E_RECEIVE_SINK');
    });

    it('anything else is a 500 E_HTTP_INTERNAL that does not leak the cause', async () => {
      fake.failWith = new Error('secret detail');
      const r = await expectRejected(call('GET', '/im/nodes?platform=web'), 500, 'E_HTTP_INTERNAL');
      expect(r.json.message).not.to.include('secret');
      const errors = logLines.filter((l) => l.level === 'error');
      expect(errors[0]).to.include({ route: 'nodes', code: 'E_HTTP_INTERNAL', error: 'secret detail' });
      expect(metrics.get('im_http_requests_total', { route: 'nodes', status: '500' })).to.equal(1);
    });
  });

  it('a client that leaves mid-body pushes nothing and the edge keeps serving', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write('POST /im/push/all?operation=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.calls).to.deep.equal([]);
    const r = await call('GET', '/im/online/total');
    expect(r.status).to.equal(200);
  });

  it('serves keep-alive requests one after another on one connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<net.Socket>();
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/im/push/all?operation=${i}`, agent }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', reject);
          req.end('m');
        });
      }
      expect(sockets.size).to.equal(1);
      expect(fake.calls.map((c) => c.args[0])).to.deep.equal([0, 1, 2]);
    } finally {
      agent.destroy();
    }
  });
});

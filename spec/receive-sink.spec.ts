import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log, ProtoMessage } from '../actors/ports';
import { createReceiveSink, HttpReceiveSink, LogReceiveSink } from '../system/auth/receive-sinks';
import { ImError } from '../system/errors';
import { silentLogger } from '../system/logger';
import { freePort } from './support/free-ports';

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown>;
}

/** A Log that keeps every line. */
class RecordingLog implements Log {
  readonly lines: LogLine[] = [];
  error(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'error', message, meta }); }
  warn(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'warn', message, meta }); }
  info(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'info', message, meta }); }
  debug(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'debug', message, meta }); }
}

interface Received {
  readonly method: string;
  readonly contentType: string;
  readonly json: unknown;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 that records each request and answers with the current handler. */
class SinkServer {
  readonly received: Received[] = [];
  handler: Handler = (_req, res) => res.end('ok');
  private readonly server = http.createServer((req, res) => this.onRequest(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/receive`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      this.received.push({ method: req.method ?? '', contentType: req.headers['content-type'] ?? '', json: JSON.parse(text) as unknown });
      this.handler(req, res);
    });
  }
}

const PROTO: ProtoMessage = { ver: 1, op: 4, seq: 7, body: Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x0a]) };

async function rejection(p: Promise<unknown>): Promise<ImError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ImError);
    return err as ImError;
  }
  throw new Error('promise resolved');
}

describe('receive sink: http', () => {
  let server: SinkServer;
  let url: string;
  let sink: HttpReceiveSink | undefined;

  beforeEach(async () => {
    server = new SinkServer();
    url = await server.start();
  });

  afterEach(async () => {
    await server.stop();
    await sink?.close();
    sink = undefined;
  });

  it('POSTs JSON with mid as a string and the body as base64', async () => {
    sink = new HttpReceiveSink({ url, timeoutMs: 2000, logger: silentLogger() });
    expect(sink.kind).to.equal('http');
    await sink.deliver('9223372036854775807', PROTO);
    expect(server.received).to.have.length(1);
    const [req] = server.received;
    expect(req.method).to.equal('POST');
    expect(req.contentType).to.equal('application/json');
    expect(req.json).to.deep.equal({ mid: '9223372036854775807', ver: 1, op: 4, seq: 7, body: PROTO.body.toString('base64') });
    expect(Buffer.from((req.json as { body: string }).body, 'base64').equals(PROTO.body)).to.equal(true);
  });

  it('accepts any 2xx answer', async () => {
    server.handler = (_req, res) => res.writeHead(204).end();
    sink = new HttpReceiveSink({ url, timeoutMs: 2000, logger: silentLogger() });
    await sink.deliver('1', PROTO);
  });

  it('rejects with RECEIVE_SINK on a 500 answer, and on a redirect (not followed)', async () => {
    sink = new HttpReceiveSink({ url, timeoutMs: 2000, logger: silentLogger() });
    server.handler = (_req, res) => res.writeHead(500).end('boom');
    const err = await rejection(sink.deliver('1', PROTO));
    expect(err.name).to.equal('RECEIVE_SINK');
    expect(err.message).to.contain('500');
    server.handler = (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end();
    expect((await rejection(sink.deliver('1', PROTO))).message).to.contain('302');
    expect(server.received).to.have.length(2);
  });

  it('rejects with RECEIVE_SINK when the server answers after the timeout', async () => {
    server.handler = (_req, res) => setTimeout(() => res.end('late'), 1000);
    const log = new RecordingLog();
    sink = new HttpReceiveSink({ url, timeoutMs: 150, logger: log });
    const started = Date.now();
    const err = await rejection(sink.deliver('1', PROTO));
    expect(err.name).to.equal('RECEIVE_SINK');
    expect(err.message).to.contain('within 150 ms');
    expect(Date.now() - started).to.be.lessThan(900);
    expect(log.lines.some((l) => l.meta.code === 'E_RECEIVE_SINK')).to.equal(true);
  });

  it('rejects with RECEIVE_SINK when the connection is refused', async () => {
    sink = new HttpReceiveSink({ url: `http://127.0.0.1:${await freePort()}/receive`, timeoutMs: 2000, logger: silentLogger() });
    const err = await rejection(sink.deliver('1', PROTO));
    expect(err.name).to.equal('RECEIVE_SINK');
    expect(err.message).to.contain('ECONNREFUSED');
  });

  it('refuses at once beyond maxInFlight, and accepts again once a POST settles', async () => {
    const held: http.ServerResponse[] = [];
    server.handler = (_req, res) => held.push(res);
    sink = new HttpReceiveSink({ url, timeoutMs: 5000, logger: silentLogger(), maxInFlight: 2 });
    const first = sink.deliver('1', PROTO);
    const second = sink.deliver('2', PROTO);
    const err = await rejection(sink.deliver('3', PROTO));
    expect(err.name).to.equal('RECEIVE_SINK');
    expect(err.message).to.contain('too many in flight');
    while (held.length < 2) await new Promise((r) => setTimeout(r, 10));
    held.forEach((res) => res.end('ok'));
    await Promise.all([first, second]);
    server.handler = (_req, res) => res.end('ok');
    await sink.deliver('4', PROTO);
    expect(server.received.map((r) => (r.json as { mid: string }).mid)).to.deep.equal(['1', '2', '4']);
  });

  it('close waits for POSTs in flight, then refuses new messages', async () => {
    server.handler = (_req, res) => setTimeout(() => res.end('ok'), 100);
    sink = new HttpReceiveSink({ url, timeoutMs: 2000, logger: silentLogger() });
    let delivered = false;
    const pending = sink.deliver('1', PROTO).then(() => { delivered = true; });
    await sink.close();
    expect(delivered).to.equal(true);
    await pending;
    expect((await rejection(sink.deliver('2', PROTO))).message).to.contain('closed');
  });
});

describe('receive sink: log and factory', () => {
  it('log sink writes one info line per message without the body', async () => {
    const log = new RecordingLog();
    const sink = new LogReceiveSink(log);
    expect(sink.kind).to.equal('log');
    await sink.deliver('42', PROTO);
    await sink.deliver('43', { ...PROTO, seq: 8 });
    expect(log.lines).to.have.length(2);
    expect(log.lines[0].level).to.equal('info');
    expect(log.lines[0].meta).to.deep.equal({ component: 'receive', mid: '42', op: 4, seq: 7, bytes: 5 });
    expect(log.lines[1].meta.seq).to.equal(8);
    await sink.close();
  });

  it('createReceiveSink picks the sink from config', async () => {
    const log = new RecordingLog();
    const logSink = createReceiveSink({ sink: 'log', url: '' }, log);
    expect(logSink.kind).to.equal('log');
    const httpSink = createReceiveSink({ sink: 'http', url: 'http://127.0.0.1:1/receive' }, log);
    expect(httpSink.kind).to.equal('http');
    await logSink.close();
    await httpSink.close();
  });

  it('an http sink with a malformed url is a config error', () => {
    expect(() => new HttpReceiveSink({ url: 'not a url', timeoutMs: 1000, logger: new RecordingLog() })).to.throw(ImError, 'receive.url');
  });
});

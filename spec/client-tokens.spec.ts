/**
 * Client tokens end to end: a real client (ws) → cloud node → real gRPC →
 * logic node, in each token mode (classic JSON, HMAC secret, public key
 * file, JWKS URL served by an HTTP server in the test), and
 * auth.bindKeyToMid on the memory store and on real Redis. What a client
 * sees is op 8, or op 6 with its code (E_AUTH_REFUSED for a refused token or
 * key, E_LOGIC_UNAVAILABLE when the key set cannot be fetched); what an
 * operator sees is im_logic_auth_failures_total by code and the log.
 */
import { expect } from 'chai';
import { exportJWK, exportSPKI, generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLogicConfig } from '../config/logic-config';
import { Op } from '../system/codec/packet';
import { ImError } from '../system/errors';
import { capturedLogger, LogLine } from './support/captured-logger';
import { freePorts } from './support/free-ports';
import { RedisScratch } from './support/redis-scratch';
import { SystemHarness, SystemOptions, until } from './support/system-harness';
import type { TestClient } from './support/test-client';

const SECRET = 'client-tokens-spec-secret-0123456789-abcdef';
const BIZ = 1000;

let serial = 0;
function uniqueKey(label: string): string {
  return `ct-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;
}

function claims(mid: number, key = ''): JWTPayload {
  return { mid, key, room_id: 'live://1000', platform: 'web', accepts: [BIZ] };
}

/** A signed JWT; `exp` null leaves it out. */
function jwt(body: JWTPayload, key: KeyLike | Uint8Array, header: { alg: string; kid?: string }, exp: number | string | null = '1h'): Promise<string> {
  const token = new SignJWT(body).setProtectedHeader({ ...header, typ: 'JWT' }).setIssuedAt();
  return (exp === null ? token : token.setExpirationTime(exp)).sign(key);
}

function hs256(body: JWTPayload, exp: number | string | null = '1h'): Promise<string> {
  return jwt(body, new TextEncoder().encode(SECRET), { alg: 'HS256' }, exp);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function configError(overrides: Record<string, unknown>): ImError {
  try {
    loadLogicConfig({ overrides });
  } catch (err) {
    if (err instanceof ImError) return err;
    throw err;
  }
  throw new Error(`configuration was accepted: ${JSON.stringify(overrides)}`);
}

describe('client tokens (logic node auth.*)', function () {
  this.timeout(20000);

  let sys: SystemHarness | null = null;
  let dir = '';
  const servers: http.Server[] = [];

  async function boot(options: SystemOptions): Promise<SystemHarness> {
    sys = await SystemHarness.start(options);
    return sys;
  }

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'im-client-tokens-'));
  });

  afterEach(async () => {
    await sys?.stop();
    sys = null;
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `token` as op 7 and expects op 8. */
  async function admitted(s: SystemHarness, token: string | object, cloud = 0): Promise<{ client: TestClient; mid: number; key: string }> {
    const { client, auth } = await s.online(cloud, 'ws', token);
    return { client, mid: auth.mid, key: auth.key };
  }

  /** Sends `token` as op 7 and expects op 6 with `code` and no op 8; returns the reason. */
  async function closedWith(s: SystemHarness, token: string | object, code: string, cloud = 0): Promise<string> {
    const client = await s.connect(cloud, 'ws');
    client.send(Op.Auth, typeof token === 'string' ? token : JSON.stringify(token));
    await client.waitForClose();
    expect(client.received(Op.AuthReply)).to.have.length(0);
    const reason = client.disconnectReason();
    expect(reason?.code, JSON.stringify(reason)).to.equal(code);
    // The reason names logic's stable code; node addresses and library text stay in the operator's log.
    expect(reason?.reason, 'no internal address reaches the client').not.to.match(/\b\d{1,3}(\.\d{1,3}){3}\b|ECONNREFUSED/);
    return reason?.reason ?? '';
  }

  function authFailures(s: SystemHarness, code: string, logic = 0): number {
    return s.logic[logic].metrics.get('im_logic_auth_failures_total', { code });
  }

  // ── HMAC secret ──────────────────────────────────────────────────────────────────────────────

  describe('auth.jwtSecret', () => {
    const secretSystem = (extra: Record<string, unknown> = {}): Promise<SystemHarness> => boot({ logicOverrides: { auth: { jwtSecret: SECRET, ...extra } } });

    it('admits an HS256 token with exp: op 8 with its claims, and its key takes pushes', async () => {
      const s = await secretSystem();
      const key = uniqueKey('hs');
      const { client, mid } = await admitted(s, await hs256(claims(501, key)));
      expect(mid).to.equal(501);
      await s.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: key }, body: 'to-hs' });
      await client.waitFor((p) => p.op === BIZ && p.body.toString() === 'to-hs');
      expect(s.logic[0].metrics.get('im_logic_connects_total')).to.equal(1);
    });

    it('refuses a token without exp (E_TOKEN_NO_EXP), an expired one (E_TOKEN_EXPIRED) and alg none (E_TOKEN_ALGORITHM): op 6 E_AUTH_REFUSED, counted by code', async () => {
      const s = await secretSystem();
      const cases = [
        { code: 'E_TOKEN_NO_EXP', token: await hs256(claims(502, uniqueKey('noexp')), null) },
        { code: 'E_TOKEN_EXPIRED', token: await hs256(claims(503, uniqueKey('expired')), Math.floor(Date.now() / 1000) - 120) },
        { code: 'E_TOKEN_ALGORITHM', token: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims(504, uniqueKey('none')), exp: Math.floor(Date.now() / 1000) + 3600 })}.` },
      ];
      for (const c of cases) {
        const reason = await closedWith(s, c.token, 'E_AUTH_REFUSED');
        expect(reason, c.code).to.contain(c.code);
        expect(authFailures(s, c.code), c.code).to.equal(1);
      }
      expect(s.cloud[0].metrics.get('im_auth_results_total', { outcome: 'refused' })).to.equal(cases.length);
      expect(s.logic[0].metrics.get('im_logic_connects_total')).to.equal(0);
    });

    it('admits a token without exp when auth.jwtAllowNoExp is set', async () => {
      const s = await secretSystem({ jwtAllowNoExp: true });
      const { mid } = await admitted(s, await hs256(claims(505, uniqueKey('allowed')), null));
      expect(mid).to.equal(505);
    });

    it('a secret shorter than 32 bytes, or two ways to check tokens at once, refuse to start', async () => {
      const short = configError({ auth: { jwtSecret: 'x'.repeat(31) } });
      expect(short.code).to.equal('E_CONFIG_INVALID');
      expect(short.message).to.contain('auth.jwtSecret is 31 bytes').and.contain('at least 32');
      let started: unknown = null;
      try {
        started = await boot({ logicOverrides: { auth: { jwtSecret: 'too-short' } } });
      } catch (err) {
        started = err;
      }
      expect(started).to.be.instanceOf(ImError);
      const both = configError({ auth: { jwtSecret: SECRET, jwksUrl: 'https://keys.example/jwks.json' } });
      expect(both.message).to.contain('auth.jwtSecret and auth.jwksUrl are both set');
      expect(configError({ auth: { jwksUrl: 'http://keys.example/jwks.json' } }).message).to.contain('must be https');
      // 32 bytes is enough, whatever the characters (UTF-8 bytes are counted).
      expect(loadLogicConfig({ overrides: { auth: { jwtSecret: 'é'.repeat(16) } } }).auth.jwtSecret).to.equal('é'.repeat(16));
    });
  });

  // ── public key file ──────────────────────────────────────────────────────────────────────────

  describe('auth.jwtPublicKeyFile', () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      it(`${alg}: admits a token the key verifies; refuses another key's token, an HS256 token keyed with the PEM, and another algorithm`, async () => {
        const { publicKey, privateKey } = await generateKeyPair(alg);
        const pem = await exportSPKI(publicKey);
        const file = path.join(dir, `${alg}.pem`);
        writeFileSync(file, pem);
        const s = await boot({ logicOverrides: { auth: { jwtPublicKeyFile: file } } });
        const { mid } = await admitted(s, await jwt(claims(601), privateKey, { alg }));
        expect(mid).to.equal(601);

        const stranger = await generateKeyPair(alg);
        expect(await closedWith(s, await jwt(claims(602), stranger.privateKey, { alg }), 'E_AUTH_REFUSED')).to.contain('E_TOKEN_SIGNATURE');
        // Algorithm confusion: the public key's PEM used as an HMAC secret.
        const confused = await jwt(claims(603), new TextEncoder().encode(pem), { alg: 'HS256' });
        expect(await closedWith(s, confused, 'E_AUTH_REFUSED')).to.contain('E_TOKEN_ALGORITHM');
        const other = alg === 'RS256' ? 'ES256' : 'RS256';
        const otherKeys = await generateKeyPair(other);
        expect(await closedWith(s, await jwt(claims(604), otherKeys.privateKey, { alg: other }), 'E_AUTH_REFUSED')).to.contain('E_TOKEN_ALGORITHM');
        expect(authFailures(s, 'E_TOKEN_SIGNATURE')).to.equal(1);
        expect(authFailures(s, 'E_TOKEN_ALGORITHM')).to.equal(2);
      });
    }

    it('a key file that is missing, not a public key, or a weak key refuses to start', async () => {
      expect(configError({ auth: { jwtPublicKeyFile: path.join(dir, 'absent.pem') } }).message).to.contain('cannot be read');
      const notPem = path.join(dir, 'not.pem');
      writeFileSync(notPem, 'hello');
      expect(configError({ auth: { jwtPublicKeyFile: notPem } }).message).to.contain('is not a PEM public key');
      // jose will not make a key this weak; node:crypto will.
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const weakFile = path.join(dir, 'weak.pem');
      writeFileSync(weakFile, weak.publicKey);
      expect(configError({ auth: { jwtPublicKeyFile: weakFile } }).message).to.contain('1024-bit RSA key');
      const p384 = await generateKeyPair('ES384');
      const p384File = path.join(dir, 'p384.pem');
      writeFileSync(p384File, await exportSPKI(p384.publicKey));
      expect(configError({ auth: { jwtPublicKeyFile: p384File } }).message).to.contain('only RSA (RS256) and P-256 (ES256)');
    });
  });

  // ── JWKS URL ─────────────────────────────────────────────────────────────────────────────────

  describe('auth.jwksUrl', () => {
    /** Serves `body` at /jwks.json on a loopback port; counts requests. */
    async function jwksServer(body: () => object): Promise<{ url: string; requests: () => number }> {
      let requests = 0;
      const server = http.createServer((_req, res) => {
        requests++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body()));
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, requests: () => requests };
    }

    it('admits RS256 and ES256 tokens signed by keys of the set (by kid); refuses an unknown kid with E_TOKEN_SIGNATURE', async () => {
      const rsa = await generateKeyPair('RS256');
      const ec = await generateKeyPair('ES256');
      const keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }, { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }];
      const jwks = await jwksServer(() => ({ keys }));
      const s = await boot({ logicOverrides: { auth: { jwksUrl: jwks.url } } });
      expect((await admitted(s, await jwt(claims(701), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }))).mid).to.equal(701);
      expect((await admitted(s, await jwt(claims(702), ec.privateKey, { alg: 'ES256', kid: 'ec-1' }))).mid).to.equal(702);
      const stranger = await generateKeyPair('RS256');
      expect(await closedWith(s, await jwt(claims(703), stranger.privateKey, { alg: 'RS256', kid: 'unknown' }), 'E_AUTH_REFUSED')).to.contain('E_TOKEN_SIGNATURE');
      expect(await closedWith(s, await hs256(claims(704)), 'E_AUTH_REFUSED')).to.contain('E_TOKEN_ALGORITHM');
      expect(jwks.requests()).to.be.within(1, 2);
    });

    it('a key set that cannot be fetched: op 6 E_LOGIC_UNAVAILABLE (retry), counted, one warn line however many clients', async () => {
      const [port] = await freePorts(1);
      const { logger, lines } = capturedLogger('info');
      const s = await boot({ logic: [{ logger }], logicOverrides: { auth: { jwksUrl: `http://127.0.0.1:${port}/jwks.json` } } });
      const rsa = await generateKeyPair('RS256');
      const n = 4;
      for (let i = 0; i < n; i++) {
        expect(await closedWith(s, await jwt(claims(710 + i), rsa.privateKey, { alg: 'RS256', kid: 'k' }), 'E_LOGIC_UNAVAILABLE')).to.contain('E_JWKS_UNAVAILABLE');
      }
      expect(authFailures(s, 'E_JWKS_UNAVAILABLE')).to.equal(n);
      expect(s.logic[0].metrics.get('im_logic_jwks_fetch_failures_total', { cause: 'fetch' })).to.be.within(1, n);
      expect(s.cloud[0].metrics.get('im_auth_results_total', { outcome: 'unavailable' })).to.equal(n);
      expect(s.cloud[0].metrics.get('im_auth_results_total', { outcome: 'refused' })).to.equal(0);
      const warns = lines.filter((l: LogLine) => l.level === 'warn' && l.code === 'E_JWKS_UNAVAILABLE');
      expect(warns, JSON.stringify(warns)).to.have.length(1);
      // The per-call line of the gRPC edge is debug: nothing at warn or error for these Connects.
      expect(lines.filter((l) => l.component === 'logic-grpc' && (l.level === 'warn' || l.level === 'error'))).to.deep.equal([]);
    });
  });

  // ── classic tokens ───────────────────────────────────────────────────────────────────────────

  describe('classic JSON tokens', () => {
    it('a node using them logs one warn line at start; a JWT node does not', async () => {
      const classic = capturedLogger('info');
      const signed = capturedLogger('info');
      const s = await boot({ logic: [{ logger: classic.logger }, { logger: signed.logger, overrides: { auth: { jwtSecret: SECRET } } }], cloud: [{ logic: [0] }] });
      const warning = (lines: LogLine[]): LogLine[] => lines.filter((l) => l.level === 'warn' && l.tokens === 'classic');
      expect(warning(classic.lines)).to.have.length(1);
      expect(warning(classic.lines)[0].message).to.contain('any client can claim any mid and any key');
      expect(warning(signed.lines)).to.deep.equal([]);
      expect((await admitted(s, { ...claims(801, uniqueKey('classic')) })).mid).to.equal(801);
    });
  });

  // ── auth.bindKeyToMid ────────────────────────────────────────────────────────────────────────

  describe('auth.bindKeyToMid', () => {
    let scratch: RedisScratch | null = null;

    after(async () => {
      await scratch?.cleanup();
    });

    const variants: Array<{ name: string; options: () => SystemOptions }> = [
      { name: 'memory store', options: () => ({}) },
      {
        name: 'Redis store, two logic nodes',
        options: () => {
          scratch ??= new RedisScratch();
          return { logic: 2, cloud: [{ logic: [0] }, { logic: [1] }], redis: { keyPrefix: scratch.subPrefix() } };
        },
      },
    ];

    for (const v of variants) {
      it(`${v.name}: another mid's Connect with a held key is refused (E_KEY_HELD); the holder keeps it; the same mid and generated keys pass`, async () => {
        const base = v.options();
        const s = await boot({ ...base, logicOverrides: { auth: { bindKeyToMid: true } } });
        const last = s.cloud.length - 1;
        const key = uniqueKey('held');
        const holder = await admitted(s, claims(901, key));
        const reason = await closedWith(s, claims(902, key), 'E_AUTH_REFUSED', last);
        expect(reason).to.contain('E_KEY_HELD').and.not.contain('901');
        expect(authFailures(s, 'E_KEY_HELD', last === 0 ? 0 : 1)).to.equal(1);
        // The holder's session is untouched: a push to the key still reaches it, and mid 902 has none.
        expect(await s.stores[0].keysByMids(['902'])).to.deep.equal(new Map());
        await s.http('/im/push/keys', { method: 'POST', query: { operation: BIZ, keys: key }, body: 'still-901' });
        await holder.client.waitFor((p) => p.op === BIZ && p.body.toString() === 'still-901');
        // The same mid may come back with its key (it replaces its old connection).
        const again = await admitted(s, claims(901, key), last);
        expect(again.key).to.equal(key);
        // Keys logic generates never conflict.
        const a = await admitted(s, claims(903));
        const b = await admitted(s, claims(904), last);
        expect(a.key).to.not.equal(b.key);
        // Once the holder is gone, the key is free for another mid.
        again.client.close();
        await until(async () => (await s.stores[0].serversByKeys([key])).size, (n) => n === 0, 'the key to be released');
        expect((await admitted(s, claims(905, key))).mid).to.equal(905);
      });
    }

    it('without the option, another mid takes a held key over (what the option prevents)', async () => {
      const s = await boot({});
      const key = uniqueKey('open');
      await admitted(s, claims(911, key));
      expect((await admitted(s, claims(912, key))).mid).to.equal(912);
    });

    it('Redis: Connects racing for one key with different mids through two logic nodes: exactly one wins each key', async () => {
      scratch ??= new RedisScratch();
      const s = await boot({ logic: 2, cloud: [{ logic: [0] }, { logic: [1] }], redis: { keyPrefix: scratch.subPrefix() }, logicOverrides: { auth: { bindKeyToMid: true } } });
      const rounds = 25;
      const clients = await Promise.all(Array.from({ length: rounds * 2 }, (_, i) => s.connect(i % 2, 'ws')));
      const keys = Array.from({ length: rounds }, (_, r) => uniqueKey(`race-${r}`));
      // Every op 7 written before any answer can come back.
      clients.forEach((c, i) => c.send(Op.Auth, JSON.stringify(claims(920 + (i % 2), keys[Math.floor(i / 2)]))));
      const outcomes = await Promise.all(clients.map(async (c) => {
        await Promise.race([c.waitFor((p) => p.op === Op.AuthReply), c.waitForClose()]);
        return c.received(Op.AuthReply).length === 1 ? 'ok' : c.disconnectReason()?.reason.includes('E_KEY_HELD') ? 'held' : 'other';
      }));
      for (let r = 0; r < rounds; r++) {
        expect([outcomes[2 * r], outcomes[2 * r + 1]].sort(), keys[r]).to.deep.equal(['held', 'ok']);
      }
      const byKey = await s.stores[0].serversByKeys(keys);
      expect(byKey.size).to.equal(rounds);
    });
  });
});

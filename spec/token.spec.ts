import { expect } from 'chai';
import { CompactSign, SignJWT } from 'jose';
import { createTokenVerifier, MAX_TOKEN_BYTES, TokenVerifier } from '../system/auth/token';
import { ErrorName, ImError } from '../system/errors';

const GOIM_TOKEN = '{"mid":123, "key":"", "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}';
const SECRET = 'test-secret-of-reasonable-length-0123456789';
const CLAIMS = { mid: 123, key: 'k1', room_id: 'live://1000', platform: 'web', accepts: [1000, 1001] };

async function rejection(verifier: TokenVerifier, token: string | Buffer): Promise<ImError> {
  try {
    await verifier.verify(Buffer.isBuffer(token) ? token : Buffer.from(token));
  } catch (err) {
    expect(err).to.be.instanceOf(ImError);
    return err as ImError;
  }
  throw new Error(`token was accepted: ${token.toString()}`);
}

async function expectRejected(verifier: TokenVerifier, token: string | Buffer, name: ErrorName, mentions?: string): Promise<void> {
  const err = await rejection(verifier, token);
  expect(err.name, err.message).to.equal(name);
  if (mentions) expect(err.message).to.contain(mentions);
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** With an exp an hour ahead unless `exp` says otherwise (null: none). */
function sign(claims: Record<string, unknown>, alg = 'HS256', exp: number | string | null = '1h'): SignJWT {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt();
  return exp === null ? jwt : jwt.setExpirationTime(exp);
}

async function signed(claims: Record<string, unknown>, alg = 'HS256', secret = SECRET): Promise<string> {
  return sign(claims, alg).sign(new TextEncoder().encode(secret));
}

describe('token verifier: classic goim JSON', () => {
  const verifier = createTokenVerifier({ jwtSecret: '' });
  const token = (fields: Record<string, unknown>): string => JSON.stringify(fields);

  it('accepts the goim token exactly', async () => {
    const claims = await verifier.verify(Buffer.from(GOIM_TOKEN));
    expect(claims).to.deep.equal({ mid: '123', key: '', roomId: 'live://1000', platform: 'web', accepts: [1000, 1001, 1002] });
  });

  it('keeps a given key; an absent key, room, platform or accepts read as empty', async () => {
    expect((await verifier.verify(Buffer.from(token({ mid: 1, key: 'abc' })))).key).to.equal('abc');
    expect(await verifier.verify(Buffer.from(token({ mid: 1 })))).to.deep.equal({ mid: '1', key: '', roomId: '', platform: '', accepts: [] });
    expect(await verifier.verify(Buffer.from(token({ mid: 1, key: null, room_id: null, accepts: null })))).to.deep.equal({
      mid: '1', key: '', roomId: '', platform: '', accepts: [],
    });
  });

  it('accepts mid as a decimal string, mid 0, the int64 maximum and extra fields', async () => {
    expect((await verifier.verify(Buffer.from(token({ mid: '123' })))).mid).to.equal('123');
    expect((await verifier.verify(Buffer.from(token({ mid: '0042' })))).mid).to.equal('42');
    expect((await verifier.verify(Buffer.from(token({ mid: 0 })))).mid).to.equal('0');
    expect((await verifier.verify(Buffer.from(token({ mid: '9223372036854775807' })))).mid).to.equal('9223372036854775807');
    expect((await verifier.verify(Buffer.from(token({ mid: 7, extra: { a: 1 }, nick: 'x' })))).mid).to.equal('7');
  });

  it('accepts a token of exactly the size limit', async () => {
    const base = token({ mid: 1, pad: '' });
    const padded = token({ mid: 1, pad: 'x'.repeat(MAX_TOKEN_BYTES - base.length) });
    expect(Buffer.byteLength(padded)).to.equal(MAX_TOKEN_BYTES);
    expect((await verifier.verify(Buffer.from(padded))).mid).to.equal('1');
  });

  const invalid: ReadonlyArray<[string, string | Buffer, string]> = [
    ['empty token', Buffer.alloc(0), 'empty'],
    ['oversized token', token({ mid: 1, pad: 'x'.repeat(MAX_TOKEN_BYTES) }), 'bytes'],
    ['not JSON', 'mid=123', 'not JSON'],
    ['a JWT in classic mode', 'eyJhbGciOiJIUzI1NiJ9.eyJtaWQiOjF9.c2ln', 'not JSON'],
    ['a JSON array', '[1,2]', 'JSON object'],
    ['a JSON string', '"123"', 'JSON object'],
    ['JSON null', 'null', 'JSON object'],
    ['mid missing', token({ key: 'k' }), 'mid'],
    ['mid null', token({ mid: null }), 'mid'],
    ['mid a float', token({ mid: 1.5 }), 'mid'],
    ['mid negative', token({ mid: -1 }), 'mid'],
    ['mid a huge number', '{"mid":9223372036854775807}', 'mid'],
    ['mid a boolean', token({ mid: true }), 'mid'],
    ['mid an empty string', token({ mid: '' }), 'mid'],
    ['mid a negative string', token({ mid: '-1' }), 'mid'],
    ['mid a float string', token({ mid: '1.5' }), 'mid'],
    ['mid a hex string', token({ mid: '0x10' }), 'mid'],
    ['mid a string beyond int64', token({ mid: '9223372036854775808' }), 'mid'],
    ['mid a string of 20 digits', token({ mid: '18446744073709551615' }), 'mid'],
    ['key a number', token({ mid: 1, key: 5 }), 'key'],
    ['room_id a number', token({ mid: 1, room_id: 1000 }), 'room_id'],
    ['room_id without ://', token({ mid: 1, room_id: 'live1000' }), 'room_id'],
    ['room_id without a type', token({ mid: 1, room_id: '://1000' }), 'room_id'],
    ['room_id without an id', token({ mid: 1, room_id: 'live://' }), 'room_id'],
    ['platform a number', token({ mid: 1, platform: 3 }), 'platform'],
    ['accepts not an array', token({ mid: 1, accepts: 1000 }), 'accepts'],
    ['accepts with a float', token({ mid: 1, accepts: [1000, 1000.5] }), 'accepts[1]'],
    ['accepts with a string', token({ mid: 1, accepts: ['1000'] }), 'accepts[0]'],
    ['accepts beyond int32', token({ mid: 1, accepts: [2 ** 31] }), 'accepts[0]'],
  ];
  for (const [name, bad, mentions] of invalid) {
    it(`rejects ${name} with TOKEN_INVALID`, async () => {
      await expectRejected(verifier, bad, 'TOKEN_INVALID', mentions);
    });
  }
});

describe('token verifier: JWT mode', () => {
  const verifier = createTokenVerifier({ jwtSecret: SECRET });

  it('accepts an HS256 token and maps its claims', async () => {
    const claims = await verifier.verify(Buffer.from(await signed(CLAIMS)));
    expect(claims).to.deep.equal({ mid: '123', key: 'k1', roomId: 'live://1000', platform: 'web', accepts: [1000, 1001] });
  });

  it('accepts HS384 and HS512, a future exp, and surrounding whitespace', async () => {
    for (const alg of ['HS384', 'HS512']) {
      expect((await verifier.verify(Buffer.from(await signed(CLAIMS, alg)))).mid).to.equal('123');
    }
    const key = new TextEncoder().encode(SECRET);
    const fresh = await sign({ mid: '9' }).setExpirationTime('1h').sign(key);
    expect((await verifier.verify(Buffer.from(`\n${fresh} \r\n`))).mid).to.equal('9');
  });

  it('rejects a tampered payload with TOKEN_SIGNATURE', async () => {
    const [header, payload, signature] = (await signed(CLAIMS)).split('.');
    const i = Math.floor(payload.length / 2);
    const flipped = payload.slice(0, i) + (payload[i] === 'A' ? 'B' : 'A') + payload.slice(i + 1);
    await expectRejected(verifier, `${header}.${flipped}.${signature}`, 'TOKEN_SIGNATURE');
  });

  it('rejects a token signed with another secret with TOKEN_SIGNATURE', async () => {
    await expectRejected(verifier, await signed(CLAIMS, 'HS256', 'another-secret'), 'TOKEN_SIGNATURE');
  });

  it('rejects an expired token and a not-yet-valid token with TOKEN_EXPIRED', async () => {
    const key = new TextEncoder().encode(SECRET);
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(verifier, await sign(CLAIMS).setExpirationTime(now - 60).sign(key), 'TOKEN_EXPIRED');
    await expectRejected(verifier, await sign(CLAIMS).setNotBefore(now + 3600).sign(key), 'TOKEN_EXPIRED');
  });

  it('rejects an unsigned token (alg none) with TOKEN_ALGORITHM', async () => {
    const unsigned = `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify(CLAIMS))}.`;
    await expectRejected(verifier, unsigned, 'TOKEN_ALGORITHM');
  });

  it('rejects an RS256 header with TOKEN_ALGORITHM', async () => {
    const rs = `${b64url('{"alg":"RS256","typ":"JWT"}')}.${b64url(JSON.stringify(CLAIMS))}.${b64url('not-a-real-signature')}`;
    await expectRejected(verifier, rs, 'TOKEN_ALGORITHM');
  });

  it('rejects a token without exp with TOKEN_NO_EXP, unless jwtAllowNoExp', async () => {
    const key = new TextEncoder().encode(SECRET);
    const noExp = await sign(CLAIMS, 'HS256', null).sign(key);
    await expectRejected(verifier, noExp, 'TOKEN_NO_EXP');
    const lenient = createTokenVerifier({ jwtSecret: SECRET, jwtAllowNoExp: true });
    expect((await lenient.verify(Buffer.from(noExp))).mid).to.equal('123');
  });

  it('rejects a plain JSON token and malformed compact tokens with TOKEN_SIGNATURE', async () => {
    await expectRejected(verifier, GOIM_TOKEN, 'TOKEN_SIGNATURE');
    await expectRejected(verifier, 'a.b', 'TOKEN_SIGNATURE');
    await expectRejected(verifier, '!!!.???.###', 'TOKEN_SIGNATURE');
  });

  it('rejects a validly signed token with bad claims with TOKEN_INVALID', async () => {
    await expectRejected(verifier, await signed({ ...CLAIMS, mid: -1 }), 'TOKEN_INVALID', 'mid');
    await expectRejected(verifier, await signed({ key: 'k' }), 'TOKEN_INVALID', 'mid');
    await expectRejected(verifier, await signed({ ...CLAIMS, room_id: 'lobby' }), 'TOKEN_INVALID', 'room_id');
    await expectRejected(verifier, await signed({ ...CLAIMS, accepts: [1.5] }), 'TOKEN_INVALID', 'accepts');
  });

  it('rejects a validly signed payload that is not a JSON object with TOKEN_INVALID', async () => {
    const jws = await new CompactSign(new TextEncoder().encode('[1,2,3]'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await expectRejected(verifier, jws, 'TOKEN_INVALID');
  });

  it('rejects an oversized token with TOKEN_INVALID before any crypto', async () => {
    await expectRejected(verifier, 'a'.repeat(MAX_TOKEN_BYTES + 1), 'TOKEN_INVALID', 'bytes');
  });
});

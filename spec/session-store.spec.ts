import { expect } from 'chai';
import * as net from 'net';
import type { ServerOnline, SessionMapping, SessionStore } from '../actors/logic-ports';
import { ImError } from '../system/errors';
import { createSessionStore, MemorySessionStore, RedisSessionStore } from '../system/sessions';
import { onlineShard } from '../system/sessions/goim-layout';
import { RedisScratch, TEST_REDIS_URL } from './support/redis-scratch';

const TTL_S = 30;

/** A store under test plus a way to let time pass for it. */
interface StoreFixture {
  readonly store: SessionStore;
  /** Lets `ms` of every entry's life pass (memory: moves the clock; redis: shortens every TTL the store wrote). */
  elapse(ms: number): Promise<void>;
}

const mapping = (mid: string, key: string, server: string, connId?: string): SessionMapping => ({ mid, key, server, connId });

const online = (server: string, roomCount: Record<string, number>, connCount = 0, ipCount = 0): ServerOnline => ({
  server, roomCount, connCount, ipCount, updated: 1_700_000_000,
});

const byServer = (onlines: ServerOnline[]): ServerOnline[] => [...onlines].sort((a, b) => a.server.localeCompare(b.server));

/** Many rooms, so a report spreads over many ol_ shards. */
function manyRooms(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`live://${1000 + i}`, i + 1]));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function describeStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`session store contract: ${name}`, () => {
    let f: StoreFixture;
    let store: SessionStore;

    beforeEach(async () => {
      f = await makeStore();
      store = f.store;
    });

    afterEach(async () => {
      await store.close();
    });

    it('addUnlessHeld: a live key of another mid is refused and left as it was; the same mid, a free key and an expired one are taken', async () => {
      await store.add(mapping('123', 'k1', 'node-a:3109', 'c1'));
      expect(await store.addUnlessHeld(mapping('456', 'k1', 'node-b:3109', 'c2'))).to.equal(false);
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a:3109']]));
      expect(await store.keysByMids(['456'])).to.deep.equal(new Map());
      expect(await store.addUnlessHeld(mapping('0', 'k1', 'node-b:3109', 'c2'))).to.equal(false);
      expect(await store.addUnlessHeld(mapping('123', 'k1', 'node-b:3109', 'c3'))).to.equal(true);
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-b:3109']]));
      expect(await store.addUnlessHeld(mapping('0', 'guest', 'node-a:3109'))).to.equal(true);
      expect(await store.addUnlessHeld(mapping('-1', 'guest', 'node-a:3109'))).to.equal(true);
      expect(await store.addUnlessHeld(mapping('7', 'guest', 'node-a:3109'))).to.equal(false);
      await f.elapse((TTL_S + 1) * 1000);
      expect(await store.addUnlessHeld(mapping('456', 'k1', 'node-b:3109', 'c4'))).to.equal(true);
      expect(await store.keysByMids(['456'])).to.deep.equal(new Map([['k1', 'node-b:3109']]));
    });

    it('add makes the key findable by key and by mid', async () => {
      await store.add(mapping('123', 'k1', 'node-a:3109'));
      expect(await store.serversByKeys(['k1', 'unknown'])).to.deep.equal(new Map([['k1', 'node-a:3109']]));
      expect(await store.keysByMids(['123', '999'])).to.deep.equal(new Map([['k1', 'node-a:3109']]));
      expect(await store.serversByKeys([])).to.deep.equal(new Map());
      expect(await store.keysByMids([])).to.deep.equal(new Map());
    });

    it('a user with two keys on two servers gets both; several mids merge', async () => {
      await store.add(mapping('7', 'k1', 'node-a'));
      await store.add(mapping('7', 'k2', 'node-b'));
      await store.add(mapping('8', 'k3', 'node-a'));
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k1', 'node-a'], ['k2', 'node-b']]));
      expect(await store.keysByMids(['7', '8'])).to.deep.equal(new Map([['k1', 'node-a'], ['k2', 'node-b'], ['k3', 'node-a']]));
      expect(await store.serversByKeys(['k2', 'k3'])).to.deep.equal(new Map([['k2', 'node-b'], ['k3', 'node-a']]));
    });

    it('a key that connects again elsewhere points at the new server', async () => {
      await store.add(mapping('7', 'k1', 'node-a'));
      await store.add(mapping('7', 'k1', 'node-b'));
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-b']]));
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k1', 'node-b']]));
    });

    it('a late Disconnect from the old server leaves the key where it reconnected', async () => {
      await store.add(mapping('7', 'k1', 'node-a'));
      await store.add(mapping('7', 'k1', 'node-b'));
      expect(await store.remove(mapping('7', 'k1', 'node-a'))).to.equal(false);
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-b']]));
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k1', 'node-b']]));
      expect(await store.remove(mapping('7', 'k1', 'node-b'))).to.equal(true);
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map());
    });

    describe('connection ids (a client reconnecting with the same key)', () => {
      it("a stale connection's remove leaves the new session (key_ and mid_); the new connection's removes both", async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('7', 'k1', 'node-a', 'boot.2'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(false);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.2'))).to.equal(true);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map());
        expect(await store.keysByMids(['7'])).to.deep.equal(new Map());
      });

      it('a matching connection removes key_ and its mid_ field; the user keeps its other key', async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('7', 'k2', 'node-a', 'boot.2'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(true);
        expect(await store.serversByKeys(['k1', 'k2'])).to.deep.equal(new Map([['k2', 'node-a']]));
        expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k2', 'node-a']]));
        // Its conn record went with key_: a later session of the key without an id is removable by anyone on its server.
        await store.add(mapping('7', 'k1', 'node-a'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.9'))).to.equal(true);
      });

      it('a remove with no connection id behaves as before: the server alone decides', async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.2'));
        expect(await store.remove(mapping('7', 'k1', 'node-b'))).to.equal(false);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.remove(mapping('7', 'k1', 'node-a'))).to.equal(true);
        expect(await store.keysByMids(['7'])).to.deep.equal(new Map());
        // A session stored without an id (a goim comet) is removed by its server, id or not.
        await store.add(mapping('7', 'k1', 'node-a'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(true);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map());
      });

      it('a later Connect without an id clears the recorded connection', async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('7', 'k1', 'node-a'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.2'))).to.equal(true);
      });

      it("a stale connection of another user (shared device key) drops only that user's mid_ entry", async () => {
        await store.add(mapping('71', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('72', 'k1', 'node-a', 'boot.2'));
        expect(await store.remove(mapping('71', 'k1', 'node-a', 'boot.1'))).to.equal(false);
        expect(await store.keysByMids(['71'])).to.deep.equal(new Map());
        expect(await store.keysByMids(['72'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
      });

      it("a stale connection's Heartbeat changes nothing; the owner's re-add keeps its id", async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('7', 'k1', 'node-a', 'boot.2'));
        await store.refresh(mapping('7', 'k1', 'node-a', 'boot.1'));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(false);
        await f.elapse(TTL_S * 1000 + 1000);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map());
        await store.refresh(mapping('7', 'k1', 'node-a', 'boot.2'));
        expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(false);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.2'))).to.equal(true);
      });

      it('the recorded connection lives as long as key_: renewed by Heartbeat', async () => {
        await store.add(mapping('7', 'k1', 'node-a', 'boot.1'));
        await store.add(mapping('7', 'k1', 'node-a', 'boot.2'));
        await f.elapse(TTL_S * 1000 - 1000);
        await store.refresh(mapping('7', 'k1', 'node-a', 'boot.2'));
        await f.elapse(2000);
        expect(await store.remove(mapping('7', 'k1', 'node-a', 'boot.1'))).to.equal(false);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
      });
    });

    it('remove resolves true, then false; the user keeps its other key', async () => {
      await store.add(mapping('7', 'k1', 'node-a'));
      await store.add(mapping('7', 'k2', 'node-a'));
      expect(await store.remove(mapping('7', 'k1', 'node-a'))).to.equal(true);
      expect(await store.remove(mapping('7', 'k1', 'node-a'))).to.equal(false);
      expect(await store.serversByKeys(['k1', 'k2'])).to.deep.equal(new Map([['k2', 'node-a']]));
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map([['k2', 'node-a']]));
      expect(await store.remove(mapping('7', 'k2', 'node-a'))).to.equal(true);
      expect(await store.keysByMids(['7'])).to.deep.equal(new Map());
    });

    it('sessions expire after the TTL unless refreshed; refresh renews it', async () => {
      await store.add(mapping('1', 'kept', 'node-a'));
      await store.add(mapping('2', 'dropped', 'node-a'));
      await f.elapse(TTL_S * 1000 - 1000);
      await store.refresh(mapping('1', 'kept', 'node-a'));
      await f.elapse(2000);
      expect(await store.serversByKeys(['kept', 'dropped'])).to.deep.equal(new Map([['kept', 'node-a']]));
      expect(await store.keysByMids(['1', '2'])).to.deep.equal(new Map([['kept', 'node-a']]));
    });

    it('refresh re-adds a mapping that had expired (goim Heartbeat)', async () => {
      await store.add(mapping('1', 'k1', 'node-a'));
      await f.elapse(TTL_S * 1000 + 1000);
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map());
      await store.refresh(mapping('1', 'k1', 'node-a'));
      expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map([['k1', 'node-a']]));
      expect(await store.keysByMids(['1'])).to.deep.equal(new Map([['k1', 'node-a']]));
    });

    it("a user's mid_ hash expires as a whole: refreshing one key keeps the others listed (goim)", async () => {
      await store.add(mapping('1', 'active', 'node-a'));
      await store.add(mapping('1', 'silent', 'node-a'));
      await f.elapse(TTL_S * 1000 - 1000);
      await store.refresh(mapping('1', 'active', 'node-a'));
      await f.elapse(2000);
      expect(await store.keysByMids(['1'])).to.deep.equal(new Map([['active', 'node-a'], ['silent', 'node-a']]));
      expect(await store.serversByKeys(['active', 'silent'])).to.deep.equal(new Map([['active', 'node-a']]));
    });

    it('mid 0, negative or non-numeric maps the key only; mids are read as int64 decimals', async () => {
      for (const [mid, key] of [['0', 'k0'], ['-5', 'kneg'], ['abc', 'kabc'], ['', 'kempty'], ['0042', 'k42']]) {
        await store.add(mapping(mid, key, 'node-a'));
      }
      expect((await store.serversByKeys(['k0', 'kneg', 'kabc', 'kempty'])).size).to.equal(4);
      expect(await store.keysByMids(['0', '-5', 'abc', ''])).to.deep.equal(new Map());
      expect(await store.keysByMids(['42'])).to.deep.equal(new Map([['k42', 'node-a']]));
      await store.refresh(mapping('0', 'k0', 'node-a'));
      expect(await store.remove(mapping('abc', 'kabc', 'node-a'))).to.equal(true);
      expect(await store.serversByKeys(['kabc'])).to.deep.equal(new Map());
    });

    it('putOnline/allOnline round-trips rooms and counts, including a node with zero rooms', async () => {
      const busy = online('node-a:3109', manyRooms(200), 350, 120);
      const idle = online('node-b:3109', {});
      await store.putOnline(busy);
      await store.putOnline(idle);
      expect(byServer(await store.allOnline())).to.deep.equal([busy, idle]);
    });

    it('a later report replaces the earlier one: rooms that emptied disappear', async () => {
      await store.putOnline(online('node-a', { 'live://1': 2, 'live://2': 5, ...manyRooms(50) }, 57, 9));
      await store.putOnline(online('node-a', { 'live://1': 3 }, 3, 1));
      expect(await store.allOnline()).to.deep.equal([online('node-a', { 'live://1': 3 }, 3, 1)]);
    });

    it('online reports expire after the TTL unless put again', async () => {
      await store.putOnline(online('node-a', { 'live://1': 1 }, 1, 1));
      await store.putOnline(online('node-b', {}));
      await f.elapse(TTL_S * 1000 - 1000);
      await store.putOnline(online('node-a', { 'live://1': 2 }, 2, 1));
      await f.elapse(2000);
      expect(await store.allOnline()).to.deep.equal([online('node-a', { 'live://1': 2 }, 2, 1)]);
    });

    it('rejects with E_SESSION_STORE once closed', async () => {
      await store.close();
      const err = await rejection(store.serversByKeys(['k1']));
      expect(err).to.be.instanceOf(ImError).and.have.property('code', 'E_SESSION_STORE');
      expect(await rejection(store.add(mapping('1', 'k1', 'node-a')))).to.have.property('code', 'E_SESSION_STORE');
    });
  });
}

describeStoreContract('memory', async () => {
  let clock = 1_000_000;
  const store = new MemorySessionStore({ ttlSeconds: TTL_S, now: () => clock });
  return {
    store,
    elapse: async (ms) => {
      clock += ms;
    },
  };
});

describe('session store: redis', () => {
  const scratch = new RedisScratch();

  after(async () => {
    await scratch.cleanup();
  });

  describeStoreContract('redis', async () => {
    const prefix = scratch.subPrefix();
    const store = new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: TTL_S, keyPrefix: prefix });
    return { store, elapse: (ms) => scratch.elapse(prefix, ms) };
  });

  describe('redis only', () => {
    let prefix: string;
    let store: RedisSessionStore;

    beforeEach(() => {
      prefix = scratch.subPrefix();
      store = new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: TTL_S, keyPrefix: prefix });
    });

    afterEach(async () => {
      await store.close();
    });

    const ttlOf = async (key: string): Promise<number> => scratch.raw.ttl(key);

    it("writes sessions in goim's layout: key_<key> string, mid_<mid> hash, both with the TTL", async () => {
      await store.add(mapping('123', 'k1', 'node-a:3109'));
      await store.add(mapping('123', 'k2', 'node-b:3109'));
      await store.add(mapping('0', 'guest', 'node-a:3109'));
      const raw = scratch.raw;
      expect(await raw.get(`${prefix}key_k1`)).to.equal('node-a:3109');
      expect(await raw.hgetall(`${prefix}mid_123`)).to.deep.equal({ k1: 'node-a:3109', k2: 'node-b:3109' });
      expect(await raw.get(`${prefix}key_guest`)).to.equal('node-a:3109');
      expect(await raw.exists(`${prefix}mid_0`)).to.equal(0);
      for (const key of [`${prefix}key_k1`, `${prefix}mid_123`, `${prefix}key_guest`]) {
        expect(await ttlOf(key)).to.be.within(TTL_S - 2, TTL_S);
      }
      await store.remove(mapping('123', 'k1', 'node-a:3109'));
      expect(await raw.exists(`${prefix}key_k1`)).to.equal(0);
      expect(await raw.hkeys(`${prefix}mid_123`)).to.deep.equal(['k2']);
    });

    it('keeps the connection id in conn_<key> (ours) beside goim\'s key_ and mid_, with their TTL, and drops it with key_', async () => {
      await store.add(mapping('123', 'k1', 'node-a:3109', 'boot.1'));
      await store.add(mapping('0', 'guest', 'node-a:3109', 'boot.2'));
      await store.add(mapping('123', 'goim', 'node-a:3109'));
      const raw = scratch.raw;
      // goim's readers see exactly goim's layout.
      expect(await raw.get(`${prefix}key_k1`)).to.equal('node-a:3109');
      expect(await raw.hgetall(`${prefix}mid_123`)).to.deep.equal({ k1: 'node-a:3109', goim: 'node-a:3109' });
      expect(await raw.hgetall(`${prefix}conn_k1`)).to.deep.equal({ id: 'boot.1', mid: '123' });
      expect(await raw.hgetall(`${prefix}conn_guest`)).to.deep.equal({ id: 'boot.2', mid: '' });
      expect(await raw.exists(`${prefix}conn_goim`)).to.equal(0);
      expect(await ttlOf(`${prefix}conn_k1`)).to.be.within(TTL_S - 2, TTL_S);
      await store.remove(mapping('123', 'k1', 'node-a:3109', 'boot.1'));
      expect(await raw.exists(`${prefix}key_k1`, `${prefix}conn_k1`)).to.equal(0);
    });

    it('addUnlessHeld: a live session goim wrote (no conn_) counts as held; what it writes records the mid in conn_', async () => {
      await scratch.raw.set(`${prefix}key_k1`, 'node-a', 'EX', TTL_S);
      expect(await store.addUnlessHeld(mapping('5', 'k1', 'node-b'))).to.equal(false);
      expect(await scratch.raw.get(`${prefix}key_k1`)).to.equal('node-a');
      expect(await store.addUnlessHeld(mapping('5', 'k2', 'node-b'))).to.equal(true);
      expect(await scratch.raw.hgetall(`${prefix}conn_k2`)).to.deep.equal({ id: '', mid: '5' });
      expect(await ttlOf(`${prefix}conn_k2`)).to.be.within(TTL_S - 2, TTL_S);
    });

    it('addUnlessHeld: of many Connects racing for each key from two connections with different mids, one wins each key', async () => {
      const other = new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: TTL_S, keyPrefix: prefix });
      try {
        const keys = Array.from({ length: 200 }, (_, i) => `race-${i}`);
        const wins = await Promise.all(keys.flatMap((key) => [store.addUnlessHeld(mapping('1', key, 'node-a')), other.addUnlessHeld(mapping('2', key, 'node-b'))]));
        for (let i = 0; i < keys.length; i++) expect([wins[2 * i], wins[2 * i + 1]].filter(Boolean), keys[i]).to.have.length(1);
      } finally {
        await other.close();
      }
    });

    it('a session goim wrote (no conn_) is removed by its server whatever connection id comes', async () => {
      await scratch.raw.set(`${prefix}key_k1`, 'node-a', 'EX', TTL_S);
      await scratch.raw.hset(`${prefix}mid_5`, 'k1', 'node-a');
      expect(await store.remove(mapping('5', 'k1', 'node-a', 'boot.1'))).to.equal(true);
      expect(await scratch.raw.exists(`${prefix}key_k1`, `${prefix}mid_5`)).to.equal(0);
    });

    it("writes online reports in goim's layout: ol_<server> fields are shard numbers holding goim's JSON", async () => {
      const rooms = manyRooms(100);
      await store.putOnline(online('node-a:3109', rooms, 42, 7));
      const hash = await scratch.raw.hgetall(`${prefix}ol_node-a:3109`);
      const seen: Record<string, number> = {};
      for (const [field, text] of Object.entries(hash)) {
        expect(Number(field)).to.be.within(0, 63);
        const json = JSON.parse(text) as { server: string; room_count: Record<string, number>; updated: number };
        expect(json).to.include({ server: 'node-a:3109', updated: 1_700_000_000 });
        for (const [room, count] of Object.entries(json.room_count)) {
          expect(onlineShard(room), room).to.equal(Number(field));
          seen[room] = count;
        }
      }
      expect(Object.keys(hash).length).to.be.greaterThan(20);
      expect(seen).to.deep.equal(rooms);
      expect(JSON.parse(hash['0'])).to.include({ conn_count: 42, ip_count: 7 });
      expect(await ttlOf(`${prefix}ol_node-a:3109`)).to.be.within(TTL_S - 2, TTL_S);
      expect(await scratch.raw.smembers(`${prefix}ol_servers`)).to.deep.equal(['node-a:3109']);
    });

    it('a node with zero rooms still has shard "0"', async () => {
      await store.putOnline(online('idle', {}, 0, 0));
      const hash = await scratch.raw.hgetall(`${prefix}ol_idle`);
      expect(Object.keys(hash)).to.deep.equal(['0']);
      expect(JSON.parse(hash['0'])).to.deep.equal({ server: 'idle', room_count: {}, updated: 1_700_000_000, conn_count: 0, ip_count: 0 });
    });

    it('reads an ol_ hash written the goim way (several shards, no counts)', async () => {
      const shard = (rooms: Record<string, number>, updated: number): string => JSON.stringify({ server: 'goim', room_count: rooms, updated });
      await scratch.raw.hset(`${prefix}ol_goim`, { '3': shard({ 'live://1': 4 }, 10), '17': shard({ 'live://2': 6 }, 12) });
      await scratch.raw.sadd(`${prefix}ol_servers`, 'goim');
      expect(await store.allOnline()).to.deep.equal([
        { server: 'goim', roomCount: { 'live://1': 4, 'live://2': 6 }, connCount: 0, ipCount: 0, updated: 12 },
      ]);
    });

    it('allOnline drops servers whose ol_ hash expired from ol_servers', async () => {
      await store.putOnline(online('gone', { 'live://1': 1 }));
      await store.putOnline(online('here', {}));
      await scratch.raw.del(`${prefix}ol_gone`);
      expect((await store.allOnline()).map((o) => o.server)).to.deep.equal(['here']);
      expect(await scratch.raw.smembers(`${prefix}ol_servers`)).to.deep.equal(['here']);
    });

    it('two stores on the same Redis (two logic nodes) see each other\'s sessions and reports', async () => {
      const other = new RedisSessionStore({ url: TEST_REDIS_URL, ttlSeconds: TTL_S, keyPrefix: prefix });
      try {
        await store.add(mapping('5', 'k1', 'node-a'));
        await other.add(mapping('5', 'k2', 'node-b'));
        expect(await other.keysByMids(['5'])).to.deep.equal(new Map([['k1', 'node-a'], ['k2', 'node-b']]));
        expect(await store.serversByKeys(['k2'])).to.deep.equal(new Map([['k2', 'node-b']]));
        expect(await other.remove(mapping('5', 'k1', 'node-a'))).to.equal(true);
        expect(await store.serversByKeys(['k1'])).to.deep.equal(new Map());
        await store.putOnline(online('node-a', { 'live://1': 1 }, 1, 1));
        await other.putOnline(online('node-b', { 'live://1': 2 }, 2, 2));
        const expected = [online('node-a', { 'live://1': 1 }, 1, 1), online('node-b', { 'live://1': 2 }, 2, 2)];
        expect(byServer(await store.allOnline())).to.deep.equal(expected);
        expect(byServer(await other.allOnline())).to.deep.equal(expected);
      } finally {
        await other.close();
      }
    });

    it('an unreachable Redis makes calls reject promptly with E_SESSION_STORE', async () => {
      const down = new RedisSessionStore({ url: 'redis://127.0.0.1:1', ttlSeconds: TTL_S, keyPrefix: prefix });
      try {
        const started = Date.now();
        const errors = await Promise.all([
          rejection(down.add(mapping('1', 'k1', 'node-a'))),
          rejection(down.serversByKeys(['k1'])),
          rejection(down.keysByMids(['1'])),
          rejection(down.putOnline(online('node-a', {}))),
          rejection(down.allOnline()),
        ]);
        expect(Date.now() - started).to.be.below(3000);
        for (const err of errors) {
          expect(err).to.be.instanceOf(ImError).and.have.property('code', 'E_SESSION_STORE');
        }
        expect((errors[0] as Error).message).to.match(/ECONNREFUSED/);
        const again = Date.now();
        expect(await rejection(down.refresh(mapping('1', 'k1', 'node-a')))).to.have.property('code', 'E_SESSION_STORE');
        expect(Date.now() - again).to.be.below(3000);
      } finally {
        const closing = Date.now();
        await down.close();
        expect(Date.now() - closing).to.be.below(500);
      }
    });

    it('a Redis that accepts but never answers makes calls reject after commandTimeoutMs', async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as net.AddressInfo;
      const hung = new RedisSessionStore({ url: `redis://127.0.0.1:${port}`, ttlSeconds: TTL_S, commandTimeoutMs: 300 });
      try {
        const started = Date.now();
        const err = await rejection(hung.serversByKeys(['k1']));
        expect(err).to.be.instanceOf(ImError).and.have.property('code', 'E_SESSION_STORE');
        expect((err as Error).message).to.match(/timed out/);
        expect(Date.now() - started).to.be.within(250, 2000);
      } finally {
        await hung.close();
        silent.close();
      }
    });
  });
});

describe('session store: memory housekeeping and factory', () => {
  it('expired entries are swept, by sweep() and by the periodic timer', async () => {
    let clock = 0;
    const store = new MemorySessionStore({ ttlSeconds: 10, now: () => clock, sweepIntervalMs: 20 });
    try {
      for (let i = 0; i < 100; i++) await store.add(mapping(String(i + 1), `k${i}`, 'node-a'));
      await store.putOnline(online('node-a', {}));
      expect(store.size).to.equal(201);
      clock += 5000;
      expect(store.sweep()).to.equal(0);
      clock += 5000;
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(store.size).to.equal(0);
    } finally {
      await store.close();
    }
  });

  it('createSessionStore builds the configured kind', async () => {
    const memory = createSessionStore({ store: 'memory', redisUrl: TEST_REDIS_URL, ttlSeconds: 5 });
    const redis = createSessionStore({ store: 'redis', redisUrl: TEST_REDIS_URL, ttlSeconds: 5 }, { keyPrefix: 'im-cloud-ts-test:factory:' });
    try {
      expect(memory).to.be.instanceOf(MemorySessionStore).and.have.property('kind', 'memory');
      expect(redis).to.be.instanceOf(RedisSessionStore).and.have.property('kind', 'redis');
      expect(await redis.serversByKeys(['nobody'])).to.deep.equal(new Map());
    } finally {
      await memory.close();
      await redis.close();
    }
  });
});

/**
 * Issue 8, item 1: a client that drops and at once reconnects with the same
 * key keeps its pushes.
 *
 * The race: the old connection's Disconnect can reach logic after the new
 * connection's Connect. Both name the same key and the same server, so a
 * store that matched on the server alone deleted the new session: pushes to
 * the key and to the mid found nobody until the next logic Heartbeat
 * (minutes later), while the push API still answered {"code":0}. Now every
 * Connect, Heartbeat and Disconnect carries the connection's id, and a
 * Disconnect removes only its own connection's session.
 *
 * Each round, through the whole system (HTTP push API → logic → gRPC → cloud
 * node → socket): connect with a client-chosen key and a mid of its own,
 * open the next socket, close the first, send op 7 on the next one 0–3 ms
 * later with the same key, let the cloud node settle (the old connection's
 * actor gone, its bucket and the logic gateway idle, so any Disconnect it
 * owed has been answered by logic), then push to the key and to the mid. A
 * round is lost when either push finds no session (logic no longer maps the
 * key or the mid: the API still answers code 0, with 0 targets) or does not
 * arrive.
 *
 * Before the fix, 25–31 rounds in 100 were lost, on each transport and
 * either store (three runs on one machine); nearly every round with a 0 ms
 * gap, a few of the others. The race is counted too (a Disconnect that
 * removed nothing while the key stays mapped), so the spec fails if it
 * stops exercising it.
 *
 * Also: a key taken over by another user (a shared device) must stop
 * routing the first user's pushes to it.
 */
import { expect } from 'chai';
import { Op } from '../system/codec/packet';
import { RedisScratch } from './support/redis-scratch';
import { SystemHarness, SystemOptions, Transport } from './support/system-harness';
import type { TestClient } from './support/test-client';

const ROUNDS = 100;
const BIZ = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lets `ms` pass with the event loop free; 0 is the next turn (a 0 ms timer would wait 1 ms). */
const gap = (ms: number): Promise<void> => (ms === 0 ? new Promise((r) => setImmediate(r)) : sleep(ms));

/** Waits until the cloud node has done everything the closed connection set in motion. */
async function settled(sys: SystemHarness, live: number): Promise<void> {
  const node = sys.cloud[0];
  const runtime = node.runtime;
  const deadline = Date.now() + 5000;
  while (runtime.count('connection') > live) {
    if (Date.now() > deadline) throw new Error(`the closed connection's actor did not stop (${runtime.count('connection')} left)`);
    await sleep(1);
  }
  // The old actor told its bucket 'del'; the bucket may have told the gateway 'disconnect'.
  for (const bucket of runtime.list({ kind: 'bucket' })) {
    const ref = runtime.refAt(bucket.path);
    if (ref) await runtime.barrier(ref, 1000);
  }
  const [gateway] = runtime.list({ kind: 'logic-gateway' });
  const gatewayRef = runtime.refAt(gateway.path);
  if (gatewayRef) await runtime.barrier(gatewayRef, 1000);
  for (;;) {
    const state = runtime.list({ kind: 'logic-gateway', withState: true })[0]?.state as { inFlight: number; queued: number };
    if (state.inFlight === 0 && state.queued === 0) return;
    if (Date.now() > deadline) throw new Error(`the logic gateway did not go idle: ${JSON.stringify(state)}`);
    await sleep(1);
  }
}

function arrived(client: TestClient, body: string): Promise<unknown> {
  return client.waitFor((p) => p.op === BIZ && p.body.toString('utf8') === body, 3000, `push "${body}"`);
}

/** Pushes through logic's HTTP API; resolves with how many sessions (keys) logic found for it. */
async function push(sys: SystemHarness, path: string, query: Record<string, string | number>, body: string): Promise<number> {
  const reply = await sys.http(path, { method: 'POST', query, body });
  expect(reply.status, reply.text).to.equal(200);
  expect(reply.json).to.include({ code: 0, message: '' });
  return (reply.json.data as { targets: number }).targets;
}

function describeRace(storeKind: 'memory' | 'redis'): void {
  describe(`reconnect with the same key keeps its pushes (${storeKind} store)`, function () {
    this.timeout(30_000);
    const scratch = storeKind === 'redis' ? new RedisScratch() : null;
    let sys: SystemHarness;

    before(async () => {
      const options: SystemOptions = scratch ? { redis: { keyPrefix: scratch.subPrefix() } } : {};
      sys = await SystemHarness.start(options);
    });

    after(async () => {
      await sys?.stop();
      await scratch?.cleanup();
    });

    for (const [t, transport] of (['ws', 'tcp'] as const).entries()) {
      it(`${transport}: ${ROUNDS} rounds of close and reconnect 0-3 ms later; every push to the key and the mid arrives`, async () => {
        const store = sys.stores[0];
        const lost: string[] = [];
        let lateDisconnects = 0;
        // A Disconnect that removed nothing while the key stays mapped came after the successor's Connect: the race itself.
        const remove = store.remove.bind(store);
        store.remove = async (mapping) => {
          const removed = await remove(mapping);
          if (!removed && (await store.serversByKeys([mapping.key])).has(mapping.key)) lateDisconnects++;
          return removed;
        };
        const open: TestClient[] = [];
        try {
          for (let round = 0; round < ROUNDS; round++) {
            const key = `race-${storeKind}-${transport}-${process.pid}-${Date.now().toString(36)}-${round}`;
            // A mid of its own, so a push to it addresses this round's connection only.
            const mid = 800_000 + (storeKind === 'redis' ? 10_000 : 0) + t * 1000 + round;
            const token = { mid, key, room_id: '', platform: 'web', accepts: [BIZ] };
            const first = await sys.online(0, transport as Transport, token);
            // The new socket is up before the old one ends (as when a client notices a dead link first).
            const next = await sys.connect(0, transport as Transport);
            open.push(next);
            first.client.close();
            await gap(round % 4);
            const auth = await next.auth(token);
            const second = { client: next, auth };
            expect(second.auth.key).to.equal(key);
            await settled(sys, open.length);

            // Before the fix a lost round still answered code 0, with no target found.
            const byKey = await push(sys, '/im/push/keys', { operation: BIZ, keys: key }, `key-${round}`);
            const byMid = await push(sys, '/im/push/mids', { operation: BIZ, mids: mid }, `mid-${round}`);
            if (byKey !== 1 || byMid !== 1) {
              lost.push(`round ${round}: the push to the key found ${byKey} session(s), the push to the mid ${byMid}`);
              continue;
            }
            await Promise.all([arrived(second.client, `key-${round}`), arrived(second.client, `mid-${round}`)]);
            expect(second.client.received(Op.DisconnectReply), `round ${round}: the new connection was closed`).to.deep.equal([]);
          }
        } finally {
          store.remove = remove;
          for (const client of open) client.destroy();
        }
        expect(lost, `${lost.length} of ${ROUNDS} rounds lost their pushes`).to.deep.equal([]);
        expect(lateDisconnects, 'no Disconnect reached logic after its successor\'s Connect: the race was not exercised').to.be.greaterThan(0);
      });
    }
  });
}

function describeHandover(storeKind: 'memory' | 'redis'): void {
  describe(`a key taken over by another user (${storeKind} store)`, () => {
    const scratch = storeKind === 'redis' ? new RedisScratch() : null;
    let sys: SystemHarness;

    before(async () => {
      sys = await SystemHarness.start(scratch ? { redis: { keyPrefix: scratch.subPrefix() } } : {});
    });

    after(async () => {
      await sys?.stop();
      await scratch?.cleanup();
    });

    for (const transport of ['ws', 'tcp'] as const) {
      it(`${transport}: pushes to the first user stop reaching the key; the second user's arrive`, async () => {
        // A shared device: user 71 is online with the device's key, user 72 logs in with the same key.
        const key = `handover-${storeKind}-${transport}-${process.pid}-${Date.now().toString(36)}`;
        const token = (mid: number): object => ({ mid, key, room_id: '', platform: 'web', accepts: [BIZ] });
        const first = await sys.online(0, transport, token(71));
        const second = await sys.online(0, transport, token(72));
        try {
          await first.client.waitForClose();
          expect(first.client.disconnectReason()?.code).to.equal('E_REPLACED');
          await settled(sys, 1);
          expect(await push(sys, '/im/push/mids', { operation: BIZ, mids: 71 }, 'for-71'), 'sessions of user 71').to.equal(0);
          expect(await push(sys, '/im/push/mids', { operation: BIZ, mids: 72 }, 'for-72'), 'sessions of user 72').to.equal(1);
          // Sentinel: logic pushes to a cloud node one push at a time (SystemHarness), so 'for-71' would be here by now.
          await push(sys, '/im/push/keys', { operation: BIZ, keys: key }, 'sentinel');
          await arrived(second.client, 'sentinel');
          expect(second.client.bodies(BIZ)).to.deep.equal(['for-72', 'sentinel']);
        } finally {
          first.client.destroy();
          second.client.destroy();
        }
      });
    }
  });
}

describeRace('memory');
describeRace('redis');
describeHandover('memory');
describeHandover('redis');

/**
 * The parts the admin endpoint walks with: sliced walks that let the event
 * loop run, cursors, the bounded top-N heap, the one-walk-at-a-time gate and
 * the connection index. Without sockets.
 */
import { expect } from 'chai';
import type { ClientHandle } from '../actors/ports';
import { decodeCursor, encodeCursor, pageOf, SLICE, walkInSlices } from '../system/admin/slices';
import { TopHeap } from '../system/admin/top-heap';
import { WalkGate } from '../system/admin/walk-gate';
import { ConnectionLookup, ipOf } from '../system/cloud/connection-index';

function handle(id: number, remoteAddress: string): ClientHandle {
  return {
    id, transport: 'tcp', remoteAddress, cookie: '', closed: false, send: () => true, close: () => undefined, settled: () => undefined,
    traffic: () => ({ bytesIn: 0, bytesOut: 0, queuedBytes: 0 }),
  };
}

describe('admin walks', () => {
  it('a walk over a long list lets the event loop run between slices, and sees a live Map as it changes', async () => {
    const items = new Map<number, number>();
    for (let i = 0; i < SLICE * 5; i++) items.set(i, i);
    const loopTurnsAt: number[] = [];
    let visited = 0;
    // An immediate queued before the walk runs once the first slice yields, then re-queues itself.
    const tick = (): void => {
      loopTurnsAt.push(visited);
      if (visited < items.size) setImmediate(tick);
    };
    setImmediate(tick);
    await walkInSlices(items.keys(), (key) => {
      visited++;
      // Deleting ahead and adding behind, as actors stop and start during a walk.
      if (key === 10) items.delete(SLICE * 5 - 1);
      if (key === 11) items.set(SLICE * 5 + 1, 0);
    });
    expect(visited).to.equal(SLICE * 5);
    expect(loopTurnsAt.filter((at) => at > 0 && at < visited).length).to.be.at.least(4);
    expect(loopTurnsAt.every((at) => at % SLICE === 0)).to.equal(true);
  });

  it('pages a list by position, with an opaque cursor, and refuses a cursor it did not give', async () => {
    const list = Array.from({ length: 7 }, (_, i) => `item-${i}`);
    const first = await pageOf(list, 0, 3, (x) => x.toUpperCase());
    expect(first).to.deep.equal({ items: ['ITEM-0', 'ITEM-1', 'ITEM-2'], next: 3 });
    const cursor = encodeCursor(first.next);
    expect(cursor).to.be.a('string').and.not.match(/3/);
    const last = await pageOf(list, decodeCursor(cursor) ?? -1, 10, (x) => x);
    expect(last).to.deep.equal({ items: ['item-3', 'item-4', 'item-5', 'item-6'], next: null });
    expect(encodeCursor(null)).to.equal(null);
    expect(decodeCursor(null)).to.equal(0);
    expect(decodeCursor('')).to.equal(0);
    expect(decodeCursor('not-ours')).to.equal(null);
    expect(decodeCursor(Buffer.from('p-1').toString('base64url'))).to.equal(null);
    // A page that ends exactly at the list's end says so.
    expect((await pageOf(list, 4, 3, (x) => x)).next).to.equal(null);
  });

  it('a page of described items lets the loop run every hundred or so, however few items it steps over', async () => {
    const list = Array.from({ length: 500 }, (_, i) => i);
    let described = 0;
    const turnsAt: number[] = [];
    const tick = (): void => {
      turnsAt.push(described);
      if (described < list.length) setImmediate(tick);
    };
    setImmediate(tick);
    const page = await pageOf(list, 0, 500, (x) => {
      described++;
      return x;
    });
    expect(page.items).to.have.length(500);
    const during = turnsAt.filter((at) => at > 0 && at < 500);
    expect(during.length).to.be.at.least(4);
    expect(Math.min(...during)).to.be.at.most(SLICE / 10);
  });

  it('keeps the n highest scores, highest first, without keeping the rest', () => {
    const heap = new TopHeap<string>(3);
    const scores = [5, 1, 9, 7, 3, 9, 2, 8];
    scores.forEach((score, i) => heap.offer(score, `a${i}:${score}`));
    expect(heap.sorted().map((x) => Number(x.split(':')[1]))).to.deep.equal([9, 9, 8]);
    const none = new TopHeap<string>(0);
    none.offer(1, 'x');
    expect(none.sorted()).to.deep.equal([]);
    const all = new TopHeap<number>(10);
    for (let i = 0; i < 1000; i++) all.offer((i * 7919) % 1000, i);
    expect(all.sorted().map((i) => (i * 7919) % 1000)).to.deep.equal([999, 998, 997, 996, 995, 994, 993, 992, 991, 990]);
  });

  it('runs one walk at a time: an identical request shares the running walk, others wait, too many are refused', async () => {
    const gate = new WalkGate<string>(2);
    const started: string[] = [];
    const releases: Array<() => void> = [];
    const walk = (name: string) => (): Promise<string> => {
      started.push(name);
      return new Promise((resolve) => releases.push(() => resolve(name)));
    };
    const a = gate.run('a', walk('a'));
    await Promise.resolve();
    await Promise.resolve();
    const a2 = gate.run('a', walk('a-again'));
    const b = gate.run('b', walk('b'));
    const c = gate.run('c', walk('c'));
    const d = gate.run('d', walk('d'));
    await d.then(() => expect.fail('a third waiting walk must be refused'), (error: Error & { code?: string }) => expect(error.code).to.equal('E_ADMIN_BUSY'));
    expect(started).to.deep.equal(['a']);
    releases[0]();
    expect(await a).to.equal('a');
    expect(await a2).to.equal('a');
    await new Promise((r) => setImmediate(r));
    expect(started).to.deep.equal(['a', 'b']);
    releases[1]();
    expect(await b).to.equal('b');
    await new Promise((r) => setImmediate(r));
    releases[2]();
    expect(await c).to.equal('c');
    expect(started).to.deep.equal(['a', 'b', 'c']);
  });

  it('a walk that fails frees the gate for the next one', async () => {
    const gate = new WalkGate<number>(4);
    const failed = gate.run('x', () => Promise.reject(new Error('broken summary')));
    const next = gate.run('y', () => Promise.resolve(1));
    await failed.then(() => expect.fail('must reject'), (error: Error) => expect(error.message).to.equal('broken summary'));
    expect(await next).to.equal(1);
  });

  it('indexes connections by user and by IP, one number for a lone value and a set for a shared one', () => {
    const lookup = new ConnectionLookup();
    const a = handle(1, '127.0.0.1:5000');
    const b = handle(2, '::ffff:127.0.0.1:5001');
    const c = handle(3, '[::1]:5002');
    for (const h of [a, b, c]) lookup.opened(h);
    lookup.identified(a, '7');
    lookup.identified(b, '7');
    lookup.identified(c, '8');
    expect(lookup.find('ip', '127.0.0.1', 10)).to.deep.equal({ ids: [1, 2], total: 2 });
    expect(lookup.find('ip', '::ffff:127.0.0.1', 1)).to.deep.equal({ ids: [1], total: 2 });
    expect(lookup.find('ip', '::1', 10)).to.deep.equal({ ids: [3], total: 1 });
    expect(lookup.find('mid', '7', 10)).to.deep.equal({ ids: [1, 2], total: 2 });
    lookup.forgotten(a, '7');
    expect(lookup.find('mid', '7', 10)).to.deep.equal({ ids: [2], total: 1 });
    // Forgetting what was never there, or twice, changes nothing.
    lookup.forgotten(a, '7');
    lookup.forgotten(c, '9');
    expect(lookup.find('mid', '8', 10)).to.deep.equal({ ids: [3], total: 1 });
    for (const h of [a, b, c]) lookup.closed(h);
    lookup.forgotten(b, '7');
    lookup.forgotten(c, '8');
    expect(lookup.distinct('ip')).to.equal(0);
    expect(lookup.distinct('mid')).to.equal(0);
    expect(ipOf('10.1.2.3:80')).to.equal('10.1.2.3');
    expect(ipOf('[2001:db8::1]:443')).to.equal('2001:db8::1');
    expect(ipOf('2001:db8::1:443')).to.equal('2001:db8::1');
  });
});

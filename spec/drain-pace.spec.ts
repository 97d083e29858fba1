/**
 * The drain's pace, driven with explicit times (no timers): how many
 * connections a draining node tells when, over which shards, and the
 * reconnect hint each gets.
 */
import { expect } from 'chai';
import { DrainPace, RECONNECT_JITTER_MS } from '../system/cloud/drain-pace';

const half = (): number => 0.5;

function sum(hints: readonly (readonly number[])[]): number {
  return hints.reduce((n, h) => n + h.length, 0);
}

describe('drain pace', () => {
  it('tells at most ratePerSec a second, and all of them in count/rate', () => {
    const pace = new DrainPace({ waiting: [13, 12, 13, 12, 13, 12, 13, 12], ratePerSec: 50, budgetMs: 10_000 }, half);
    expect(pace.total).to.equal(100);
    expect(pace.raised).to.equal(false);
    expect(pace.expectedMs).to.equal(2000);
    let told = 0;
    for (let t = 0; t <= 2000; t += 7) {
      told += sum(pace.next(t));
      expect(told, `told by ${t} ms`).to.be.at.most(Math.floor((50 * t) / 1000));
      expect(told, `told by ${t} ms`).to.be.at.least(Math.floor((50 * t) / 1000) - 1);
    }
    told += sum(pace.next(2000));
    expect(told).to.equal(100);
    expect(pace.finished).to.equal(true);
    expect(sum(pace.next(5000)), 'nothing more once all were told').to.equal(0);
  });

  it('spreads each batch round-robin over the shards, resuming where the last one stopped', () => {
    const pace = new DrainPace({ waiting: [10, 10, 10, 10], ratePerSec: 1000, budgetMs: 60_000 }, half);
    expect(pace.next(6).map((h) => h.length)).to.deep.equal([2, 2, 1, 1]);
    expect(pace.next(8).map((h) => h.length), 'the next batch starts at the shard after the last one served').to.deep.equal([0, 0, 1, 1]);
    expect(pace.next(12).map((h) => h.length)).to.deep.equal([1, 1, 1, 1]);
  });

  it('skips shards that have nothing left to tell', () => {
    const pace = new DrainPace({ waiting: [0, 3, 0, 1], ratePerSec: 1000, budgetMs: 60_000 }, half);
    expect(pace.next(3).map((h) => h.length)).to.deep.equal([0, 2, 0, 1]);
    expect(pace.next(100).map((h) => h.length)).to.deep.equal([0, 1, 0, 0]);
    expect(pace.finished).to.equal(true);
  });

  it('each hint is the jitter when told at the configured rate, and the hints differ', () => {
    const fixed = new DrainPace({ waiting: [4], ratePerSec: 1000, budgetMs: 60_000 }, half);
    expect(fixed.next(4)[0]).to.deep.equal([500, 500, 500, 500]);
    const random = new DrainPace({ waiting: [200], ratePerSec: 100_000, budgetMs: 60_000 }, Math.random);
    const hints = random.next(2)[0];
    expect(hints).to.have.length(200);
    expect(Math.min(...hints)).to.be.at.least(0);
    expect(Math.max(...hints)).to.be.at.most(RECONNECT_JITTER_MS);
    expect(new Set(hints).size, 'jittered hints').to.be.above(100);
  });

  it('a deadline beats the rate: raised to tell all within the budget, hints keep the returns at the configured rate', () => {
    const pace = new DrainPace({ waiting: [500, 500], ratePerSec: 10, budgetMs: 2000 }, () => 0);
    expect(pace.raised).to.equal(true);
    expect(pace.ratePerSec).to.equal(500);
    expect(pace.expectedMs).to.equal(2000);
    const first = pace.next(1000);
    expect(sum(first)).to.equal(500);
    // The k-th client told at 1 s would have been told at k/10 s: it is asked to wait the difference.
    const hints = first.flat().sort((a, b) => a - b);
    expect(hints[0]).to.equal(0);
    expect(hints[hints.length - 1]).to.equal(499 * 100 - 1000);
    expect(sum(pace.next(2000))).to.equal(500);
    expect(pace.finished).to.equal(true);
  });

  it('no time at all: everyone at once', () => {
    const pace = new DrainPace({ waiting: [3, 2], ratePerSec: 1, budgetMs: 0 }, half);
    expect(pace.raised).to.equal(true);
    expect(sum(pace.next(0))).to.equal(5);
    expect(pace.finished).to.equal(true);
  });

  it('nothing to tell: finished from the start', () => {
    const pace = new DrainPace({ waiting: [0, 0], ratePerSec: 100, budgetMs: 1000 }, half);
    expect(pace.finished).to.equal(true);
    expect(pace.raised).to.equal(false);
    expect(pace.expectedMs).to.equal(0);
  });

  it('connections found after the plan get hints too, numbered after the others', () => {
    const pace = new DrainPace({ waiting: [2], ratePerSec: 1, budgetMs: 60_000 }, () => 0);
    pace.next(60_000);
    expect(pace.extra(2, 60_000)).to.deep.equal([0, 0]);
    expect(pace.told).to.equal(4);
  });
});

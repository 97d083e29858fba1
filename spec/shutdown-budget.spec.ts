/**
 * The stop's time budget: every bounded wait of a stop fitted into
 * shutdown.deadlineMs, driven with explicit times (no timers).
 */
import { expect } from 'chai';
import { ShutdownBudget, SHUTDOWN_MARGIN_MS, within } from '../system/shutdown-budget';

const STAGES = [
  { name: 'connections', boundMs: 8000 },
  { name: 'disconnects', boundMs: 3000 },
  { name: 'grpc', boundMs: 5000 },
];

describe('shutdown budget', () => {
  it('bounds that fit are kept as configured, and the open phase gets the rest', () => {
    const b = new ShutdownBudget(0, 60_000, STAGES, { openShare: 0.5 });
    expect(b.scale).to.equal(1);
    expect(b.marginMs).to.equal(SHUTDOWN_MARGIN_MS);
    expect(b.openPhaseEndsAt).to.equal(60_000 - SHUTDOWN_MARGIN_MS - 16_000);
    expect(b.allow('connections', b.openPhaseEndsAt)).to.equal(8000);
    expect(b.allow('grpc', 60_000 - SHUTDOWN_MARGIN_MS - 5000)).to.equal(5000);
  });

  it('bounds that do not fit are scaled down together, and the open phase keeps its share', () => {
    const b = new ShutdownBudget(0, 10_000, STAGES, { openShare: 0.5 });
    // (10,000 - 500 margin) / 2 = 4,750 for 16,000 asked.
    expect(b.scale).to.be.closeTo(4750 / 16_000, 1e-9);
    expect(b.boundOf('connections')).to.equal(Math.floor(8000 * b.scale));
    expect(b.openPhaseEndsAt - 0).to.be.at.least(4750);
    const total = ['connections', 'disconnects', 'grpc'].reduce((sum, s) => sum + b.boundOf(s), 0);
    expect(b.openPhaseEndsAt + total + b.marginMs).to.be.at.most(10_000);
  });

  it('with no open phase the stages may take the whole deadline but the margin', () => {
    const b = new ShutdownBudget(1000, 6000, STAGES, { openShare: 0 });
    expect(b.marginMs).to.equal(500);
    expect(b.scale).to.be.closeTo(4500 / 16_000, 1e-9);
    expect(b.openPhaseEndsAt).to.be.at.least(1000);
  });

  it('a stage that starts late is cut short; the stages after it keep their time', () => {
    const b = new ShutdownBudget(0, 60_000, STAGES, { openShare: 0.5 });
    // connections starts 5 s late: it may wait only until disconnects' and grpc's time begins.
    const late = b.openPhaseEndsAt + 5000;
    expect(b.allow('connections', late)).to.equal(3000);
    expect(b.allow('disconnects', 60_000 - SHUTDOWN_MARGIN_MS - 5000 - 3000)).to.equal(3000);
    // Past the deadline nothing may wait.
    expect(b.allow('grpc', 60_000)).to.equal(0);
    expect(b.left(61_000)).to.equal(0);
  });

  it('a short deadline keeps a tenth of itself as the margin', () => {
    const b = new ShutdownBudget(0, 2000, STAGES, { openShare: 0.5 });
    expect(b.marginMs).to.equal(200);
  });

  it('an unknown stage is a programming error', () => {
    const b = new ShutdownBudget(0, 1000, STAGES, { openShare: 0 });
    expect(() => b.allow('nope', 0)).to.throw('no stage nope');
  });

  it('within: a promise that settles in time is done; one that does not is left behind', async () => {
    expect(await within(Promise.resolve(1), 50)).to.equal('done');
    expect(await within(Promise.reject(new Error('x')), 50)).to.equal('done');
    expect(await within(new Promise(() => undefined), 20)).to.equal('timedOut');
  });
});

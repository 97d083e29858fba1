import { expect } from 'chai';
import type { ActorKind, StopCause, SupervisionPolicy } from '../system/actor-kind';
import { ActorRuntime } from '../system/actor-runtime';
import { silentLogger } from '../system/logger';
import { Metrics } from '../system/metrics';
import { MESSAGES_PER_TURN } from '../system/nact-scheduling';

interface Recorder {
  readonly seen: number[];
}

type Msg = { type: 'n'; n: number } | { type: 'boom' } | { type: 'stop' };

const recorderKind: ActorKind<Recorder, Msg, null> = {
  kind: 'recorder',
  init: () => ({ seen: [] }),
  receive(state, msg, ctx) {
    switch (msg.type) {
      case 'n':
        state.seen.push(msg.n);
        return state;
      case 'boom':
        throw new Error('injected');
      case 'stop':
        ctx.stopSelf();
        return state;
    }
  },
  supervision: { onFault: 'resume', maxRestarts: 5, windowMs: 60_000, critical: false },
  inspect: (state) => ({ seen: state.seen.length, values: [...state.seen] }),
};

let serial = 0;

async function eventually(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(predicate()).to.equal(true);
}

function stateOf(runtime: ActorRuntime, path: string): { seen: number; values: number[] } {
  const [info] = runtime.list({ withState: true }).filter((a) => a.path === path);
  return info?.state as { seen: number; values: number[] };
}

describe('actor runtime on nact', () => {
  let runtime: ActorRuntime;
  let metrics: Metrics;

  let criticalFailures: string[];

  beforeEach(() => {
    metrics = new Metrics();
    criticalFailures = [];
    runtime = new ActorRuntime(`runtime-spec-${++serial}`, silentLogger(), metrics, { onCriticalFailure: (path) => criticalFailures.push(path) });
  });

  afterEach(() => runtime.shutdown());

  it('handles queued messages in order, several per event-loop turn but never more than the budget', async () => {
    const ref = runtime.spawnRoot(recorderKind, 'recorder', null);
    const total = MESSAGES_PER_TURN * 4;
    for (let n = 0; n < total; n++) ref.tell({ type: 'n', n });
    let turns = 0;
    while (stateOf(runtime, ref.path).seen < total && turns < total) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    expect(stateOf(runtime, ref.path).values).to.deep.equal(Array.from({ length: total }, (_, n) => n));
    // One message per turn (nact's own pace) would need `total` turns; the budget bounds it from below too.
    expect(turns).to.be.at.least(4).and.at.most(8);
  });

  it('a fault in the middle of a drained batch drops that message only and goes on with the next', async () => {
    const ref = runtime.spawnRoot(recorderKind, 'recorder', null);
    ref.tell({ type: 'n', n: 1 });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'n', n: 2 });
    await runtime.barrier(ref, 1000);
    expect(stateOf(runtime, ref.path).values).to.deep.equal([1, 2]);
    expect(metrics.get('im_actor_faults_total', { kind: 'recorder' })).to.equal(1);
  });

  it('stopSelf in the middle of a drained batch stops the actor there', async () => {
    const ref = runtime.spawnRoot(recorderKind, 'recorder', null);
    ref.tell({ type: 'n', n: 1 });
    ref.tell({ type: 'stop' });
    ref.tell({ type: 'n', n: 2 });
    await new Promise((r) => setTimeout(r, 20));
    expect(runtime.isAlive(ref)).to.equal(false);
    expect(runtime.count('recorder')).to.equal(0);
  });

  it('stops children before their parent, and tells about each', () => {
    const stopped: string[] = [];
    const withStop: ActorKind<string, never, string> = {
      kind: 'node',
      init: (name, ctx) => {
        if (name === 'root') ctx.spawn(withStop, 'child', 'child');
        return name;
      },
      receive: (state) => state,
      supervision: { onFault: 'resume', maxRestarts: 0, windowMs: 1, critical: false },
      onStop: (name) => {
        stopped.push(name);
      },
    };
    const root = runtime.spawnRoot(withStop, 'root', 'root');
    expect(runtime.count('node')).to.equal(2);
    runtime.stop(root);
    expect(stopped).to.deep.equal(['child', 'root']);
    expect(runtime.count()).to.equal(0);
  });
  it('leaves that were born without children each get their own when they spawn one, under the same names', async () => {
    type Grow = { type: 'grow'; name: string };
    // Spawned from receive, not init: during init the parent has no nact reference yet, and nact puts the child at the top.
    const tree: ActorKind<string, Grow, string> = {
      kind: 'tree',
      init: (name) => name,
      receive: (state, msg, ctx) => {
        ctx.spawn(tree, msg.name, msg.name);
        return state;
      },
      supervision: { onFault: 'resume', maxRestarts: 5, windowMs: 60_000, critical: false },
    };
    const root = runtime.spawnRoot(tree, 'root', 'root');
    for (const leaf of ['a', 'b', 'c']) root.tell({ type: 'grow', name: leaf });
    await eventually(() => runtime.count('tree') === 4);
    // The same child name under two leaves: one shared child map would refuse the second (nact checks names per parent).
    runtime.refAt('/root/a')?.tell({ type: 'grow', name: 'x' });
    runtime.refAt('/root/b')?.tell({ type: 'grow', name: 'x' });
    await eventually(() => runtime.count('tree') === 6);
    expect(runtime.list().map((i) => i.path).sort()).to.deep.equal(['/root', '/root/a', '/root/a/x', '/root/b', '/root/b/x', '/root/c']);
    expect(runtime.list().every((i) => i.restarts === 0)).to.equal(true);
    // Stopping one leaf's child leaves the other's alone, and a message still reaches it (nact finds an actor through its parents' child maps).
    const ax = runtime.refAt('/root/a/x');
    if (ax) runtime.stop(ax);
    runtime.refAt('/root/b/x')?.tell({ type: 'grow', name: 'y' });
    await eventually(() => runtime.count('tree') === 6);
    expect(runtime.list().map((i) => i.path).sort()).to.deep.equal(['/root', '/root/a', '/root/b', '/root/b/x', '/root/b/x/y', '/root/c']);
  });

  it('a child born with no mailbox of its own queues, in order, what arrives while it is busy', async () => {
    const parentKind: ActorKind<null, { type: 'spawn' }, null> = {
      kind: 'parent',
      init: () => null,
      receive: (state, _msg, ctx) => {
        ctx.spawn(recorderKind, 'child', null);
        return state;
      },
      supervision: { onFault: 'resume', maxRestarts: 0, windowMs: 1, critical: false },
    };
    runtime.spawnRoot(parentKind, 'parent', null).tell({ type: 'spawn' });
    await eventually(() => runtime.refAt('/parent/child') !== undefined);
    const child = runtime.refAt('/parent/child');
    const count = MESSAGES_PER_TURN * 3;
    for (let n = 0; n < count; n++) child?.tell({ type: 'n', n });
    await eventually(() => stateOf(runtime, '/parent/child')?.seen === count);
    expect(stateOf(runtime, '/parent/child').values).to.deep.equal(Array.from({ length: count }, (_, n) => n));
  });

  it('tells onStop why: stopped by a parent or the node, or gave up after its budget', async () => {
    const stops: Array<[string, StopCause]> = [];
    const watched: ActorKind<string, { type: 'boom' }, string> = {
      kind: 'watched',
      init: (name, ctx) => {
        if (name === 'parent') ctx.spawn(watched, 'child', 'child');
        return name;
      },
      receive() {
        throw new Error('injected');
      },
      supervision: { onFault: 'resume', maxRestarts: 0, windowMs: 60_000, critical: false },
      onStop: (name, cause) => {
        stops.push([name, cause]);
      },
    };
    const parent = runtime.spawnRoot(watched, 'parent', 'parent');
    runtime.stop(parent);
    expect(stops).to.deep.equal([['child', 'stopped'], ['parent', 'stopped']]);
    const doomed = runtime.spawnRoot(watched, 'doomed', 'doomed');
    doomed.tell({ type: 'boom' });
    await eventually(() => !runtime.isAlive(doomed));
    expect(stops.slice(2)).to.deep.equal([['doomed', 'gaveUp']]);
  });

  describe('rebuild', () => {
    /** Half-applies every message before it throws: `resume` would keep the half. */
    interface Ledger {
      readonly entries: number[];
      total: number;
    }
    type LedgerMsg = { type: 'add'; n: number } | { type: 'addThenThrow'; n: number };
    function ledgerKind(supervision: SupervisionPolicy<Ledger>): ActorKind<Ledger, LedgerMsg, null> {
      return {
        kind: 'ledger',
        init: () => ({ entries: [], total: 0 }),
        receive(state, msg) {
          state.entries.push(msg.n);
          if (msg.type === 'addThenThrow') throw new Error('injected after a change');
          state.total += msg.n;
          return state;
        },
        supervision,
        inspect: (state) => ({ entries: [...state.entries], total: state.total }),
      };
    }
    /** The total is the truth; entries are rebuilt from it (one entry per unit, enough for the check). */
    const rebuild = (state: Ledger): Ledger => ({ entries: state.entries.slice(0, state.total === 0 ? 0 : 1), total: state.total });

    it('onFault rebuild replaces a half-changed state with the rebuild of it', async () => {
      const ref = runtime.spawnRoot(ledgerKind({ onFault: 'rebuild', maxRestarts: 5, windowMs: 60_000, critical: false, rebuild }), 'ledger', null);
      ref.tell({ type: 'add', n: 1 });
      ref.tell({ type: 'addThenThrow', n: 7 });
      ref.tell({ type: 'add', n: 2 });
      await runtime.barrier(ref, 1000);
      const [info] = runtime.list({ kind: 'ledger', withState: true });
      expect(info.state).to.deep.equal({ entries: [1, 2], total: 3 });
      expect(info.restarts).to.equal(1);
      expect(metrics.get('im_actor_rebuilt_total', { kind: 'ledger', cause: 'fault' })).to.equal(1);
    });

    it('onExhausted rebuild keeps the actor, its address and its mailbox past the budget, with a new window', async () => {
      const ref = runtime.spawnRoot(ledgerKind({ onFault: 'resume', maxRestarts: 1, windowMs: 60_000, onExhausted: 'rebuild', critical: true, rebuild }), 'ledger', null);
      // The first fault is resumed (its half-change stays), the second exhausts the budget and is rebuilt.
      ref.tell({ type: 'addThenThrow', n: 0 });
      ref.tell({ type: 'addThenThrow', n: 0 });
      ref.tell({ type: 'add', n: 5 });
      await runtime.barrier(ref, 1000);
      expect(runtime.isAlive(ref)).to.equal(true);
      const [info] = runtime.list({ kind: 'ledger', withState: true });
      expect(info.state).to.deep.equal({ entries: [5], total: 5 });
      expect(info.restarts).to.equal(2);
      expect(metrics.get('im_actor_faults_total', { kind: 'ledger' })).to.equal(2);
      expect(metrics.get('im_actor_rebuilt_total', { kind: 'ledger', cause: 'budget' })).to.equal(1);
      expect(metrics.get('im_actor_gave_up_total', { kind: 'ledger' })).to.equal(0);
      expect(criticalFailures).to.deep.equal([]);
      // A new window: the next fault is within the budget again, so it is resumed, not rebuilt.
      ref.tell({ type: 'addThenThrow', n: 9 });
      await runtime.barrier(ref, 1000);
      expect(runtime.list({ kind: 'ledger', withState: true })[0].state).to.deep.equal({ entries: [5, 9], total: 5 });
      expect(metrics.get('im_actor_rebuilt_total', { kind: 'ledger', cause: 'budget' })).to.equal(1);
    });

    it('a kind whose policy rebuilds but supplies no rebuild is refused at spawn', () => {
      expect(() => runtime.spawnRoot(ledgerKind({ onFault: 'rebuild', maxRestarts: 1, windowMs: 1, critical: false }), 'ledger', null))
        .to.throw(/supplies no rebuild/);
    });
  });
});

import { expect } from 'chai';
import type { ActorKind, StopCause } from '../system/actor-kind';
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

  beforeEach(() => {
    metrics = new Metrics();
    runtime = new ActorRuntime(`runtime-spec-${++serial}`, silentLogger(), metrics, { onCriticalFailure: () => undefined });
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
});

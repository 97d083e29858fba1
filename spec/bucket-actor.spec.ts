/**
 * The bucket actor in a real runtime, with client handles of the test's own:
 * what a fault inside a paced broadcast leaves behind.
 */
import { expect } from 'chai';
import { bucketActor } from '../actors/bucket-actor';
import type { ClientHandle } from '../actors/ports';
import type { ActorRef } from '../system/actor-kind';
import { ActorRuntime } from '../system/actor-runtime';
import { Outbound } from '../system/codec/outbound';
import { silentLogger } from '../system/logger';
import { Metrics } from '../system/metrics';

const BIZ = 1000;

function handle(id: number, send: () => boolean): ClientHandle {
  return { id, transport: 'tcp', remoteAddress: '127.0.0.1:1', cookie: '', closed: false, send, close: () => undefined, settled: () => undefined,
    traffic: () => ({ bytesIn: 0, bytesOut: 0, queuedBytes: 0 }) };
}

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(predicate(), what).to.equal(true);
}

describe('bucket actor: paced broadcasts and faults', () => {
  let runtime: ActorRuntime;
  let metrics: Metrics;

  beforeEach(() => {
    metrics = new Metrics();
    runtime = new ActorRuntime(`bucket-spec-${process.pid}-${Date.now()}`, silentLogger(), metrics, { onCriticalFailure: () => undefined });
  });

  afterEach(() => runtime.shutdown());

  it('a slice that faults ends its broadcast and frees its node-wide slot; the members stay', async () => {
    const done: number[] = [];
    const gateway: ActorRef<never> = { path: '/gateway', kind: 'logic-gateway', tell: () => undefined };
    const bucket = runtime.spawnRoot(bucketActor, 'bucket', {
      gateway, sliceIntervalMs: 10, onPacedDone: (id: number) => done.push(id),
    });
    const owner = { path: '/owner', kind: 'connection', tell: () => undefined };
    let sends = 0;
    const flaky = handle(1, () => {
      if (++sends === 2) throw new Error('socket write failed in an unforeseen way');
      return true;
    });
    for (const [i, h] of [flaky, handle(2, () => true), handle(3, () => true)].entries()) {
      bucket.tell({ type: 'put', member: { key: `k${i}`, connId: h.id, mid: '1', handle: h, accepts: new Set([BIZ]), owner } });
    }
    const out = Outbound.packet(1, BIZ, 0, 'paced');
    // One recipient per 10-ms slice: the first goes at once, the flaky one's second send throws later.
    bucket.tell({ type: 'broadcast', op: BIZ, out, perSecond: 100, broadcastId: 7 });
    bucket.tell({ type: 'broadcast', op: BIZ, out, perSecond: 100, broadcastId: 8 });
    await eventually(() => done.includes(7) && done.includes(8), 'both paced broadcasts to free their slots');
    expect(metrics.get('im_actor_faults_total', { kind: 'bucket' })).to.equal(1);
    const [state] = runtime.list({ kind: 'bucket', withState: true });
    expect(state.state).to.deep.include({ connections: 3, broadcastsInProgress: 0 });
  });
});

/**
 * The discovery actor alone in a runtime, watching the Consul double through
 * the real source, with an `onNodes` of the spec's own: what a consumer that
 * throws leaves behind.
 */
import { expect } from 'chai';
import { discoveryActor, inspectDiscovery } from '../actors/discovery-actor';
import type { NodeInstance } from '../actors/discovery-ports';
import { ActorRuntime } from '../system/actor-runtime';
import { ConsulSource } from '../system/discovery/consul-source';
import type { Logger } from '../system/logger';
import { Metrics } from '../system/metrics';
import { ConsulDouble } from './support/consul-double';
import { capturingLogger, type Line } from './support/discovery-nodes';
import { settles } from './support/settles';

const WATCHED = 'grpc-im-logic-node';

/** Registers an instance of the watched service whose TTL check starts passing. */
async function addInstance(consul: ConsulDouble, port: number): Promise<void> {
  const id = `logic-${port}`;
  const reply = await fetch(`${consul.url}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ ID: id, Name: WATCHED, Address: '127.0.0.1', Port: port, Check: { CheckID: `service:${id}`, TTL: '60s', Status: 'passing' } }),
  });
  expect(reply.status).to.equal(200);
}

describe('discovery actor: an onNodes that throws', function () {
  this.timeout(15_000);
  let consul: ConsulDouble;
  let runtime: ActorRuntime;
  let metrics: Metrics;
  let lines: Line[];
  let log: Logger;

  beforeEach(async () => {
    consul = await ConsulDouble.start();
    metrics = new Metrics('cloud');
    lines = [];
    log = capturingLogger(lines, 'cloud');
    runtime = new ActorRuntime(`discovery-apply-${process.pid}-${Date.now()}`, log, metrics, { onCriticalFailure: () => undefined });
  });

  afterEach(async () => {
    runtime.shutdown();
    await consul.close();
  });

  it('is counted (im_discovery_errors_total{op="apply"}) and logged; the watch goes on and applies the next change', async () => {
    const applied: string[][] = [];
    let failing = false;
    const onNodes = (nodes: readonly NodeInstance[]): void => {
      if (failing) throw new Error('consumer broke on this list');
      applied.push(nodes.map((n) => n.address));
    };
    const ref = runtime.spawnRoot(discoveryActor, 'discovery', {
      sourceKind: 'consul', source: new ConsulSource({ url: consul.url, token: '' }), watchService: WATCHED, registry: null, onNodes,
      reassertMs: 30_000, waitMs: 1000, minIntervalMs: 20, retryBaseMs: 50, retryMaxMs: 200,
      now: Date.now, random: Math.random, metrics, log,
    });
    await addInstance(consul, 4001);
    ref.tell({ type: 'start' });
    await settles(() => { expect(applied).to.deep.equal([['127.0.0.1:4001']]); }, 5000);

    // The consumer throws on the next list: the fault is caught in the actor, counted and logged, and the list is not
    // taken as known (the next answer tries again).
    failing = true;
    await addInstance(consul, 4002);
    await settles(() => { expect(metrics.get('im_discovery_errors_total', { op: 'apply' })).to.equal(1); }, 5000);
    const logged = lines.find((x) => x.message === 'discovered nodes could not be applied; the next answer tries again');
    expect(logged, 'error line').to.deep.include({ level: 'error', component: 'discovery', error: 'consumer broke on this list' });
    const state = runtime.stateOf(ref, discoveryActor);
    expect(state && inspectDiscovery(state).nodes, 'the last applied list is kept').to.deep.equal(['127.0.0.1:4001']);

    // The watch went on: a later change in the registry is applied.
    failing = false;
    await addInstance(consul, 4003);
    await settles(() => { expect(applied[applied.length - 1]).to.deep.equal(['127.0.0.1:4001', '127.0.0.1:4002', '127.0.0.1:4003']); }, 5000);
    expect(metrics.get('im_discovery_errors_total', { op: 'apply' })).to.equal(1);
    expect(metrics.get('im_discovery_errors_total', { op: 'watch' }), 'no watch failure').to.equal(0);
    expect(metrics.get('im_actor_faults_total', { kind: 'discovery' }), 'caught inside the actor, not by its supervision').to.equal(0);
  });
});

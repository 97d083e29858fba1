/**
 * The ws and tcp edges of a running node under generated bad input: a logic
 * node and a cloud node run as child processes of the real CLI; many
 * concurrent connections send random and mutated frames and packets (before
 * auth, while it is decided, and once online), each ending with input the
 * node must refuse; well-behaved clients stay online beside them and get
 * pushes all along. Afterwards: every bad connection was closed, and the
 * node counted each close under the code its input deserved
 * (im_protocol_errors_total by code and transport, im_connections_closed_total
 * by reason); the others were served and a new client still gets in; neither
 * process wrote to stderr or logged an error (an uncaught exception prints
 * there and kills the process); and the cloud node's heap, after a full
 * collection forced through the inspector, is back near its baseline.
 *
 * The seed is printed; FUZZ_SEED replays the same connections, FUZZ_RUNS
 * sets how many. The long run is `npm run fuzz`.
 */
import { expect } from 'chai';
import { fuzzSettings, runsOr } from './support/fuzz/fuzz-seed';
import { edgePlanArb } from './support/fuzz/edge-plans';
import {
  FuzzNodes, GoodClients, connectionsHeld, errorLogs, expectedByCode, goodClientsOnline, goodClientsServed, planMismatches,
  protocolErrorDeltas, pushWhile, runPlans, samplePlans, settle, startFuzzNodes, stderrFaults, stopFuzzNodes,
} from './support/fuzz/edge-fuzz';
import { GOIM_TOKEN, TestClient } from './support/test-client';
import { sleep } from './support/child-node';
import { CLOSE_LINGER_MS } from '../system/edges/socket-client';
import type { Exposition } from './support/prometheus-text';

/** Bad connections in `npm test`. */
const SHORT_RUNS = 300;
/** Bad connections before the baseline is taken: code paths, series and pools that exist once, whatever the load. */
const WARMUP = 100;
const CONCURRENCY = 32;
const GOOD = 8;
/**
 * Memory is read twice, each time after two full collections forced through
 * the inspector, with only the good clients connected and every closed
 * socket's linger timer run out. Objects: the bytes of the objects the node
 * holds (a heap snapshot less V8's own code and metadata). Measured growth
 * over 300 to 2,400 bad connections: a few KiB, whatever the count; a leak
 * of 400 bytes per connection (a socket and its actor are far more) passes
 * the margin at 300 connections. heapUsed also counts compiled code, which
 * grows with each path the JIT optimizes during the run (+0.2 to +1.4 MiB
 * measured, all of it code by snapshot diff): it only has to stay within
 * a margin that tells a node gone wild from that noise.
 */
const OBJECT_MARGIN_BYTES = 128 * 1024;
const HEAP_MARGIN_BYTES = 4 * 1024 * 1024;

describe('edge fuzz: bad frames and packets against running nodes (seeded, replayable)', function () {
  this.timeout(90_000);
  const settings = fuzzSettings();
  let nodes: FuzzNodes | null = null;
  let good: GoodClients | null = null;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && nodes) console.log(nodes.cloud.describe());
    for (const c of good?.clients ?? []) c.destroy();
    good = null;
    await stopFuzzNodes(nodes);
    nodes = null;
  });

  it('each bad connection closed and counted by code; the others served; no crash; heap back to baseline', async () => {
    const runs = runsOr(settings, SHORT_RUNS);
    console.log(`      edge fuzz seed ${settings.seed}, ${runs} bad connections (FUZZ_SEED=${settings.seed} FUZZ_RUNS=${runs} replays it)`);
    nodes = await startFuzzNodes();
    const n = nodes;
    good = await goodClientsOnline(n, GOOD, 'good');
    const quiet = (m: Exposition): boolean => connectionsHeld(m).phases === GOOD && connectionsHeld(m).actors === GOOD;

    await runPlans(n, samplePlans(edgePlanArb, settings.seed + 1, WARMUP), CONCURRENCY, 'warm');
    const before = await settle(n, quiet);
    expect(connectionsHeld(before), 'only the good clients left after the warm-up').to.deep.equal({ phases: GOOD, actors: GOOD });
    await sleep(CLOSE_LINGER_MS + 500);
    const baseline = await n.heap.heapUsedAfterGc();
    const baselineObjects = await n.heap.objectBytesAfterGc();

    const plans = samplePlans(edgePlanArb, settings.seed, runs);
    const { value: results, bodies, refused } = await pushWhile(n, good, 100, runPlans(n, plans, CONCURRENCY, 'fuzz'));
    const closedBefore = before.sum('im_connections_closed_total');
    const after = await settle(n, (m) => quiet(m) && m.sum('im_connections_closed_total') - closedBefore >= plans.length);
    // A closed socket's linger timer holds it until it fires: measure once the last one has.
    await sleep(CLOSE_LINGER_MS + 500);
    const heapAfter = await n.heap.heapUsedAfterGc();
    const objectsAfter = await n.heap.objectBytesAfterGc();

    // Every bad connection: closed by the node, op 6 with the expected code unless ws itself refused the framing.
    expect(planMismatches(results), 'bad connections the node did not close as expected').to.deep.equal([]);
    // Counted: one protocol_error close each and no other close; by code and transport exactly what was sent.
    const closedDelta = (reason: string): number => after.value('im_connections_closed_total', { reason }) - before.value('im_connections_closed_total', { reason });
    expect(closedDelta('protocol_error'), 'protocol_error closes').to.equal(plans.length);
    expect(after.sum('im_connections_closed_total') - closedBefore, 'closes of any reason').to.equal(plans.length);
    expect(Object.fromEntries(protocolErrorDeltas(before, after)), 'im_protocol_errors_total by code|transport')
      .to.deep.equal(Object.fromEntries(expectedByCode(plans)));

    // The others: every push during the run reached every good client, they answer heartbeats, a new client gets in.
    expect(refused, 'pushes logic refused during the run').to.deep.equal([]);
    expect(bodies.length, 'pushes during the run').to.be.above(0);
    expect(await goodClientsServed(good, bodies), 'good clients not served').to.deep.equal([]);
    const fresh = await TestClient.online('tcp', n.tcp, { ...GOIM_TOKEN, key: 'fresh-after-fuzz' });
    expect(fresh.auth.key).to.equal('fresh-after-fuzz');
    fresh.client.destroy();

    // No uncaught error: both processes alive, nothing on stderr but the inspector's banner, no error-level log line.
    expect(n.cloud.alive && n.logic.alive, 'both nodes alive').to.equal(true);
    expect(stderrFaults(n.cloud), 'cloud stderr').to.deep.equal([]);
    expect(stderrFaults(n.logic), 'logic stderr').to.deep.equal([]);
    expect(errorLogs(n), 'error log lines').to.deep.equal([]);

    const kib = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${Math.round(bytes / 1024)} KiB`;
    console.log(`      cloud after GC: heapUsed ${Math.round(baseline / 1024)} KiB, then ${kib(heapAfter - baseline)}; `
      + `objects ${Math.round(baselineObjects / 1024)} KiB, then ${kib(objectsAfter - baselineObjects)}; ${bodies.length} pushes served meanwhile`);
    expect(objectsAfter - baselineObjects, `object bytes grown over ${runs} bad connections`).to.be.at.most(OBJECT_MARGIN_BYTES);
    expect(heapAfter - baseline, `heapUsed grown over ${runs} bad connections`).to.be.at.most(HEAP_MARGIN_BYTES);
  });
});

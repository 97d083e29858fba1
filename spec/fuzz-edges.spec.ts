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
 * collection forced through the inspector, is back near its baseline
 * (the margins and why: spec/support/fuzz/edge-fuzz-run.ts).
 *
 * The seed is printed; FUZZ_SEED replays the same connections, FUZZ_RUNS
 * sets how many. The long run is `npm run fuzz`.
 */
import { expect } from 'chai';
import { describeEdgeRun, runEdgeFuzz } from './support/fuzz/edge-fuzz-run';
import { fuzzSettings, runsOr } from './support/fuzz/fuzz-seed';

/** Bad connections in `npm test`. */
const SHORT_RUNS = 300;

describe('edge fuzz: bad frames and packets against running nodes (seeded, replayable)', function () {
  this.timeout(90_000);
  const settings = fuzzSettings();

  it('each bad connection closed and counted by code; the others served; no crash; heap back to baseline', async () => {
    const runs = runsOr(settings, SHORT_RUNS);
    console.log(`      edge fuzz seed ${settings.seed}, ${runs} bad connections (FUZZ_SEED=${settings.seed} FUZZ_RUNS=${runs} replays it)`);
    const report = await runEdgeFuzz({ seed: settings.seed, connections: runs, warmup: 100, concurrency: 32, good: 8 });
    console.log(`      ${describeEdgeRun(report)}`);
    if (report.problems.length > 0) console.log(report.describe);
    expect(report.problems, `seed ${settings.seed}`).to.deep.equal([]);
    expect(report.connections).to.equal(runs);
  });
});

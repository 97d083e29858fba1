/**
 * The codec under generated input (fast-check, seeded): random bytes and
 * mutations of valid packets and streams, fed whole and in random chunks,
 * WebSocket messages, op-9 batches and server frames, each compared with the
 * reference model in spec/support/fuzz/packet-model.ts. A short run; the
 * long one (over a million inputs) is `npm run fuzz`.
 *
 * The seed is printed; FUZZ_SEED, FUZZ_RUNS and FUZZ_PATH replay a failure.
 */
import { expect } from 'chai';
import { CODEC_PROPERTIES } from './support/fuzz/codec-properties';
import { fuzzSettings, runsOr } from './support/fuzz/fuzz-seed';

/** Inputs per property in `npm test`: a few seconds in all. */
const SHORT_RUNS = 5000;

describe('codec fuzz (seeded, replayable)', function () {
  this.timeout(60_000);
  const settings = fuzzSettings();

  before(() => {
    console.log(`      codec fuzz seed ${settings.seed} (FUZZ_SEED=${settings.seed} replays it)`);
  });

  for (const p of CODEC_PROPERTIES) {
    it(`${p.name}: never throws; packets or a reported error exactly as the model says`, () => {
      const runs = runsOr(settings, SHORT_RUNS);
      const verdict = p.check(settings, runs, (env) => `${env} npx mocha --no-config --exit dist/spec/fuzz-codec.spec.js --grep '${p.name}:'`);
      expect(verdict.failed, verdict.report).to.equal(false);
      expect(verdict.numRuns).to.equal(runs);
    });
  }
});

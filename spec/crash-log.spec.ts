/**
 * A node process that meets a fault nothing caught: the real CLI, with a
 * preload that throws from a callback (or leaves a rejection unhandled) on
 * SIGUSR2, logs one JSON line at error with E_UNCAUGHT_FAULT and exits 1,
 * instead of Node's bare stack.
 */
import path from 'node:path';
import { expect } from 'chai';
import { ChildNode } from './support/child-node';
import { TestLogicNode } from './support/test-logic-node';

const PRELOAD = path.join(__dirname, 'support', 'fault-on-signal.js');

describe('an uncaught fault in a node process (real CLI)', function () {
  this.timeout(20_000);
  let logic: TestLogicNode | null = null;

  afterEach(async () => {
    await ChildNode.killAll();
    await logic?.stop();
    logic = null;
  });

  for (const [kind, origin, error] of [['exception', 'uncaughtException', 'injected fault'], ['rejection', 'unhandledRejection', 'injected rejection']] as const) {
    it(`${kind === 'exception' ? 'an exception' : 'a rejection'} nothing caught: one JSON line at error (E_UNCAUGHT_FAULT, origin ${origin}), then exit 1`, async () => {
      logic = await new TestLogicNode().start();
      const child = ChildNode.spawn({
        args: ['cloud'],
        env: {
          IM_CLOUD_BIND_HOST: '127.0.0.1', IM_CLOUD_TCP_PORT: '0', IM_CLOUD_WS_PORT: '0', IM_CLOUD_GRPC_PORT: '0', IM_CLOUD_ADMIN_PORT: '0',
          IM_CLOUD_LOGIC_NODES: logic.address, IM_CLOUD_LOG_LEVEL: 'info',
          NODE_OPTIONS: `--require ${PRELOAD}`, FAULT_KIND: kind,
        },
      });
      await child.started();
      process.kill(child.process.pid ?? 0, 'SIGUSR2');
      const exit = await child.exited;
      expect(exit.code, child.describe()).to.equal(1);
      const lines = child.logs.filter((l) => l.code === 'E_UNCAUGHT_FAULT');
      expect(lines.map((l) => [l.level, l.message, l.origin, l.error])).to.deep.equal([['error', 'uncaught fault; exiting', origin, error]]);
      expect(String(lines[0].stack)).to.contain(error);
      // Node's own report (a bare stack on stderr) is replaced, not added to.
      expect(child.stderr).to.not.contain(`Error: ${error}`);
    });
  }
});

/**
 * The test logic node in a process of its own, so a benchmark of the cloud
 * node measures the cloud node alone. Reports its port over IPC.
 */
import { TestLogicNode } from '../spec/support/test-logic-node';

new TestLogicNode({ heartbeatMs: 600_000 }).start().then(
  (logic) => process.send?.({ type: 'ready', port: logic.port }),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);

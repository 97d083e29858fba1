/**
 * The CLI's hold on a stop (runUntilStopped): every node stops by one
 * deadline, the longest shutdown.deadlineMs among them, and a stop that
 * runs past it is logged at error with what each node still waited for and
 * ends the process with exit code 3. Stop sequences of real nodes always end
 * in time (drain-process.spec.ts); fake nodes here make one hang.
 */
import { expect } from 'chai';
import { CliLog, EXIT_DEADLINE_PASSED, runUntilStopped, Stoppable } from '../system/cli';

class FakeNode implements Stoppable {
  readonly stopped: Promise<void>;
  failure: Error | null = null;
  readonly deadlines: (number | undefined)[] = [];
  readonly config: { shutdown: { deadlineMs: number } };
  private resolveStopped: () => void = () => undefined;

  constructor(deadlineMs: number, private readonly hangs: boolean, readonly name: string) {
    this.config = { shutdown: { deadlineMs } };
    this.stopped = new Promise((resolve) => { this.resolveStopped = resolve; });
  }

  stop(deadlineAt?: number): Promise<void> {
    this.deadlines.push(deadlineAt);
    if (this.hangs) return new Promise(() => undefined);
    this.resolveStopped();
    return Promise.resolve();
  }

  /** Stops as a Close rpc or a failed critical actor would: by itself. */
  stopByItself(failure: Error | null = null): void {
    this.failure = failure;
    void this.stop();
  }

  pendingShutdown(): Record<string, unknown> {
    return { node: this.name, stage: this.hangs ? 'waiting' : 'stopped' };
  }
}

class RecordingLog implements CliLog {
  readonly lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
  info(message: string, meta: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, meta });
  }
  error(message: string, meta: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, meta });
  }
}

describe('CLI: a stop within shutdown.deadlineMs', () => {
  it('every node stops by one deadline (the longest of theirs); in time it exits 0', async () => {
    const cloud = new FakeNode(100, false, 'cloud');
    const logic = new FakeNode(300, false, 'logic');
    const log = new RecordingLog();
    const before = Date.now();
    const running = runUntilStopped([cloud, logic], log);
    cloud.stopByItself();
    expect(await running).to.equal(0);
    const deadline = logic.deadlines[0] ?? 0;
    expect(deadline).to.be.within(before + 300, Date.now() + 300);
    expect(log.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
  });

  it('a stop past the deadline: one error line with what each node still waits for, exit code 3', async () => {
    const cloud = new FakeNode(80, false, 'cloud');
    const logic = new FakeNode(80, true, 'logic');
    const log = new RecordingLog();
    const running = runUntilStopped([cloud, logic], log);
    cloud.stopByItself();
    expect(await running).to.equal(EXIT_DEADLINE_PASSED);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).to.have.length(1);
    expect(errors[0].message).to.equal('shutdown deadline passed; exiting before the stop finished');
    expect(errors[0].meta).to.deep.include({ code: 'E_SHUTDOWN_DEADLINE', deadlineMs: 80 });
    expect(errors[0].meta.pending).to.deep.equal([{ node: 'cloud', stage: 'stopped' }, { node: 'logic', stage: 'waiting' }]);
  });

  it('a node that failed (a critical actor gave up) and stopped in time: exit code 1', async () => {
    const cloud = new FakeNode(100, false, 'cloud');
    const running = runUntilStopped([cloud], new RecordingLog());
    cloud.stopByItself(new Error('bucket gave up'));
    expect(await running).to.equal(1);
  });
});

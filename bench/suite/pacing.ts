/** Drive loops for pushes: bounded in count and in time, always. */
import { sleep } from '../lib/clock';

export interface DriveResult {
  readonly sent: number;
  readonly failed: number;
  readonly firstError: string;
  /** Sends skipped because `maxInFlight` were still outstanding (the server fell behind). */
  readonly skipped: number;
  readonly ms: number;
}

class Tally {
  sent = 0;
  failed = 0;
  skipped = 0;
  inFlight = 0;
  firstError = '';
  readonly started = Date.now();

  run(send: () => Promise<void>): Promise<void> {
    this.inFlight++;
    return send().then(
      () => { this.sent++; },
      (err: Error) => {
        this.failed++;
        if (this.firstError === '') this.firstError = err.message;
      },
    ).finally(() => { this.inFlight--; });
  }

  result(): DriveResult {
    return { sent: this.sent, failed: this.failed, firstError: this.firstError, skipped: this.skipped, ms: Date.now() - this.started };
  }
}

/** `count` sends at a steady `rate` per second; a send due while `maxInFlight` are outstanding is skipped. */
export async function paced(rate: number, count: number, maxInFlight: number, maxMs: number, send: (i: number) => Promise<void>): Promise<DriveResult> {
  const t = new Tally();
  const pending = new Set<Promise<void>>();
  let issued = 0;
  while (issued < count && Date.now() - t.started < maxMs) {
    const due = Math.min(count, Math.floor(((Date.now() - t.started) * rate) / 1000) + 1);
    for (; issued < due; issued++) {
      if (t.inFlight >= maxInFlight) {
        t.skipped++;
        continue;
      }
      const i = issued;
      const p = t.run(() => send(i));
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await sleep(1);
  }
  await Promise.race([Promise.all(pending), sleep(Math.max(1000, maxMs - (Date.now() - t.started)))]);
  return t.result();
}

/** `count` sends as fast as the server answers, `window` outstanding at most. */
export async function windowed(count: number, window: number, maxMs: number, send: (i: number) => Promise<void>): Promise<DriveResult> {
  const t = new Tally();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(window, count) }, async () => {
    while (next < count && Date.now() - t.started < maxMs) await t.run(() => send(next++));
  }));
  return t.result();
}

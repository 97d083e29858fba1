import { ImError } from '../errors';

/** Walks of one kind that may wait for the one running, by default. */
export const MAX_WAITING_WALKS = 32;

/**
 * One walk at a time per request kind (Observer skips a refresh while one
 * is still running): a request identical to the walk in progress shares its
 * answer; a different one waits its turn; past `maxWaiting` a request is
 * refused (503 E_ADMIN_BUSY) rather than queued without bound.
 */
export class WalkGate<T> {
  private tail: Promise<void> = Promise.resolve();
  private current: { readonly key: string; readonly answer: Promise<T> } | null = null;
  private waiting = 0;

  constructor(private readonly maxWaiting = MAX_WAITING_WALKS) {}

  run(key: string, walk: () => Promise<T>): Promise<T> {
    // The same request while its walk runs: the answer being built is as fresh as a new one would be.
    if (this.current?.key === key) return this.current.answer;
    if (this.waiting >= this.maxWaiting) return Promise.reject(new ImError('ADMIN_BUSY', `${this.waiting} walks of this kind waiting`));
    this.waiting++;
    const answer = this.tail.then(() => {
      this.waiting--;
      const entry = { key, answer: walk() };
      this.current = entry;
      const clear = (): void => {
        if (this.current === entry) this.current = null;
      };
      entry.answer.then(clear, clear);
      return entry.answer;
    });
    this.tail = answer.then(() => undefined, () => undefined);
    return answer;
  }
}

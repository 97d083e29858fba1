/**
 * Token buckets: `ratePerSec` tokens a second, holding at most `burst`.
 * Taking one is a few arithmetic steps and no timer: the tokens earned since
 * the last take are added when the next one is asked for.
 */

/** A bucket's changing part, kept as plain data where there is one per connection. */
export interface TokenCount {
  tokens: number;
  /** When `tokens` was last brought up to date (milliseconds). */
  at: number;
}

/** Takes a token from `count` if there is one. A clock that went back earns nothing. */
export function takeToken(count: TokenCount, ratePerSec: number, burst: number, now: number): boolean {
  if (now > count.at) {
    count.tokens = Math.min(burst, count.tokens + ((now - count.at) * ratePerSec) / 1000);
    count.at = now;
  }
  if (count.tokens < 1) return false;
  count.tokens -= 1;
  return true;
}

/** A bucket with its own rate and clock (one per node). */
export class TokenBucket {
  private readonly count: TokenCount;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    /** Milliseconds on a clock that never goes back. */
    private readonly now: () => number,
  ) {
    this.count = { tokens: burst, at: now() };
  }

  /** Takes a token if there is one. */
  take(): boolean {
    return takeToken(this.count, this.ratePerSec, this.burst, this.now());
  }
}

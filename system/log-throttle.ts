/**
 * Keeps a warning that repeats per message or per peer to one line per key
 * and window: the first event of a window is logged, carrying how many were
 * left out since the line before. A failing peer or a flood of bad input
 * must show up in the log without becoming the log; counters keep the
 * exact numbers.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { until: number; left: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Distinct keys remembered at once; past it the memory starts over (a few extra lines, never unbounded). */
    private readonly maxKeys = 1024,
  ) {}

  /** null: leave this event out. A number: log it, noting that many events left out before it. */
  admit(key: string): number | null {
    const t = this.now();
    const window = this.windows.get(key);
    if (window && t < window.until) {
      window.left++;
      return null;
    }
    if (!window && this.windows.size >= this.maxKeys) this.windows.clear();
    this.windows.set(key, { until: t + this.windowMs, left: 0 });
    return window?.left ?? 0;
  }
}

type Level = 'error' | 'warn' | 'info' | 'debug';
type LevelLog = Readonly<Record<Level, (message: string, meta?: Record<string, unknown>) => unknown>>;

/**
 * Logs one event of a kind that can repeat per request or per client: at
 * `level` when `throttle` admits `key` (with `notLogged`, the events left
 * out since), else at debug.
 */
export function logThrottled(
  log: LevelLog, throttle: LogThrottle, level: Level, key: string, message: string, meta: Record<string, unknown>,
): void {
  const left = level === 'debug' ? null : throttle.admit(key);
  if (left === null) log.debug(message, meta);
  else log[level](message, left > 0 ? { ...meta, notLogged: left } : meta);
}

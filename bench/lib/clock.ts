/**
 * One clock for every process of the bench: CLOCK_MONOTONIC in microseconds
 * (process.hrtime is system-wide on Linux), read through performance.now()
 * so taking a timestamp allocates nothing.
 */
const baseUs = calibrate();

/** hrtime minus performance.now(), read back to back (after a warm-up: the first calls load code and take ms). */
function calibrate(): number {
  let best = Infinity;
  let base = 0;
  for (let i = 0; i < 20; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1000;
    const after = performance.now();
    if (i >= 2 && after - before < best) {
      best = after - before;
      base = hr - ((before + after) / 2) * 1000;
    }
  }
  return base;
}

export function monoUs(): number {
  return baseUs + performance.now() * 1000;
}

/** A send time travels as exactly 10 ASCII digits (µs modulo 1e10): the body stays 10 bytes like `{"test":1}`. */
export const STAMP_LEN = 10;
const STAMP_MOD = 1e10;

export function writeStamp(buf: Buffer, offset: number, us: number): void {
  let v = Math.floor(us) % STAMP_MOD;
  for (let i = STAMP_LEN - 1; i >= 0; i--) {
    buf[offset + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** The stamp at `offset`, or -1 when those bytes are not 10 digits. */
export function readStamp(buf: Buffer, offset: number): number {
  let v = 0;
  for (let i = 0; i < STAMP_LEN; i++) {
    const d = buf[offset + i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Microseconds from `stamp` to `nowUs`, modulo-aware. */
export function stampAgeUs(nowUs: number, stamp: number): number {
  const d = (Math.floor(nowUs) % STAMP_MOD) - stamp;
  return d < 0 ? d + STAMP_MOD : d;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

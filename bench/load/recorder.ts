/**
 * Per-worker counters of received messages. Nothing here allocates per
 * message: fixed typed arrays for latencies and the receive-time histogram.
 */
import { BUCKET_MS, WorkerReport } from '../lib/commands';
import { monoUs, readStamp, STAMP_LEN, stampAgeUs } from '../lib/clock';

const LATENCY_CAPACITY = 250_000;
const BUCKETS = (120 * 1000) / BUCKET_MS;

export class Recorder {
  received = 0;
  private firstUs = 0;
  private lastUs = 0;
  private nowUs = 0;
  private t0Us = 0;
  private latency = false;
  private readonly latencies = new Float64Array(LATENCY_CAPACITY);
  private latencyCount = 0;
  private readonly buckets = new Int32Array(BUCKETS);

  reset(t0Us: number, latency: boolean): void {
    this.received = 0;
    this.firstUs = 0;
    this.lastUs = 0;
    this.t0Us = t0Us;
    this.latency = latency;
    this.latencyCount = 0;
    this.buckets.fill(0);
  }

  /** Called once per socket read: every message in one read arrived at the same time. */
  beginRead(): void {
    this.nowUs = monoUs();
  }

  /** One message whose body is buf[offset, offset + length). */
  message(buf: Buffer, offset: number, length: number): void {
    this.count(1);
    if (!this.latency || length !== STAMP_LEN || this.latencyCount >= LATENCY_CAPACITY) return;
    const stamp = readStamp(buf, offset);
    if (stamp >= 0) this.latencies[this.latencyCount++] = stampAgeUs(this.nowUs, stamp);
  }

  count(n: number): void {
    this.received += n;
    if (this.firstUs === 0) this.firstUs = this.nowUs;
    this.lastUs = this.nowUs;
    const bucket = Math.floor((this.nowUs - this.t0Us) / (BUCKET_MS * 1000));
    if (bucket >= 0 && bucket < BUCKETS) this.buckets[bucket] += n;
  }

  report(open: number): WorkerReport {
    let last = BUCKETS;
    while (last > 0 && this.buckets[last - 1] === 0) last--;
    return {
      received: this.received,
      open,
      firstUs: this.firstUs,
      lastUs: this.lastUs,
      latenciesUs: Array.from(this.latencies.subarray(0, this.latencyCount)),
      buckets: Array.from(this.buckets.subarray(0, last)),
    };
  }
}

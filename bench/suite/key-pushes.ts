/** Pushes to single keys at a steady rate, each carrying its send time, and the latency the clients saw. */
import { STAMP_LEN, monoUs, writeStamp } from '../lib/clock';
import type { Fleet } from './fleet';
import { DriveResult, paced } from './pacing';
import type { Plan } from './plan';
import { Latency, latencyOf, receivedOf } from './stats';

export interface KeyLatency { readonly latency: Latency; readonly drive: DriveResult; readonly delivered: number }

export type PushKey = (key: string, body: Buffer) => Promise<void>;
export type Send = (i: number) => Promise<void>;

/** Pushes not measured before each latency run: the first second runs cold code paths and opens connections. */
const WARM_UP_SECONDS = 1;
const MAX_IN_FLIGHT = 500;

/** Push i goes to one of the first `plan.n1` clients (the fleet every scenario keeps), stamped right before it is sent. */
export function stampedSend(plan: Plan, push: PushKey): Send {
  return (i) => {
    const body = Buffer.allocUnsafe(STAMP_LEN);
    writeStamp(body, 0, monoUs());
    return push(`bench-${(i * 7919) % plan.n1}`, body);
  };
}

/** One unmeasured second at the measured rate (`plan.latencyRate` unless given); waits until it was delivered. */
export async function warmUpKeys(fleet: Fleet, plan: Plan, send: Send, rate = plan.latencyRate): Promise<void> {
  await fleet.reset(false);
  const warmUp = await paced(rate, rate * WARM_UP_SECONDS, MAX_IN_FLIGHT, WARM_UP_SECONDS * 1000 + 10_000, send);
  await fleet.waitFor(warmUp.sent, 3000, 15_000);
}

/** `seconds` of pushes at `rate` (the plan's unless given); the caller has the fleet start recording first (`fleet.reset(true)`). */
export function driveKeys(plan: Plan, send: Send, seconds: number, rate = plan.latencyRate): Promise<DriveResult> {
  return paced(rate, rate * seconds, MAX_IN_FLIGHT, seconds * 1000 + 10_000, send);
}

/** Waits for what `drive` sent to arrive, then reads what the clients recorded. */
export async function keyLatencyOf(fleet: Fleet, drive: DriveResult): Promise<KeyLatency> {
  await fleet.waitFor(drive.sent, 3000, 15_000);
  const reports = await fleet.reports();
  return { latency: latencyOf(reports), drive, delivered: receivedOf(reports) };
}

/** The key-push scenario at `rate` per second: warm up, then `plan.latencySeconds` measured. */
export async function keyLatency(fleet: Fleet, plan: Plan, push: PushKey, rate = plan.latencyRate): Promise<KeyLatency> {
  const send = stampedSend(plan, push);
  await warmUpKeys(fleet, plan, send, rate);
  await fleet.reset(true);
  return keyLatencyOf(fleet, await driveKeys(plan, send, plan.latencySeconds, rate));
}

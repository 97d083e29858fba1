/**
 * The measurements, run against one target at a time: idle memory and
 * connect rate, key-push latency, room delivery rate, broadcast speed,
 * and (ours) the cost of admin polling.
 * One scenario failing is recorded and the next one still runs.
 */
import { monoUs, sleep } from '../lib/clock';
import { BATCH_SIZE } from '../servers/server-kit';
import { AdminPolling, adminPolling } from './admin-polling';
import { Fleet } from './fleet';
import { KeyLatency, keyLatency } from './key-pushes';
import { DriveResult, windowed } from './pacing';
import { Plan, ROOM_OF } from './plan';
import { firstUsOf, lastUsOf, peakPerWindow, receivedOf } from './stats';
import { cpuPerUnitUs, cpuSecondsOf, cpuSnapshot } from '../lib/proc-cpu';
import { Target, TargetName, startTarget } from './targets';

export interface Idle { readonly n: number; readonly rssPerConnKB: number; readonly heapPerConnKB: number; readonly serverRssMB: number; readonly failed: number }
export interface ConnectRate {
  readonly perSecond: number; readonly opened: number; readonly failed: number; readonly firstError: string;
  /** CPU microseconds per client opened, by process (the server's roles, and `clients` for the load generator); absent where not measured. */
  readonly cpuUs?: ReadonlyMap<string, number>;
}
export type { KeyLatency } from './key-pushes';
export interface RoomRate { readonly perSecond: number; readonly delivered: number; readonly expected: number; readonly seconds: number; readonly drive: DriveResult }
export interface SpeedCheck {
  readonly speed: number; readonly delivered: number; readonly expected: number; readonly seconds: number;
  readonly avgPerSecond: number; readonly peakPerSecond: number; readonly holds: boolean;
}

/** Ours only: the same clients as the first connect phase, on a fresh node, each in a room of its own. */
export interface ManyRooms { readonly connect: ConnectRate; readonly idle: Idle }

export interface TargetResult {
  readonly name: TargetName;
  readonly idle: Idle[];
  connect?: ConnectRate;
  keysHttp?: KeyLatency;
  keysGrpc?: KeyLatency;
  /** Ours only: PushMsg unary (goim's contract) at `plan.latencyRate`. */
  keysGrpcUnary?: KeyLatency;
  /** Key pushes at `plan.fastRate`. */
  keysHttpFast?: KeyLatency;
  keysGrpcFast?: KeyLatency;
  /** One message per push to n1 / ROOM_OF rooms of ROOM_OF members in turn. */
  manyRooms?: RoomRate;
  roomSingle?: RoomRate;
  roomBatched?: RoomRate;
  speed?: SpeedCheck;
  adminPolling?: AdminPolling;
  roomPerClient?: ManyRooms;
  readonly errors: string[];
}

const KB = 1024;
const ROOM_WINDOW = 8;
/** Tolerance of the speed check over any 1-s window. */
const SPEED_TOLERANCE = 1.1;

type Log = (line: string) => void;

/**
 * Polls the server until it holds `n` connections (`atLeast`) or at most `n`
 * and owes no other node an answer, for up to `maxMs`: a scenario measures
 * the server at rest, not the tail of the previous one's work.
 */
async function settle(target: Target, n: number, atLeast: boolean, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const { connections, pending } = await target.status();
    if ((atLeast ? connections >= n : connections <= n) && pending === 0) break;
    await sleep(250);
  }
  await sleep(500);
}

async function idleAt(target: Target, base: { rss: number; heapUsed: number }, n: number, failed: number): Promise<Idle> {
  await settle(target, n, true, 15_000);
  const m = await target.memory();
  return {
    n, failed, serverRssMB: m.rss / KB / KB,
    rssPerConnKB: (m.rss - base.rss) / Math.max(1, n) / KB,
    heapPerConnKB: (m.heapUsed - base.heapUsed) / Math.max(1, n) / KB,
  };
}

async function roomRate(fleet: Fleet, target: Target, members: number, pushes: number, batched: boolean): Promise<RoomRate> {
  await fleet.reset(false);
  const startUs = monoUs();
  const drive = await windowed(pushes, ROOM_WINDOW, 60_000, () => target.room(batched));
  const expected = members * drive.sent * (batched ? BATCH_SIZE : 1);
  await fleet.waitFor(expected, 5000, 120_000);
  const reports = await fleet.reports();
  const delivered = receivedOf(reports);
  const seconds = Math.max(1e-6, (lastUsOf(reports) - startUs) / 1e6);
  return { perSecond: delivered / seconds, delivered, expected, seconds, drive };
}

/**
 * `plan.manyRoomPushes` pushes, push i to room i mod rooms, 8 in flight, to
 * a fleet connected in rooms of ROOM_OF: the per-room cost of a push (room
 * lookup, one small fan-out) rather than the fan-out itself.
 */
async function manyRoomRate(fleet: Fleet, target: Target, clients: number, pushes: number): Promise<RoomRate> {
  const rooms = Math.max(1, Math.floor(clients / ROOM_OF));
  await fleet.reset(false);
  const startUs = monoUs();
  const drive = await windowed(pushes, ROOM_WINDOW, 60_000, (i) => target.smallRoom(i % rooms));
  const expected = ROOM_OF * drive.sent;
  await fleet.waitFor(expected, 5000, 120_000);
  const reports = await fleet.reports();
  const delivered = receivedOf(reports);
  const seconds = Math.max(1e-6, (lastUsOf(reports) - startUs) / 1e6);
  return { perSecond: delivered / seconds, delivered, expected, seconds, drive };
}

async function speedCheck(fleet: Fleet, broadcastAll: (speed: number) => Promise<void>, members: number, speed: number): Promise<SpeedCheck> {
  await fleet.reset(false);
  const startUs = monoUs();
  await broadcastAll(speed);
  await fleet.waitFor(members, 5000, (members / speed) * 3000 + 10_000);
  const reports = await fleet.reports();
  const delivered = receivedOf(reports);
  const seconds = Math.max(1e-6, (lastUsOf(reports) - Math.min(startUs, firstUsOf(reports) || startUs)) / 1e6);
  const peakPerSecond = peakPerWindow(reports, 1000);
  return {
    speed, delivered, expected: members, seconds, avgPerSecond: delivered / seconds, peakPerSecond,
    holds: peakPerSecond <= speed * SPEED_TOLERANCE,
  };
}

function connectRate(c: { opened: number; ms: number; failed: number; firstError: string }, cpuUs?: ReadonlyMap<string, number>): ConnectRate {
  return { perSecond: c.opened / (c.ms / 1000), opened: c.opened, failed: c.failed, firstError: c.firstError, cpuUs };
}

/** Connects the fleet, and the CPU each process of the target and the fleet spent per client opened. */
async function connectMeasured(fleet: Fleet, target: Target, roomSize = 0): Promise<ConnectRate> {
  const pids = new Map(target.pids);
  const clientCpu = (): number => fleet.pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const before = cpuSnapshot(pids);
  const clientsBefore = clientCpu();
  const c = await fleet.connect(target.client, roomSize);
  const cpu = cpuPerUnitUs(before, cpuSnapshot(pids), c.opened);
  cpu.set('clients', ((clientCpu() - clientsBefore) * 1e6) / Math.max(1, c.opened));
  return connectRate(c, cpu);
}

/**
 * Ours only: a fresh node (so its heap and its rate are not the main run's
 * leftovers) and n1 clients, client i alone in room live://bench-i: n1 room
 * actors under the room directories, against the main run's one room.
 */
async function roomPerClient(name: TargetName, plan: Plan, log: Log): Promise<ManyRooms> {
  const target = await startTarget(name, plan.oursProtocol, plan.profile);
  let fleet: Fleet | undefined;
  try {
    await sleep(500);
    const base = await target.memory();
    fleet = await Fleet.start(`${name}-rooms`, 0, plan.n1, 2);
    const c = await connectMeasured(fleet, target, 1);
    log(`  ${name}: ${c.opened} clients in ${c.opened} rooms up at ${c.perSecond.toFixed(0)}/s${c.failed ? `, ${c.failed} failed (${c.firstError})` : ''}`);
    return { connect: c, idle: await idleAt(target, base, c.opened, c.failed) };
  } finally {
    await fleet?.close().catch(() => undefined);
    await target.stop().catch(() => undefined);
  }
}

/** Runs `step`, recording its failure instead of throwing. */
async function attempt<T>(result: TargetResult, what: string, log: Log, step: () => Promise<T>): Promise<T | undefined> {
  const started = Date.now();
  try {
    const value = await step();
    log(`  ${result.name}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return value;
  } catch (err) {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    result.errors.push(message);
    log(`  ${result.name}: FAILED ${message}`);
    return undefined;
  }
}

export async function measureTarget(name: TargetName, plan: Plan, log: Log): Promise<TargetResult> {
  const result: TargetResult = { name, idle: [], errors: [] };
  const target = await startTarget(name, plan.oursProtocol, plan.profile);
  const fleets: Fleet[] = [];
  try {
    await sleep(500);
    const base = await target.memory();
    const main = await Fleet.start(`${name}-clients`, 0, plan.n1, 2);
    fleets.push(main);
    const c1 = await connectMeasured(main, target);
    result.connect = c1;
    log(`  ${name}: ${c1.opened} clients up at ${c1.perSecond.toFixed(0)}/s${c1.failed ? `, ${c1.failed} failed (${c1.firstError})` : ''}`);
    result.idle.push(await idleAt(target, base, c1.opened, c1.failed));

    const extra = await Fleet.start(`${name}-extra`, plan.n1, plan.n2 - plan.n1, 1);
    fleets.push(extra);
    const c2 = await extra.connect(target.client);
    log(`  ${name}: ${c1.opened + c2.opened} clients up${c2.failed ? `, ${c2.failed} more failed (${c2.firstError})` : ''}`);
    result.idle.push(await idleAt(target, base, c1.opened + c2.opened, c1.failed + c2.failed));
    const admin = target.admin;
    const grpcKeys = target.pushKeyGrpc;
    if (admin && grpcKeys) {
      result.adminPolling = await attempt(result, `admin polling at ${c1.opened + c2.opened} connections`, log, () => adminPolling(main, plan, admin, grpcKeys));
    }
    await extra.close();
    fleets.pop();
    await settle(target, c1.opened, false, 30_000);

    result.keysHttp = await attempt(result, 'key pushes over HTTP', log, () => keyLatency(main, plan, target.pushKeyHttp));
    const grpc = target.pushKeyGrpc;
    if (grpc) result.keysGrpc = await attempt(result, 'key pushes over gRPC streams', log, () => keyLatency(main, plan, grpc));
    const grpcUnary = target.pushKeyGrpcUnary;
    if (grpcUnary) result.keysGrpcUnary = await attempt(result, 'key pushes over gRPC unary', log, () => keyLatency(main, plan, grpcUnary));
    result.keysHttpFast = await attempt(result, `key pushes over HTTP at ${plan.fastRate}/s`, log, () => keyLatency(main, plan, target.pushKeyHttp, plan.fastRate));
    if (grpc) result.keysGrpcFast = await attempt(result, `key pushes over gRPC streams at ${plan.fastRate}/s`, log, () => keyLatency(main, plan, grpc, plan.fastRate));
    result.roomSingle = await attempt(result, 'room, un-batched', log, () => roomRate(main, target, c1.opened, plan.roomPushes, false));
    result.roomBatched = await attempt(result, 'room, batched', log, () => roomRate(main, target, c1.opened, plan.roomBatches, true));
    const all = target.broadcastAll;
    if (all) result.speed = await attempt(result, 'broadcast-all with speed', log, () => speedCheck(main, all, c1.opened, plan.speed));

    // The same number of clients again, now in rooms of ROOM_OF.
    await main.close();
    fleets.shift();
    await settle(target, 0, false, 30_000);
    const small = await Fleet.start(`${name}-rooms`, 0, plan.n1, 2);
    fleets.push(small);
    const c3 = await small.connect(target.client, ROOM_OF);
    log(`  ${name}: ${c3.opened} clients up in rooms of ${ROOM_OF}${c3.failed ? `, ${c3.failed} failed (${c3.firstError})` : ''}`);
    await settle(target, c3.opened, true, 15_000);
    result.manyRooms = await attempt(result, `room pushes to ${Math.floor(c3.opened / ROOM_OF)} rooms of ${ROOM_OF}`, log,
      () => manyRoomRate(small, target, plan.n1, plan.manyRoomPushes));
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    log(`  ${name}: FAILED ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const f of fleets) await f.close().catch(() => undefined);
    await target.stop().catch(() => undefined);
  }
  // Socket.IO's rooms are entries in its adapter's Map of Sets, and the floor has none: the row compares ours with itself.
  if (name === 'ours') result.roomPerClient = await attempt(result, `${plan.n1} clients in ${plan.n1} rooms`, log, () => roomPerClient(name, plan, log));
  return result;
}

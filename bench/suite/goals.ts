/**
 * The performance goals the project set itself, checked against one run:
 * each goal with the measured figure beside it and whether this run met it.
 * Goals judged against a baseline use that baseline's figure from the same run.
 */
import type { Plan } from './plan';
import type { RoomRate, TargetResult } from './scenarios';

export interface GoalLine {
  readonly goal: string;
  readonly measured: string;
  /** null when the run lacks the figures the goal needs. */
  readonly met: boolean | null;
}

const MAX_HEAP_KB = 6;
const MAX_RSS_KB = 10;
const MIN_ROOM_VS_FLOOR = 0.9;
const MIN_ROOM_VS_SOCKET_IO = 3;
const MAX_KEY_P99_MS = 10;
const MIN_CONNECTS_PER_SECOND = 6000;

const num = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function roomGoal(label: string, ours: RoomRate | undefined, floor: RoomRate | undefined, sio: RoomRate | undefined): GoalLine {
  const goal = `room broadcast, ${label}: ≥ ${MIN_ROOM_VS_FLOOR}× the floor and ≥ ${MIN_ROOM_VS_SOCKET_IO}× Socket.IO`;
  if (!ours || !floor || !sio) return { goal, measured: 'not measured', met: null };
  const vsFloor = ours.perSecond / floor.perSecond;
  const vsSio = ours.perSecond / sio.perSecond;
  return {
    goal,
    measured: `×${num(vsFloor, 2)} the floor, ×${num(vsSio, 2)} Socket.IO`,
    met: vsFloor >= MIN_ROOM_VS_FLOOR && vsSio >= MIN_ROOM_VS_SOCKET_IO,
  };
}

export function goalLines(plan: Plan, results: readonly TargetResult[]): GoalLine[] {
  const ours = results.find((r) => r.name === 'ours');
  const floor = results.find((r) => r.name === 'floor');
  const sio = results.find((r) => r.name === 'socket.io');
  const idle = ours?.idle.find((i) => i.n >= plan.n2) ?? ours?.idle[ours.idle.length - 1];
  const lines: GoalLine[] = [];
  lines.push(idle
    ? { goal: `heap per idle authenticated connection ≤ ${MAX_HEAP_KB} KB`, measured: `${num(idle.heapPerConnKB, 2)} KB at ${num(idle.n)}`, met: idle.heapPerConnKB <= MAX_HEAP_KB }
    : { goal: `heap per idle authenticated connection ≤ ${MAX_HEAP_KB} KB`, measured: 'not measured', met: null });
  lines.push(idle
    ? { goal: `RSS per idle authenticated connection ≤ ${MAX_RSS_KB} KB`, measured: `${num(idle.rssPerConnKB, 2)} KB at ${num(idle.n)}`, met: idle.rssPerConnKB <= MAX_RSS_KB }
    : { goal: `RSS per idle authenticated connection ≤ ${MAX_RSS_KB} KB`, measured: 'not measured', met: null });
  lines.push(roomGoal('un-batched', ours?.roomSingle, floor?.roomSingle, sio?.roomSingle));
  lines.push(roomGoal('batched', ours?.roomBatched, floor?.roomBatched, sio?.roomBatched));
  for (const [via, keys] of [['logic HTTP', ours?.keysHttp], ['cloud gRPC', ours?.keysGrpc]] as const) {
    const goal = `push to keys via ${via}: p99 < ${MAX_KEY_P99_MS} ms at ${num(plan.latencyRate)}/s`;
    lines.push(keys
      ? { goal, measured: `${num(keys.latency.p99Ms, 2)} ms (floor over HTTP: ${floor?.keysHttp ? `${num(floor.keysHttp.latency.p99Ms, 2)} ms` : 'not measured'})`, met: keys.latency.p99Ms < MAX_KEY_P99_MS }
      : { goal, measured: 'not measured', met: null });
  }
  const connect = ours?.connect;
  lines.push(connect
    ? {
      goal: `connect + auth ≥ ${num(MIN_CONNECTS_PER_SECOND)}/s`,
      measured: `${num(connect.perSecond)}/s (the floor, no auth: ${floor?.connect ? `${num(floor.connect.perSecond)}/s` : 'not measured'})`,
      met: connect.perSecond >= MIN_CONNECTS_PER_SECOND,
    }
    : { goal: `connect + auth ≥ ${num(MIN_CONNECTS_PER_SECOND)}/s`, measured: 'not measured', met: null });
  const speed = ours?.speed;
  lines.push(speed
    ? { goal: 'broadcast-all with speed: no 1-s window above the limit', measured: `peak ${num(speed.peakPerSecond)}/s at speed ${num(speed.speed)}/s`, met: speed.holds }
    : { goal: 'broadcast-all with speed: no 1-s window above the limit', measured: 'not measured', met: null });
  return lines;
}

export function goalsMarkdown(lines: readonly GoalLine[]): string {
  const mark = (met: boolean | null): string => (met === null ? '—' : met ? 'met' : 'missed');
  return [
    '| goal | this run | |',
    '|---|---|---|',
    ...lines.map((l) => `| ${l.goal} | ${l.measured} | ${mark(l.met)} |`),
  ].join('\n');
}

/**
 * The performance goals the project set itself, checked against one run:
 * each goal with the measured figure beside it and whether this run met it.
 * Goals judged against a baseline use that baseline's figure from the same run.
 */
import { table } from '../lib/markdown';
import type { Plan } from './plan';
import type { Idle, KeyLatency, RoomRate, TargetResult } from './scenarios';

export interface GoalLine {
  readonly goal: string;
  readonly measured: string;
  /** null when the run lacks the figures the goal needs. */
  readonly met: boolean | null;
}

const MAX_HEAP_KB = 4;
const MAX_RSS_KB = 10;
const MAX_RSS_VS_SOCKET_IO = 0.7;
const MIN_ROOM_VS_FLOOR = 0.9;
const MIN_ROOM_VS_SOCKET_IO = 3;
const MAX_KEY_P99_MS = 10;
/** Push to key p99, ours against Socket.IO's over HTTP in the same run (issue 12). */
const MAX_KEY_P99_VS_SOCKET_IO = 1.5;
const MIN_CONNECTS_PER_SECOND = 6000;
/** Connect + auth through a real logic node against Socket.IO's and the floor's (no auth) in the same run (issue 12). */
const MIN_CONNECTS_VS_SOCKET_IO = 1.5;
const MIN_CONNECTS_VS_FLOOR = 0.7;
/** Many rooms against one: connect rate and idle memory within this share of each other. */
const MAX_MANY_ROOMS_GAP = 0.1;

const num = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A goal and, when the run has its figures, the measured text and whether it was met. */
function line(goal: string, outcome: readonly [measured: string, met: boolean] | null): GoalLine {
  return outcome ? { goal, measured: outcome[0], met: outcome[1] } : { goal, measured: 'not measured', met: null };
}

function roomGoal(label: string, ours: RoomRate | undefined, floor: RoomRate | undefined, sio: RoomRate | undefined): GoalLine {
  const goal = `room broadcast, ${label}: ≥ ${MIN_ROOM_VS_FLOOR}× the floor and ≥ ${MIN_ROOM_VS_SOCKET_IO}× Socket.IO`;
  if (!ours || !floor || !sio) return line(goal, null);
  const vsFloor = ours.perSecond / floor.perSecond;
  const vsSio = ours.perSecond / sio.perSecond;
  return line(goal, [`×${num(vsFloor, 2)} the floor, ×${num(vsSio, 2)} Socket.IO`, vsFloor >= MIN_ROOM_VS_FLOOR && vsSio >= MIN_ROOM_VS_SOCKET_IO]);
}

/** The goals speak of 10,000 and 19,000 clients: only a full run is judged against them. */
export function goalLines(plan: Plan, results: readonly TargetResult[]): GoalLine[] {
  const lines = measuredGoals(plan, results);
  return plan.mode === 'full' ? lines : lines.map((l) => ({ ...l, met: null }));
}

function measuredGoals(plan: Plan, results: readonly TargetResult[]): GoalLine[] {
  const ours = results.find((r) => r.name === 'ours');
  const floor = results.find((r) => r.name === 'floor');
  const sio = results.find((r) => r.name === 'socket.io');
  const idle = ours?.idle.find((i) => i.n >= plan.n2) ?? ours?.idle[ours.idle.length - 1];
  const at = idle ? ` at ${num(idle.n)}` : '';
  const floorKeys = floor?.keysHttp ? `${num(floor.keysHttp.latency.p99Ms, 2)} ms` : 'not measured';
  const keysGoal = (via: string, keys: KeyLatency | undefined): GoalLine => line(
    `push to keys via ${via}: p99 < ${MAX_KEY_P99_MS} ms at ${num(plan.latencyRate)}/s`,
    keys ? [`${num(keys.latency.p99Ms, 2)} ms (the floor over HTTP: ${floorKeys})`, keys.latency.p99Ms < MAX_KEY_P99_MS] : null,
  );
  const keysVsSio = (via: string, rate: number, keys: KeyLatency | undefined, theirs: KeyLatency | undefined): GoalLine => line(
    `push to keys via ${via} at ${num(rate)}/s: p99 ≤ ${MAX_KEY_P99_VS_SOCKET_IO}× Socket.IO's`,
    keys && theirs
      ? [`×${num(keys.latency.p99Ms / theirs.latency.p99Ms, 2)} (${num(keys.latency.p99Ms, 2)} vs ${num(theirs.latency.p99Ms, 2)} ms)`,
        keys.latency.p99Ms <= MAX_KEY_P99_VS_SOCKET_IO * theirs.latency.p99Ms]
      : null,
  );
  const connect = ours?.connect;
  const speed = ours?.speed;
  return [
    line(`heap per idle authenticated connection ≤ ${MAX_HEAP_KB} KB`, idle ? [`${num(idle.heapPerConnKB, 2)} KB${at}`, idle.heapPerConnKB <= MAX_HEAP_KB] : null),
    line(`RSS per idle authenticated connection ≤ ${MAX_RSS_KB} KB`, idle ? [`${num(idle.rssPerConnKB, 2)} KB${at}`, idle.rssPerConnKB <= MAX_RSS_KB] : null),
    rssVsSocketIo(plan, idle, sio),
    roomGoal('un-batched', ours?.roomSingle, floor?.roomSingle, sio?.roomSingle),
    roomGoal('batched', ours?.roomBatched, floor?.roomBatched, sio?.roomBatched),
    keysGoal('logic HTTP', ours?.keysHttp),
    keysGoal('cloud gRPC', ours?.keysGrpc),
    keysVsSio('logic HTTP', plan.latencyRate, ours?.keysHttp, sio?.keysHttp),
    keysVsSio('cloud gRPC', plan.latencyRate, ours?.keysGrpc, sio?.keysHttp),
    keysVsSio('logic HTTP', plan.fastRate, ours?.keysHttpFast, sio?.keysHttpFast),
    keysVsSio('cloud gRPC', plan.fastRate, ours?.keysGrpcFast, sio?.keysHttpFast),
    line(`connect + auth ≥ ${num(MIN_CONNECTS_PER_SECOND)}/s`, connect
      ? [`${num(connect.perSecond)}/s (the floor, no auth: ${floor?.connect ? `${num(floor.connect.perSecond)}/s` : 'not measured'})`, connect.perSecond >= MIN_CONNECTS_PER_SECOND]
      : null),
    connectVsPeers(connect, floor?.connect, sio?.connect),
    roomPerClientGoal(ours),
    line('broadcast-all with speed: no 1-s window above the limit', speed ? [`peak ${num(speed.peakPerSecond)}/s at speed ${num(speed.speed)}/s`, speed.holds] : null),
  ];
}

function rssVsSocketIo(plan: Plan, ours: Idle | undefined, sio: TargetResult | undefined): GoalLine {
  const goal = `RSS per idle authenticated connection ≤ ${num(MAX_RSS_VS_SOCKET_IO, 1)}× Socket.IO's`;
  const theirs = sio?.idle.find((i) => i.n >= plan.n2) ?? sio?.idle[sio.idle.length - 1];
  if (!ours || !theirs) return line(goal, null);
  const ratio = ours.rssPerConnKB / theirs.rssPerConnKB;
  return line(goal, [`×${num(ratio, 2)} (${num(ours.rssPerConnKB, 2)} against ${num(theirs.rssPerConnKB, 2)} KB at ${num(theirs.n)})`, ratio <= MAX_RSS_VS_SOCKET_IO]);
}

function connectVsPeers(ours: { perSecond: number } | undefined, floor: { perSecond: number } | undefined, sio: { perSecond: number } | undefined): GoalLine {
  const goal = `connect + auth ≥ ${MIN_CONNECTS_VS_SOCKET_IO}× Socket.IO's and ≥ ${MIN_CONNECTS_VS_FLOOR}× the floor's (no auth)`;
  if (!ours || !floor || !sio) return line(goal, null);
  const vsSio = ours.perSecond / sio.perSecond;
  const vsFloor = ours.perSecond / floor.perSecond;
  return line(goal, [`×${num(vsSio, 2)} Socket.IO, ×${num(vsFloor, 2)} the floor`, vsSio >= MIN_CONNECTS_VS_SOCKET_IO && vsFloor >= MIN_CONNECTS_VS_FLOOR]);
}

function roomPerClientGoal(ours: TargetResult | undefined): GoalLine {
  const goal = `many rooms (a room per client) against one room: connect + auth rate and idle RSS / heap per connection within ${num(100 * MAX_MANY_ROOMS_GAP)}%`;
  const m = ours?.roomPerClient;
  const one = ours?.idle[0];
  const connect = ours?.connect;
  if (!m || !one || !connect) return line(goal, null);
  const rate = m.connect.perSecond / connect.perSecond;
  const rss = m.idle.rssPerConnKB / one.rssPerConnKB;
  const heap = m.idle.heapPerConnKB / one.heapPerConnKB;
  const within = (x: number): boolean => Math.abs(x - 1) <= MAX_MANY_ROOMS_GAP;
  return line(goal, [`rate ×${num(rate, 2)}, RSS ×${num(rss, 2)}, heap ×${num(heap, 2)}`, within(rate) && within(rss) && within(heap)]);
}

export function goalsMarkdown(plan: Plan, lines: readonly GoalLine[]): string {
  const mark = (met: boolean | null): string => (met === null ? '—' : met ? 'met' : 'missed');
  return [
    ...(plan.mode === 'full' ? [] : ['Quick run: the figures are shown, but only a full run (`--full`) is judged against the goals.', '']),
    table(['goal', 'this run', ''], lines.map((l) => [l.goal, l.measured, mark(l.met)])),
  ].join('\n');
}

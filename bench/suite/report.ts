/** Turns the results into the markdown table (one row per scenario) and BENCHMARKS.md. */
import os from 'node:os';
import path from 'node:path';
import { BATCH_SIZE } from '../servers/server-kit';
import type { LogSummary } from '../lib/logs';
import { table } from '../lib/markdown';
import type { Plan } from './plan';
import { ROOM_OF, describePlan } from './plan';
import { goalLines, goalsMarkdown } from './goals';
import type { AdminPolling, PollingWindow } from './admin-polling';
import type { KeyLatency, RoomRate, TargetResult } from './scenarios';
import type { TargetName } from './targets';

interface Cell {
  readonly text: string;
  /** The numbers the ratios are taken of (same order in every cell of a row). */
  readonly values: readonly number[];
}

interface Row {
  readonly scenario: string;
  readonly better: 'lower' | 'higher' | '—';
  readonly cells: Record<TargetName, Cell | null>;
}

const fmt = (n: number, digits = 0): string =>
  (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const pct = (a: number, b: number): string => (b > 0 ? `${fmt((100 * a) / b, 1)}%` : 'n/a');

function byName(results: readonly TargetResult[], name: TargetName): TargetResult | undefined {
  return results.find((r) => r.name === name);
}

function row(scenario: string, better: Row['better'], results: readonly TargetResult[], cell: (r: TargetResult) => Cell | null): Row {
  const pick = (name: TargetName): Cell | null => {
    const r = byName(results, name);
    return r ? cell(r) : { text: 'not run', values: [] };
  };
  return { scenario, better, cells: { ours: pick('ours'), floor: pick('floor'), 'socket.io': pick('socket.io') } };
}

function latencyCell(k: KeyLatency | undefined, suffix = ''): Cell | null {
  if (!k) return null;
  const l = k.latency;
  const lost = k.delivered < k.drive.sent ? ` (${pct(k.delivered, k.drive.sent)} delivered)` : '';
  return { text: `${fmt(l.p50Ms, 2)} / ${fmt(l.p99Ms, 2)} / ${fmt(l.maxMs, 1)} ms${lost}${suffix}`, values: [l.p50Ms, l.p99Ms, l.maxMs] };
}

function roomCell(r: RoomRate | undefined): Cell | null {
  if (!r) return null;
  const lost = r.delivered < r.expected ? ` (${pct(r.delivered, r.expected)} delivered)` : '';
  return { text: `${fmt(r.perSecond)} msg/s${lost}`, values: [r.perSecond] };
}

function ratio(ours: Cell | null, other: Cell | null): string {
  if (!ours || !other || ours.values.length === 0) return '—';
  const parts = ours.values.map((v, i) => {
    const o = other.values[i];
    return Number.isFinite(v) && Number.isFinite(o) && o !== 0 ? `×${fmt(v / o, 2)}` : 'n/a';
  });
  return parts.join(' / ');
}

/** Ours only: the floor and Socket.IO have no admin endpoint. */
function adminRow(scenario: string, plan: Plan, results: readonly TargetResult[], cell: (a: AdminPolling) => string): Row {
  return row(scenario, 'lower', results, (r) => {
    if (r.name !== 'ours') return { text: 'n/a (no admin endpoint)', values: [] };
    const a = r.adminPolling;
    if (!a) return null;
    const fewer = a.connections < plan.n2 ? ` (node held ${fmt(a.connections)})` : '';
    return { text: `${cell(a)}${fewer}`, values: [] };
  });
}

function lostOf(w: PollingWindow): string {
  return w.keys.delivered < w.keys.drive.sent ? ` (${pct(w.keys.delivered, w.keys.drive.sent)} delivered)` : '';
}

/** " (CPU per client: cloud 210 + logic 120 µs; clients 150 µs)": the server's processes, then the load generator's. */
function cpuText(cpu: ReadonlyMap<string, number> | undefined): string {
  if (!cpu) return '';
  const server = [...cpu].filter(([name, us]) => name !== 'clients' && Number.isFinite(us));
  const clients = cpu.get('clients');
  if (server.length === 0) return '';
  const parts = server.map(([name, us]) => `${name === 'server' ? '' : `${name} `}${fmt(us)}`).join(' + ');
  return ` (CPU per client: ${parts} µs${clients !== undefined && Number.isFinite(clients) ? `; clients ${fmt(clients)} µs` : ''})`;
}

export function buildRows(plan: Plan, results: readonly TargetResult[]): Row[] {
  const idleRow = (i: number, n: number): Row => row(`idle memory per authenticated connection at ${fmt(n)}: RSS / heapUsed`, 'lower', results, (r) => {
    const m = r.idle[i];
    if (!m) return null;
    const failed = m.failed > 0 ? ` (${fmt(m.n)} up, ${fmt(m.failed)} failed)` : '';
    return { text: `${fmt(m.rssPerConnKB, 2)} / ${fmt(m.heapPerConnKB, 2)} KB${failed}`, values: [m.rssPerConnKB, m.heapPerConnKB] };
  });
  const speedRow = row(`broadcast-all, speed ${fmt(plan.speed)}/s, to ${fmt(plan.n1)}: peak 1-s window / average rate`, '—', results, (r) => {
    const s = r.speed;
    if (!s) return r.name === 'ours' ? null : { text: 'n/a (no speed option)', values: [] };
    const lost = s.delivered < s.expected ? `, ${pct(s.delivered, s.expected)} delivered` : '';
    return { text: `${fmt(s.peakPerSecond)} / ${fmt(s.avgPerSecond)} per s: limit ${s.holds ? 'holds' : 'EXCEEDED'}${lost}`, values: [] };
  });
  return [
    idleRow(0, plan.n1),
    idleRow(1, plan.n2),
    row(`connect + auth rate, ${fmt(plan.n1)} clients (ours: through a real logic node), and the CPU each process spent per client`, 'higher', results, (r) => r.connect
      ? { text: `${fmt(r.connect.perSecond)} conn/s${r.connect.failed ? ` (${fmt(r.connect.failed)} failed)` : ''}${cpuText(r.connect.cpuUs)}`, values: [r.connect.perSecond] }
      : null),
    row(`push to keys at ${fmt(plan.n1)} connections, ${fmt(plan.latencyRate)}/s: p50 / p99 / max (ours: logic HTTP API)`, 'lower', results,
      (r) => latencyCell(r.keysHttp)),
    row(`push to keys at ${fmt(plan.n1)} connections, ${fmt(plan.latencyRate)}/s: p50 / p99 / max (ours: cloud gRPC, PushMsg on im.cloud.CloudStream as our logic node sends it)`, 'lower', results,
      (r) => (r.name === 'ours' ? latencyCell(r.keysGrpc) : latencyCell(r.keysHttp, ' (HTTP)'))),
    row(`push to keys at ${fmt(plan.n1)} connections, ${fmt(plan.latencyRate)}/s: p50 / p99 / max (ours: cloud gRPC, PushMsg unary as goim's job sends it)`, 'lower', results,
      (r) => (r.name === 'ours' ? latencyCell(r.keysGrpcUnary) : latencyCell(r.keysHttp, ' (HTTP)'))),
    row(`push to keys at ${fmt(plan.n1)} connections, ${fmt(plan.fastRate)}/s: p50 / p99 / max (ours: logic HTTP API)`, 'lower', results,
      (r) => latencyCell(r.keysHttpFast)),
    row(`push to keys at ${fmt(plan.n1)} connections, ${fmt(plan.fastRate)}/s: p50 / p99 / max (ours: cloud gRPC, PushMsg on im.cloud.CloudStream)`, 'lower', results,
      (r) => (r.name === 'ours' ? latencyCell(r.keysGrpcFast) : latencyCell(r.keysHttpFast, ' (HTTP)'))),
    row(`room broadcast to ${fmt(plan.n1)}, un-batched (one message per push): delivered`, 'higher', results, (r) => roomCell(r.roomSingle)),
    row(`room broadcast to ${fmt(plan.n1)}, batched (op 9, ${BATCH_SIZE} per frame): delivered`, 'higher', results, (r) => roomCell(r.roomBatched)),
    row(`room pushes to ${fmt(plan.n1 / ROOM_OF)} distinct rooms of ${ROOM_OF} (one message per push, rooms in turn): delivered`, 'higher', results,
      (r) => roomCell(r.manyRooms)),
    speedRow,
    adminRow(`admin polling at ${fmt(plan.n2)} connections (/actors of the biggest shard + /top, 1/s): node's event-loop delay p99 / max, without → with`,
      plan, results, (a) => `${fmt(a.without.loop.p99Ms, 2)} / ${fmt(a.without.loop.maxMs, 1)} → ${fmt(a.with.loop.p99Ms, 2)} / ${fmt(a.with.loop.maxMs, 1)} ms`
        + ` (longest GC pause ${fmt(a.without.loop.gcMaxMs, 1)} → ${fmt(a.with.loop.gcMaxMs, 1)} ms)`),
    adminRow(`admin polling at ${fmt(plan.n2)} connections: push to keys (cloud gRPC PushMsg on a stream, ${fmt(plan.latencyRate)}/s) p99 / max, without → with`,
      plan, results, (a) => `${fmt(a.without.keys.latency.p99Ms, 2)} / ${fmt(a.without.keys.latency.maxMs, 1)}${lostOf(a.without)}`
        + ` → ${fmt(a.with.keys.latency.p99Ms, 2)} / ${fmt(a.with.keys.latency.maxMs, 1)} ms${lostOf(a.with)}`),
    row(`many rooms: ${fmt(plan.n1)} clients each in a room of its own, against the same in one room (fresh node): connect + auth rate, RSS / heapUsed per connection, and each as a share of the one-room figure`,
      '—', results, roomPerClientCell),
  ];
}

/** Ours only: Socket.IO's rooms are entries in its adapter's Map of Sets, and the floor has none. */
function roomPerClientCell(r: TargetResult): Cell | null {
  if (r.name !== 'ours') return { text: 'n/a (rooms are not actors)', values: [] };
  const m = r.roomPerClient;
  const one = r.idle[0];
  if (!m || !r.connect || !one) return null;
  const failed = m.connect.failed ? ` (${fmt(m.connect.failed)} failed)` : '';
  return {
    text: `${fmt(m.connect.perSecond)} conn/s${failed}, ${fmt(m.idle.rssPerConnKB, 2)} / ${fmt(m.idle.heapPerConnKB, 2)} KB: `
      + `${pct(m.connect.perSecond, r.connect.perSecond)} / ${pct(m.idle.rssPerConnKB, one.rssPerConnKB)} / ${pct(m.idle.heapPerConnKB, one.heapPerConnKB)}`,
    values: [],
  };
}

export function markdownTable(rows: readonly Row[]): string {
  const show = (c: Cell | null): string => (c ? c.text : 'failed');
  return `${table(['scenario', 'better', 'ours', 'floor (bare ws)', 'Socket.IO', 'ours ÷ floor', 'ours ÷ Socket.IO'], rows.map((r) => [
    r.scenario, r.better, show(r.cells.ours), show(r.cells.floor), show(r.cells['socket.io']),
    ratio(r.cells.ours, r.cells.floor), ratio(r.cells.ours, r.cells['socket.io']),
  ]))}\n`;
}

function adminDetail(a: AdminPolling): string {
  const window = (label: string, w: PollingWindow): string => {
    const l = w.loop;
    return `${label}: event-loop delay p50 / p99 / p99.9 / max ${fmt(l.p50Ms, 2)} / ${fmt(l.p99Ms, 2)} / ${fmt(l.p999Ms, 2)} / ${fmt(l.maxMs, 1)} ms`
      + ` (${fmt(l.samples)} samples), loop busy ${fmt(100 * l.utilization, 1)}%, GC ${fmt(l.gcPauses)} pauses (${fmt(l.gcMajor)} major) ${fmt(l.gcTotalMs)} ms in all, longest ${fmt(l.gcMaxMs, 1)} ms, keys p50 / p99 / max ${fmt(w.keys.latency.p50Ms, 2)} / ${fmt(w.keys.latency.p99Ms, 2)} / ${fmt(w.keys.latency.maxMs, 1)} ms,`
      + ` ${fmt(w.keys.drive.sent)} sent, ${fmt(w.keys.drive.failed)} failed, ${fmt(w.keys.drive.skipped)} skipped, ${fmt(w.keys.delivered)} delivered`;
  };
  const routes = a.routes.map((p) => `\`${p.route}\` ${fmt(p.polls)} polls${p.failed ? `, ${fmt(p.failed)} failed (${p.firstError})` : ''}`
    + `${p.skipped ? `, ${fmt(p.skipped)} skipped (previous unanswered)` : ''}, p50 / p99 / max ${fmt(p.p50Ms, 1)} / ${fmt(p.p99Ms, 1)} / ${fmt(p.maxMs, 1)} ms,`
    + ` ${fmt(p.meanBytes / 1024, 1)} KB per answer (max ${fmt(p.maxBytes / 1024, 1)} KB)`);
  return `admin polling at ${fmt(a.connections)} connections, ${fmt(a.seconds)} s per window, biggest shard ${fmt(a.shard.children)} connections`
    + ` (of ${fmt(a.shard.shards)} shards): ${window('without polling', a.without)}; ${window('with polling', a.with)}; polls: ${routes.join('; ')}`;
}

/** Per-target details that the table leaves out: counts, drive results, errors. */
export function detailLines(results: readonly TargetResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const parts: string[] = [];
    for (const m of r.idle) parts.push(`server RSS ${fmt(m.serverRssMB, 1)} MB at ${fmt(m.n)}`);
    if (r.connect?.failed) parts.push(`connect failures ${r.connect.failed} (first: ${r.connect.firstError})`);
    const keys = (label: string, k: KeyLatency | undefined): void => {
      if (k) parts.push(`${label}: ${fmt(k.drive.sent)} sent in ${fmt(k.drive.ms / 1000, 1)} s, ${fmt(k.drive.failed)} failed, ${fmt(k.drive.skipped)} skipped, ${fmt(k.delivered)} delivered`
        + `${k.drive.firstError ? ` (first error: ${k.drive.firstError})` : ''}`);
    };
    keys('keys/HTTP', r.keysHttp);
    keys('keys/gRPC', r.keysGrpc);
    keys('keys/gRPC unary', r.keysGrpcUnary);
    keys('keys/HTTP fast', r.keysHttpFast);
    keys('keys/gRPC fast', r.keysGrpcFast);
    const room = (label: string, x: RoomRate | undefined): void => {
      if (x) parts.push(`${label}: ${fmt(x.drive.sent)} pushes, ${fmt(x.delivered)} / ${fmt(x.expected)} delivered in ${fmt(x.seconds, 2)} s`
        + `${x.drive.failed ? `, ${x.drive.failed} pushes failed (${x.drive.firstError})` : ''}`);
    };
    room('room single', r.roomSingle);
    room('room batched', r.roomBatched);
    room(`rooms of ${ROOM_OF}`, r.manyRooms);
    if (r.speed) parts.push(`speed: ${fmt(r.speed.delivered)} / ${fmt(r.speed.expected)} delivered in ${fmt(r.speed.seconds, 2)} s (ideal ${fmt(r.speed.expected / r.speed.speed, 2)} s)`);
    if (r.adminPolling) parts.push(adminDetail(r.adminPolling));
    for (const e of r.errors) parts.push(`ERROR ${e}`);
    lines.push(`- **${r.name}**: ${parts.join('; ')}`);
  }
  return lines;
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 1024 ** 3, 1)} GiB RAM, ${os.type()} ${os.release()}`;
}

export function benchmarksMarkdown(
  plan: Plan, rows: readonly Row[], results: readonly TargetResult[], command: string, seconds: number, logs: readonly LogSummary[],
  /** The slow-consumer scenario's report (full runs), already markdown. */
  slowConsumer: string | null = null,
): string {
  return [
    '# Benchmarks',
    '',
    `Written by \`${command}\` on ${new Date().toISOString()}; the run took ${fmt(seconds)} s. Re-run it to refresh this file (it is overwritten).`,
    '',
    `- Machine: ${machineLine()}`,
    `- Node: ${process.version}`,
    `- Command: \`${command}\` (quick: \`npm run bench\`; full: \`npm run bench -- --full\`)`,
    `- Counts: ${describePlan(plan)}`,
    '',
    '## Results',
    '',
    markdownTable(rows),
    'Ratios are ours ÷ theirs for each number in the cell (for "lower is better" rows, above ×1 means ours costs more; for "higher", below ×1 means ours delivers less).',
    '',
    '## Goals',
    '',
    goalsMarkdown(plan, goalLines(plan, results)),
    '',
    ...(slowConsumer ? ['## Slow consumer', '', slowConsumer, ''] : []),
    '## Details',
    '',
    ...detailLines(results),
    ...logs.map((l) => `- log \`${path.basename(l.file)}\`: ${l.errorLines} error lines; first: \`${l.first.replace(/`/g, "'")}\``),
    '',
    '## Method',
    '',
    '- Every server runs in its own process (forked with `--expose-gc`), bound to 127.0.0.1. Ours is two processes: a cloud node and a logic node (memory session store, classic JSON tokens), talking gRPC; idle memory is the cloud process\'s.',
    '- The floor is a bare `ws` server (noServer + handleUpgrade, perMessageDeflate off) that answers op 7 with op 8 and op 2 with op 3, and sends one pre-built Buffer per socket with `ws.send` (the batched row: one pre-built op-9 frame of 20 packets). The peer is Socket.IO 4 (websocket transport only, no compression) emitting to a room (`m` = `{test:1}`; batched: one `b` event carrying 20 of them).',
    '- Clients run in separate worker processes (at most 9,000 each, each with its own 127.0.0.x source address) on raw sockets with a hand-written upgrade, masked client frames and an in-place frame parser (op-9 batches walked by packLen; Socket.IO batches counted by object). Clients heartbeat (op 2) every 30 s, answer engine.io pings, and are closed with a TCP reset.',
    `- Message: 26-byte packet (16-byte header + \`{"test":1}\`). Latency runs carry the send time as a 10-digit body instead (same size), stamped on CLOCK_MONOTONIC right before the push request; latency is measured at the client when the read arrives.`,
    '- Idle memory: server RSS and heapUsed after two forced full GCs and a 1-s wait (V8 returns freed pages to the OS from a background task), minus the same before any client connected, divided by the connections. Connect rate: clients opened and authenticated (op 8 received) per second, 100 handshakes in flight per worker; the CPU each process spent in that phase (user + system, from `/proc/<pid>/stat`, so the processes are not asked anything) divided by the clients opened: on 2 shared cores the rate is bounded by the sum of the servers\' and the clients\' CPU per client.',
    '- Push to keys: a steady rate of pushes, each to one key, over HTTP (ours: the logic node\'s `/im/push/keys`; baselines: a `POST /push?key=` on the server itself) and over the cloud node\'s gRPC `PushMsg`, sent as our logic node sends it (requests on two long-lived `im.cloud.CloudStream` streams, `cloud.streams`) and, at the first rate, also as a unary call (as goim\'s job, or any caller of the contract, sends it), each after one unmeasured second at the same rate (the first pushes run cold code and open connections).',
    '- Every scenario after the connect phases starts once the server holds the expected clients and owes no other node an answer (ours: when the second connect phase\'s clients leave, the cloud\'s Disconnect calls to logic take a few seconds to drain).',
    `- Room pushes to many rooms: the first phase's clients are closed and as many connect again, client i in room \`bench-r⌊i/${ROOM_OF}⌋\` (ours: \`live://bench-r…\` from the token's room_id; the floor: the token's room_id, one Set per room; Socket.IO: \`socket.join\` of the auth object's room); push i goes to room i mod the rooms, one message each, 8 in flight, ours via the cloud's gRPC \`BroadcastRoom\` (on a stream, as above), the baselines via \`POST /room?room=\`.`,
    `- Room broadcast: ours via the cloud node's gRPC \`BroadcastRoom\` on a stream (op 1000, or op 9 carrying ${BATCH_SIZE} packets), baselines via \`POST /room\`; 8 pushes in flight; rate = messages delivered ÷ time from the first push to the last message received.`,
    '- Broadcast-all: one `/im/push/all?speed=` through the logic node; the receive times are bucketed per 50 ms, and the limit holds if no 1-s window received more than 1.1 × speed.',
    '- Many rooms (ours only: Socket.IO\'s rooms are entries in its adapter\'s Map of Sets and the floor has none, so there is no actor per room to compare): after the other scenarios, a fresh cloud and logic node pair, and the first phase\'s number of clients, client i alone in room `live://bench-i`; its connect rate and idle memory (measured as above) against the first phase\'s, where every client is in `live://bench`.',
    '- Admin polling (ours only: the floor and Socket.IO have no admin endpoint): with the second connect phase\'s clients still connected, key pushes as above (cloud gRPC `PushMsg` on a stream, to the first phase\'s clients) for one unmeasured window, one window without admin requests, then one as long while `GET /actors?path=<the connection shard with the most children>&limit=500`, `GET /top?by=mailbox&n=20` and `GET /top?by=processed&n=20` are sent once per second (a route whose previous request is unanswered skips the tick). The cloud process measures its own event-loop delay with `perf_hooks.monitorEventLoopDelay` (sampled every 1 ms, so an idle loop reads about 1 ms and a stall shows as one sample of its length), reset when each window starts (1 s after two forced full GCs, so that both windows start from the same heap and not in the catching up after the GC; the unmeasured window takes the major GC that otherwise falls in whichever window comes first) and read when its last push and poll are answered; it also reports the share of the window its loop was busy (`performance.eventLoopUtilization`) and sums the GC pauses that started in the window (`gc` performance entries), since a GC pause stalls the loop whatever caused the garbage. Poll latency and answer size are measured at the poller.',
    '- All three share the 2 cores with the load generator, so absolute figures are this machine\'s; the ratios are what to compare.',
    '',
  ].join('\n');
}

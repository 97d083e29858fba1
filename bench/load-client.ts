/**
 * A load-generator worker process (forked by bench/run.ts). Holds its share
 * of clients (at most ~9,000: one process may hold 20,000 open files),
 * heartbeats them every 30 s like goim's client, counts what they receive,
 * and answers the orchestrator over IPC.
 */
import { encodePacket } from '../system/codec';
import type { ClientTarget, ConnectArgs, ConnectResult, WorkerCommands } from './lib/commands';
import { monoUs } from './lib/clock';
import { failStart, serveIpc } from './lib/ipc';
import { BenchClient, SharedFrames } from './load/bench-client';
import { Recorder } from './load/recorder';
import { WS_BINARY, WS_TEXT, clientFrame, upgradeRequest } from './load/ws-frames';

const HEARTBEAT_MS = 30_000;
const HEARTBEAT_TICK_MS = 1000;
const OP_HEARTBEAT = 2;
const OP_AUTH = 7;

const rec = new Recorder();
let clients: BenchClient[] = [];
let heartbeatCursor = 0;

function sharedFrames(target: ClientTarget): SharedFrames {
  const hb = encodePacket(1, OP_HEARTBEAT, 1, Buffer.alloc(0));
  return {
    upgrade: upgradeRequest(target.port, target.path),
    heartbeat: target.protocol === 'goim-tcp' ? hb : clientFrame(WS_BINARY, hb),
    sioPong: clientFrame(WS_TEXT, Buffer.from('3')),
  };
}

/** goim's classic JSON token for ours and the floor; socket.io's CONNECT packet with an auth object. */
function authFor(target: ClientTarget, i: number, rooms: 'one' | 'distinct'): Buffer {
  if (target.protocol === 'sio') return clientFrame(WS_TEXT, Buffer.from(`40${JSON.stringify({ key: `bench-${i}` })}`));
  const token = JSON.stringify({ mid: i, key: `bench-${i}`, room_id: rooms === 'distinct' ? `live://bench-${i}` : 'live://bench', platform: 'web', accepts: [1000] });
  const packet = encodePacket(1, OP_AUTH, 1, token);
  return target.protocol === 'goim-tcp' ? packet : clientFrame(WS_BINARY, packet);
}

async function connect(a: ConnectArgs): Promise<ConnectResult> {
  const shared = sharedFrames(a.target);
  const started = monoUs();
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstError = '';
  const one = (i: number): Promise<void> => new Promise((resolve) => {
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        failed++;
        if (firstError === '') firstError = `client ${i}: ${err.message}`;
        client.reset();
      } else {
        opened++;
        clients.push(client);
      }
      resolve();
    };
    const client = new BenchClient(a.target, shared, authFor(a.target, i, a.rooms ?? 'one'), rec, a.localAddress, finish);
    const timer = setTimeout(() => finish(new Error(`no auth reply within ${a.timeoutMs} ms`)), a.timeoutMs);
  });
  const lanes = Math.max(1, Math.min(a.concurrency, a.count));
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < a.count) await one(a.firstIndex + next++);
  }));
  return { opened, failed, ms: (monoUs() - started) / 1000, firstError };
}

function openCount(): number {
  let n = 0;
  for (const c of clients) if (c.open) n++;
  return n;
}

function closeAll(): number {
  const n = clients.length;
  for (const c of clients) c.reset();
  clients = [];
  return n;
}

/** Every client heartbeats once per HEARTBEAT_MS, spread over the ticks. */
function heartbeatTick(): void {
  if (clients.length === 0) return;
  const slice = Math.ceil((clients.length * HEARTBEAT_TICK_MS) / HEARTBEAT_MS);
  for (let k = 0; k < slice; k++) {
    heartbeatCursor = (heartbeatCursor + 1) % clients.length;
    clients[heartbeatCursor].heartbeat();
  }
}

try {
  setInterval(heartbeatTick, HEARTBEAT_TICK_MS).unref();
  process.on('disconnect', () => {
    closeAll();
    process.exit(0);
  });
  serveIpc<WorkerCommands>({
    connect,
    reset: (args) => {
      rec.reset(args.t0Us, args.latency);
      return null;
    },
    count: () => ({ received: rec.received, open: openCount() }),
    report: () => rec.report(openCount()),
    close: () => ({ closed: closeAll() }),
  }, { pid: process.pid });
} catch (err) {
  failStart(err);
}

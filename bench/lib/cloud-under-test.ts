/**
 * For the single-node checks: a cloud node in this process (so its heap and
 * event loop are what is measured), the test logic node in a process of its
 * own, and idle clients in another.
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { loadCloudConfig } from '../../config/cloud-config';
import { CloudNode } from '../../system/cloud-node';
import winston from 'winston';

const BENCH_DIR = path.join(__dirname, '..');

export interface CloudUnderTest {
  readonly node: CloudNode;
  /** Waits for the clients' Disconnects to be answered by logic, then stops the node, then the logic double. */
  stop(): Promise<void>;
}

export interface IdleClients {
  readonly count: number;
  /** From the first connect to the last op 8. */
  readonly ms: number;
  /** Resets every socket and waits for the client process to exit. */
  close(): Promise<void>;
}

function readyMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    child.on('message', (msg: { type: string; message?: string }) => {
      if (msg.type === 'ready') resolve(msg as T);
      else if (msg.type === 'error') reject(new Error(`${what}: ${msg.message}`));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

/** The node's lines from warn up, as system/logger writes them but to stderr: stdout carries only the bench's report. */
function stderrLogger(): winston.Logger {
  return winston.createLogger({
    level: 'warn',
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** Nested option values by section (`{ slowConsumer: { ms: 2000 } }`), laid over the bench's own. */
export type CloudOverrides = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export async function startCloudUnderTest(overrides: CloudOverrides = {}): Promise<CloudUnderTest> {
  const logic = fork(path.join(BENCH_DIR, 'logic-double.js'));
  const { port } = await readyMessage<{ port: number }>(logic, 'logic double');
  const own: CloudOverrides = {
    node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0 }, admin: { port: 0 }, logic: { nodes: [`127.0.0.1:${port}`] },
    // Every client comes from one address, as fast as it can.
    limits: { maxConnectionsPerIp: 0, newConnectionsPerSec: 0 },
  };
  const merged: Record<string, Readonly<Record<string, unknown>>> = { ...own };
  for (const [section, values] of Object.entries(overrides)) merged[section] = { ...own[section], ...values };
  const config = loadCloudConfig({ overrides: merged });
  const node = await CloudNode.start(config, { logger: stderrLogger() });
  return {
    node,
    stop: async () => {
      // The clients are gone once their actors are; their Disconnects are answered once the gateway holds no call.
      // Only then the node stops (it would cut calls still in flight) and the logic double goes.
      const deadline = Date.now() + 120_000;
      const busy = (): boolean => node.runtime.count('connection') > 0 || Number(node.pendingShutdown().logicCalls) > 0;
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await node.stop();
      logic.removeAllListeners('exit');
      logic.kill();
    },
  };
}

/** Where the idle clients go: all into one room, or each into a room of its own. */
export type IdleRooms = 'one' | 'distinct';

/** `n` authenticated clients, client i with key `idle-<i>`; resolves once every one has its op 8. */
export async function openIdleClients(node: CloudNode, n: number, transport: 'ws' | 'tcp', rooms: IdleRooms = 'one'): Promise<IdleClients> {
  const port = transport === 'tcp' ? node.ports.tcp : node.ports.ws;
  const child = fork(path.join(BENCH_DIR, 'idle-clients.js'), [String(port), String(n), transport, '127.0.0.1', rooms]);
  const ready = await readyMessage<{ count: number; ms: number }>(child, 'client process');
  return {
    count: ready.count,
    ms: ready.ms,
    close: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      await exited;
    },
  };
}

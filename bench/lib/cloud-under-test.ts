/**
 * For the single-node checks: a cloud node in this process (so its heap and
 * event loop are what is measured), the test logic node in a process of its
 * own, and idle clients in another.
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { loadCloudConfig } from '../../config/cloud-config';
import { CloudNode } from '../../system/cloud-node';
import { createLogger } from '../../system/logger';

const BENCH_DIR = path.join(__dirname, '..');

export interface CloudUnderTest {
  readonly node: CloudNode;
  /** Waits for the clients' Disconnects to reach logic, then stops the node and the logic double. */
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

export async function startCloudUnderTest(): Promise<CloudUnderTest> {
  const logic = fork(path.join(BENCH_DIR, 'logic-double.js'));
  const { port } = await readyMessage<{ port: number }>(logic, 'logic double');
  const config = loadCloudConfig({
    overrides: {
      node: { bindHost: '127.0.0.1' }, tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0 }, admin: { port: 0 }, logic: { nodes: [`127.0.0.1:${port}`] },
      // Every client comes from one address, as fast as it can.
      limits: { maxConnectionsPerIp: 0, newConnectionsPerSec: 0 },
    },
  });
  const node = await CloudNode.start(config, { logger: createLogger('warn') });
  return {
    node,
    stop: async () => {
      const deadline = Date.now() + 120_000;
      while (node.runtime.count('connection') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await node.stop();
      logic.removeAllListeners('exit');
      logic.kill();
    },
  };
}

/** `n` authenticated clients, client i with key `idle-<i>`; resolves once every one has its op 8. */
export async function openIdleClients(node: CloudNode, n: number, transport: 'ws' | 'tcp'): Promise<IdleClients> {
  const port = transport === 'tcp' ? node.ports.tcp : node.ports.ws;
  const child = fork(path.join(BENCH_DIR, 'idle-clients.js'), [String(port), String(n), transport]);
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

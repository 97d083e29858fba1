import net from 'node:net';
import type { CloudConfig } from '../../config/cloud-config';
import type { WorkerSlot } from './worker-protocol';

function listenAnywhere(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

/**
 * Ports free right now, as many as `hosts` names: all are bound at once
 * (so they differ), then released for the workers to bind.
 */
async function freePorts(hosts: readonly string[]): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (const host of hosts) servers.push(await listenAnywhere(host));
    return servers.map((s) => {
      const address = s.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Where each of `config.workers.count` workers listens. tcp and ws are
 * shared (node:cluster hands each connection to one worker); worker i
 * takes grpc.port + i and admin.port + i. A port configured as 0 is chosen
 * here, once, by the primary: under node:cluster every worker asking for
 * port 0 would be given the same one, and a restarted worker must come
 * back on its slot's ports.
 */
export async function layoutSlots(config: CloudConfig): Promise<WorkerSlot[]> {
  const n = config.workers.count;
  const bind = config.node.bindHost;
  const wanted: string[] = [];
  if (config.tcp.port === 0) wanted.push(bind);
  if (config.ws.port === 0) wanted.push(bind);
  if (config.grpc.port === 0) for (let i = 0; i < n; i++) wanted.push(config.grpc.bindHost);
  if (config.admin.port === 0) for (let i = 0; i < n; i++) wanted.push(config.admin.host);
  const picked = await freePorts(wanted);
  const next = (): number => {
    const port = picked.shift();
    if (port === undefined) throw new Error('fewer free ports than asked for');
    return port;
  };
  const tcp = config.tcp.port === 0 ? next() : config.tcp.port;
  const ws = config.ws.port === 0 ? next() : config.ws.port;
  const grpc = Array.from({ length: n }, (_, i) => (config.grpc.port === 0 ? next() : config.grpc.port + i));
  const admin = Array.from({ length: n }, (_, i) => (config.admin.port === 0 ? next() : config.admin.port + i));
  return Array.from({ length: n }, (_, index) => ({ index, tcp, ws, grpc: grpc[index], admin: admin[index], restarts: 0 }));
}

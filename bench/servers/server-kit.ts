/** What every server under test shares: memory after a forced GC, a tiny HTTP control API, loopback only. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MemoryReport } from '../lib/commands';

export const HOST = '127.0.0.1';

/**
 * V8 hands the pages a GC freed back to the OS from a background task, so
 * RSS read right after the GC still counts them (measured: ~1 KB per idle
 * connection at 19,000).
 */
const UNMAP_WAIT_MS = 1000;

/** Two forced full GCs. */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
}

/** process.memoryUsage() after two forced full GCs, once the freed pages have left RSS. */
export async function memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
  fullGc();
  await new Promise((resolve) => setTimeout(resolve, UNMAP_WAIT_MS));
  return process.memoryUsage();
}

export async function measureMemory(connections: number): Promise<MemoryReport> {
  const m = await memoryAfterGc();
  return { rss: m.rss, heapUsed: m.heapUsed, connections };
}

/** The JSON argument the orchestrator passed in argv. */
export function argOf<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export type Route = (query: URLSearchParams, body: Buffer) => number;

/**
 * A control server for the baselines: POST /<name>?... runs `routes[name]`
 * with the body and answers 200 with the number it returns.
 */
export function controlServer(routes: Record<string, Route>): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const route = routes[url.pathname.slice(1)];
      if (req.method !== 'POST' || !route) {
        res.writeHead(404).end();
        return;
      }
      const n = route(url.searchParams, Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'text/plain' }).end(String(n));
    });
  });
}

export function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port));
  });
}

/** The 10-byte body of every room and broadcast message, as in goim's benchmarks. */
export const TEST_BODY = '{"test":1}';
export const BATCH_SIZE = 20;

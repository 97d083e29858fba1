import type { Server } from 'node:http';

/**
 * Stops an HTTP server taking connections: idle keep-alive sockets close at
 * once, requests in flight get `graceMs` to finish, then their sockets are cut.
 */
export function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

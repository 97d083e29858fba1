import net from 'node:net';

/**
 * Distinct ports that are free right now: all bound at once (so they
 * differ), then released for the caller to bind. `host` undefined binds the
 * unspecified address, as a node with bindHost 0.0.0.0 will.
 */
export async function freePorts(count: number, host: string | undefined = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        if (host === undefined) server.listen(0, () => resolve());
        else server.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

export async function freePort(host?: string): Promise<number> {
  const [port] = await freePorts(1, host);
  return port;
}

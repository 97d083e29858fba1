/** A keep-alive HTTP client for the push drivers and the admin polls; anything but a 200 is an error. */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function post(port: number, path: string, body: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST ${path}: HTTP ${res.statusCode}`))));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`POST ${path}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** GET on 127.0.0.1: the body; anything but a 200 is an error. */
export function get(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200
        ? resolve(Buffer.concat(chunks))
        : reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

export function closeHttp(): void {
  agent.destroy();
}

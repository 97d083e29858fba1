/** Requests to a node's admin endpoint, for specs: status, headers, text and parsed JSON. */
import * as http from 'node:http';

export interface AdminReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The parsed body; undefined when it is not JSON. */
  readonly json: unknown;
}

export function adminRequest(
  port: number, path: string, options: { method?: string; token?: string; headers?: Readonly<Record<string, string>> } = {},
): Promise<AdminReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET that must answer 200 with JSON of the expected shape (the spec checks the fields it needs). */
export async function adminJson<T>(port: number, path: string, token?: string): Promise<T> {
  const reply = await adminRequest(port, path, { token });
  if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.text}`);
  return reply.json as T;
}

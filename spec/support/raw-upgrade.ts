/**
 * A WebSocket upgrade request written by hand on a raw socket, and the
 * server's whole answer read back: for specs that look at a refusal's
 * status, headers and JSON body, which a WebSocket client hides.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsOptions } from './test-client';

export interface HttpAnswer {
  readonly status: number;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawUpgradeOptions {
  readonly path?: string;
  readonly origin?: string;
  /** The source address (127.0.0.x on loopback). */
  readonly localAddress?: string;
  /** Speaks wss. */
  readonly tls?: TlsOptions;
}

/** Sends a valid upgrade request; resolves with the answer once the server closes (or at once on 101). */
export function rawUpgrade(port: number, options: RawUpgradeOptions = {}): Promise<HttpAnswer> {
  const at = { port, host: '127.0.0.1', localAddress: options.localAddress };
  const socket = options.tls ? tls.connect({ ...at, ...options.tls }) : net.connect(at);
  const request =
    `GET ${options.path ?? '/sub'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
    (options.origin === undefined ? '' : `Origin: ${options.origin}\r\n`) + '\r\n';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = (split === -1 ? text : text.slice(0, split)).split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '');
      if (!status) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(text)}`));
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(status[1]), headers, body: split === -1 ? '' : text.slice(split + 4) });
    };
    socket.once(options.tls ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
        socket.destroy();
        finish();
      }
    });
    socket.on('error', () => undefined);
    socket.once('close', finish);
  });
}

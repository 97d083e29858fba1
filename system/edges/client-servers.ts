import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { PemPair } from '../../config/tls-options';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/**
 * How a client edge's server is made: in plain text, or inside TLS with the
 * node's certificate. The edges are the same either way; only the server,
 * the transport label and the event that hands over a socket differ.
 */

/** A server for the goim TCP protocol, and the event that hands over a socket ready for it. */
export interface StreamServer {
  readonly transport: 'tcp' | 'tls';
  readonly server: net.Server;
  /** 'connection' in plain text; 'secureConnection' once the TLS handshake is done. */
  readonly ready: 'connection' | 'secureConnection';
}

export interface HttpServerKind {
  readonly transport: 'ws' | 'wss';
  create(handler: http.RequestListener, options: http.ServerOptions): http.Server | https.Server;
}

/**
 * The upgrade request must arrive whole within `timeoutMs`. Node checks its
 * headersTimeout on a sweep of the sockets still reading a request (every
 * 30 s by default, which would let a slowloris client hold its socket for
 * that long): the sweep runs every quarter of the timeout here, at most
 * each second. Upgraded sockets leave the swept list, so it costs nothing
 * per established connection.
 */
export function upgradeTimeouts(timeoutMs: number): http.ServerOptions {
  return {
    headersTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4))),
  };
}

export interface TlsServerOptions {
  readonly pem: PemPair;
  /** A client that has not finished the TLS handshake by then is dropped (its descriptor with it). */
  readonly handshakeTimeoutMs: number;
}

function secureOptions(options: TlsServerOptions): tls.TlsOptions {
  return { cert: options.pem.cert, key: options.pem.key, handshakeTimeout: options.handshakeTimeoutMs, noDelay: true };
}

export function plainStreamServer(): StreamServer {
  return { transport: 'tcp', server: net.createServer({ noDelay: true }), ready: 'connection' };
}

export function tlsStreamServer(options: TlsServerOptions): StreamServer {
  return { transport: 'tls', server: tls.createServer(secureOptions(options)), ready: 'secureConnection' };
}

export const plainHttpServer: HttpServerKind = {
  transport: 'ws',
  create: (handler, options) => http.createServer(options, handler),
};

export function tlsHttpServer(options: TlsServerOptions): HttpServerKind {
  return { transport: 'wss', create: (handler, http) => https.createServer({ ...secureOptions(options), ...http }, handler) };
}

/**
 * Counts and drops clients whose TLS handshake failed or timed out (Node
 * reports both as 'tlsClientError'; the timeout is the server's
 * handshakeTimeout). Logged at debug: one line per failed client, and a
 * scan of the port would otherwise flood the log.
 */
export function watchHandshakes(server: net.Server, transport: 'tls' | 'wss', metrics: Metrics, log: Logger): void {
  if (!(server instanceof tls.Server)) return;
  const timeouts = metrics.counterOf('im_tls_handshake_failures_total', { transport, cause: 'timeout' });
  const errors = metrics.counterOf('im_tls_handshake_failures_total', { transport, cause: 'error' });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    (timeout ? timeouts : errors).inc();
    log.debug('tls handshake failed', { component: `${transport}-edge`, cause: timeout ? 'timeout' : 'error', errno: err.code, error: err.message });
    socket.destroy();
  });
}

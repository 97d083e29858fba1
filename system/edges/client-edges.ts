import type { CloudConfig } from '../../config/cloud-config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { AcceptGuard } from './accept-guard';
import type { ClientAdmission } from './client-admission';
import { tlsHttpServer, tlsStreamServer } from './client-servers';
import type { Coalescer } from './coalescer';
import type { ConnectionOpener } from './connection-opener';
import type { ClientLimits } from './socket-client';
import { TcpEdge } from './tcp-edge';
import { WsEdge } from './ws-edge';

/** The bound client ports; 0 for a listener that is off (wss and TLS tcp without a certificate). */
export interface ClientPorts {
  readonly tcp: number;
  readonly ws: number;
  readonly wss: number;
  readonly tls: number;
}

export interface ClientEdgeDeps {
  readonly opener: ConnectionOpener;
  /** Shared by every listener: the limits are per node, across them. */
  readonly admission: ClientAdmission;
  readonly guard: AcceptGuard;
  readonly coalescer: Coalescer | null;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * Every listener clients connect to: tcp and ws always; wss and TLS tcp when
 * the node has a certificate (tls.cert, tls.key). The TLS ones are the same
 * edges over TLS servers, so limits, coalescing and metrics are the same.
 */
export class ClientEdges {
  private readonly tcp: TcpEdge;
  private readonly ws: WsEdge;
  private readonly tlsTcp: TcpEdge | null = null;
  private readonly wss: WsEdge | null = null;

  constructor(private readonly config: CloudConfig, deps: ClientEdgeDeps) {
    const { opener, admission, guard, coalescer, metrics, log } = deps;
    const protocol = config.protocol;
    const slow = config.slowConsumer;
    const limits: ClientLimits = {
      softBytes: slow.softBytes, hardBytes: slow.hardBytes, slowMs: slow.ms, hardMs: slow.hardMs, readPauseDepth: config.limits.readPauseDepth,
    };
    const tcpOptions = { maxBodySize: protocol.maxBodySize, limits, coalescer };
    const wsOptions = {
      ...tcpOptions, path: config.ws.path, maxPayload: config.ws.maxPayload,
      upgradeTimeoutMs: config.ws.upgradeTimeoutMs, allowedOrigins: config.ws.allowedOrigins,
    };
    this.tcp = new TcpEdge(tcpOptions, opener, admission, guard, metrics, log);
    this.ws = new WsEdge(wsOptions, opener, admission, guard, metrics, log);
    const pem = config.tls.pem;
    if (pem) {
      const secure = { pem, handshakeTimeoutMs: protocol.handshakeTimeoutMs };
      this.tlsTcp = new TcpEdge({ ...tcpOptions, server: tlsStreamServer(secure) }, opener, admission, guard, metrics, log);
      this.wss = new WsEdge({ ...wsOptions, server: tlsHttpServer(secure) }, opener, admission, guard, metrics, log);
    }
  }

  /** Binds every listener that is on; resolves with the bound ports. */
  async listen(host: string): Promise<ClientPorts> {
    const tcp = await this.tcp.listen(this.config.tcp.port, host);
    const ws = await this.ws.listen(this.config.ws.port, host);
    const wss = this.wss ? await this.wss.listen(this.config.wss.port, host) : 0;
    const tls = this.tlsTcp ? await this.tlsTcp.listen(this.config.tls.tcpPort, host) : 0;
    return { tcp, ws, wss, tls };
  }

  /** Closes the listeners, and the HTTP connections the WebSocket servers still hold. */
  close(): void {
    for (const edge of [this.ws, this.wss]) {
      if (!edge) continue;
      edge.server.closeAllConnections();
      edge.server.close();
    }
    this.tcp.server.close();
    this.tlsTcp?.server.close();
  }
}

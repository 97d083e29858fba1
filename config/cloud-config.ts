import { ImError } from '../system/errors';
import { AdminConfig, adminProblems, readAdminConfig } from './admin-options';
import { cloudOptions } from './cloud-options';
import { DiscoveryConfig, discoveryProblems, readDiscoveryConfig } from './discovery-options';
import { LoadSources, OptionReader, resolveOptions } from './load';
import { InternalBind, readSecurityConfig, securityProblems, SecurityConfig } from './security-options';
import { readWorkersConfig, workerProblems, WorkersConfig } from './worker-options';
import { ClientTlsConfig, GrpcTlsConfig, readClientTls, readGrpcTls } from './tls-options';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface CloudConfig {
  readonly node: { readonly bindHost: string; readonly advertiseHost: string; readonly clientHost: string };
  readonly tcp: { readonly port: number };
  readonly ws: {
    readonly port: number;
    readonly path: string;
    readonly maxPayload: number;
    readonly upgradeTimeoutMs: number;
    /** Lower-cased; empty lets any origin in. */
    readonly allowedOrigins: readonly string[];
  };
  readonly wss: { readonly port: number };
  readonly tls: ClientTlsConfig;
  readonly grpc: {
    readonly bindHost: string;
    readonly port: number;
    readonly serverId: string;
    readonly maxPushBytes: number;
    readonly shutdownGraceMs: number;
    readonly tls: GrpcTlsConfig;
    readonly allowClose: boolean;
  };
  readonly security: SecurityConfig;
  readonly shutdown: { readonly deadlineMs: number; readonly drainRatePerSec: number };
  readonly protocol: {
    readonly maxBodySize: number;
    readonly handshakeTimeoutMs: number;
    readonly heartbeatTimeoutMs: number;
    readonly sweepIntervalMs: number;
    readonly sendBufferLimit: number;
    readonly coalesce: boolean;
  };
  readonly logic: {
    readonly nodes: readonly string[];
    readonly callTimeoutMs: number;
    readonly maxInFlight: number;
    readonly maxQueued: number;
    readonly connectWaitMs: number;
    readonly maxReplyBytes: number;
    readonly renewOnlineIntervalMs: number;
    readonly renewOnlineTimeoutMs: number;
    readonly heartbeatMinMs: number;
    readonly heartbeatMaxMs: number;
    readonly streams: number;
    readonly streamReprobeMs: number;
  };
  readonly slowConsumer: { readonly softBytes: number; readonly hardBytes: number; readonly ms: number; readonly hardMs: number };
  readonly actors: { readonly buckets: number; readonly connectionShards: number; readonly roomShards: number };
  readonly limits: {
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly newConnectionsPerSec: number;
    readonly maxRefusing: number;
    readonly acceptRetryMs: number;
    readonly maxMailboxDepth: number;
    readonly maxPacedBroadcasts: number;
    readonly upstreamPerSec: number;
    readonly controlPerSec: number;
    readonly maxAccepts: number;
    readonly maxRoomIdBytes: number;
    readonly readPauseDepth: number;
  };
  readonly discovery: DiscoveryConfig;
  readonly workers: WorkersConfig;
  readonly admin: AdminConfig;
  readonly log: { readonly level: LogLevel };
}

/** Loads, validates and types a cloud node's config; throws E_CONFIG_INVALID listing every problem. */
export function loadCloudConfig(sources: LoadSources = {}): CloudConfig {
  const r = new OptionReader(resolveOptions(cloudOptions, sources));
  const tlsProblems: string[] = [];
  const security = readSecurityConfig(r);
  const config: CloudConfig = {
    node: { bindHost: r.str('node.bindHost'), advertiseHost: r.str('node.advertiseHost'), clientHost: r.str('node.clientHost') },
    tcp: { port: r.num('tcp.port') },
    ws: {
      port: r.num('ws.port'), path: r.str('ws.path'), maxPayload: r.num('ws.maxPayload'),
      upgradeTimeoutMs: r.num('ws.upgradeTimeoutMs'), allowedOrigins: r.list('ws.allowedOrigins').map(canonicalOrigin),
    },
    wss: { port: r.num('wss.port') },
    tls: readClientTls(r, tlsProblems),
    grpc: {
      bindHost: r.str('grpc.bindHost'),
      port: r.num('grpc.port'),
      serverId: r.str('grpc.serverId'),
      maxPushBytes: r.num('grpc.maxPushBytes'),
      shutdownGraceMs: r.num('grpc.shutdownGraceMs'),
      tls: readGrpcTls(r, tlsProblems),
      allowClose: r.bool('grpc.allowClose'),
    },
    security,
    shutdown: { deadlineMs: r.num('shutdown.deadlineMs'), drainRatePerSec: r.num('shutdown.drainRatePerSec') },
    protocol: {
      maxBodySize: r.num('protocol.maxBodySize'),
      handshakeTimeoutMs: r.num('protocol.handshakeTimeoutMs'),
      heartbeatTimeoutMs: r.num('protocol.heartbeatTimeoutMs'),
      sweepIntervalMs: r.num('protocol.sweepIntervalMs'),
      sendBufferLimit: r.num('protocol.sendBufferLimit'),
      coalesce: r.bool('protocol.coalesce'),
    },
    logic: {
      nodes: r.list('logic.nodes'),
      callTimeoutMs: r.num('logic.callTimeoutMs'),
      maxInFlight: r.num('logic.maxInFlight'),
      maxQueued: r.num('logic.maxQueued'),
      connectWaitMs: r.num('logic.connectWaitMs'),
      maxReplyBytes: r.num('logic.maxReplyBytes'),
      renewOnlineIntervalMs: r.num('logic.renewOnlineIntervalMs'),
      renewOnlineTimeoutMs: r.num('logic.renewOnlineTimeoutMs'),
      heartbeatMinMs: r.num('logic.heartbeatMinMs'),
      heartbeatMaxMs: r.num('logic.heartbeatMaxMs'),
      streams: r.num('logic.streams'),
      streamReprobeMs: r.num('logic.streamReprobeMs'),
    },
    slowConsumer: {
      softBytes: r.num('slowConsumer.softBytes'),
      hardBytes: r.num('slowConsumer.hardBytes'),
      ms: r.num('slowConsumer.ms'),
      hardMs: r.num('slowConsumer.hardMs'),
    },
    actors: {
      buckets: r.num('actors.buckets'),
      connectionShards: r.num('actors.connectionShards'),
      roomShards: r.num('actors.roomShards'),
    },
    limits: {
      maxConnections: r.num('limits.maxConnections'),
      maxConnectionsPerIp: r.num('limits.maxConnectionsPerIp'),
      newConnectionsPerSec: r.num('limits.newConnectionsPerSec'),
      maxRefusing: r.num('limits.maxRefusing'),
      acceptRetryMs: r.num('limits.acceptRetryMs'),
      maxMailboxDepth: r.num('limits.maxMailboxDepth'),
      maxPacedBroadcasts: r.num('limits.maxPacedBroadcasts'),
      upstreamPerSec: r.num('limits.upstreamPerSec'),
      controlPerSec: r.num('limits.controlPerSec'),
      maxAccepts: r.num('limits.maxAccepts'),
      maxRoomIdBytes: r.num('limits.maxRoomIdBytes'),
      readPauseDepth: r.num('limits.readPauseDepth'),
    },
    discovery: readDiscoveryConfig(r),
    workers: readWorkersConfig(r),
    admin: readAdminConfig(r),
    log: { level: r.str('log.level') as LogLevel },
  };
  const problems: string[] = [
    ...tlsProblems, ...adminProblems(config.admin), ...discoveryProblems(config.discovery),
    ...securityProblems(config.security, cloudInternalBinds(config), 'IM_CLOUD'),
  ];
  if (config.logic.heartbeatMinMs > config.logic.heartbeatMaxMs) {
    problems.push(`logic.heartbeatMinMs (${config.logic.heartbeatMinMs}) must not exceed logic.heartbeatMaxMs (${config.logic.heartbeatMaxMs})`);
  }
  if (config.logic.renewOnlineTimeoutMs > config.logic.renewOnlineIntervalMs) {
    // A round's call ends before the next round starts; an attempt longer than the interval could never be used.
    problems.push(`logic.renewOnlineTimeoutMs (${config.logic.renewOnlineTimeoutMs}) must not exceed logic.renewOnlineIntervalMs (${config.logic.renewOnlineIntervalMs})`);
  }
  if (config.discovery.kind === 'consul' && config.grpc.serverId !== '' && !/^(\[[^\]]+\]|[^:[\]]+):\d{1,5}$/.test(config.grpc.serverId)) {
    problems.push(`grpc.serverId (${config.grpc.serverId}) must be host:port with consul discovery: it is the address registered for logic to dial`);
  }
  const slow = config.slowConsumer;
  if (slow.softBytes >= slow.hardBytes) problems.push(`slowConsumer.softBytes (${slow.softBytes}) must be below slowConsumer.hardBytes (${slow.hardBytes})`);
  if (slow.hardMs < slow.ms) problems.push(`slowConsumer.hardMs (${slow.hardMs}) must be at least slowConsumer.ms (${slow.ms})`);
  if (config.ws.maxPayload < 16 + config.protocol.maxBodySize) {
    problems.push(`ws.maxPayload (${config.ws.maxPayload}) must be at least 16 + protocol.maxBodySize (${16 + config.protocol.maxBodySize})`);
  }
  const ports: ReadonlyArray<readonly [string, number]> = [
    ['tcp.port', config.tcp.port], ['ws.port', config.ws.port], ['grpc.port', config.grpc.port], ['admin.port', config.admin.port],
    // Bound only with a certificate: without one they may be anything.
    ...(config.tls.pem ? [['wss.port', config.wss.port], ['tls.tcpPort', config.tls.tcpPort]] as const : []),
  ];
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i][1] !== 0 && ports[i][1] === ports[j][1]) problems.push(`${ports[i][0]} and ${ports[j][0]} are both ${ports[i][1]}`);
    }
  }
  problems.push(...workerProblems(config.workers, {
    tcp: config.tcp.port, ws: config.ws.port, grpc: config.grpc.port, admin: config.admin.port, serverId: config.grpc.serverId,
  }));
  if (problems.length > 0) throw new ImError('CONFIG_INVALID', problems.join('; '));
  return config;
}

/** A cloud node's internal surfaces: gRPC only (its client listeners are public by design). */
export function cloudInternalBinds(config: CloudConfig): InternalBind[] {
  return [{ option: 'grpc.bindHost', host: config.grpc.bindHost }];
}

/** The id logic routes this node's pushes to: the configured one, or advertiseHost:grpcPort once the port is known. */
export function serverIdOf(config: CloudConfig, boundGrpcPort: number): string {
  if (config.grpc.serverId !== '') return config.grpc.serverId;
  const host = config.node.advertiseHost.includes(':') && !config.node.advertiseHost.startsWith('[')
    ? `[${config.node.advertiseHost}]` : config.node.advertiseHost;
  return `${host}:${boundGrpcPort}`;
}

/**
 * An allowed origin in the form browsers send it: `https://App.example.com:443`
 * is `https://app.example.com` (an http(s) origin's default port dropped,
 * host lower-cased), so the exact comparison at the upgrade matches. Other
 * schemes (an app's own) and `null` are only lower-cased.
 */
export function canonicalOrigin(origin: string): string {
  try {
    const url = new URL(origin);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch {
    // The option's pattern has already refused what is not scheme://host[:port].
  }
  return origin.toLowerCase();
}

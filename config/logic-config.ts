import { MAX_KEY_BYTES_PER_PUSH } from '../actors/key-shares';
import { ImError } from '../system/errors';
import type { LogLevel } from './cloud-config';
import { AdminConfig, adminProblems, readAdminConfig } from './admin-options';
import { AuthConfig, readAuthConfig } from './auth-options';
import { DiscoveryConfig, discoveryProblems, readDiscoveryConfig } from './discovery-options';
import { logicOptions } from './logic-options';
import { LoadSources, OptionReader, resolveOptions } from './load';
import { InternalBind, readSecurityConfig, securityProblems, SecurityConfig } from './security-options';
import { GrpcTlsConfig, readGrpcTls } from './tls-options';

export interface LogicConfig {
  readonly node: { readonly bindHost: string; readonly advertiseHost: string };
  readonly grpc: {
    readonly port: number; readonly maxReceiveBytes: number; readonly shutdownGraceMs: number; readonly tls: GrpcTlsConfig; readonly allowClose: boolean;
  };
  readonly security: SecurityConfig;
  readonly shutdown: { readonly deadlineMs: number };
  readonly http: { readonly port: number; readonly maxBodyBytes: number };
  readonly cloud: {
    readonly nodes: readonly string[];
    readonly callTimeoutMs: number;
    readonly maxInFlight: number;
    readonly maxQueued: number;
    readonly maxLinkBytes: number;
    readonly leavingGraceMs: number;
    readonly streams: number;
    readonly streamReprobeMs: number;
  };
  readonly session: { readonly store: 'memory' | 'redis'; readonly redisUrl: string; readonly ttlSeconds: number };
  readonly online: { readonly maxAgeMs: number };
  readonly auth: AuthConfig;
  readonly clients: { readonly heartbeatSeconds: number; readonly heartbeatMax: number };
  readonly nodes: {
    readonly domain: string;
    readonly clientHosts: readonly string[];
    readonly tcpPort: number;
    readonly wsPort: number;
    readonly wssPort: number;
  };
  readonly receive: { readonly sink: 'log' | 'http'; readonly url: string };
  readonly push: {
    readonly roomTypes: readonly string[];
    readonly batchMaxMessages: number;
    readonly maxBatchBytes: number;
    readonly answerTimeoutMs: number;
    readonly batchFlushMs: number;
  };
  readonly discovery: DiscoveryConfig;
  readonly admin: AdminConfig;
  readonly log: { readonly level: LogLevel };
}

/** Loads, validates and types a logic node's config; throws E_CONFIG_INVALID listing every problem. */
export function loadLogicConfig(sources: LoadSources = {}): LogicConfig {
  const r = new OptionReader(resolveOptions(logicOptions, sources));
  const tlsProblems: string[] = [];
  const authProblems: string[] = [];
  const security = readSecurityConfig(r);
  const config: LogicConfig = {
    node: { bindHost: r.str('node.bindHost'), advertiseHost: r.str('node.advertiseHost') },
    grpc: {
      port: r.num('grpc.port'), maxReceiveBytes: r.num('grpc.maxReceiveBytes'), shutdownGraceMs: r.num('grpc.shutdownGraceMs'),
      tls: readGrpcTls(r, tlsProblems), allowClose: r.bool('grpc.allowClose'),
    },
    security,
    shutdown: { deadlineMs: r.num('shutdown.deadlineMs') },
    http: { port: r.num('http.port'), maxBodyBytes: r.num('http.maxBodyBytes') },
    cloud: {
      nodes: r.list('cloud.nodes'), callTimeoutMs: r.num('cloud.callTimeoutMs'), maxInFlight: r.num('cloud.maxInFlight'),
      maxQueued: r.num('cloud.maxQueued'), maxLinkBytes: r.num('cloud.maxLinkBytes'), leavingGraceMs: r.num('cloud.leavingGraceMs'),
      streams: r.num('cloud.streams'), streamReprobeMs: r.num('cloud.streamReprobeMs'),
    },
    session: { store: r.str('session.store') as 'memory' | 'redis', redisUrl: r.str('session.redisUrl'), ttlSeconds: r.num('session.ttlSeconds') },
    online: { maxAgeMs: r.num('online.maxAgeMs') },
    auth: readAuthConfig(r, authProblems),
    clients: { heartbeatSeconds: r.num('clients.heartbeatSeconds'), heartbeatMax: r.num('clients.heartbeatMax') },
    nodes: {
      domain: r.str('nodes.domain'),
      clientHosts: r.list('nodes.clientHosts'),
      tcpPort: r.num('nodes.tcpPort'),
      wsPort: r.num('nodes.wsPort'),
      wssPort: r.num('nodes.wssPort'),
    },
    receive: { sink: r.str('receive.sink') as 'log' | 'http', url: r.str('receive.url') },
    push: {
      roomTypes: r.list('push.roomTypes'), batchMaxMessages: r.num('push.batchMaxMessages'), maxBatchBytes: r.num('push.maxBatchBytes'),
      answerTimeoutMs: r.num('push.answerTimeoutMs'), batchFlushMs: r.num('push.batchFlushMs'),
    },
    discovery: readDiscoveryConfig(r),
    admin: readAdminConfig(r),
    log: { level: r.str('log.level') as LogLevel },
  };
  const problems: string[] = [
    ...tlsProblems, ...authProblems, ...adminProblems(config.admin), ...discoveryProblems(config.discovery),
    ...securityProblems(config.security, logicInternalBinds(config), 'IM_LOGIC'),
  ];
  if (config.receive.sink === 'http' && config.receive.url === '') problems.push('receive.url is required when receive.sink is http');
  const ports = [['grpc.port', config.grpc.port], ['http.port', config.http.port], ['admin.port', config.admin.port]] as const;
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i][1] !== 0 && ports[i][1] === ports[j][1]) problems.push(`${ports[i][0]} and ${ports[j][0]} are both ${ports[i][1]}`);
    }
  }
  const { maxBatchBytes } = config.push;
  const largestPush = maxBatchBytes + MAX_KEY_BYTES_PER_PUSH;
  if (config.cloud.maxLinkBytes < largestPush) {
    problems.push(`cloud.maxLinkBytes ${config.cloud.maxLinkBytes} is below push.maxBatchBytes + ${MAX_KEY_BYTES_PER_PUSH} (${largestPush}): the largest push could never be sent`);
  }
  if (config.push.answerTimeoutMs <= config.cloud.callTimeoutMs) {
    problems.push(`push.answerTimeoutMs ${config.push.answerTimeoutMs} must exceed cloud.callTimeoutMs ${config.cloud.callTimeoutMs}, so a push's own deadline answers first`);
  }
  if (config.grpc.maxReceiveBytes <= maxBatchBytes) problems.push(`grpc.maxReceiveBytes ${config.grpc.maxReceiveBytes} must exceed push.maxBatchBytes ${maxBatchBytes}, so a too-large message is read and refused`);
  if (problems.length > 0) throw new ImError('CONFIG_INVALID', problems.join('; '));
  return config;
}

/** A logic node's internal surfaces: gRPC and the HTTP push API, both on node.bindHost. */
export function logicInternalBinds(config: LogicConfig): InternalBind[] {
  return [{ option: 'node.bindHost', host: config.node.bindHost }];
}

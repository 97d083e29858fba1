import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as CloudProto } from '../proto/generated/im.cloud';
import type { ProtoGrpcType as CometProto } from '../proto/generated/goim.comet';
import type { ProtoGrpcType as LogicProto } from '../proto/generated/im.logic';
import type { ProtoGrpcType as HealthProto } from '../proto/generated/health';

/** Options must match the ones the TypeScript types were generated with (package.json `proto:gen`). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Source .proto files live beside the compiled output's root (dist/system -> ../../proto). */
export const PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');

export type WireProtos = CloudProto & CometProto & LogicProto;

let cached: WireProtos | undefined;

/** Loads every service of wire.md §4 once per process. */
export function loadWireProtos(): WireProtos {
  if (cached) return cached;
  const definition = protoLoader.loadSync(['im.cloud.proto', 'goim.comet.proto', 'im.logic.proto'], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [PROTO_DIR],
  });
  cached = grpc.loadPackageDefinition(definition) as unknown as WireProtos;
  return cached;
}

let health: HealthProto | undefined;

/** Loads grpc.health.v1 (the standard health checking protocol) once per process. */
export function loadHealthProto(): HealthProto {
  if (health) return health;
  const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  health = grpc.loadPackageDefinition(definition) as unknown as HealthProto;
  return health;
}

/**
 * Channel options for the node-to-node links. Channelz bookkeeping and the
 * retry machinery cost CPU on every call and we use neither: failover
 * between nodes is ours (the gateway, the cloud links).
 */
export const NODE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.enable_channelz': 0,
  'grpc.enable_retries': 0,
};

/**
 * Closes a generated client's channel. Generated clients expose each rpc under
 * a lower-case alias too, so on services with a `Close` rpc `client.close()`
 * would call the rpc and stop the remote node.
 */
export function closeClientChannel(client: grpc.Client): void {
  grpc.Client.prototype.close.call(client);
}

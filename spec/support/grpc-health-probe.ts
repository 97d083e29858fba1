import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { NODE_CHANNEL_OPTIONS, PROTO_DIR, PROTO_LOADER_OPTIONS } from '../../system/proto-loader';

/**
 * One probe of grpc.health.v1.Health/Check, run the way Consul's GRPC check
 * runs it: the target is `host:port` with an optional `/service` naming the
 * service to ask about, each probe dials a connection of its own, one
 * deadline covers dialling and the call, and only SERVING is healthy. The
 * channel is closed when the probe ends, however it ends.
 *
 * A connection of its own takes a local subchannel pool: grpc-js lends a new
 * channel the open connection of any channel in the process with the same
 * target, credentials and options, and the nodes under test dial the same
 * servers with NODE_CHANNEL_OPTIONS, so a probe would otherwise report on
 * their connection instead of a fresh one.
 */

export interface ProbeResult {
  readonly healthy: boolean;
  /** What Consul would put in the check's Output. */
  readonly output: string;
}

export interface HealthProbe {
  readonly done: Promise<ProbeResult>;
  /** Ends the probe now (its result is then an error) and closes its channel. */
  cancel(): void;
}

const PROBE_CHANNEL_OPTIONS: grpc.ChannelOptions = { ...NODE_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };

let cached: grpc.ServiceDefinition | undefined;

/** grpc.health.v1.Health from proto/grpc/health/v1/health.proto, for probes and for test servers. */
export function healthServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const service = definition['grpc.health.v1.Health'];
  if (!service || 'format' in service) throw new Error('health.proto defines no grpc.health.v1.Health service');
  cached = service;
  return service;
}

export function probeGrpcHealth(target: string, timeoutMs: number, useTls: boolean): HealthProbe {
  const slash = target.indexOf('/');
  const address = slash < 0 ? target : target.slice(0, slash);
  const service = slash < 0 ? '' : target.slice(slash + 1);
  const check = healthServiceDefinition().Check;
  const credentials = useTls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const client = new grpc.Client(address, credentials, PROBE_CHANNEL_OPTIONS);
  let call: grpc.ClientUnaryCall | undefined;
  const done = new Promise<ProbeResult>((resolve) => {
    call = client.makeUnaryRequest(
      check.path,
      check.requestSerialize,
      check.responseDeserialize,
      { service },
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, reply) => {
        client.close();
        if (err) resolve({ healthy: false, output: `gRPC check ${target}: ${err.message}` });
        else if (reply && 'status' in reply && reply.status === 'SERVING') resolve({ healthy: true, output: `gRPC check ${target}: success` });
        else resolve({ healthy: false, output: `gRPC check ${target}: gRPC application didn't report service healthy` });
      },
    );
  });
  return {
    done,
    cancel: () => {
      call?.cancel();
      client.close();
    },
  };
}

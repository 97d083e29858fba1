/**
 * grpc.health.v1.Health on a node's gRPC port: what Consul's GRPC check
 * asks (anything but SERVING counts as critical), and what any gRPC-aware
 * load balancer or probe can ask. The server as a whole ("") and each
 * service the node serves report the node's one status: SERVING while it
 * takes traffic, NOT_SERVING from the moment it starts draining. Watch
 * streams the status as it changes (the protocol's server-streaming rpc).
 */
import * as grpc from '@grpc/grpc-js';
import type { HealthCheckRequest__Output } from '../../proto/generated/grpc/health/v1/HealthCheckRequest';
import type { HealthCheckResponse } from '../../proto/generated/grpc/health/v1/HealthCheckResponse';
import type { HealthHandlers } from '../../proto/generated/grpc/health/v1/Health';
import { loadHealthProto } from '../proto-loader';

type Status = 'SERVING' | 'NOT_SERVING';

/** Open Watch streams per node; a probe that opens streams without end gets RESOURCE_EXHAUSTED past this. */
const MAX_WATCHERS = 256;

export class GrpcHealth {
  private status: Status = 'NOT_SERVING';
  private readonly services: ReadonlySet<string>;
  private readonly watchers = new Map<grpc.ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>, string>();

  /** `services`: the fully qualified names served beside "" (e.g. im.cloud.Cloud). */
  constructor(services: readonly string[]) {
    this.services = new Set(['', ...services]);
  }

  addTo(server: grpc.Server): void {
    const handlers: HealthHandlers = {
      Check: (call, callback) => {
        const service = call.request.service;
        if (!this.services.has(service)) {
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
          return;
        }
        callback(null, { status: this.status });
      },
      Watch: (call) => {
        if (this.watchers.size >= MAX_WATCHERS) {
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `${MAX_WATCHERS} health watches already open` });
          return;
        }
        const service = call.request.service;
        this.watchers.set(call, service);
        const forget = (): void => { this.watchers.delete(call); };
        call.on('cancelled', forget);
        call.on('close', forget);
        call.on('error', forget);
        call.write({ status: this.statusOf(service) });
      },
    };
    server.addService(loadHealthProto().grpc.health.v1.Health.service, handlers);
  }

  /** SERVING or NOT_SERVING for every service; Watch streams hear of a change at once. */
  set(serving: boolean): void {
    const next: Status = serving ? 'SERVING' : 'NOT_SERVING';
    if (next === this.status) return;
    this.status = next;
    for (const [call, service] of this.watchers) call.write({ status: this.statusOf(service) });
  }

  /** Ends every Watch stream (the server is shutting down: they would hold tryShutdown open). */
  endWatches(): void {
    for (const call of this.watchers.keys()) call.end();
    this.watchers.clear();
  }

  private statusOf(service: string): HealthCheckResponse['status'] {
    return this.services.has(service) ? this.status : 'SERVICE_UNKNOWN';
  }
}

import * as grpc from '@grpc/grpc-js';

/** Binds a gRPC server (plain text unless TLS credentials are given); resolves with the bound port (useful when 0 was asked for). */
export function bindGrpcServer(
  server: grpc.Server, port: number, host: string, credentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(target, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Waits for in-flight calls up to the grace period, then cuts them (tryShutdown alone waits forever on open streams). */
export function shutdownGrpcServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

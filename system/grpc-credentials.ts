import * as grpc from '@grpc/grpc-js';
import type { GrpcTlsConfig } from '../config/tls-options';

/**
 * Credentials for gRPC between nodes, from the node's grpc.tls* options.
 * Off (no certificate): plain text, as goim's nodes talk. On: the server
 * takes only TLS and, with a CA, only callers presenting a certificate the
 * CA signed (mutual TLS); the clients verify the nodes they call against the
 * CA (the system's roots without one) and present the node's certificate.
 */

export function serverCredentials(tls: GrpcTlsConfig): grpc.ServerCredentials {
  const pem = tls.pem;
  if (!pem) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(pem.ca, [{ cert_chain: pem.cert, private_key: pem.key }], pem.ca !== null);
}

export function channelCredentials(tls: GrpcTlsConfig): grpc.ChannelCredentials {
  const pem = tls.pem;
  if (!pem) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(pem.ca, pem.key, pem.cert);
}

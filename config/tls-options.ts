import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { OptionReader } from './load';
import type { OptionSpec } from './option';

/** A certificate chain and its private key, PEM, as read at start. */
export interface PemPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A cloud node's TLS for clients: wss and TLS-wrapped tcp, both on when a certificate and key are set. */
export interface ClientTlsConfig {
  /** Paths as configured ('' when unset). */
  readonly cert: string;
  readonly key: string;
  readonly tcpPort: number;
  /** What the files held; null when TLS for clients is off. */
  readonly pem: PemPair | null;
}

/** TLS between nodes (gRPC), on when a certificate and key are set; with a CA, peers must present certificates it signed. */
export interface GrpcTlsConfig {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  /** What the files held; null when gRPC runs in plain text. `ca` is null when unset (peers are checked against the system's roots). */
  readonly pem: (PemPair & { readonly ca: Buffer | null }) | null;
}

/** The default port of TLS-wrapped tcp: goim defines none, so the one after wss (3103). */
export const TLS_TCP_DEFAULT_PORT = 3104;

const PATH = { type: 'string', pattern: /^(\S.*)?$/, hint: 'a file path' } as const;

/** A cloud node's client TLS options (spread into cloudOptions). */
export const clientTlsOptions: readonly OptionSpec[] = [
  {
    path: 'tls.cert', env: 'IM_CLOUD_TLS_CERT', kind: PATH, default: '', defaultDoc: '(empty: no wss, no TLS tcp)',
    doc: 'PEM file of the certificate (chain) clients see on wss and TLS tcp; with tls.key it opens those two listeners. Read at start.',
  },
  { path: 'tls.key', env: 'IM_CLOUD_TLS_KEY', kind: PATH, default: '', defaultDoc: '(empty)', doc: 'PEM file of tls.cert\'s private key; set both or neither.' },
  {
    path: 'wss.port', env: 'IM_CLOUD_WSS_PORT', kind: { type: 'port' }, default: 3103,
    doc: 'WebSocket-over-TLS client port (same path and rules as ws), opened only when tls.cert and tls.key are set (0 picks a free port).',
  },
  {
    path: 'tls.tcpPort', env: 'IM_CLOUD_TLS_TCP_PORT', kind: { type: 'port' }, default: TLS_TCP_DEFAULT_PORT,
    doc: 'Client port of the goim TCP protocol inside TLS, opened only when tls.cert and tls.key are set (0 picks a free port).',
  },
];

/** The gRPC TLS options of a node kind: `IM_CLOUD` or `IM_LOGIC` prefixes its variables. */
export function grpcTlsOptions(envPrefix: 'IM_CLOUD' | 'IM_LOGIC'): OptionSpec[] {
  return [
    {
      path: 'grpc.tlsCert', env: `${envPrefix}_GRPC_TLS_CERT`, kind: PATH, default: '', defaultDoc: '(empty: plain gRPC)',
      doc: 'PEM file of this node\'s certificate for gRPC between nodes; with grpc.tlsKey its gRPC server takes only TLS, and its calls to other nodes use TLS and present it. Every node of the cluster sets it, or none. It must name the host other nodes dial this one at.',
    },
    { path: 'grpc.tlsKey', env: `${envPrefix}_GRPC_TLS_KEY`, kind: PATH, default: '', defaultDoc: '(empty)', doc: 'PEM file of grpc.tlsCert\'s private key; set both or neither.' },
    {
      path: 'grpc.tlsCa', env: `${envPrefix}_GRPC_TLS_CA`, kind: PATH, default: '', defaultDoc: '(empty: the system\'s roots, no client certificates)',
      doc: 'PEM file of the CA that signs the nodes\' certificates: peers this node calls must present one it signed, and so must every caller of its gRPC server (mutual TLS). Needs grpc.tlsCert and grpc.tlsKey.',
    },
  ];
}

/** A file's bytes, or a problem naming the option and the file. */
function readPem(option: string, file: string, problems: string[]): Buffer | null {
  try {
    return readFileSync(file);
  } catch (err) {
    problems.push(`${option} ${file} cannot be read: ${(err as Error).message}`);
    return null;
  }
}

/** Reads a certificate and its key and checks that they are PEM and belong together; null (with problems) when not. */
function readPair(certOption: string, certFile: string, keyOption: string, keyFile: string, problems: string[]): PemPair | null {
  if ((certFile === '') !== (keyFile === '')) {
    problems.push(`${certOption} and ${keyOption} must be set together (${certFile === '' ? certOption : keyOption} is empty)`);
    return null;
  }
  if (certFile === '') return null;
  const cert = readPem(certOption, certFile, problems);
  const key = readPem(keyOption, keyFile, problems);
  if (!cert || !key) return null;
  const before = problems.length;
  try {
    new X509Certificate(cert);
  } catch (err) {
    problems.push(`${certOption} ${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    problems.push(`${keyOption} ${keyFile} is not a PEM private key: ${(err as Error).message}`);
  }
  if (problems.length > before) return null;
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    problems.push(`${keyOption} ${keyFile} is not the key of ${certOption} ${certFile}: ${(err as Error).message}`);
    return null;
  }
  return { cert, key };
}

/** Client TLS as configured; what is wrong with it goes to `problems`. */
export function readClientTls(r: OptionReader, problems: string[]): ClientTlsConfig {
  const cert = r.str('tls.cert');
  const key = r.str('tls.key');
  return { cert, key, tcpPort: r.num('tls.tcpPort'), pem: readPair('tls.cert', cert, 'tls.key', key, problems) };
}

/** gRPC TLS as configured; what is wrong with it goes to `problems`. */
export function readGrpcTls(r: OptionReader, problems: string[]): GrpcTlsConfig {
  const cert = r.str('grpc.tlsCert');
  const key = r.str('grpc.tlsKey');
  const ca = r.str('grpc.tlsCa');
  const pair = readPair('grpc.tlsCert', cert, 'grpc.tlsKey', key, problems);
  if (ca === '') return { cert, key, ca, pem: pair && { ...pair, ca: null } };
  if (cert === '' && key === '') problems.push('grpc.tlsCa needs grpc.tlsCert and grpc.tlsKey: TLS between nodes is on only with a certificate');
  const caPem = readPem('grpc.tlsCa', ca, problems);
  if (caPem) {
    try {
      new X509Certificate(caPem);
    } catch (err) {
      problems.push(`grpc.tlsCa ${ca} is not a PEM certificate: ${(err as Error).message}`);
      return { cert, key, ca, pem: null };
    }
  }
  return { cert, key, ca, pem: pair && caPem ? { ...pair, ca: caPem } : null };
}

import { isLoopbackHost } from './hosts';
import type { OptionReader } from './load';
import type { OptionSpec } from './option';

/**
 * The shared token of a node's internal surfaces (cloud gRPC; logic gRPC
 * and HTTP push API). The same options (with grpc.allowClose) on both
 * kinds; every node of a cluster holds the same token and sends it on its
 * own calls to the other side.
 */
export interface SecurityConfig {
  readonly token: string;
  readonly insecure: boolean;
}

/** An internal listener: the option that sets its address, and the address. */
export interface InternalBind {
  readonly option: string;
  readonly host: string;
}

/** `surfaces`: what the token guards on this kind, as the docs say it; `closeRpcs`: the rpcs grpc.allowClose lets through. */
export function securityOptions(envPrefix: 'IM_CLOUD' | 'IM_LOGIC', surfaces: string, closeRpcs: string): OptionSpec[] {
  return [
    {
      path: 'security.token', env: `${envPrefix}_TOKEN`,
      // Visible ASCII only: it travels as gRPC metadata (which refuses anything else on every call) and in an HTTP header.
      kind: { type: 'string', pattern: /^([!-~]{16,})?$/, hint: 'at least 16 visible ASCII characters (no spaces)' },
      default: '', defaultDoc: '(empty: loopback only)',
      doc: `Shared token of the internal surfaces (${surfaces}): when set, every call must carry \`authorization: Bearer <token>\` (gRPC metadata, or the HTTP header) or is refused with E_UNAUTHENTICATED; this node sends it on its own calls to the other nodes, so every node of a cluster sets the same one. Required when an internal surface binds a non-loopback address.`,
    },
    {
      path: 'security.insecure', env: `${envPrefix}_INSECURE`, kind: { type: 'bool' }, default: false,
      doc: 'Lets the internal surfaces bind a non-loopback address without security.token (for a private network, or peers that send no token, such as goim\'s job and logic); the node warns at start.',
    },
    {
      path: 'grpc.allowClose', env: `${envPrefix}_GRPC_ALLOW_CLOSE`, kind: { type: 'bool' }, default: false,
      doc: `Lets the ${closeRpcs} stop this node; when false it is refused with PERMISSION_DENIED E_CLOSE_NOT_ALLOWED.`,
    },
  ];
}

export function readSecurityConfig(r: OptionReader): SecurityConfig {
  return { token: r.str('security.token'), insecure: r.bool('security.insecure') };
}

/** The internal listeners reachable from other machines. */
function exposed(binds: readonly InternalBind[]): InternalBind[] {
  return binds.filter((b) => !isLoopbackHost(b.host));
}

function named(binds: readonly InternalBind[]): string {
  return binds.map((b) => `${b.option} ${b.host}`).join(', ');
}

/** What is wrong with the security config (an empty list when nothing is): an open internal surface needs a token or security.insecure. */
export function securityProblems(security: SecurityConfig, binds: readonly InternalBind[], envPrefix: 'IM_CLOUD' | 'IM_LOGIC'): string[] {
  const open = exposed(binds);
  if (security.token !== '' || security.insecure || open.length === 0) return [];
  return [
    `${named(open)} is not a loopback address: set security.token (${envPrefix}_TOKEN, the same on every node) so the internal surfaces are not open to the network, bind them to 127.0.0.1, or set security.insecure (${envPrefix}_INSECURE) to serve them without a token`,
  ];
}

/** The warning a node logs at start when it serves internal surfaces to the network without a token (null when it does not). */
export function securityWarning(security: SecurityConfig, binds: readonly InternalBind[], allowClose: boolean): string | null {
  const open = exposed(binds);
  if (security.token !== '' || open.length === 0) return null;
  return `internal surfaces are open to the network without a token (security.insecure): ${named(open)}; anyone who reaches them can push to every client${allowClose ? ' and stop the node' : ''}`;
}

import { isLoopbackHost } from './hosts';
import type { OptionReader } from './load';
import type { OptionSpec } from './option';

/** The admin endpoint of one node (actor tree, metrics, health, page); the same options on both kinds. */
export interface AdminConfig {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly allowDestructive: boolean;
}

/** The admin options of a node kind: `IM_CLOUD` or `IM_LOGIC` prefixes its variables; `port` is its default port. */
export function adminOptions(envPrefix: 'IM_CLOUD' | 'IM_LOGIC', port: number): OptionSpec[] {
  return [
    {
      path: 'admin.host', env: `${envPrefix}_ADMIN_HOST`, kind: { type: 'string', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' },
      default: '127.0.0.1', doc: 'Address the admin endpoint (actor tree, /metrics, /health, /ready, the page) binds to. Anywhere but loopback it requires admin.token.',
    },
    { path: 'admin.port', env: `${envPrefix}_ADMIN_PORT`, kind: { type: 'port' }, default: port, doc: 'Admin endpoint port (0 picks a free port).' },
    {
      path: 'admin.token', env: `${envPrefix}_ADMIN_TOKEN`, kind: { type: 'string', pattern: /^([!-~]{16,})?$/, hint: 'at least 16 visible ASCII characters (no spaces): an HTTP header carries it' },
      default: '', defaultDoc: '(empty: loopback only)',
      doc: 'Bearer token every admin request must carry (`Authorization: Bearer <token>`; at least 16 visible ASCII characters) when set; required when admin.host is not a loopback address, and the node refuses to start without it.',
    },
    {
      path: 'admin.allowDestructive', env: `${envPrefix}_ADMIN_ALLOW_DESTRUCTIVE`, kind: { type: 'bool' }, default: false,
      doc: 'Allows admin actions that change the node (POST /connections/<key>/kick); when false they answer 403 E_ADMIN_FORBIDDEN.',
    },
  ];
}

export function readAdminConfig(r: OptionReader): AdminConfig {
  return { host: r.str('admin.host'), port: r.num('admin.port'), token: r.str('admin.token'), allowDestructive: r.bool('admin.allowDestructive') };
}

/** What is wrong with an admin config (an empty list when nothing is). */
export function adminProblems(admin: AdminConfig): string[] {
  if (admin.token === '' && !isLoopbackHost(admin.host)) {
    return [`admin.host ${admin.host} is not a loopback address: set admin.token (or bind admin.host to 127.0.0.1) so the admin endpoint is not open to the network`];
  }
  return [];
}

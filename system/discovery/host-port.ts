/** host:port addresses as nodes register and dial them. */
export { isLoopbackHost } from '../../config/hosts';

/** host:port → its parts (an IPv6 host in brackets); null when it is not one. */
export function splitHostPort(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[3]);
  return port > 0 && port <= 65535 ? { host: m[1] ?? m[2], port } : null;
}

/** host and port as one address: an IPv6 host in brackets (once). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

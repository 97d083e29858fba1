import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether only this machine reaches `host` (a listener bound to it, or an
 * address published for others to dial): 127.0.0.0/8, ::1 (bracketed or
 * IPv4-mapped too), localhost and its subdomains.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family !== 0) return LOOPBACK.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  const name = bare.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

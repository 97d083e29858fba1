/**
 * The key a peer's connections are counted under for limits.maxConnectionsPerIp:
 * an IPv4 address as it is (an IPv4-mapped IPv6 address as its IPv4 one),
 * an IPv6 address by its /64 prefix. A host is routinely handed a whole /64
 * (SLAAC, privacy addresses), so a limit per IPv6 address would let one
 * client open sockets from as many addresses as it likes.
 */
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export function peerKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  if (!address.includes(':')) return address;
  const bare = address.replace(/%.*$/, '').toLowerCase();
  const mapped = MAPPED_IPV4.exec(bare);
  if (mapped) return mapped[1];
  const hextets = expand(bare);
  return hextets === null ? bare : `${hextets.slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address without leading zeros, '::' expanded; null when it is not one. */
function expand(address: string): string[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  // A dotted IPv4 tail (::1.2.3.4 and the like) is two hextets.
  const last = tail.length > 0 ? tail[tail.length - 1] : head[head.length - 1];
  const dotted = last !== undefined && last.includes('.') ? 1 : 0;
  const missing = 8 - head.length - tail.length - dotted;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const all = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...tail];
  const out: string[] = [];
  for (const part of all.slice(0, 4)) {
    if (!/^[0-9a-f]{1,4}$/.test(part)) return null;
    out.push(part.replace(/^0+(?=.)/, ''));
  }
  return out;
}

/**
 * limits.maxConnectionsPerIp counts an IPv6 peer by its /64 (a host is
 * handed a whole /64 and may use any address in it), an IPv4 peer by its
 * address, and an IPv4-mapped IPv6 address as its IPv4 one.
 */
import { expect } from 'chai';
import { ClientAdmission } from '../system/edges/client-admission';
import { peerKey } from '../system/edges/peer-key';
import { Metrics } from '../system/metrics';
import { silentLogger } from '../system/logger';

describe('per-IP limit keys (IPv4 address, IPv6 /64)', () => {
  it('keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64 however written', () => {
    expect(peerKey('203.0.113.7')).to.equal('203.0.113.7');
    expect(peerKey('::ffff:203.0.113.7')).to.equal('203.0.113.7');
    expect(peerKey('::FFFF:203.0.113.7')).to.equal('203.0.113.7');
    const prefix = '2001:db8:0:1::/64';
    for (const a of ['2001:db8:0:1::1', '2001:db8:0:1:abcd:ef01:2345:6789', '2001:0db8:0000:0001:0:0:0:2', '2001:DB8:0:1::ffff', '2001:db8:0:1::3%eth0']) {
      expect(peerKey(a), a).to.equal(prefix);
    }
    expect(peerKey('2001:db8:0:2::1')).to.equal('2001:db8:0:2::/64');
    expect(peerKey('::1')).to.equal('0:0:0:0::/64');
    expect(peerKey('2001:db8::')).to.equal('2001:db8:0:0::/64');
    expect(peerKey('::')).to.equal('0:0:0:0::/64');
    expect(peerKey('64:ff9b::192.0.2.1')).to.equal('64:ff9b:0:0::/64');
    expect(peerKey(undefined)).to.equal('?');
    // Not an address: counted as written, never merged with another.
    expect(peerKey('2001:db8::1::2')).to.equal('2001:db8::1::2');
  });

  it('sockets from one /64 share the limit; another /64 and IPv4 have their own; a close gives the slot back', () => {
    const metrics = new Metrics('cloud');
    const admission = new ClientAdmission({ maxConnections: 100, maxPerIp: 2, newPerSec: 0, maxRefusing: 10 }, () => true, metrics, silentLogger());
    expect(admission.admit('2001:db8:0:1::1', 'tcp')).to.equal(null);
    expect(admission.admit('2001:db8:0:1::2', 'ws')).to.equal(null);
    expect(admission.admit('2001:db8:0:1:ffff::9', 'tcp')?.error.code).to.equal('E_IP_LIMIT');
    expect(admission.admit('2001:db8:0:2::1', 'tcp')).to.equal(null);
    expect(admission.admit('198.51.100.4', 'tcp')).to.equal(null);
    expect(admission.admit('::ffff:198.51.100.4', 'tcp')).to.equal(null);
    expect(admission.admit('198.51.100.4', 'tcp')?.error.code).to.equal('E_IP_LIMIT');
    expect(metrics.get('im_connections_refused_total', { reason: 'ip_limit' })).to.equal(2);
    expect(admission.distinctAddresses).to.equal(3);
    admission.closed('2001:db8:0:1::2');
    expect(admission.admit('2001:db8:0:1::77', 'tcp')).to.equal(null);
    expect(admission.openConnections).to.equal(5);
  });
});

/**
 * The hosts a logic node's Nodes rpc and /im/nodes give clients. goim's
 * answer has one set of ports (tcp_port, ws_port, wss_port: nodes.*Port)
 * and a list of hosts; with discovery, the hosts are those the passing
 * cloud nodes publish (Consul Meta `tcp` and `ws`, host:port). A node that
 * publishes other ports than the answer carries would send its clients to
 * a port it does not serve: it is left out, with a warn line. While no
 * cloud node publishes a host (a static list, or none passing) the answer
 * falls back to nodes.clientHosts.
 *
 * Clients try the hosts in order, so each answer starts the discovered list
 * one host further on: new clients spread over the cloud nodes instead of
 * all landing on the first.
 */
import type { NodeInstance } from '../../actors/discovery-ports';
import type { Log } from '../../actors/ports';
import { splitHostPort } from '../discovery/discovery-setup';

export class CloudClientHosts {
  private discovered: readonly string[] = [];
  private turn = 0;

  constructor(
    private readonly fallback: readonly string[],
    private readonly ports: { readonly tcp: number; readonly ws: number },
    private readonly log: Log,
  ) {}

  /** Replaces the discovered hosts with those of `nodes` (in their order, each host once). */
  set(nodes: readonly NodeInstance[]): void {
    const hosts: string[] = [];
    for (const node of nodes) {
      const tcp = node.meta.tcp === undefined ? null : splitHostPort(node.meta.tcp);
      const ws = node.meta.ws === undefined ? null : splitHostPort(node.meta.ws);
      const host = ws?.host ?? tcp?.host;
      if (host === undefined) continue;
      if ((ws && ws.port !== this.ports.ws) || (tcp && tcp.port !== this.ports.tcp)) {
        this.log.warn('cloud node left out of Nodes: it publishes other client ports than nodes.tcpPort / nodes.wsPort', {
          component: 'cloud-client-hosts', node: node.address, published: { tcp: node.meta.tcp, ws: node.meta.ws }, answered: this.ports,
        });
        continue;
      }
      if (!hosts.includes(host)) hosts.push(host);
    }
    this.discovered = hosts;
  }

  hosts(): readonly string[] {
    const hosts = this.discovered;
    if (hosts.length === 0) return this.fallback;
    const start = this.turn++ % hosts.length;
    return [...hosts.slice(start), ...hosts.slice(0, start)];
  }
}

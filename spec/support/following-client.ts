/**
 * A goim client that finds its cloud node the way goim's apps do: it asks a
 * logic node's /im/nodes for the hosts and the ws port, connects to the
 * first host that takes it, authenticates, and when that connection closes
 * does it all again (asking the next logic node that answers). Pushes are
 * collected across reconnections.
 */
import { AuthReply, TestClient } from './test-client';

interface NodesAnswer {
  readonly data: { readonly nodes: string[]; readonly ws_port: number };
}

export class FollowingClient {
  /** Hosts connected to, in order. */
  readonly hosts: string[] = [];
  /** Every authenticated connection, in order. */
  private readonly connections: TestClient[] = [];
  current: TestClient | null = null;
  private stopped = false;

  /** `logicHttp`: the push API addresses (host:port) of the logic nodes, asked in order. */
  constructor(private readonly logicHttp: readonly string[], private readonly token: Record<string, unknown>) {}

  /** Connects (and keeps reconnecting until `stop`); resolves once authenticated the first time. */
  async start(deadlineMs = 10_000): Promise<void> {
    await this.connect(Date.now() + deadlineMs);
  }

  /** The host it is connected to now, once authenticated. */
  get host(): string | null {
    return this.current && !this.current.closed ? this.hosts[this.hosts.length - 1] : null;
  }

  /** Bodies of op-1000 pushes received, over every connection. */
  pushes(): string[] {
    return this.connections.flatMap((c) => c.bodies(1000));
  }

  /** Resolves once a push with this body arrived on any connection. */
  async waitForPush(body: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.pushes().includes(body)) {
      if (Date.now() > deadline) throw new Error(`push "${body}" did not arrive; got ${JSON.stringify(this.pushes())} via ${this.hosts.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  private async nodes(): Promise<NodesAnswer['data']> {
    let lastError = 'no logic node';
    for (const address of this.logicHttp) {
      try {
        const res = await fetch(`http://${address}/im/nodes?platform=web`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return ((await res.json()) as NodesAnswer).data;
        lastError = `${address}: ${res.status}`;
      } catch (err) {
        lastError = `${address}: ${(err as Error).message}`;
      }
    }
    throw new Error(`no logic node answered /im/nodes (${lastError})`);
  }

  private async connect(deadline: number): Promise<void> {
    let lastError = '';
    while (!this.stopped && Date.now() < deadline) {
      try {
        const { nodes, ws_port: port } = await this.nodes();
        for (const host of nodes) {
          const client = await TestClient.ws(port, { host }).catch((err: Error) => {
            lastError = `${host}: ${err.message}`;
            return null;
          });
          if (!client) continue;
          // A refused auth ends in op 6 and a close: no op 8 within the wait.
          const auth: AuthReply | null = await client.auth(this.token).catch((err: Error) => {
            lastError = `${host}: auth: ${err.message}; ${JSON.stringify(client.disconnectReason() ?? null)}`;
            return null;
          });
          if (!auth) {
            client.destroy();
            continue;
          }
          this.adopt(client, host);
          return;
        }
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!this.stopped) throw new Error(`could not reconnect before the deadline: ${lastError}`);
  }

  private adopt(client: TestClient, host: string): void {
    this.current = client;
    this.connections.push(client);
    this.hosts.push(host);
    void client.waitForClose(24 * 3600_000).then(() => {
      // Only the current connection's close reconnects (once); a newer one has its own handler.
      if (this.stopped || this.current !== client) return;
      void this.connect(Date.now() + 15_000).catch(() => undefined);
    }, () => undefined);
  }
}

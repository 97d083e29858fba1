/**
 * The cloud node's clients of the logic nodes, one per address, following
 * the list discovery gives: an address that stays keeps its client (and its
 * open channel); a new one gets a client; one that left is closed once the
 * calls already sent to it have had their whole deadline, so a node leaving
 * does not cut an answer that was on its way.
 */
import type { LogicNodeClient } from '../../actors/ports';

export class LogicClientPool {
  private readonly clients = new Map<string, LogicNodeClient>();
  private readonly retiring = new Set<{ client: LogicNodeClient; timer: NodeJS.Timeout }>();

  /** `retireAfterMs`: how long a client of a node that left stays open (a call's longest deadline). */
  constructor(
    private readonly connect: (address: string) => LogicNodeClient,
    private readonly retireAfterMs: () => number,
  ) {}

  /** The clients for `addresses`, in their order (duplicates dropped). */
  update(addresses: readonly string[]): readonly LogicNodeClient[] {
    const wanted = [...new Set(addresses)];
    const keep = new Set(wanted);
    // Read before anything changes: the longest deadline a call sent under the current list may have.
    const retireAfter = this.retireAfterMs();
    for (const [address, client] of this.clients) {
      if (keep.has(address)) continue;
      this.clients.delete(address);
      const entry = { client, timer: setTimeout(() => { this.retiring.delete(entry); client.close(); }, retireAfter) };
      entry.timer.unref();
      this.retiring.add(entry);
    }
    return wanted.map((address) => {
      let client = this.clients.get(address);
      if (!client) {
        client = this.connect(address);
        this.clients.set(address, client);
      }
      return client;
    });
  }

  get size(): number {
    return this.clients.size;
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    for (const { client, timer } of this.retiring) {
      clearTimeout(timer);
      client.close();
    }
    this.retiring.clear();
  }
}

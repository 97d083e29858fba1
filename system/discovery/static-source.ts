/**
 * The static list from config behind the discovery actor's source port: it
 * never changes, so it answers the first query at once and then holds each
 * blocking query for its whole wait, as a registry would with nothing new.
 */
import type { Listing, NodeInstance, NodeListSource } from '../../actors/discovery-ports';

export class StaticSource implements NodeListSource {
  private readonly nodes: readonly NodeInstance[];
  private readonly waits = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();

  constructor(addresses: readonly string[]) {
    this.nodes = [...new Set(addresses)].map((address) => ({ id: address, address, meta: {} }));
  }

  list(_service: string, index: number, waitMs: number): Promise<Listing> {
    const listing: Listing = { index: 1, nodes: this.nodes };
    if (index < 1) return Promise.resolve(listing);
    return new Promise((resolve, reject) => {
      const wait = {
        timer: setTimeout(() => {
          this.waits.delete(wait);
          resolve(listing);
        }, waitMs),
        reject,
      };
      wait.timer.unref();
      this.waits.add(wait);
    });
  }

  close(): void {
    for (const wait of this.waits) {
      clearTimeout(wait.timer);
      wait.reject(new Error('discovery closed'));
    }
    this.waits.clear();
  }
}

/**
 * The cloud nodes a logic node talks to: the only servers pushes go to and
 * the only ones a Connect, Heartbeat or RenewOnline may name. One object,
 * owned by the logic node, shared by the push router (which replaces the
 * list on `setNodes` and stops the links of nodes that left) and the gRPC
 * services (which read it on every call). The services read it directly
 * rather than ask the router, so a Connect never waits behind a flood of
 * pushes in the router's mailbox: the list is data, not work.
 */
export class KnownCloudNodes {
  private list: readonly string[];
  private members: ReadonlySet<string>;

  constructor(nodes: readonly string[]) {
    this.list = [...new Set(nodes)];
    this.members = new Set(this.list);
  }

  has(server: string): boolean {
    return this.members.has(server);
  }

  /** The nodes in the order they were given (duplicates dropped). */
  all(): readonly string[] {
    return this.list;
  }

  /** Replaces the list; a later `has` sees only the new one. */
  set(nodes: readonly string[]): void {
    this.list = [...new Set(nodes)];
    this.members = new Set(this.list);
  }
}

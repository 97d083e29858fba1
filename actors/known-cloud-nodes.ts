/**
 * The cloud nodes a logic node talks to: the only servers pushes go to and
 * the only ones a Connect, Heartbeat or RenewOnline may name. One object,
 * owned by the logic node, shared by the push router (which replaces the
 * list on `setNodes` and retires the links of nodes that left) and the gRPC
 * services (which read it on every call). The services read it directly
 * rather than ask the router, so a Connect never waits behind a flood of
 * pushes in the router's mailbox: the list is data, not work.
 *
 * A node that leaves the list stays *leaving* for a grace period: no new
 * session may name it (Connect, Heartbeat, RenewOnline are refused), but
 * pushes still go to it, because a node that deregistered to drain still
 * holds clients until it has told them all to go. A node that died answers
 * those pushes with a failure, which the caller sees.
 */
export class KnownCloudNodes {
  private list: readonly string[];
  private members: ReadonlySet<string>;
  /** Nodes that left the list → until when (ms since the epoch) pushes still go to them. */
  private readonly leaving = new Map<string, number>();

  constructor(nodes: readonly string[]) {
    this.list = [...new Set(nodes)];
    this.members = new Set(this.list);
  }

  /** On the list: a session may name it. */
  has(server: string): boolean {
    return this.members.has(server);
  }

  /** On the list, or leaving within its grace: pushes may go to it. */
  routable(server: string, now: number): boolean {
    if (this.members.has(server)) return true;
    const until = this.leaving.get(server);
    return until !== undefined && now < until;
  }

  /** The nodes in the order they were given (duplicates dropped). */
  all(): readonly string[] {
    return this.list;
  }

  /** Where room pushes and broadcasts go: the list, then the nodes still leaving. */
  pushTargets(now: number): readonly string[] {
    if (this.leaving.size === 0) return this.list;
    return [...this.list, ...[...this.leaving].filter(([, until]) => now < until).map(([server]) => server)];
  }

  /**
   * Replaces the list; a later `has` sees only the new one. Nodes that left
   * stay routable until `now + graceMs` (0: not at all); a node back on the
   * list is no longer leaving.
   */
  set(nodes: readonly string[], now = 0, graceMs = 0): void {
    const next = [...new Set(nodes)];
    const nextMembers = new Set(next);
    for (const server of this.list) if (!nextMembers.has(server) && graceMs > 0) this.leaving.set(server, now + graceMs);
    for (const server of next) this.leaving.delete(server);
    this.list = next;
    this.members = nextMembers;
  }

  /** Forgets nodes whose grace ended; returns them. */
  prune(now: number): string[] {
    const gone: string[] = [];
    for (const [server, until] of this.leaving) {
      if (now >= until) {
        this.leaving.delete(server);
        gone.push(server);
      }
    }
    return gone;
  }

  /** Nodes still leaving, with when their grace ends. */
  leavingUntil(): ReadonlyMap<string, number> {
    return this.leaving;
  }
}

/** The first restart of a slot waits this long; each further exit of the slot within the window doubles it. */
export const RESTART_BASE_MS = 100;
/** No restart waits longer. */
export const RESTART_MAX_MS = 5000;

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly exitsInWindow: number }
  | { readonly restart: false; readonly exitsInWindow: number };

/**
 * How the primary answers a worker's unasked exit: restart it after a
 * backoff that grows with its slot's recent exits, until more than
 * `maxRestarts` exits (all slots together) fall within `windowMs`; then give
 * up, since a worker that keeps dying will not be saved by one more start.
 */
export class RestartBudget {
  private exits: Array<{ readonly slot: number; readonly at: number }> = [];

  constructor(private readonly maxRestarts: number, private readonly windowMs: number) {}

  exited(slot: number, now: number): RestartDecision {
    this.exits = this.exits.filter((e) => e.at > now - this.windowMs);
    this.exits.push({ slot, at: now });
    const exitsInWindow = this.exits.length;
    if (exitsInWindow > this.maxRestarts) return { restart: false, exitsInWindow };
    const slotExits = this.exits.filter((e) => e.slot === slot).length;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slotExits - 1));
    return { restart: true, delayMs, exitsInWindow };
  }
}

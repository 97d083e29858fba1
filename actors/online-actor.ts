/**
 * Online: the cluster's room counts. Each RenewOnline stores the reporting
 * cloud node's counts in the session store (shared by every logic node on
 * the same Redis), then sums every node heard from within `maxAgeMs`.
 * Nodes silent for longer are left out: their connections are presumed gone.
 */
import type { ActorKind, Reply } from '../system/actor-kind';
import { asImError } from '../system/errors';
import type { ServerOnline, SessionStore } from './logic-ports';
import type { Outcome } from './ports';

// ── messages ────────────────────────────────────────────────────────────────

export interface ClusterOnline {
  /** Room id → members across the live cloud nodes. */
  readonly rooms: ReadonlyMap<string, number>;
  readonly connCount: number;
  readonly ipCount: number;
  readonly nodes: readonly string[];
}

export type OnlineMsg =
  | { readonly type: 'renew'; readonly online: ServerOnline; readonly reply: Reply<Outcome<ClusterOnline>> }
  | { readonly type: 'snapshot'; readonly reply: Reply<Outcome<ClusterOnline>> }
  | { readonly type: 'computed'; readonly cluster: ClusterOnline; readonly at: number };

// ── state ───────────────────────────────────────────────────────────────────

export interface OnlineState {
  last: ClusterOnline | null;
  lastAt: number;
  readonly deps: OnlineDeps;
}

export interface OnlineDeps {
  readonly store: SessionStore;
  readonly maxAgeMs: number;
  readonly now: () => number;
  /** Told each newer sum once it is kept (the node exports its totals). */
  readonly onComputed?: (cluster: ClusterOnline) => void;
}

// ── behaviour ───────────────────────────────────────────────────────────────

export function sumOnline(reports: readonly ServerOnline[], nowSeconds: number, maxAgeMs: number): ClusterOnline {
  const rooms = new Map<string, number>();
  const nodes: string[] = [];
  let connCount = 0;
  let ipCount = 0;
  for (const report of reports) {
    if ((nowSeconds - report.updated) * 1000 > maxAgeMs) continue;
    nodes.push(report.server);
    connCount += report.connCount;
    // Distinct IPs are per node; a client on two nodes is counted twice (no cheaper way without sharing IPs).
    ipCount += report.ipCount;
    for (const [room, n] of Object.entries(report.roomCount)) rooms.set(room, (rooms.get(room) ?? 0) + n);
  }
  return { rooms, connCount, ipCount, nodes };
}

export const onlineActor: ActorKind<OnlineState, OnlineMsg, OnlineDeps> = {
  kind: 'online',
  init: (deps) => ({ last: null, lastAt: 0, deps }),

  receive(state, msg, ctx) {
    const { deps } = state;
    const compute = (before: Promise<void>, reply: Reply<Outcome<ClusterOnline>>): void => {
      before
        .then(() => deps.store.allOnline())
        .then(
          (reports) => {
            const at = deps.now();
            const cluster = sumOnline(reports, Math.floor(at / 1000), deps.maxAgeMs);
            ctx.self.tell({ type: 'computed', cluster, at });
            reply({ ok: true, value: cluster });
          },
          (err: unknown) => reply({ ok: false, error: asImError(err, 'SESSION_STORE') }),
        );
    };
    switch (msg.type) {
      case 'renew':
        compute(deps.store.putOnline(msg.online), msg.reply);
        return state;
      case 'snapshot':
        compute(Promise.resolve(), msg.reply);
        return state;
      case 'computed':
        if (msg.at >= state.lastAt) {
          state.last = msg.cluster;
          state.lastAt = msg.at;
          deps.onComputed?.(msg.cluster);
        }
        return state;
    }
  },

  // Only 'computed' changes the state, in two assignments that cannot throw (onComputed, after them, only
  // reports what they kept): resuming keeps the last sum.
  supervision: { onFault: 'resume', maxRestarts: 10, windowMs: 60_000, critical: false },

  inspect: (state) => ({
    nodes: state.last?.nodes ?? [], rooms: state.last?.rooms.size ?? 0, connCount: state.last?.connCount ?? 0, computedAt: state.lastAt,
  }),
};

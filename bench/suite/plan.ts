/** How big each scenario is, in quick and in full mode. */
import type { Protocol } from '../lib/commands';

export interface Plan {
  readonly mode: 'quick' | 'full';
  /** Clients for every scenario, and the first idle-memory point. */
  readonly n1: number;
  /** The second idle-memory point. */
  readonly n2: number;
  readonly latencyRate: number;
  /** The second key-push row's rate. */
  readonly fastRate: number;
  readonly latencySeconds: number;
  /** Un-batched room pushes (one message each). */
  readonly roomPushes: number;
  /** Batched room pushes (one op-9 frame of 20 messages each). */
  readonly roomBatches: number;
  /** Room pushes to many small rooms: the n1 clients in rooms of `ROOM_OF` members (n1 / ROOM_OF rooms), one push per room in turn. */
  readonly manyRoomPushes: number;
  /** Broadcast-all `speed` (connections per second). */
  readonly speed: number;
  /** Ours only, at n2 clients: key pushes this long without admin polling, then as long with it. */
  readonly adminSeconds: number;
  readonly oursProtocol: Protocol;
  /** CPU-profile the server processes (--cpu-prof). */
  readonly profile: boolean;
}

/** Members of each room in the many-rooms row. */
export const ROOM_OF = 10;

export function planFor(full: boolean, oursProtocol: Protocol, profile: boolean): Plan {
  return full
    ? { mode: 'full', n1: 10_000, n2: 19_000, latencyRate: 1000, fastRate: 5000, latencySeconds: 10, roomPushes: 200, manyRoomPushes: 5000, roomBatches: 50, speed: 2000, adminSeconds: 20, oursProtocol, profile }
    : { mode: 'quick', n1: 2000, n2: 4000, latencyRate: 1000, fastRate: 5000, latencySeconds: 3, roomPushes: 100, manyRoomPushes: 2000, roomBatches: 40, speed: 1000, adminSeconds: 5, oursProtocol, profile };
}

export function describePlan(p: Plan): string {
  return `${p.mode}: ${p.n1.toLocaleString('en-US')} clients (idle memory also at ${p.n2.toLocaleString('en-US')}); `
    + `key pushes ${p.latencyRate}/s and ${p.fastRate}/s for ${p.latencySeconds} s each; room: ${p.roomPushes} single pushes, ${p.roomBatches} batches of 20; `
    + `${p.manyRoomPushes} pushes over ${(p.n1 / ROOM_OF).toLocaleString('en-US')} rooms of ${ROOM_OF}; `
    + `broadcast-all speed ${p.speed}/s; admin polling at ${p.n2.toLocaleString('en-US')}: ${p.adminSeconds} s without, ${p.adminSeconds} s with; ours over ${p.oursProtocol === 'goim-tcp' ? 'tcp' : 'ws'}`;
}

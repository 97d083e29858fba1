/** What the orchestrator and its children say to each other over IPC. */

/** goim over a raw WebSocket (ours and the floor), goim over raw TCP (ours), Socket.IO over a raw WebSocket. */
export type Protocol = 'goim-ws' | 'goim-tcp' | 'sio';

export interface ClientTarget {
  readonly protocol: Protocol;
  readonly port: number;
  /** Upgrade path for the WebSocket protocols. */
  readonly path: string;
}

export interface ConnectArgs {
  readonly target: ClientTarget;
  /** Client i uses mid i and key `bench-i`. */
  readonly firstIndex: number;
  readonly count: number;
  /** Source address (127.0.0.x) so that ephemeral ports are per worker. */
  readonly localAddress: string;
  /** Handshakes in flight at once in this worker. */
  readonly concurrency: number;
  /** Per client: connect + upgrade + auth must finish within this. */
  readonly timeoutMs: number;
  /** Every client in room live://bench (the default), or client i alone in live://bench-i. */
  readonly rooms?: 'one' | 'distinct';
}

export interface ConnectResult {
  readonly opened: number;
  readonly failed: number;
  readonly ms: number;
  readonly firstError: string;
}

export interface ResetArgs {
  /** Start of the histogram of receive times (monotonic µs). */
  readonly t0Us: number;
  /** Read the send time out of 10-byte bodies. */
  readonly latency: boolean;
}

export interface WorkerCount {
  readonly received: number;
  readonly open: number;
}

export interface WorkerReport extends WorkerCount {
  readonly firstUs: number;
  readonly lastUs: number;
  readonly latenciesUs: number[];
  /** Messages received per BUCKET_MS since t0Us. */
  readonly buckets: number[];
}

export const BUCKET_MS = 50;

export type WorkerCommands = {
  connect: { args: ConnectArgs; result: ConnectResult };
  reset: { args: ResetArgs; result: null };
  count: { args: null; result: WorkerCount };
  report: { args: null; result: WorkerReport };
  close: { args: null; result: { closed: number } };
};

export interface MemoryReport {
  readonly rss: number;
  readonly heapUsed: number;
  /** Client connections the server holds right now. */
  readonly connections: number;
}

/** What a server is doing right now; cheap (no GC), for polling. */
export interface ServerStatus {
  /** Client connections the server holds. */
  readonly connections: number;
  /** Calls to other nodes not answered yet (ours: Connect/Heartbeat/Disconnect to logic); 0 for the baselines. */
  readonly pending: number;
}

export type ServerCommands = {
  memory: { args: null; result: MemoryReport };
  status: { args: null; result: ServerStatus };
};

/** The event-loop delay a server measured on itself since the last reset, in ms, and its GC pauses meanwhile. */
export interface LoopDelay {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** GC pauses that started in the window: a pause stalls the loop whoever caused it. */
  readonly gcPauses: number;
  /** Of which mark-compact (major) collections. */
  readonly gcMajor: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** Share of the window the loop spent running (performance.eventLoopUtilization), 0..1. */
  readonly utilization: number;
}

/** Ours, cloud side, adds its own event-loop delay: the admin-polling scenario reads it per window. */
export type OursCloudCommands = ServerCommands & {
  /** Two forced full GCs: windows compared start from the same heap. */
  fullGc: { args: null; result: null };
  /** Starts a new window. */
  resetLoopDelay: { args: null; result: null };
  /** The delay since the last reset. */
  loopDelay: { args: null; result: LoopDelay };
};

/** Ports a server child announces once it listens. */
export interface ServerPorts {
  readonly ws?: number;
  readonly tcp?: number;
  readonly grpc?: number;
  readonly http?: number;
  /** Ours: the node's admin endpoint. */
  readonly admin?: number;
}

/**
 * What the edges hand to actors. Actors see sockets and logic nodes only
 * through these interfaces, so they never import ws, net or grpc, and tests
 * can drive them with fakes.
 */
import type { ReconnectHint } from '../system/codec/disconnect-body';
import type { Outbound } from '../system/codec/outbound';
import type { ImError } from '../system/errors';

/** How a client is connected: WebSocket or goim TCP, each in plain text or inside TLS (wss, tls). */
export type Transport = 'ws' | 'tcp' | 'wss' | 'tls';

/** Why a connection ended; also the label of the `im_connections_closed_total` counter. */
export type CloseReason =
  | 'client_closed'
  | 'protocol_error'
  | 'auth_timeout'
  | 'auth_refused'
  | 'logic_unavailable'
  | 'logic_timeout'
  | 'heartbeat_timeout'
  | 'replaced'
  | 'slow_consumer'
  | 'socket_error'
  | 'actor_crashed'
  | 'kicked'
  | 'draining'
  /** The client (or logic's Connect answer) went over a per-connection limit (limits.maxAccepts, limits.maxRoomIdBytes). */
  | 'limit_exceeded';

/** A connection's socket counters, read when it is inspected (never per message). */
export interface Traffic {
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Bytes written to the socket that the kernel has not taken yet. */
  readonly queuedBytes: number;
}

/** One client socket, as a connection, bucket or room actor sees it. */
export interface ClientHandle {
  readonly id: number;
  readonly transport: Transport;
  readonly remoteAddress: string;
  /** The ws upgrade request's Cookie header ("" on tcp), forwarded to logic's Connect. */
  readonly cookie: string;
  /**
   * Queues pre-framed bytes (the transport's view of the Outbound). Returns
   * false when the socket is gone, when a room or broadcast push meets a
   * client over its soft limit (dropped, counted), or when the client is over
   * its hard limit (the handle then closes itself with op 6 and the edge
   * reports `slow_consumer`).
   */
  send(out: Outbound): boolean;
  /**
   * The connection is done with one packet its edge handed it (handled, or
   * answered by logic's Receive): how the edge knows when to read again.
   */
  settled(): void;
  /**
   * Sends op 6 with the error's JSON reason (when given and still writable), with `reconnect` when the
   * client is told when to come back, then ends the socket. Idempotent.
   */
  close(error?: ImError, reconnect?: ReconnectHint): void;
  readonly closed: boolean;
  traffic(): Traffic;
}

/**
 * The node's lookup of connections by user and by address, for inspection.
 * Each connection actor reports what it learns and lets go of, once each.
 */
export interface ConnectionIndex {
  /** A socket was accepted: its client address is indexed. */
  opened(handle: ClientHandle): void;
  /** Logic named the connection's user. */
  identified(handle: ClientHandle, mid: string): void;
  /** The connection let go of its user. */
  forgotten(handle: ClientHandle, mid: string): void;
  /** The connection is gone. */
  closed(handle: ClientHandle): void;
}

/** Logic's Connect answer (wire.md §4), decoded. */
export interface ConnectResult {
  readonly mid: string;
  readonly key: string;
  readonly roomId: string;
  readonly accepts: readonly number[];
  /** ConnectReply.heartbeat converted from nanoseconds; 0 when logic left it unset. */
  readonly heartbeatMs: number;
}

/** The answer to an asynchronous request carried in a message: a value or a catalogued error. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ImError };

/** What a cloud node reports beside its room counts in RenewOnline. */
export interface NodeStats {
  readonly connCount: number;
  readonly ipCount: number;
}

/** A protocol packet as logic's Receive takes it. */
export interface ProtoMessage {
  readonly ver: number;
  readonly op: number;
  readonly seq: number;
  readonly body: Buffer;
}

/** A failed call to one logic node. `retryable`: the next node may answer (unavailable, deadline). */
export class LogicCallError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly status: string, readonly node: string) {
    super(message);
  }
}

/**
 * One logic node, as the gateway actor uses it. Every call takes the time it may
 * take (`timeoutMs`: what is left of the gateway's deadline for it) and fails
 * with LogicCallError. `connId` is the connection's id logic keeps with its
 * session (ConnectReq.connId and friends).
 */
export interface LogicNodeClient {
  readonly address: string;
  connect(server: string, cookie: string, token: Buffer, connId: string, timeoutMs: number): Promise<ConnectResult>;
  disconnect(mid: string, key: string, server: string, connId: string, timeoutMs: number): Promise<boolean>;
  heartbeat(mid: string, key: string, server: string, connId: string, timeoutMs: number): Promise<void>;
  renewOnline(server: string, roomCount: Readonly<Record<string, number>>, stats: NodeStats, timeoutMs: number): Promise<Record<string, number>>;
  receive(mid: string, proto: ProtoMessage, timeoutMs: number): Promise<void>;
  close(): void;
}

/** The logging surface actors use (winston's logger satisfies it). */
export interface Log {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

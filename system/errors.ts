/**
 * The one error catalogue. Every failure the node reports — in logs, metrics,
 * op-6 close reasons, gRPC status details and HTTP bodies — carries one of
 * these codes. Codes are stable: never rename or reuse one.
 */
export const ErrorCodes = {
  // client packet protocol (wire.md §1)
  PACKET_TOO_SHORT: { code: 'E_PACKET_TOO_SHORT', message: 'packLen is smaller than the 16-byte header' },
  BAD_HEADER_LEN: { code: 'E_BAD_HEADER_LEN', message: 'headerLen must be 16' },
  BODY_TOO_LARGE: { code: 'E_BODY_TOO_LARGE', message: 'packet body exceeds the configured limit' },
  FRAME_TRUNCATED: { code: 'E_FRAME_TRUNCATED', message: 'websocket frame is shorter than its packLen' },
  BAD_BATCH: { code: 'E_BAD_BATCH', message: 'op-9 body does not tile into complete packets' },
  TEXT_FRAME: { code: 'E_TEXT_FRAME', message: 'text frame could not be decoded' },
  WS_FRAME_TOO_LARGE: { code: 'E_WS_FRAME_TOO_LARGE', message: 'websocket frame exceeds maxPayload' },
  WS_PROTOCOL: { code: 'E_WS_PROTOCOL', message: 'websocket framing error' },

  // connection lifecycle (wire.md §2)
  OP_BEFORE_AUTH: { code: 'E_OP_BEFORE_AUTH', message: 'first packet must be op 7 (auth)' },
  AUTH_TIMEOUT: { code: 'E_AUTH_TIMEOUT', message: 'no auth packet within the handshake timeout' },
  AUTH_REFUSED: { code: 'E_AUTH_REFUSED', message: 'logic refused the token' },
  LOGIC_UNAVAILABLE: { code: 'E_LOGIC_UNAVAILABLE', message: 'no logic node answered' },
  LOGIC_BUSY: { code: 'E_LOGIC_BUSY', message: 'too many calls are waiting for logic' },
  LOGIC_TIMEOUT: { code: 'E_LOGIC_TIMEOUT', message: 'logic did not answer the auth in time' },
  LOGIC_CALL_CANCELLED: { code: 'E_LOGIC_CALL_CANCELLED', message: 'the client was gone before its call to logic was sent' },
  HEARTBEAT_TIMEOUT: { code: 'E_HEARTBEAT_TIMEOUT', message: 'no heartbeat within the heartbeat timeout' },
  UNKNOWN_OP: { code: 'E_UNKNOWN_OP', message: 'operation not allowed from a client' },
  RECEIVE_REFUSED: { code: 'E_RECEIVE_REFUSED', message: 'logic did not accept the upstream message' },
  RECEIVE_TIMEOUT: { code: 'E_RECEIVE_TIMEOUT', message: 'logic did not answer in time: the message may or may not have been taken' },
  REPLACED: { code: 'E_REPLACED', message: 'another connection logged in with the same key' },
  SLOW_CONSUMER: { code: 'E_SLOW_CONSUMER', message: 'client does not read fast enough; send buffer over limit' },
  ACTOR_CRASHED: { code: 'E_ACTOR_CRASHED', message: 'internal error while handling this connection' },
  NODE_DRAINING: { code: 'E_NODE_DRAINING', message: 'node is shutting down' },
  SOCKET_ERROR: { code: 'E_SOCKET_ERROR', message: 'socket error' },
  KICKED: { code: 'E_KICKED', message: 'an operator closed this connection' },
  // per-connection limits (README, "Per-connection limits")
  UPSTREAM_RATE: { code: 'E_UPSTREAM_RATE', message: 'upstream messages over limits.upstreamPerSec; this one was not sent to logic' },
  CONTROL_RATE: { code: 'E_CONTROL_RATE', message: 'control packets (op 2, 12, 14, 15) over limits.controlPerSec' },
  TOO_MANY_ACCEPTS: { code: 'E_TOO_MANY_ACCEPTS', message: 'accepted operations over limits.maxAccepts' },
  ROOM_ID_TOO_LONG: { code: 'E_ROOM_ID_TOO_LONG', message: 'room id longer than limits.maxRoomIdBytes' },

  // websocket upgrade (seed: /sub handshake)
  WS_BAD_PATH: { code: 'E_WS_BAD_PATH', message: 'websocket path not served' },
  WS_BAD_KEY: { code: 'E_WS_BAD_KEY', message: 'Sec-WebSocket-Key is malformed' },
  WS_BAD_UPGRADE: { code: 'E_WS_BAD_UPGRADE', message: 'not a valid websocket upgrade request' },

  // accepting sockets
  ACCEPT_EMFILE: { code: 'E_ACCEPT_EMFILE', message: 'out of file descriptors; accepting paused' },
  // No longer emitted: at limits.maxConnections new sockets are refused one by one (E_NODE_FULL), accepting goes on.
  ACCEPT_LIMIT: { code: 'E_ACCEPT_LIMIT', message: 'connection limit reached; accepting paused' },
  // refused before a connection exists (ws: an HTTP status before the upgrade; tcp: op 6, then close)
  NODE_FULL: { code: 'E_NODE_FULL', message: 'node is at its connection limit; connect again later or to another node' },
  IP_LIMIT: { code: 'E_IP_LIMIT', message: 'too many connections from this address' },
  CONNECT_RATE: { code: 'E_CONNECT_RATE', message: 'node takes no more new connections this second; retry shortly' },
  WS_ORIGIN: { code: 'E_WS_ORIGIN', message: 'Origin is not allowed' },
  WS_UPGRADE_TIMEOUT: { code: 'E_WS_UPGRADE_TIMEOUT', message: 'upgrade request headers did not arrive in time' },

  // gRPC requests
  GRPC_NO_KEYS: { code: 'E_GRPC_NO_KEYS', message: 'keys must not be empty' },
  GRPC_NO_PROTO: { code: 'E_GRPC_NO_PROTO', message: 'proto is required' },
  GRPC_BODY_TOO_LARGE: { code: 'E_GRPC_BODY_TOO_LARGE', message: 'proto body exceeds the push size limit' },
  GRPC_BAD_ROOM: { code: 'E_GRPC_BAD_ROOM', message: 'roomID is required' },
  GRPC_BAD_SPEED: { code: 'E_GRPC_BAD_SPEED', message: 'speed must be >= 0' },
  GRPC_BAD_OPERATION: { code: 'E_GRPC_BAD_OPERATION', message: 'operation must be in 0..2147483647' },
  GRPC_NO_MIDS: { code: 'E_GRPC_NO_MIDS', message: 'mids must be a non-empty list of integers' },
  GRPC_BAD_ROOM_TYPE: { code: 'E_GRPC_BAD_ROOM_TYPE', message: 'unknown room type' },
  GRPC_BAD_SERVER: { code: 'E_GRPC_BAD_SERVER', message: 'server (the cloud node id) is required' },
  GRPC_MESSAGE_TOO_LARGE: { code: 'E_GRPC_MESSAGE_TOO_LARGE', message: 'push message exceeds push.maxBatchBytes' },
  GRPC_BAD_STREAM_REQUEST: { code: 'E_GRPC_BAD_STREAM_REQUEST', message: 'a stream request (LogicStream, CloudStream) must carry one call' },

  // internal surfaces (cloud gRPC, logic gRPC and HTTP push API)
  UNAUTHENTICATED: { code: 'E_UNAUTHENTICATED', message: 'a valid security.token is required (authorization: Bearer <token>)' },
  CLOSE_NOT_ALLOWED: { code: 'E_CLOSE_NOT_ALLOWED', message: 'Close is disabled on this node (grpc.allowClose)' },

  // cloud node: push back-pressure
  CLOUD_BUSY: { code: 'E_CLOUD_BUSY', message: 'a mailbox the push would enter is over its depth limit; retry later' },
  BROADCAST_LIMIT: { code: 'E_BROADCAST_LIMIT', message: 'too many speed-limited broadcasts in progress; retry later' },

  // logic node: tokens and sessions
  TOKEN_INVALID: { code: 'E_TOKEN_INVALID', message: 'token is malformed or lacks a required field' },
  TOKEN_SIGNATURE: { code: 'E_TOKEN_SIGNATURE', message: 'token is not a JWT signed with the configured secret or key' },
  TOKEN_EXPIRED: { code: 'E_TOKEN_EXPIRED', message: 'token has expired or is not yet valid' },
  TOKEN_NO_EXP: { code: 'E_TOKEN_NO_EXP', message: 'token has no exp claim (auth.jwtAllowNoExp is off)' },
  TOKEN_ALGORITHM: { code: 'E_TOKEN_ALGORITHM', message: 'token is signed with an algorithm this node does not accept' },
  JWKS_UNAVAILABLE: { code: 'E_JWKS_UNAVAILABLE', message: 'the key set at auth.jwksUrl could not be fetched; retry later' },
  KEY_HELD: { code: 'E_KEY_HELD', message: 'the key is held by another mid (auth.bindKeyToMid)' },
  SESSION_STORE: { code: 'E_SESSION_STORE', message: 'session store failed' },
  CLOUD_UNAVAILABLE: { code: 'E_CLOUD_UNAVAILABLE', message: 'cloud node did not take the push' },
  CLOUD_QUEUE_FULL: { code: 'E_CLOUD_QUEUE_FULL', message: 'pushes held for the cloud node (in flight or waiting) are at their limit' },
  CLOUD_LINK_FAILED: { code: 'E_CLOUD_LINK_FAILED', message: 'no link to the cloud node could be opened' },
  UNKNOWN_CLOUD_NODE: { code: 'E_UNKNOWN_CLOUD_NODE', message: 'server is not a known cloud node' },
  RECEIVE_SINK: { code: 'E_RECEIVE_SINK', message: 'upstream message could not be delivered to the sink' },

  // logic node: HTTP push API (wire.md §5)
  HTTP_NOT_FOUND: { code: 'E_HTTP_NOT_FOUND', message: 'no such endpoint' },
  HTTP_METHOD: { code: 'E_HTTP_METHOD', message: 'method not allowed on this endpoint' },
  HTTP_BAD_BODY: { code: 'E_HTTP_BAD_BODY', message: 'request body could not be parsed' },
  HTTP_BODY_TOO_LARGE: { code: 'E_HTTP_BODY_TOO_LARGE', message: 'request body exceeds the limit' },
  HTTP_MESSAGE_TOO_LARGE: { code: 'E_HTTP_MESSAGE_TOO_LARGE', message: 'push message exceeds push.maxBatchBytes' },
  HTTP_NO_KEYS: { code: 'E_HTTP_NO_KEYS', message: 'keys must not be empty' },
  HTTP_NO_MIDS: { code: 'E_HTTP_NO_MIDS', message: 'mids must not be empty' },
  HTTP_BAD_MID: { code: 'E_HTTP_BAD_MID', message: 'mids must be integers' },
  HTTP_BAD_OPERATION: { code: 'E_HTTP_BAD_OPERATION', message: 'operation must be an integer in 0..2147483647' },
  HTTP_BAD_ROOM: { code: 'E_HTTP_BAD_ROOM', message: 'room is required' },
  HTTP_BAD_ROOM_TYPE: { code: 'E_HTTP_BAD_ROOM_TYPE', message: 'unknown room type' },
  HTTP_BAD_PARAM: { code: 'E_HTTP_BAD_PARAM', message: 'a parameter is invalid' },
  HTTP_INTERNAL: { code: 'E_HTTP_INTERNAL', message: 'internal error' },

  // admin endpoint
  ADMIN_UNAUTHORIZED: { code: 'E_ADMIN_UNAUTHORIZED', message: 'a valid bearer token is required' },
  ADMIN_FORBIDDEN: { code: 'E_ADMIN_FORBIDDEN', message: 'destructive admin actions are disabled (admin.allowDestructive)' },
  ADMIN_NOT_FOUND: { code: 'E_ADMIN_NOT_FOUND', message: 'no such resource' },
  ADMIN_BAD_PARAM: { code: 'E_ADMIN_BAD_PARAM', message: 'a parameter is invalid' },
  ADMIN_METHOD: { code: 'E_ADMIN_METHOD', message: 'method not allowed on this endpoint' },
  ADMIN_NOT_SERVED: { code: 'E_ADMIN_NOT_SERVED', message: 'this kind of node does not serve this endpoint' },
  ADMIN_BUSY: { code: 'E_ADMIN_BUSY', message: 'too many admin walks are waiting; retry later' },
  ADMIN_BAD_ORIGIN: { code: 'E_ADMIN_BAD_ORIGIN', message: 'request names a host or origin other than this endpoint' },
  ADMIN_KICK_TIMEOUT: { code: 'E_ADMIN_KICK_TIMEOUT', message: 'the connection did not handle the kick in time; it may still close' },
  ADMIN_BAD_REQUEST: { code: 'E_ADMIN_BAD_REQUEST', message: 'request target could not be parsed' },

  // anything not foreseen
  INTERNAL: { code: 'E_INTERNAL', message: 'internal error' },

  // configuration
  CONFIG_INVALID: { code: 'E_CONFIG_INVALID', message: 'configuration is invalid' },
  CONFIG_FILE: { code: 'E_CONFIG_FILE', message: 'configuration file could not be read' },

  // supervision
  ACTOR_GAVE_UP: { code: 'E_ACTOR_GAVE_UP', message: 'actor exhausted its restart budget' },

  // stopping
  SHUTDOWN_DEADLINE: { code: 'E_SHUTDOWN_DEADLINE', message: 'the stop did not finish within shutdown.deadlineMs' },
  UNCAUGHT_FAULT: { code: 'E_UNCAUGHT_FAULT', message: 'an exception or rejection nothing caught; the process exits 1' },
  WORKER_EXITED: { code: 'E_WORKER_EXITED', message: 'a cloud worker exited without being asked; the primary restarts it' },
  WORKER_START_FAILED: { code: 'E_WORKER_START_FAILED', message: 'a cloud worker failed to start; the primary stops every worker' },
  WORKER_RESTART_LIMIT: { code: 'E_WORKER_RESTART_LIMIT', message: 'cloud workers exited more often than workers.maxRestarts allows; the primary stops every worker' },
} as const;

export type ErrorName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorName]['code'];

export class ImError extends Error {
  readonly code: ErrorCode;
  override readonly name: ErrorName;

  constructor(name: ErrorName, detail?: string) {
    const entry = ErrorCodes[name];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.code = entry.code;
    this.name = name;
  }

  /** The JSON reason sent to clients in op 6 and to HTTP callers. */
  toReason(): { code: ErrorCode; reason: string } {
    return { code: this.code, reason: this.message };
  }
}

/** Keeps an ImError as it is; wraps anything else under `fallback`, so callers always see a catalogued code. */
export function asImError(err: unknown, fallback: ErrorName): ImError {
  return err instanceof ImError ? err : new ImError(fallback, err instanceof Error ? err.message : String(err));
}

export function imError(name: ErrorName, detail?: string): ImError {
  return new ImError(name, detail);
}

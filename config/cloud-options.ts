import { adminOptions } from './admin-options';
import { discoveryOptions } from './discovery-options';
import { OptionSpec, OptionValue } from './option';
import { securityOptions } from './security-options';
import { workerOptions } from './worker-options';
import { clientTlsOptions, grpcTlsOptions } from './tls-options';

/** How many entries a list option holds (at least 1). */
function listLength(value: OptionValue | undefined): number {
  return Array.isArray(value) ? Math.max(1, value.length) : 1;
}

/** Every option of a cloud node. The README's option table is generated from this list. */
export const cloudOptions: readonly OptionSpec[] = [
  { path: 'node.bindHost', env: 'IM_CLOUD_BIND_HOST', kind: { type: 'string' }, default: '0.0.0.0', doc: 'Address the client listeners (tcp, ws, wss, TLS tcp) bind to.' },
  {
    path: 'node.advertiseHost', env: 'IM_CLOUD_ADVERTISE_HOST', kind: { type: 'string', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' },
    default: '127.0.0.1', doc: 'Host other nodes reach this node at; with the gRPC port it forms the server id sent to logic.',
  },
  {
    path: 'node.clientHost', env: 'IM_CLOUD_CLIENT_HOST', kind: { type: 'string', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' },
    default: (r) => String(r.get('node.advertiseHost')), defaultDoc: 'node.advertiseHost',
    doc: 'Host clients reach this node at: published with discovery (Consul Meta tcp, ws) so logic\'s Nodes and /im/nodes list this node. A loopback host here, on a node registered at a reachable address, is warned about at start.',
  },
  { path: 'tcp.port', env: 'IM_CLOUD_TCP_PORT', kind: { type: 'port' }, default: 3101, doc: 'TCP client port (0 picks a free port).' },
  { path: 'ws.port', env: 'IM_CLOUD_WS_PORT', kind: { type: 'port' }, default: 3102, doc: 'WebSocket client port (0 picks a free port).' },
  { path: 'ws.path', env: 'IM_CLOUD_WS_PATH', kind: { type: 'string', pattern: /^\/\S*$/, hint: 'a path starting with /' }, default: '/sub', doc: 'The only path upgraded to a WebSocket.' },
  {
    path: 'ws.maxPayload', env: 'IM_CLOUD_WS_MAX_PAYLOAD', kind: { type: 'int', min: 16 },
    default: (r) => 16 + Number(r.get('protocol.maxBodySize')), defaultDoc: '16 + protocol.maxBodySize',
    doc: 'Largest WebSocket frame accepted from a client, in bytes; a larger one closes that connection.',
  },
  {
    path: 'ws.upgradeTimeoutMs', env: 'IM_CLOUD_WS_UPGRADE_TIMEOUT_MS', kind: { type: 'int', min: 100, max: 300000 }, default: 5000,
    doc: 'Time a ws or wss socket has, from its connection (after the TLS handshake on wss), to send the whole upgrade request; a slower one gets 408 E_WS_UPGRADE_TIMEOUT and is closed (checked every quarter of it, at most each second).',
  },
  {
    path: 'ws.allowedOrigins', env: 'IM_CLOUD_WS_ALLOWED_ORIGINS',
    kind: { type: 'stringList', pattern: /^(null|[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s]+)$/, hint: 'an origin: scheme://host[:port], no path', allowEmpty: true },
    default: [], defaultDoc: '(empty: any origin)',
    doc: 'Origins (comma-separated; compared exactly in the form browsers send, so case and an http(s) default port aside) whose browsers may open a WebSocket; another Origin gets 403 E_WS_ORIGIN before the upgrade. A request without an Origin header (not a browser) is not checked. Empty lets any origin in, as goim does.',
  },
  ...clientTlsOptions,
  {
    path: 'grpc.bindHost', env: 'IM_CLOUD_GRPC_BIND_HOST', kind: { type: 'string', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' }, default: '127.0.0.1',
    doc: 'Address the gRPC listener (an internal surface: logic\'s pushes) binds to. Anywhere but loopback it requires security.token or security.insecure.',
  },
  { path: 'grpc.port', env: 'IM_CLOUD_GRPC_PORT', kind: { type: 'port' }, default: 3109, doc: 'gRPC port serving im.cloud.Cloud, goim.comet.Comet and im.cloud.CloudStream (0 picks a free port).' },
  {
    path: 'grpc.serverId', env: 'IM_CLOUD_SERVER_ID', kind: { type: 'string' },
    default: '', defaultDoc: 'advertiseHost:grpc port',
    doc: 'Server id sent to logic in Connect; logic routes pushes for this node\'s clients to it, so it must be this node\'s reachable gRPC address.',
  },
  { path: 'grpc.maxPushBytes', env: 'IM_CLOUD_GRPC_MAX_PUSH_BYTES', kind: { type: 'int', min: 16, max: 64 * 1024 * 1024 }, default: 4 * 1024 * 1024, doc: 'Largest proto body a push may carry, in bytes (also the gRPC receive limit).' },
  {
    path: 'grpc.shutdownGraceMs', env: 'IM_CLOUD_GRPC_SHUTDOWN_GRACE_MS', kind: { type: 'int', min: 0 }, default: 5000,
    doc: 'How long a stopping node waits for its clients to close once all were told (longer while logic still owes Connect answers) and for in-flight gRPC calls before cutting them; scaled down when the stop\'s waits would not fit in shutdown.deadlineMs.',
  },
  {
    path: 'shutdown.deadlineMs', env: 'IM_CLOUD_SHUTDOWN_DEADLINE_MS', kind: { type: 'int', min: 500 }, default: 25000,
    doc: 'Longest a stop may take, from the signal (or the Close rpc) to the exit: the paced drain and every wait after it are fitted into it. Should a signal\'s stop run past it all the same, the process logs what was still pending at error and exits 3. Keep it below the orchestrator\'s grace period (Kubernetes terminationGracePeriodSeconds, default 30 s), which ends in SIGKILL.',
  },
  {
    path: 'shutdown.drainRatePerSec', env: 'IM_CLOUD_DRAIN_RATE', kind: { type: 'int', min: 1 }, default: 2000,
    doc: 'Clients a draining node tells to reconnect (op 6 E_NODE_DRAINING) per second at most, round-robin over its connection shards, so the nodes they move to and logic\'s Connect take them at a bearable rate. Raised (and logged) when the clients could not all be told in time for the rest of the stop to fit in shutdown.deadlineMs.',
  },
  ...grpcTlsOptions('IM_CLOUD'),
  { path: 'protocol.maxBodySize', env: 'IM_CLOUD_MAX_BODY_SIZE', kind: { type: 'int', min: 0, max: 16 * 1024 * 1024 }, default: 4096, doc: 'Largest packet body a client may send, in bytes.' },
  { path: 'protocol.handshakeTimeoutMs', env: 'IM_CLOUD_HANDSHAKE_TIMEOUT_MS', kind: { type: 'int', min: 1 }, default: 5000, doc: 'Time a new connection has to send op 7 (auth); on wss and TLS tcp it has as long again before that to finish the TLS handshake.' },
  {
    path: 'protocol.heartbeatTimeoutMs', env: 'IM_CLOUD_HEARTBEAT_TIMEOUT_MS', kind: { type: 'int', min: 1 }, default: 300000,
    doc: 'Time without a client heartbeat before the connection is closed, when logic\'s Connect reply gives none.',
  },
  { path: 'protocol.sweepIntervalMs', env: 'IM_CLOUD_SWEEP_INTERVAL_MS', kind: { type: 'int', min: 10 }, default: 1000, doc: 'How often handshake and heartbeat deadlines are checked.' },
  {
    path: 'protocol.coalesce', env: 'IM_CLOUD_COALESCE', kind: { type: 'bool' }, default: true,
    doc: 'Packets a connection is handed within one task leave as one write; on ws its pushes share one op-9 frame and each reply stays a frame of its own. false writes each packet at once.',
  },
  {
    path: 'protocol.sendBufferLimit', env: 'IM_CLOUD_SEND_BUFFER_LIMIT', kind: { type: 'int', min: 1024 }, default: 4 * 1024 * 1024,
    doc: 'The default of slowConsumer.hardBytes (kept for configurations that set it).',
  },
  {
    path: 'slowConsumer.hardBytes', env: 'IM_CLOUD_SLOW_CONSUMER_HARD_BYTES', kind: { type: 'int', min: 1024 },
    default: (r) => Number(r.get('protocol.sendBufferLimit')), defaultDoc: 'protocol.sendBufferLimit',
    doc: 'Bytes queued for one client (not yet taken by its socket) past which it is closed with op 6 E_SLOW_CONSUMER.',
  },
  {
    path: 'slowConsumer.softBytes', env: 'IM_CLOUD_SLOW_CONSUMER_SOFT_BYTES', kind: { type: 'int', min: 0 },
    default: (r) => Math.min(256 * 1024, Math.floor(Number(r.get('slowConsumer.hardBytes')) / 2)), defaultDoc: '262144, at most half of slowConsumer.hardBytes',
    doc: 'Bytes queued for one client past which room and broadcast pushes to it are dropped (counted in im_slow_consumer_drops_total); key and mid pushes and replies still queue, up to slowConsumer.hardBytes. Below slowConsumer.hardBytes.',
  },
  {
    path: 'slowConsumer.ms', env: 'IM_CLOUD_SLOW_CONSUMER_MS', kind: { type: 'int', min: 1 }, default: 5000,
    doc: 'A client whose queued bytes have not drained for this long counts as over the soft limit, however few they are.',
  },
  {
    path: 'slowConsumer.hardMs', env: 'IM_CLOUD_SLOW_CONSUMER_HARD_MS', kind: { type: 'int', min: 1 },
    default: (r) => 4 * Number(r.get('slowConsumer.ms')), defaultDoc: '4 × slowConsumer.ms',
    doc: 'A client whose queued bytes have not drained for this long is closed as over the hard limit (checked when something is sent to it). At least slowConsumer.ms.',
  },
  { path: 'logic.nodes', env: 'IM_CLOUD_LOGIC_NODES', kind: { type: 'hostPortList' }, default: ['127.0.0.1:3119'], doc: 'Logic nodes (comma-separated host:port), tried round-robin, when discovery.kind is static.' },
  {
    path: 'logic.callTimeoutMs', env: 'IM_CLOUD_LOGIC_TIMEOUT_MS', kind: { type: 'int', min: 1 }, default: 3000,
    doc: 'Longest one attempt of a call may take on one logic node; past it (or when the node is unavailable) the next node is tried. A call\'s whole deadline is this times the number of logic nodes, counted from when the call is made (time queued for a free slot included): one still queued at its deadline fails unsent, one sent late gets what is left. A Disconnect\'s deadline counts from when it is sent; a Receive that times out is not sent to the next node (E_RECEIVE_TIMEOUT: logic may have taken it).',
  },
  {
    path: 'logic.maxInFlight', env: 'IM_CLOUD_LOGIC_MAX_IN_FLIGHT', kind: { type: 'int', min: 1 }, default: 1024,
    doc: 'Calls to logic in flight at once from this node; more wait in a queue.',
  },
  {
    path: 'logic.maxQueued', env: 'IM_CLOUD_LOGIC_MAX_QUEUED', kind: { type: 'int', min: 0 }, default: 10000,
    doc: 'Calls to logic that may wait for a free in-flight slot; past it a call fails at once (a Connect closes its client with E_LOGIC_BUSY, a Receive gets an op-5 E_LOGIC_BUSY, a Heartbeat is dropped), counted in im_logic_calls_rejected_total. Disconnects are owed and wait apart, outside this bound (the sessions this node holds bound them), sharing the in-flight slots in turn with the other calls.',
  },
  {
    path: 'logic.connectWaitMs', env: 'IM_CLOUD_LOGIC_CONNECT_WAIT_MS', kind: { type: 'int', min: 1 },
    default: (r) => Number(r.get('logic.callTimeoutMs')) * listLength(r.get('logic.nodes')) + Number(r.get('protocol.handshakeTimeoutMs')),
    defaultDoc: 'logic.callTimeoutMs × logic nodes + protocol.handshakeTimeoutMs',
    doc: 'Longest a connection waits for logic\'s answer to its auth (op 7) before it is closed with E_LOGIC_TIMEOUT; a session logic still creates afterwards is disconnected.',
  },
  {
    path: 'logic.maxReplyBytes', env: 'IM_CLOUD_LOGIC_MAX_REPLY_BYTES', kind: { type: 'int', min: 4 * 1024 * 1024, max: 1024 * 1024 * 1024 }, default: 32 * 1024 * 1024,
    doc: 'Largest reply taken from a logic node, in bytes; RenewOnline\'s answer carries a count per room of this node (about 25 bytes a room).',
  },
  { path: 'logic.renewOnlineIntervalMs', env: 'IM_CLOUD_RENEW_ONLINE_MS', kind: { type: 'int', min: 100 }, default: 10000, doc: 'How often this node\'s room counts are sent to logic (RenewOnline).' },
  {
    path: 'logic.renewOnlineTimeoutMs', env: 'IM_CLOUD_RENEW_ONLINE_TIMEOUT_MS', kind: { type: 'int', min: 1 },
    default: (r) => Number(r.get('logic.renewOnlineIntervalMs')), defaultDoc: 'logic.renewOnlineIntervalMs',
    doc: 'Longest one RenewOnline attempt may take on one logic node (instead of logic.callTimeoutMs: with many rooms logic needs seconds). At most logic.renewOnlineIntervalMs; the whole call, failover included, ends by the next round. A round that fails is logged and counted in im_renew_online_failures_total.',
  },
  {
    path: 'logic.streams', env: 'IM_CLOUD_LOGIC_STREAMS', kind: { type: 'int', min: 0, max: 64 }, default: 2,
    doc: 'Long-lived gRPC streams (im.logic.LogicStream) to each logic node carrying Connect, Disconnect and Heartbeat as requests with ids, each with its own deadline; a stream that breaks fails its requests over to the next node and is opened again with backoff. A logic node that answers them UNIMPLEMENTED (goim\'s logic) is called unary. 0: unary calls only.',
  },
  {
    path: 'logic.streamReprobeMs', env: 'IM_CLOUD_LOGIC_STREAM_REPROBE_MS', kind: { type: 'int', min: 1000 }, default: 60_000,
    doc: 'How long a logic node that answered the streams UNIMPLEMENTED is called unary before they are tried again (once per interval; logged at info and counted in im_logic_streams_total{event="unary_only"}).',
  },
  { path: 'logic.heartbeatMinMs', env: 'IM_CLOUD_LOGIC_HEARTBEAT_MIN_MS', kind: { type: 'int', min: 0 }, default: 5 * 60 * 1000, doc: 'Least time between two logic Heartbeat calls for one connection.' },
  { path: 'logic.heartbeatMaxMs', env: 'IM_CLOUD_LOGIC_HEARTBEAT_MAX_MS', kind: { type: 'int', min: 0 }, default: 10 * 60 * 1000, doc: 'Most time between two logic Heartbeat calls; each connection picks its interval at random in [min, max].' },
  { path: 'actors.buckets', env: 'IM_CLOUD_BUCKETS', kind: { type: 'int', min: 1, max: 4096 }, default: 32, doc: 'Bucket actors; connections are sharded over them by key hash.' },
  { path: 'actors.connectionShards', env: 'IM_CLOUD_CONNECTION_SHARDS', kind: { type: 'int', min: 1, max: 4096 }, default: 64, doc: 'Supervisor shards that parent connection actors.' },
  { path: 'actors.roomShards', env: 'IM_CLOUD_ROOM_SHARDS', kind: { type: 'int', min: 1, max: 4096 }, default: 16, doc: 'Room directory shards; each parents the room actors whose id hashes to it.' },
  {
    path: 'limits.maxConnections', env: 'IM_CLOUD_MAX_CONNECTIONS', kind: { type: 'int', min: 0 }, default: 0, defaultDoc: '0 (open-file limit minus 256)',
    doc: 'Client sockets open at once on every listener together; one more is refused (ws, wss: 503 E_NODE_FULL before the upgrade; tcp, TLS tcp: op 6 E_NODE_FULL, then close) while the listeners stay open. 0 derives it from the process open-file limit.',
  },
  {
    path: 'limits.maxConnectionsPerIp', env: 'IM_CLOUD_MAX_CONNECTIONS_PER_IP', kind: { type: 'int', min: 0 }, default: 1000,
    doc: 'Client sockets open at once from one peer (the socket\'s IPv4 address, or its IPv6 /64: a host may use any address of its /64), on every listener together; one more is refused (429 or op 6 E_IP_LIMIT). Clients behind one carrier-grade NAT or proxy share an IP: raise it for them. 0 = no limit.',
  },
  {
    path: 'limits.maxRefusing', env: 'IM_CLOUD_MAX_REFUSING', kind: { type: 'int', min: 1 }, default: 1000,
    doc: 'Refused client sockets (over a limit, Origin, draining) waiting at once for their client to read the answer (429/503/403, or op 6) and close, each for two seconds at most; past it a refused socket is closed at once without its answer and counted (im_refusals_unanswered_total), so refusals hold a bounded number of descriptors.',
  },
  {
    path: 'limits.newConnectionsPerSec', env: 'IM_CLOUD_NEW_CONNECTIONS_PER_SEC', kind: { type: 'int', min: 0 }, default: 5000,
    doc: 'New client sockets this node takes per second (a token bucket holding one second\'s worth); past it they are refused (429 with Retry-After: 1, or op 6 E_CONNECT_RATE with a reconnect hint). 0 = no limit.',
  },
  { path: 'limits.acceptRetryMs', env: 'IM_CLOUD_ACCEPT_RETRY_MS', kind: { type: 'int', min: 10 }, default: 1000, doc: 'After running out of file descriptors (accepting pauses), how often accepting is retried.' },
  {
    path: 'limits.maxMailboxDepth', env: 'IM_CLOUD_MAX_MAILBOX_DEPTH', kind: { type: 'int', min: 1 }, default: 10000,
    doc: 'Messages a bucket, room directory or room actor may hold waiting; a push rpc that would enter a fuller one is refused with RESOURCE_EXHAUSTED (E_CLOUD_BUSY).',
  },
  {
    path: 'limits.maxPacedBroadcasts', env: 'IM_CLOUD_MAX_PACED_BROADCASTS', kind: { type: 'int', min: 1 }, default: 16,
    doc: 'Speed-limited Broadcasts in progress at once; one more is refused with RESOURCE_EXHAUSTED (E_BROADCAST_LIMIT).',
  },
  {
    path: 'limits.upstreamPerSec', env: 'IM_CLOUD_UPSTREAM_PER_SEC', kind: { type: 'int', min: 1 }, default: 50,
    doc: 'Upstream messages (op 4 and business ops, what goes to logic\'s Receive) one connection may send per second, with bursts of 2 s worth; one more gets an op 5 E_UPSTREAM_RATE and is not sent to logic. The connection stays open.',
  },
  {
    path: 'limits.controlPerSec', env: 'IM_CLOUD_CONTROL_PER_SEC', kind: { type: 'int', min: 1 }, default: 20,
    doc: 'Control packets (op 2 heartbeat, op 12 change room, op 14 and 15 sub and unsub) one connection may send in one second of the clock; one more closes it with op 6 E_CONTROL_RATE. Clients heartbeat every few seconds to minutes; a client sending these without pause makes the node answer, and spawn and stop room actors, as fast as it reads.',
  },
  {
    path: 'limits.maxAccepts', env: 'IM_CLOUD_MAX_ACCEPTS', kind: { type: 'int', min: 1 }, default: 256,
    doc: 'Operations one connection may accept (logic\'s Connect reply, plus op 14); more close it with op 6 E_TOO_MANY_ACCEPTS.',
  },
  {
    path: 'limits.maxRoomIdBytes', env: 'IM_CLOUD_MAX_ROOM_ID_BYTES', kind: { type: 'int', min: 1 }, default: 256,
    doc: 'Longest room id, in UTF-8 bytes, from logic\'s Connect reply or op 12; a longer one closes the connection with op 6 E_ROOM_ID_TOO_LONG.',
  },
  {
    path: 'limits.readPauseDepth', env: 'IM_CLOUD_READ_PAUSE_DEPTH', kind: { type: 'int', min: 1 }, default: 64,
    doc: 'Packets of one connection read and not yet done with (in its mailbox, or at logic\'s Receive) past which reading its socket pauses; it resumes at half of this.',
  },
  ...discoveryOptions('IM_CLOUD'),
  ...workerOptions,
  ...securityOptions('IM_CLOUD', 'gRPC: im.cloud.Cloud, goim.comet.Comet, im.cloud.CloudStream', 'Close and CClose rpcs'),
  ...adminOptions('IM_CLOUD', 3190),
  { path: 'log.level', env: 'IM_CLOUD_LOG_LEVEL', kind: { type: 'enum', values: ['error', 'warn', 'info', 'debug'] }, default: 'info', doc: 'Log level (JSON lines on stdout).' },
];

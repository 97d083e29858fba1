import { adminOptions } from './admin-options';
import { authOptions } from './auth-options';
import { discoveryOptions } from './discovery-options';
import { OptionSpec } from './option';
import { securityOptions } from './security-options';
import { grpcTlsOptions } from './tls-options';

/** Every option of a logic node. The README's option table is generated from this list. */
export const logicOptions: readonly OptionSpec[] = [
  { path: 'node.bindHost', env: 'IM_LOGIC_BIND_HOST', kind: { type: 'string' }, default: '127.0.0.1', doc: 'Address the gRPC and HTTP push listeners (internal surfaces) bind to. Anywhere but loopback it requires security.token or security.insecure.' },
  {
    path: 'node.advertiseHost', env: 'IM_LOGIC_ADVERTISE_HOST', kind: { type: 'string', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' },
    default: '127.0.0.1', doc: 'Host cloud nodes reach this node at: with the gRPC port, the address it registers with discovery.',
  },
  { path: 'grpc.port', env: 'IM_LOGIC_GRPC_PORT', kind: { type: 'port' }, default: 3119, doc: 'gRPC port serving im.logic.Logic to cloud nodes (0 picks a free port).' },
  {
    path: 'grpc.maxReceiveBytes', env: 'IM_LOGIC_GRPC_MAX_RECEIVE_BYTES', kind: { type: 'int', min: 1024, max: 1024 * 1024 * 1024 },
    default: (resolved) => Math.max(32 * 1024 * 1024, 2 * Number(resolved.get('push.maxBatchBytes'))),
    defaultDoc: 'max(33554432, 2 × push.maxBatchBytes)',
    doc: 'Largest gRPC request this node reads; a larger one is refused with RESOURCE_EXHAUSTED before it is looked at. A cloud node\'s RenewOnline report is the largest (about 25 bytes a room: 200,000 rooms take ~5 MiB); above push.maxBatchBytes so that a push message too large to send is read and refused with INVALID_ARGUMENT.',
  },
  { path: 'grpc.shutdownGraceMs', env: 'IM_LOGIC_GRPC_SHUTDOWN_GRACE_MS', kind: { type: 'int', min: 0 }, default: 5000, doc: 'How long a stopping node waits for in-flight gRPC calls; scaled down when the stop\'s waits would not fit in shutdown.deadlineMs.' },
  {
    path: 'shutdown.deadlineMs', env: 'IM_LOGIC_SHUTDOWN_DEADLINE_MS', kind: { type: 'int', min: 500 }, default: 25000,
    doc: 'Longest a stop may take, from the signal (or the Close rpc) to the exit: every wait of the stop is fitted into it. Should a signal\'s stop run past it all the same, the process logs what was still pending at error and exits 3. Keep it below the orchestrator\'s grace period (Kubernetes terminationGracePeriodSeconds, default 30 s), which ends in SIGKILL.',
  },
  ...grpcTlsOptions('IM_LOGIC'),
  { path: 'http.port', env: 'IM_LOGIC_HTTP_PORT', kind: { type: 'port' }, default: 3111, doc: 'HTTP push API port (/im/... and /goim/...; 0 picks a free port).' },
  { path: 'http.maxBodyBytes', env: 'IM_LOGIC_HTTP_MAX_BODY', kind: { type: 'int', min: 16, max: 64 * 1024 * 1024 }, default: 1024 * 1024, doc: 'Largest HTTP request body accepted; larger gets 413.' },
  { path: 'cloud.nodes', env: 'IM_LOGIC_CLOUD_NODES', kind: { type: 'hostPortList' }, default: ['127.0.0.1:3109'], doc: 'gRPC addresses of the cloud nodes when discovery.kind is static (room and broadcast pushes go to all of them; key pushes go where the session says).' },
  { path: 'cloud.callTimeoutMs', env: 'IM_LOGIC_CLOUD_TIMEOUT_MS', kind: { type: 'int', min: 1 }, default: 3000, doc: 'Deadline of each push to a cloud node.' },
  {
    path: 'cloud.leavingGraceMs', env: 'IM_LOGIC_CLOUD_LEAVING_GRACE_MS', kind: { type: 'int', min: 0 }, default: 30_000,
    doc: 'How long a cloud node that left discovery\'s list still gets pushes (it may be draining: it deregisters first and holds its clients until it has told them all to go; a node that died answers them with a failure). No Connect, Heartbeat or RenewOnline may name it meanwhile. Keep it above the cloud nodes\' shutdown.deadlineMs.',
  },
  { path: 'cloud.maxInFlight', env: 'IM_LOGIC_CLOUD_MAX_IN_FLIGHT', kind: { type: 'int', min: 1 }, default: 256, doc: 'Pushes in flight to one cloud node; more wait in its link actor. 1 keeps strict order per node; more is faster but, as in goim, lets pushes overtake each other.' },
  {
    path: 'cloud.streams', env: 'IM_LOGIC_CLOUD_STREAMS', kind: { type: 'int', min: 0, max: 64 }, default: 2,
    doc: 'Long-lived gRPC streams (im.cloud.CloudStream) to each cloud node carrying PushMsg, BroadcastRoom and Broadcast as requests with ids, each with its own deadline (cloud.callTimeoutMs); a stream that breaks fails its pushes in flight (reported like a failed call) and is opened again with backoff. A cloud node that answers them UNIMPLEMENTED (goim\'s comet) is called unary. 0: unary calls only.',
  },
  {
    path: 'cloud.streamReprobeMs', env: 'IM_LOGIC_CLOUD_STREAM_REPROBE_MS', kind: { type: 'int', min: 1000 }, default: 60_000,
    doc: 'How long a cloud node that answered the streams UNIMPLEMENTED is called unary before they are tried again (once per interval; logged at info and counted in im_cloud_streams_total{event="unary_only"}).',
  },
  { path: 'cloud.maxQueued', env: 'IM_LOGIC_CLOUD_MAX_QUEUED', kind: { type: 'int', min: 1 }, default: 100_000, doc: 'Pushes waiting for one cloud node (beyond cloud.maxInFlight); a push past it is dropped and counted (im_cloud_push_dropped_total), and a key or mid push dropped so fails with 503 E_CLOUD_QUEUE_FULL.' },
  { path: 'cloud.maxLinkBytes', env: 'IM_LOGIC_CLOUD_MAX_LINK_BYTES', kind: { type: 'int', min: 1024 }, default: 64 * 1024 * 1024, doc: 'Bytes (messages and keys) held for one cloud node, in flight and waiting: what a hung node can cost, however large cloud.maxInFlight is. A push that would pass it is dropped like one past cloud.maxQueued. At least push.maxBatchBytes + 32768 (the keys one PushMsg may carry).' },
  { path: 'session.store', env: 'IM_LOGIC_SESSION_STORE', kind: { type: 'enum', values: ['memory', 'redis'] }, default: 'memory', doc: 'Where sessions live: memory (one logic node) or redis (several logic nodes sharing sessions).' },
  { path: 'session.redisUrl', env: 'IM_LOGIC_REDIS_URL', kind: { type: 'string', pattern: /^rediss?:\/\/\S+$/, hint: 'a redis:// URL' }, default: 'redis://127.0.0.1:6379', doc: 'Redis server of the redis session store.' },
  { path: 'session.ttlSeconds', env: 'IM_LOGIC_SESSION_TTL_S', kind: { type: 'int', min: 1 }, default: 1800, doc: 'TTL of a session (key_, mid_) and of a node\'s online counts (ol_); renewed by Heartbeat and RenewOnline.' },
  { path: 'online.maxAgeMs', env: 'IM_LOGIC_ONLINE_MAX_AGE_MS', kind: { type: 'int', min: 1000 }, default: 60_000, doc: 'A cloud node whose last RenewOnline is older than this is left out of the cluster totals.' },
  ...authOptions,
  { path: 'clients.heartbeatSeconds', env: 'IM_LOGIC_HEARTBEAT_S', kind: { type: 'int', min: 1 }, default: 30, doc: 'Interval clients should send op 2 at (Nodes); with heartbeatMax it makes the timeout sent in Connect.' },
  { path: 'clients.heartbeatMax', env: 'IM_LOGIC_HEARTBEAT_MAX', kind: { type: 'int', min: 1 }, default: 3, doc: 'Heartbeats a client may miss before the cloud node closes it.' },
  { path: 'nodes.domain', env: 'IM_LOGIC_NODES_DOMAIN', kind: { type: 'string' }, default: '', doc: 'Domain returned by Nodes and /im/nodes.' },
  { path: 'nodes.clientHosts', env: 'IM_LOGIC_NODES_HOSTS', kind: { type: 'stringList', pattern: /^[A-Za-z0-9.:[\]-]+$/, hint: 'a host name or IP' }, default: ['127.0.0.1'], doc: 'Hosts clients should connect to, returned by Nodes and /im/nodes; with consul discovery, only while no passing cloud node publishes its client host.' },
  { path: 'nodes.tcpPort', env: 'IM_LOGIC_NODES_TCP_PORT', kind: { type: 'port' }, default: 3101, doc: 'Cloud tcp port returned by Nodes.' },
  { path: 'nodes.wsPort', env: 'IM_LOGIC_NODES_WS_PORT', kind: { type: 'port' }, default: 3102, doc: 'Cloud ws port returned by Nodes.' },
  { path: 'nodes.wssPort', env: 'IM_LOGIC_NODES_WSS_PORT', kind: { type: 'port' }, default: 3103, doc: 'Cloud wss port returned by Nodes.' },
  { path: 'receive.sink', env: 'IM_LOGIC_RECEIVE_SINK', kind: { type: 'enum', values: ['log', 'http'] }, default: 'log', doc: 'Where upstream client messages (op 4) go: a log line, or an HTTP POST to receive.url.' },
  { path: 'receive.url', env: 'IM_LOGIC_RECEIVE_URL', kind: { type: 'string', pattern: /^(https?:\/\/\S+)?$/, hint: 'an http(s) URL' }, default: '', doc: 'URL the http sink POSTs each upstream message to (JSON: mid, op, seq, ver, body as base64).' },
  { path: 'push.roomTypes', env: 'IM_LOGIC_ROOM_TYPES', kind: { type: 'stringList', pattern: /^[A-Za-z0-9_.-]+$/, hint: 'a room type name' }, default: ['live'], doc: 'Room types the push API accepts (room ids are type://room).' },
  { path: 'push.batchMaxMessages', env: 'IM_LOGIC_BATCH_MAX', kind: { type: 'int', min: 1, max: 1000 }, default: 20, doc: 'Room messages merged into one op-9 batch at most; a full batch leaves at once.' },
  { path: 'push.maxBatchBytes', env: 'IM_LOGIC_BATCH_MAX_BYTES', kind: { type: 'int', min: 1024, max: 64 * 1024 * 1024 }, default: 4 * 1024 * 1024, doc: 'Largest proto body logic sends a cloud node in one push (keep it at most the cloud nodes\' grpc.maxPushBytes): a room batch is cut before it would pass it, and a push message larger than it is refused (HTTP 413, gRPC INVALID_ARGUMENT).' },
  { path: 'push.answerTimeoutMs', env: 'IM_LOGIC_PUSH_ANSWER_TIMEOUT_MS', kind: { type: 'int', min: 1 }, default: 10_000, doc: 'Longest a key or mid push waits for the cloud nodes holding its targets to take or fail it; past it the caller gets 503 E_CLOUD_UNAVAILABLE without per-node data (what is still queued may yet arrive). Above cloud.callTimeoutMs, so a push that is sent at once is answered by its node or its deadline first.' },
  { path: 'push.batchFlushMs', env: 'IM_LOGIC_BATCH_FLUSH_MS', kind: { type: 'int', min: 0, max: 1000 }, default: 2, doc: 'Longest a room message waits for company before its batch leaves (0: no batching).' },
  ...discoveryOptions('IM_LOGIC'),
  ...securityOptions('IM_LOGIC', 'gRPC: im.logic.Logic, im.logic.LogicStream; the HTTP push API but its node list, /im/nodes and /goim/nodes', 'Close rpc'),
  ...adminOptions('IM_LOGIC', 3191),
  { path: 'log.level', env: 'IM_LOGIC_LOG_LEVEL', kind: { type: 'enum', values: ['error', 'warn', 'info', 'debug'] }, default: 'info', doc: 'Log level (JSON lines on stdout).' },
];

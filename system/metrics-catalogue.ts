/**
 * Every series a node exports, declared once: its name, type, help, label
 * names and which kind of node exports it. `Metrics` refuses anything not
 * declared here (at compile time through its types, and at run time), so a
 * misspelt name or a wrong label set fails a test instead of exporting a
 * series nobody reads.
 *
 * Labels name an actor kind, an rpc, a route, a code, a transport, a peer
 * node's address: sets bounded by the code or the configuration, never an
 * actor id, a key, a mid or a room.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';
/** Which node kind exports a series: both, or only one. */
export type MetricNode = 'cloud' | 'logic' | 'both';

export interface MetricDef {
  readonly type: MetricType;
  readonly node: MetricNode;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms only: the buckets' upper bounds. */
  readonly buckets?: readonly number[];
}

/** Seconds, for calls between nodes: 0.5 ms to 10 s. */
const CALL_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Pushes merged into one op-9 frame (a frame the coalescer builds merges at least two). */
const BATCH_PUSHES = [2, 4, 8, 16, 32, 64, 128] as const;

export const CATALOGUE = {
  // ── both node kinds: the actor runtime ────────────────────────────────────
  im_actors: { type: 'gauge', node: 'both', labels: ['kind'], help: 'Actors running, by kind.' },
  im_actor_mailbox_depth: { type: 'gauge', node: 'both', labels: ['kind'], help: 'Messages told to the actors of a kind and not yet handled.' },
  im_actor_messages_processed_total: { type: 'counter', node: 'both', labels: ['kind'], help: 'Messages the actors of a kind handled.' },
  im_actor_restarts_total: { type: 'counter', node: 'both', labels: ['kind'], help: 'Faults actors of a kind survived (resumed or rebuilt).' },
  im_actor_faults_total: { type: 'counter', node: 'both', labels: ['kind'], help: 'Throws while an actor of a kind handled a message.' },
  im_actor_rebuilt_total: {
    type: 'counter', node: 'both', labels: ['kind', 'cause'], help: 'Actors whose state was rebuilt after a fault (cause: fault, or budget once it was exhausted).',
  },
  im_actor_gave_up_total: { type: 'counter', node: 'both', labels: ['kind'], help: 'Actors stopped after exhausting their fault budget.' },

  // ── both node kinds: the admin endpoint ───────────────────────────────────
  im_admin_requests_total: { type: 'counter', node: 'both', labels: ['route', 'status'], help: 'Admin endpoint requests answered, by route and HTTP status.' },

  // ── both node kinds: discovery ────────────────────────────────────────────
  im_discovery_nodes: { type: 'gauge', node: 'both', labels: [], help: 'Nodes of the other side in the last list discovery gave (a cloud node: logic nodes; a logic node: cloud nodes).' },
  im_discovery_stale: { type: 'gauge', node: 'both', labels: [], help: '1 while discovery cannot list nodes and the node keeps its last list; 0 once it answers.' },
  im_discovery_changes_total: { type: 'counter', node: 'both', labels: [], help: 'Lists discovery gave that differed from the last one.' },
  im_discovery_errors_total: {
    type: 'counter', node: 'both', labels: ['op'], help: 'Failed discovery steps: watch (listing), register (or asserting it again), check (a TTL report, or a check the registry forgot), deregister, apply (handing a new list on threw).',
  },
  im_discovery_registered: { type: 'gauge', node: 'both', labels: [], help: '1 while the registry has taken this node\'s registration (consul discovery); 0 before, after it drained, or while it registers again.' },

  // ── both node kinds: the internal surfaces' shared token ──────────────────
  im_internal_auth_failures_total: {
    type: 'counter', node: 'both', labels: ['surface'], help: 'Calls to an internal surface (grpc, http) refused for a missing or wrong security.token (E_UNAUTHENTICATED).',
  },
  im_peer_auth_refused_total: {
    type: 'counter', node: 'both', labels: ['rpc'], help: 'Calls of this node a peer node refused for its token (E_UNAUTHENTICATED): security.token differs between the nodes.',
  },

  // ── cloud: connections ────────────────────────────────────────────────────
  im_connections_open: { type: 'gauge', node: 'cloud', labels: [], help: 'Client sockets open (every transport, authenticated or not).' },
  im_connections: {
    type: 'gauge', node: 'cloud', labels: ['transport', 'phase'],
    help: 'Connection actors by transport and phase (awaitingAuth, authenticating, online, closing).',
  },
  im_connections_opened_total: { type: 'counter', node: 'cloud', labels: ['transport'], help: 'Client connections accepted.' },
  im_connections_closed_total: { type: 'counter', node: 'cloud', labels: ['reason'], help: 'Client connections closed, by why.' },
  im_connection_errors_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'Connections closed with an error, by its code.' },
  im_protocol_errors_total: { type: 'counter', node: 'cloud', labels: ['code', 'transport'], help: 'Bad packets or frames from clients (each closes its connection).' },
  im_heartbeat_timeouts_total: { type: 'counter', node: 'cloud', labels: [], help: 'Online connections closed for a missed heartbeat.' },
  im_auth_results_total: {
    type: 'counter', node: 'cloud', labels: ['outcome'],
    help: 'Answers to op 7: ok, refused (the token), unavailable (logic failed or was busy), timeout (no answer in time), abandoned (the connection closed first: the client left or misbehaved, or the node drained).',
  },
  im_auth_ok_total: { type: 'counter', node: 'cloud', labels: [], help: 'Clients logic authenticated.' },
  im_auth_failures_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'Auths that failed with an answer from the gateway, by code.' },
  im_ws_upgrade_rejected_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'WebSocket upgrades refused before any WebSocket state existed.' },
  im_tls_handshake_failures_total: {
    type: 'counter', node: 'cloud', labels: ['transport', 'cause'],
    help: 'Clients on wss or TLS tcp dropped before their TLS handshake finished: timeout (within protocol.handshakeTimeoutMs) or error.',
  },
  im_accept_paused_total: { type: 'counter', node: 'cloud', labels: ['cause'], help: 'Times accepting paused because file descriptors ran out (cause emfile).' },
  im_connections_refused_total: {
    type: 'counter', node: 'cloud', labels: ['reason'],
    help: 'Client sockets refused before a connection existed: node_full, ip_limit, connect_rate, draining, origin, upgrade_timeout.',
  },
  im_refusals_unanswered_total: {
    type: 'counter', node: 'cloud', labels: [],
    help: 'Refused client sockets destroyed without their answer, because limits.maxRefusing refused sockets were already waiting to close.',
  },
  im_accept_errors_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'Errors accepting sockets, by system error code.' },
  im_drain_notified_total: {
    type: 'counter', node: 'cloud', labels: [], help: 'Connections a draining node told to reconnect elsewhere (op 6 E_NODE_DRAINING with a reconnect hint).',
  },
  im_drain_cut_total: { type: 'counter', node: 'cloud', labels: ['stage'], help: 'What a drain stopped waiting for: connections, or logic calls in flight.' },

  // ── cloud: writes to client sockets ───────────────────────────────────────
  im_client_packets_written_total: {
    type: 'counter', node: 'cloud', labels: ['transport'],
    help: 'Packets written to client sockets: pushes (an op-9 push counts once), replies and op 6.',
  },
  im_client_bytes_written_total: { type: 'counter', node: 'cloud', labels: ['transport'], help: 'Bytes written to client sockets (WebSocket framing included).' },
  im_client_writes_total: { type: 'counter', node: 'cloud', labels: ['transport'], help: 'Socket writes to clients.' },
  im_client_coalesced_writes_total: { type: 'counter', node: 'cloud', labels: ['transport'], help: 'Socket writes that carried more than one packet.' },
  im_client_drops_total: {
    type: 'counter', node: 'cloud', labels: ['transport', 'reason'],
    help: 'Packets not written to a client: closed (the socket was closing or gone), slow_consumer (over the slow-consumer hard limit; the connection is closed).',
  },
  im_slow_consumer_drops_total: {
    type: 'counter', node: 'cloud', labels: ['transport'],
    help: 'Room and broadcast pushes not written to a client over its slow-consumer soft limit (slowConsumer.softBytes, or not drained for slowConsumer.ms).',
  },
  im_connection_limits_total: {
    type: 'counter', node: 'cloud', labels: ['limit'],
    help: 'Per-connection limits that bit: upstream_rate (an op 5 E_UPSTREAM_RATE), accepts, room_id and control_rate (op 6 and close), read_pause (reading a socket paused).',
  },
  im_op9_batch_pushes: {
    type: 'histogram', node: 'cloud', labels: [], buckets: BATCH_PUSHES,
    help: 'Pushes merged into each op-9 frame the coalescer built for WebSocket clients (built once, shared by every client handed the same pushes).',
  },

  // ── cloud: pushes from logic ──────────────────────────────────────────────
  im_grpc_requests_total: { type: 'counter', node: 'cloud', labels: ['rpc'], help: 'gRPC requests served (unary, and on the push streams).' },
  im_grpc_push_streams: { type: 'gauge', node: 'cloud', labels: [], help: 'Push streams (im.cloud.CloudStream) open from logic nodes (cloud.streams per logic node).' },
  im_grpc_invalid_total: { type: 'counter', node: 'cloud', labels: ['rpc', 'code'], help: 'gRPC requests refused as invalid.' },
  im_pushes_total: { type: 'counter', node: 'cloud', labels: ['rpc'], help: 'Pushes accepted and handed to the actors (PushMsg, Broadcast, BroadcastRoom).' },
  im_pushes_refused_total: { type: 'counter', node: 'cloud', labels: ['rpc', 'code'], help: 'Pushes refused for back-pressure (RESOURCE_EXHAUSTED).' },
  im_push_delivered_total: { type: 'counter', node: 'cloud', labels: [], help: 'Pushes handed to client connections (one per recipient).' },

  // ── cloud: calls to logic ─────────────────────────────────────────────────
  im_logic_call_seconds: {
    type: 'histogram', node: 'cloud', labels: ['rpc', 'outcome'], buckets: CALL_SECONDS,
    help: 'One attempt of a call to a logic node, by rpc and outcome (ok, or the gRPC status).',
  },
  im_logic_streams_total: {
    type: 'counter', node: 'cloud', labels: ['event'],
    help: 'Streams to logic nodes (logic.streams) by event: opened, broken (ended by the node or a failure; requests in flight on it fail over), deadline (cancelled by this node: a request on it passed its deadline), unary_only (a stream answered UNIMPLEMENTED: the node is called unary for logic.streamReprobeMs).',
  },
  im_logic_call_failures_total: { type: 'counter', node: 'cloud', labels: ['rpc', 'status'], help: 'Attempts of calls to logic that failed, by gRPC status.' },
  im_logic_calls_rejected_total: {
    type: 'counter', node: 'cloud', labels: ['rpc', 'cause'], help: 'Calls to logic never sent (queue_full, expired while queued, caller_gone).',
  },
  im_renew_online_failures_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'RenewOnline rounds no logic node took.' },
  im_receive_failures_total: { type: 'counter', node: 'cloud', labels: ['code'], help: 'Upstream messages (op 4) logic did not take; each gets an error op 5.' },

  // ── logic: its edges ──────────────────────────────────────────────────────
  im_logic_grpc_requests_total: { type: 'counter', node: 'logic', labels: ['rpc'], help: 'gRPC requests served.' },
  im_logic_grpc_errors_total: { type: 'counter', node: 'logic', labels: ['rpc', 'code'], help: 'gRPC requests that failed, by code.' },
  im_http_requests_total: { type: 'counter', node: 'logic', labels: ['route', 'status'], help: 'HTTP push API requests answered.' },
  im_http_errors_total: { type: 'counter', node: 'logic', labels: ['code'], help: 'HTTP push API requests that failed, by code.' },
  im_logic_push_seconds: {
    type: 'histogram', node: 'logic', labels: ['edge', 'kind', 'outcome'], buckets: CALL_SECONDS,
    help: 'Push requests from request to answer, by edge (http, grpc), kind (keys, mids, room, all) and outcome (ok, or the error code).',
  },

  // ── logic: sessions ───────────────────────────────────────────────────────
  im_logic_connects_total: { type: 'counter', node: 'logic', labels: [], help: 'Sessions created (Connect).' },
  im_logic_disconnects_total: { type: 'counter', node: 'logic', labels: [], help: 'Disconnects received.' },
  im_logic_heartbeats_total: { type: 'counter', node: 'logic', labels: [], help: 'Session heartbeats received.' },
  im_logic_receive_total: { type: 'counter', node: 'logic', labels: [], help: 'Upstream messages received (Receive).' },
  im_logic_unknown_node_total: {
    type: 'counter', node: 'logic', labels: ['source'], help: 'Calls naming a server that is not a known cloud node, refused (or push targets skipped: session).',
  },
  // client tokens (auth.*)
  im_logic_auth_failures_total: {
    type: 'counter', node: 'logic', labels: ['code'], help: 'Connects not admitted, by code: the token or key refused (E_TOKEN_*, E_KEY_HELD) or the key set unavailable (E_JWKS_UNAVAILABLE).',
  },
  im_logic_jwks_fetch_failures_total: { type: 'counter', node: 'logic', labels: ['cause'], help: 'Failed fetches of auth.jwksUrl: timeout, fetch (unreachable, not 200, not JSON), invalid (not a key set).' },
  im_logic_cluster_connections: { type: 'gauge', node: 'logic', labels: [], help: 'Connections on the cloud nodes that reported within online.maxAgeMs (last sum).' },
  im_logic_cluster_ips: { type: 'gauge', node: 'logic', labels: [], help: 'Distinct client IPs summed over those cloud nodes (last sum).' },
  im_logic_cluster_rooms: { type: 'gauge', node: 'logic', labels: [], help: 'Rooms with members on those cloud nodes (last sum).' },
  im_logic_cloud_nodes_reporting: { type: 'gauge', node: 'logic', labels: [], help: 'Cloud nodes that reported their counts within online.maxAgeMs (last sum).' },

  // ── logic: pushes to cloud nodes ──────────────────────────────────────────
  im_logic_pushes_total: { type: 'counter', node: 'logic', labels: ['kind'], help: 'Pushes routed, by kind (keys, mids, room, all).' },
  im_logic_pushes_unroutable_total: { type: 'counter', node: 'logic', labels: ['kind'], help: 'Key or mid pushes none of whose targets had a session.' },
  im_cloud_streams_total: {
    type: 'counter', node: 'logic', labels: ['event'],
    help: 'Streams to cloud nodes (cloud.streams) by event: opened, broken (ended by the node or a failure; pushes in flight on it fail), deadline (cancelled by this node: a push on it passed its deadline), unary_only (a stream answered UNIMPLEMENTED: the node is called unary for cloud.streamReprobeMs).',
  },
  im_cloud_call_seconds: {
    type: 'histogram', node: 'logic', labels: ['rpc', 'outcome'], buckets: CALL_SECONDS,
    help: 'Calls to a cloud node, by rpc and outcome (ok, or the gRPC status).',
  },
  im_cloud_push_failures_total: { type: 'counter', node: 'logic', labels: ['node', 'rpc'], help: 'Pushes a cloud node did not take.' },
  im_cloud_push_dropped_total: {
    type: 'counter', node: 'logic', labels: ['node', 'rpc', 'bound'], help: 'Pushes dropped before being sent (bound: count, bytes, stopped, link).',
  },
  im_cloud_link_failures_total: {
    type: 'counter', node: 'logic', labels: ['node', 'cause'],
    help: 'Links to cloud nodes failing: open (a link could not be opened), down (the node stopped taking pushes).',
  },
} as const satisfies Readonly<Record<string, MetricDef>>;

type Catalogue = typeof CATALOGUE;
export type MetricName = keyof Catalogue;
type NamesOfType<T extends MetricType> = { [N in MetricName]: Catalogue[N]['type'] extends T ? N : never }[MetricName];
export type CounterName = NamesOfType<'counter'>;
export type GaugeName = NamesOfType<'gauge'>;
export type HistogramName = NamesOfType<'histogram'>;

type LabelNameOf<N extends MetricName> = Catalogue[N]['labels'][number];
/** The labels a series of `N` takes: exactly its declared names, or none. */
export type LabelsOf<N extends MetricName> = [LabelNameOf<N>] extends [never] ? undefined : { readonly [L in LabelNameOf<N>]: string };
/** Arguments after the name of a call that adds to a series: its labels (required when it declares any), then how much. */
export type AddArgs<N extends MetricName> = LabelsOf<N> extends undefined ? [labels?: undefined, by?: number] : [labels: LabelsOf<N>, by?: number];
/** Arguments after the name of a call that picks one series: its labels, required when it declares any. */
export type PickArgs<N extends MetricName> = LabelsOf<N> extends undefined ? [labels?: undefined] : [labels: LabelsOf<N>];

const DEFINITIONS: Readonly<Record<string, MetricDef>> = CATALOGUE;

/** Every declaration, in catalogue order. */
export function catalogueEntries(): Array<[string, MetricDef]> {
  return Object.entries(DEFINITIONS);
}

/** The declaration of `name`; undefined when the catalogue has none. */
export function definitionOf(name: string): MetricDef | undefined {
  return Object.hasOwn(DEFINITIONS, name) ? DEFINITIONS[name] : undefined;
}

/**
 * What a logic node's actors and edges see of the outside world: the session
 * store (memory or Redis), the cloud nodes (gRPC) and the upstream-message
 * sink. Actors never import ioredis, http or grpc.
 */
import type { ProtoMessage } from './ports';

/** Where one connection lives: goim's `key_<key>` → server and `mid_<mid>` → {key → server}. */
export interface SessionMapping {
  readonly mid: string;
  readonly key: string;
  readonly server: string;
  /**
   * The connection's id, unique across its cloud node's restarts (ConnectReq.connId and
   * friends); '' or absent from a cloud node that sends none (goim's comet).
   */
  readonly connId?: string;
}

/** One cloud node's last RenewOnline report (goim's `ol_<server>`). */
export interface ServerOnline {
  readonly server: string;
  readonly roomCount: Readonly<Record<string, number>>;
  /** Connections and distinct client IPs on that node (0 when the node did not say). */
  readonly connCount: number;
  readonly ipCount: number;
  /** Unix seconds. */
  readonly updated: number;
}

/**
 * Sessions shared by every logic node that uses the same store. All methods
 * reject with an Error on storage failure; none throws synchronously.
 */
export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Connect: maps key → server and adds key to the mid's hash (when mid > 0), both with the
   * session TTL, and records which connection (connId, mid) the key's session now is.
   */
  add(mapping: SessionMapping): Promise<void>;
  /**
   * Connect with auth.bindKeyToMid: add, unless the key has a live session recorded as another
   * mid's (mids compared in canonical form, every non-positive mid being the same "no user"); then
   * nothing is written and it resolves false. A live session whose mid is not recorded (Redis:
   * key_ without a conn_ mid, as goim's logic writes) counts as another's. The check and the
   * write are one atomic step: of two racing for a key with different mids, one wins.
   */
  addUnlessHeld(mapping: SessionMapping): Promise<boolean>;
  /**
   * Disconnect: removes key → server and the mid's hash field, each only while it names this
   * server; resolves whether key → server was removed. A mapping with a connId is *stale* when
   * the key is mapped to a session recorded as another connection's: then nothing of that
   * session is touched (its mid's field is left too; only a field of this mapping's mid, when
   * the session is another mid's, is removed). Without a connId, or when the session has no
   * recorded connection, removal works on the server alone, as in goim.
   */
  remove(mapping: SessionMapping): Promise<boolean>;
  /**
   * Heartbeat: renews the TTLs; re-adds the mapping (with its connId) when key or mid hash had
   * expired. A stale mapping (see remove) does nothing.
   */
  refresh(mapping: SessionMapping): Promise<void>;
  /** key → server for the keys that are mapped (unknown keys are left out). */
  serversByKeys(keys: readonly string[]): Promise<Map<string, string>>;
  /** key → server for every live key of these users. */
  keysByMids(mids: readonly string[]): Promise<Map<string, string>>;
  /** RenewOnline: stores one cloud node's report (with the session TTL). */
  putOnline(online: ServerOnline): Promise<void>;
  /** Every stored cloud-node report, whoever wrote it. */
  allOnline(): Promise<ServerOnline[]>;
  close(): Promise<void>;
}

/** One cloud node, as the logic node pushes to it. Rejects with an Error carrying the gRPC status name. */
export interface CloudNodeClient {
  readonly address: string;
  pushMsg(keys: readonly string[], protoOp: number, proto: ProtoMessage): Promise<void>;
  broadcastRoom(roomId: string, proto: ProtoMessage): Promise<void>;
  broadcast(protoOp: number, proto: ProtoMessage, speed: number): Promise<void>;
  close(): void;
}

/** Where upstream client messages (op 4, via Receive) go. */
export interface ReceiveSink {
  readonly kind: string;
  deliver(mid: string, proto: ProtoMessage): Promise<void>;
  close(): Promise<void>;
}

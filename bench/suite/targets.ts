/**
 * The three servers under test, each in its own process(es), behind one
 * interface: ours (a cloud node process + a logic node process), the floor
 * (bare ws) and the peer (Socket.IO).
 */
import * as grpc from '@grpc/grpc-js';
import type { CloudClient } from '../../proto/generated/im/cloud/Cloud';
import { GrpcCloudClient } from '../../system/cloud-client';
import { encodePacket } from '../../system/codec';
import { closeClientChannel, loadWireProtos } from '../../system/proto-loader';
import type {
  ClientTarget, LoopDelay, MemoryReport, OursCloudCommands, Protocol, ServerCommands, ServerPorts, ServerStatus,
} from '../lib/commands';
import type { Peer } from '../lib/ipc';
import { spawn, stopChild } from '../lib/processes';
import { BATCH_SIZE, TEST_BODY } from '../servers/server-kit';
import { post } from './http-client';
import { freePort } from '../../spec/support/free-ports';

export type TargetName = 'ours' | 'floor' | 'socket.io';
export const TARGETS: readonly TargetName[] = ['ours', 'floor', 'socket.io'];

/** Ours only: the cloud node's admin endpoint, and the event-loop delay the node measures on itself. */
export interface AdminAccess {
  readonly port: number;
  /** Forced full GCs in the node: the windows compared start from the same heap. */
  fullGc(): Promise<void>;
  /** Starts a new window of event-loop delay (and of GC pauses and loop utilization). */
  resetLoopDelay(): Promise<void>;
  /** The delay since the last reset. */
  loopDelay(): Promise<LoopDelay>;
}

export interface Target {
  readonly name: TargetName;
  /** The server's processes by role (ours: cloud and logic), for their CPU time. */
  readonly pids: ReadonlyMap<string, number | undefined>;
  readonly client: ClientTarget;
  /** Memory of the process holding the client connections, after a forced GC. */
  memory(): Promise<MemoryReport>;
  /** Connections held and calls to other nodes still outstanding; no GC. */
  status(): Promise<ServerStatus>;
  /** One message to one key over HTTP (ours: the logic node's /im/push/keys). */
  pushKeyHttp(key: string, body: Buffer): Promise<void>;
  /** Ours only: PushMsg straight to the cloud node over gRPC, on im.cloud.CloudStream as our logic node sends it. */
  readonly pushKeyGrpc?: (key: string, body: Buffer) => Promise<void>;
  /** Ours only: PushMsg as a unary call, as goim's job (or any other caller of the contract) sends it. */
  readonly pushKeyGrpcUnary?: (key: string, body: Buffer) => Promise<void>;
  /** One room push: one message, or one frame of BATCH_SIZE. */
  room(batched: boolean): Promise<void>;
  /** One message to room `bench-r${n}` (clients connected with a roomSize; ours: `live://bench-r${n}` over the cloud's gRPC BroadcastRoom, on a stream). */
  smallRoom(n: number): Promise<void>;
  /** Ours only: /im/push/all with `speed`. */
  readonly broadcastAll?: (speed: number) => Promise<void>;
  /** Ours only: the cloud node's admin endpoint. */
  readonly admin?: AdminAccess;
  stop(): Promise<void>;
}

const ROOM_PROTO = { ver: 1, op: 1000, seq: 0, body: Buffer.from(TEST_BODY) };
const single = encodePacket(1, 1000, 0, TEST_BODY);
const BATCH_PROTO = { ver: 1, op: 9, seq: 0, body: Buffer.concat(Array.from({ length: BATCH_SIZE }, () => single)) };

function unary(call: (cb: (err: grpc.ServiceError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}

async function startOurs(protocol: Protocol, profile: boolean): Promise<Target> {
  const cloudGrpcPort = await freePort();
  const logic = spawn<ServerCommands, ServerPorts>('servers/ours-logic', 'ours-logic', { cloudGrpc: `127.0.0.1:${cloudGrpcPort}` }, { profile });
  const logicPorts = await logic.ready();
  const cloud = spawn<OursCloudCommands, ServerPorts>('servers/ours-cloud', 'ours-cloud', { grpcPort: cloudGrpcPort, logicGrpc: `127.0.0.1:${logicPorts.grpc}` }, { profile });
  const cloudPorts = await cloud.ready();
  const { im } = loadWireProtos();
  const rpc: CloudClient = new im.cloud.Cloud(`127.0.0.1:${cloudGrpcPort}`, grpc.credentials.createInsecure());
  // What our logic node does with its cloud.streams default: the pushes as requests on two long-lived streams.
  const streamed = new GrpcCloudClient(`127.0.0.1:${cloudGrpcPort}`, 10_000, null, undefined, null, { count: 2, reprobeMs: 60_000, log: console });
  const http = logicPorts.http ?? 0;
  return {
    name: 'ours',
    pids: new Map([['cloud', cloud.child.pid], ['logic', logic.child.pid]]),
    client: protocol === 'goim-tcp'
      ? { protocol, port: cloudPorts.tcp ?? 0, path: '' }
      : { protocol: 'goim-ws', port: cloudPorts.ws ?? 0, path: '/sub' },
    memory: () => cloud.ask('memory', null),
    status: () => cloud.ask('status', null),
    pushKeyHttp: (key, body) => post(http, `/im/push/keys?operation=1000&keys=${key}`, body),
    pushKeyGrpc: (key, body) => streamed.pushMsg([key], 1000, { ver: 1, op: 1000, seq: 0, body }),
    pushKeyGrpcUnary: (key, body) => unary((cb) => rpc.PushMsg({ keys: [key], protoOp: 1000, proto: { ver: 1, op: 1000, seq: 0, body } }, cb)),
    room: (batched) => streamed.broadcastRoom('live://bench', batched ? BATCH_PROTO : ROOM_PROTO),
    smallRoom: (n) => streamed.broadcastRoom(`live://bench-r${n}`, ROOM_PROTO),
    broadcastAll: (speed) => post(http, `/im/push/all?operation=1000&speed=${speed}`, TEST_BODY),
    admin: {
      port: cloudPorts.admin ?? 0,
      fullGc: async () => {
        await cloud.ask('fullGc', null);
      },
      resetLoopDelay: async () => {
        await cloud.ask('resetLoopDelay', null);
      },
      loopDelay: () => cloud.ask('loopDelay', null),
    },
    stop: async () => {
      closeClientChannel(rpc);
      streamed.close();
      await Promise.all([stopChild(cloud.child, 3000), stopChild(logic.child, 3000)]);
    },
  };
}

async function startBaseline(name: TargetName, script: string, protocol: Protocol, path: string, profile: boolean): Promise<Target> {
  const server: Peer<ServerCommands, ServerPorts> = spawn<ServerCommands, ServerPorts>(script, name, null, { profile });
  const ports = await server.ready();
  const http = ports.http ?? 0;
  return {
    name,
    pids: new Map([['server', server.child.pid]]),
    client: { protocol, port: ports.ws ?? 0, path },
    memory: () => server.ask('memory', null),
    status: () => server.ask('status', null),
    pushKeyHttp: (key, body) => post(http, `/push?key=${key}`, body),
    room: (batched) => post(http, `/room?batched=${batched ? 1 : 0}`, ''),
    smallRoom: (n) => post(http, `/room?room=${name === 'floor' ? 'live://' : ''}bench-r${n}`, ''),
    stop: () => stopChild(server.child, 3000),
  };
}

export function startTarget(name: TargetName, oursProtocol: Protocol, profile: boolean): Promise<Target> {
  if (name === 'ours') return startOurs(oursProtocol, profile);
  if (name === 'floor') return startBaseline(name, 'servers/floor-server', 'goim-ws', '/sub', profile);
  return startBaseline(name, 'servers/sio-server', 'sio', '/socket.io/?EIO=4&transport=websocket', profile);
}

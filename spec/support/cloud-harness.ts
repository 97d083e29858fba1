/**
 * Starts a real cloud node (real sockets, real gRPC) against test logic
 * nodes, and a real gRPC client of im.cloud.Cloud to push through.
 */
import * as grpc from '@grpc/grpc-js';
import type { CloudClient } from '../../proto/generated/im/cloud/Cloud';
import type { CometClient } from '../../proto/generated/goim/comet/Comet';
import { loadCloudConfig } from '../../config/cloud-config';
import { BoundPorts, CloudNode } from '../../system/cloud-node';
import { createLogger, Logger, silentLogger } from '../../system/logger';
import { closeClientChannel, loadWireProtos } from '../../system/proto-loader';
import { TestLogicNode } from './test-logic-node';

export interface ProtoInput {
  ver?: number;
  op: number;
  seq?: number;
  body: Buffer | string;
}

export class CloudHarness {
  readonly cloud: CloudClient;
  readonly comet: CometClient;

  private constructor(readonly node: CloudNode, readonly logic: TestLogicNode[]) {
    const { im, goim } = loadWireProtos();
    const target = `127.0.0.1:${node.ports.grpc}`;
    this.cloud = new im.cloud.Cloud(target, grpc.credentials.createInsecure());
    this.comet = new goim.comet.Comet(target, grpc.credentials.createInsecure());
  }

  /**
   * A cloud node on free ports. `overrides` are nested config values; logic
   * nodes default to one fresh TestLogicNode. Set TEST_LOG=debug to see the node's log;
   * `logger` takes it instead (a spec that reads what the operator reads).
   */
  static async start(overrides: Record<string, unknown> = {}, logic?: TestLogicNode[], logger?: Logger): Promise<CloudHarness> {
    const logicNodes = logic ?? [await new TestLogicNode().start()];
    const config = loadCloudConfig({
      overrides: deepMerge({
        node: { bindHost: '127.0.0.1' },
        tcp: { port: 0 }, ws: { port: 0 }, wss: { port: 0 }, tls: { tcpPort: 0 }, grpc: { port: 0, shutdownGraceMs: 1000 }, admin: { port: 0 },
        logic: { nodes: logicNodes.map((l) => l.address), callTimeoutMs: 1000 },
        protocol: { sweepIntervalMs: 50 },
      }, overrides),
    });
    const log = logger ?? (process.env.TEST_LOG ? createLogger(process.env.TEST_LOG, { node: 'cloud' }) : silentLogger());
    const node = await CloudNode.start(config, { logger: log });
    return new CloudHarness(node, logicNodes);
  }

  get ports(): BoundPorts {
    return this.node.ports;
  }

  pushMsg(keys: string[], protoOp: number, proto: ProtoInput | null): Promise<void> {
    return this.unary((cb) => this.cloud.PushMsg({ keys, protoOp, proto: proto && toProto(proto) }, cb));
  }

  broadcast(protoOp: number, proto: ProtoInput | null, speed = 0): Promise<void> {
    return this.unary((cb) => this.cloud.Broadcast({ protoOp, proto: proto && toProto(proto), speed }, cb));
  }

  broadcastRoom(roomID: string, proto: ProtoInput | null): Promise<void> {
    return this.unary((cb) => this.cloud.BroadcastRoom({ roomID, proto: proto && toProto(proto) }, cb));
  }

  rooms(): Promise<string[]> {
    return new Promise((resolve, reject) =>
      this.cloud.Rooms({}, (err, reply) => (err ? reject(err) : resolve(Object.keys(reply?.rooms ?? {}).sort()))));
  }

  async stop(): Promise<void> {
    closeClientChannel(this.cloud);
    closeClientChannel(this.comet);
    await this.node.stop();
    await Promise.all(this.logic.map((l) => l.stop()));
  }

  private unary(call: (cb: (err: grpc.ServiceError | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
  }
}

export function toProto(p: ProtoInput): { ver: number; op: number; seq: number; body: Buffer } {
  return { ver: p.ver ?? 1, op: p.op, seq: p.seq ?? 0, body: Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body) };
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
      ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Polls until `predicate` holds; the failure names what was awaited. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

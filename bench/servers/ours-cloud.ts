/**
 * Ours, cloud side: a real cloud node in its own process (so its memory is
 * measured alone), calling the logic node for Connect / Heartbeat /
 * Disconnect over gRPC, with its gRPC port fixed by the orchestrator so the
 * logic node knows where to push.
 */
import { loadCloudConfig } from '../../config/cloud-config';
import { CloudNode } from '../../system/cloud-node';
import { createLogger } from '../../system/logger';
import type { ServerCommands } from '../lib/commands';
import { failStart, serveIpc } from '../lib/ipc';
import { HOST, argOf, measureMemory } from './server-kit';

export interface OursCloudArg {
  readonly grpcPort: number;
  readonly logicGrpc: string;
}

/** Logic calls in flight or queued: a burst of disconnects leaves thousands of Disconnects behind it. */
function pendingLogicCalls(node: CloudNode): number {
  let n = 0;
  for (const gateway of node.runtime.list({ kind: 'logic-gateway', withState: true })) {
    const { inFlight, queued } = gateway.state ?? {};
    n += (typeof inFlight === 'number' ? inFlight : 0) + (typeof queued === 'number' ? queued : 0);
  }
  return n;
}

async function main(): Promise<void> {
  const arg = argOf<OursCloudArg>();
  const config = loadCloudConfig({
    overrides: {
      node: { bindHost: HOST, advertiseHost: HOST },
      tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: arg.grpcPort }, admin: { port: 0 },
      logic: { nodes: [arg.logicGrpc] },
      log: { level: 'error' },
    },
  });
  const node = await CloudNode.start(config, { logger: createLogger('error', { node: 'cloud' }) });
  serveIpc<ServerCommands>(
    {
      memory: () => measureMemory(node.runtime.count('connection')),
      status: () => ({ connections: node.runtime.count('connection'), pending: pendingLogicCalls(node) }),
    },
    { ws: node.ports.ws, tcp: node.ports.tcp, grpc: node.ports.grpc },
  );
}

main().catch(failStart);

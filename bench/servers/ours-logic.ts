/**
 * Ours, logic side: a real logic node (memory session store, classic JSON
 * tokens) in its own process, routing pushes to the one cloud node.
 */
import { loadLogicConfig } from '../../config/logic-config';
import { LogicNode } from '../../system/logic-node';
import { createLogger } from '../../system/logger';
import type { ServerCommands } from '../lib/commands';
import { failStart, serveIpc } from '../lib/ipc';
import { HOST, argOf, measureMemory } from './server-kit';

export interface OursLogicArg {
  readonly cloudGrpc: string;
}

async function main(): Promise<void> {
  const arg = argOf<OursLogicArg>();
  const config = loadLogicConfig({
    overrides: {
      node: { bindHost: HOST }, grpc: { port: 0 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: [arg.cloudGrpc] }, log: { level: 'error' },
    },
  });
  const node = await LogicNode.start(config, { logger: createLogger('error', { node: 'logic' }) });
  serveIpc<ServerCommands>({ memory: () => measureMemory(0), status: () => ({ connections: 0, pending: 0 }) }, { grpc: node.ports.grpc, http: node.ports.http });
}

main().catch(failStart);

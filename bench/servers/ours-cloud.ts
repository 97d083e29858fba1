/**
 * Ours, cloud side: a real cloud node in its own process (so its memory is
 * measured alone), calling the logic node for Connect / Heartbeat /
 * Disconnect over gRPC, with its gRPC port fixed by the orchestrator so the
 * logic node knows where to push.
 */
import { EventLoopUtilization, IntervalHistogram, PerformanceEntry, PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadCloudConfig } from '../../config/cloud-config';
import { CloudNode } from '../../system/cloud-node';
import { createLogger } from '../../system/logger';
import type { LoopDelay, OursCloudCommands } from '../lib/commands';
import { failStart, serveIpc } from '../lib/ipc';
import { HOST, argOf, fullGc, measureMemory } from './server-kit';

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

/**
 * Sampled every LOOP_RESOLUTION_MS: a sample is the time between two ticks
 * of a timer due every LOOP_RESOLUTION_MS, so the interval itself is in it
 * (an idle loop reads about 1 ms) and a stall of S ms shows as one sample of
 * about S ms.
 */
const LOOP_RESOLUTION_MS = 1;

/** GC pauses since `reset`, from the performance timeline (entries arrive after the GC, so they are told apart by start time). */
class GcPauses {
  private since = 0;
  count = 0;
  major = 0;
  totalMs = 0;
  maxMs = 0;

  reset(): void {
    this.since = performance.now();
    this.count = 0;
    this.major = 0;
    this.totalMs = 0;
    this.maxMs = 0;
  }

  add(entry: PerformanceEntry): void {
    if (entry.startTime < this.since) return;
    // A gc entry carries its kind in `detail`, which the typings leave off the base entry class.
    const detail = 'detail' in entry ? entry.detail : null;
    if (typeof detail === 'object' && detail !== null && 'kind' in detail && detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
    this.count++;
    this.totalMs += entry.duration;
    this.maxMs = Math.max(this.maxMs, entry.duration);
  }
}

function loopDelayOf(h: IntervalHistogram, gc: GcPauses, since: EventLoopUtilization): LoopDelay {
  // With no samples the histogram answers 0; the parent checks `samples`.
  const ms = (ns: number): number => ns / 1e6;
  return {
    samples: h.count, p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), p999Ms: ms(h.percentile(99.9)), maxMs: ms(h.max),
    gcPauses: gc.count, gcMajor: gc.major, gcTotalMs: gc.totalMs, gcMaxMs: gc.maxMs,
    utilization: performance.eventLoopUtilization(since).utilization,
  };
}

async function main(): Promise<void> {
  const arg = argOf<OursCloudArg>();
  const config = loadCloudConfig({
    overrides: {
      node: { bindHost: HOST, advertiseHost: HOST },
      tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: arg.grpcPort }, admin: { port: 0 },
      logic: { nodes: [arg.logicGrpc] },
      // Load clients share a few source addresses and connect as fast as they can: the connect rate is measured, not limited.
      limits: { maxConnectionsPerIp: 0, newConnectionsPerSec: 0 },
      log: { level: 'error' },
    },
  });
  const node = await CloudNode.start(config, { logger: createLogger('error', { node: 'cloud' }) });
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const gc = new GcPauses();
  let windowStart = performance.eventLoopUtilization();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gc.add(entry);
  }).observe({ entryTypes: ['gc'] });
  serveIpc<OursCloudCommands>(
    {
      memory: () => measureMemory(node.runtime.count('connection')),
      status: () => ({ connections: node.runtime.count('connection'), pending: pendingLogicCalls(node) }),
      fullGc: () => {
        fullGc();
        return null;
      },
      resetLoopDelay: () => {
        loop.reset();
        gc.reset();
        windowStart = performance.eventLoopUtilization();
        return null;
      },
      loopDelay: () => loopDelayOf(loop, gc, windowStart),
    },
    { ws: node.ports.ws, tcp: node.ports.tcp, grpc: node.ports.grpc, admin: node.adminPort },
  );
}

main().catch(failStart);

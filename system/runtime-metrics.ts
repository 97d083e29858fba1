import type { ActorRuntime } from './actor-runtime';
import type { Metrics } from './metrics';

/**
 * Exports the runtime's totals by kind (actors live, mailbox depth,
 * messages handled, restarts), read at each scrape: the runtime keeps them
 * as actors run, so a scrape costs one step per kind, whatever the number
 * of actors.
 */
export function exportRuntimeMetrics(metrics: Metrics, runtime: ActorRuntime): void {
  metrics.onCollect(() => {
    for (const stats of runtime.kindStats()) {
      const labels = { kind: stats.kind };
      metrics.setGauge('im_actors', labels, stats.live);
      metrics.setGauge('im_actor_mailbox_depth', labels, stats.queued);
      metrics.setCounter('im_actor_messages_processed_total', labels, stats.processed);
      metrics.setCounter('im_actor_restarts_total', labels, stats.restarts);
    }
  });
}

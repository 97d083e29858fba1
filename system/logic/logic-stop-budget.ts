/**
 * A logic node's stop within `shutdown.deadlineMs`: its waits in order, each
 * with its own bound, scaled together when they would not fit.
 */
import type { LogicConfig } from '../../config/logic-config';
import { ADMIN_CLOSE_GRACE_MS } from '../admin/admin-server';
import { HTTP_CLOSE_GRACE_MS } from '../edges/http-push-edge';
import { ShutdownBudget } from '../shutdown-budget';

/** The room batcher's last batches, then each link's pushes in flight. */
export const FLUSH_WAIT_MS = 2000;
/** The receive sink and the session store closing (a Redis QUIT). */
export const CLOSE_WAIT_MS = 1000;

export function logicStopBudget(config: LogicConfig, startedAt: number, deadlineAt: number): ShutdownBudget {
  return new ShutdownBudget(startedAt, deadlineAt, [
    { name: 'http', boundMs: HTTP_CLOSE_GRACE_MS },
    { name: 'grpc', boundMs: config.grpc.shutdownGraceMs },
    { name: 'flush', boundMs: FLUSH_WAIT_MS },
    { name: 'close', boundMs: CLOSE_WAIT_MS },
    { name: 'admin', boundMs: ADMIN_CLOSE_GRACE_MS },
  ], { openShare: 0 });
}

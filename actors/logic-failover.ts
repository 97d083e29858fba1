/**
 * One call from the logic gateway over the logic nodes: the attempts, the
 * failover between nodes, and what each failure is reported as. Kept apart
 * from the gateway's queues and slots (logic-gateway-actor.ts), which decide
 * when a call is sent and with what deadline.
 */
import { ErrorName, ImError } from '../system/errors';
import type { Metrics } from '../system/metrics';
import { logThrottled, LogThrottle } from '../system/log-throttle';
import { Log, LogicCallError, LogicNodeClient, Outcome } from './ports';

/** One attempt on one node, given the time left of the call's deadline. */
export type Call = (node: LogicNodeClient, timeoutMs: number) => Promise<unknown>;

/** A call as its rpc makes it, before it is queued or sent. */
export interface CallSpec {
  readonly rpc: string;
  readonly call: Call;
  /** `sent`: whether any logic node was asked (false: the gateway refused or dropped the call). */
  readonly settle: (outcome: Outcome<unknown>, sent: boolean) => void;
  /** Longest one attempt on one node may take. */
  readonly attemptMs: number;
  /** The whole call's deadline, failover included, counted from when it is made (owed calls: from when sent). */
  readonly budgetMs: number;
  readonly alive?: () => boolean;
}

/** What a call needs of the gateway's dependencies. */
export interface FailoverDeps {
  readonly nodes: readonly LogicNodeClient[];
  readonly now: () => number;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** What the gateway last heard from one logic node, for inspection. */
interface NodeRecord {
  lastOkAt: number;
  lastFailureAt: number;
  lastFailure: string;
  /** Failed attempts since the last success. */
  failuresInARow: number;
}

/**
 * How each logic node answered lately: the admin's view of the gateway's
 * nodes. Written by attempts as they end (outside the gateway's turn: it
 * is a record of answers, not state the gateway decides by).
 */
export class LogicNodeHealth {
  private readonly nodes = new Map<string, NodeRecord>();
  /** A node that fails every call is one warn line per node, rpc and status every 10 s, not one per call (and a dropped call one per rpc and code). */
  readonly warnings = new LogThrottle(10_000);

  succeeded(address: string, at: number): void {
    const record = this.recordOf(address);
    record.lastOkAt = at;
    record.failuresInARow = 0;
  }

  failed(address: string, status: string, at: number): void {
    const record = this.recordOf(address);
    record.lastFailureAt = at;
    record.lastFailure = status;
    record.failuresInARow++;
  }

  /** Forgets the nodes not in `addresses` (the gateway's list changed), so the records never outgrow the list. */
  keepOnly(addresses: readonly string[]): void {
    const keep = new Set(addresses);
    for (const address of this.nodes.keys()) if (!keep.has(address)) this.nodes.delete(address);
  }

  /** Each node: healthy while its last attempt succeeded (or none was made yet). */
  view(addresses: readonly string[], now: number): Array<Record<string, unknown>> {
    return addresses.map((address) => {
      const r = this.nodes.get(address);
      return {
        address, healthy: (r?.failuresInARow ?? 0) === 0, failuresInARow: r?.failuresInARow ?? 0,
        lastOkAgoMs: r && r.lastOkAt > 0 ? now - r.lastOkAt : null,
        lastFailureAgoMs: r && r.lastFailureAt > 0 ? now - r.lastFailureAt : null, lastFailure: r?.lastFailure ?? null,
      };
    });
  }

  private recordOf(address: string): NodeRecord {
    let record = this.nodes.get(address);
    if (!record) {
      record = { lastOkAt: 0, lastFailureAt: 0, lastFailure: '', failuresInARow: 0 };
      this.nodes.set(address, record);
    }
    return record;
  }
}

/**
 * Less than this left of a call's deadline and it is not sent (nor handed to
 * the next node): the answer could not come back in time anyway.
 */
export const MIN_CALL_TIME_MS = 10;

/** Statuses logic answers about what one client sent (its token, its key, its session): the client's matter (and goim's UNKNOWN, its answer to a bad token). */
const CLIENT_STATUSES: ReadonlySet<string> = new Set(['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_FOUND']);

/** What logic's refusal of a client's request is reported as; other rpcs, and logic's own faults, report E_LOGIC_UNAVAILABLE. */
const REFUSED_BY_RPC: Readonly<Record<string, ErrorName>> = { Connect: 'AUTH_REFUSED', Receive: 'RECEIVE_REFUSED' };

/**
 * Rpcs that are not sent to another node after an attempt ran out of time,
 * and what their caller is told: logic may have acted on the timed-out
 * attempt, and acting twice is worse than an honest "unknown".
 */
const UNKNOWN_AFTER_TIMEOUT: Readonly<Record<string, ErrorName>> = { Receive: 'RECEIVE_TIMEOUT' };

/**
 * Tries each node once, starting at `first`, each attempt within the
 * call's `attemptMs` and all of them within its deadline: a retryable
 * failure moves to the next node while time is left (a timeout too, unless
 * the rpc is in UNKNOWN_AFTER_TIMEOUT), a refusal ends the call. Runs
 * outside the actor's turn and touches no actor state.
 */
export async function withFailover(
  deps: FailoverDeps, health: LogicNodeHealth, first: number, pending: CallSpec, deadline: number,
): Promise<Outcome<unknown>> {
  const { nodes } = deps;
  const { rpc } = pending;
  let lastError = 'no logic node configured';
  for (let i = 0; i < nodes.length; i++) {
    const left = deadline - deps.now();
    if (left < MIN_CALL_TIME_MS) {
      lastError = `${lastError}; the ${pending.budgetMs} ms deadline passed`;
      break;
    }
    const node = nodes[(first + i) % nodes.length];
    try {
      const value = await pending.call(node, Math.min(pending.attemptMs, left));
      health.succeeded(node.address, deps.now());
      return { ok: true, value };
    } catch (err) {
      const failure = err instanceof LogicCallError ? err : new LogicCallError(String(err), false, 'UNKNOWN', node.address);
      // A refusal is an answer: the node is up. Only an unreachable or silent node counts against its health.
      if (failure.retryable) health.failed(node.address, failure.status, deps.now());
      else health.succeeded(node.address, deps.now());
      deps.metrics.inc('im_logic_call_failures_total', { rpc, status: failure.status });
      logFailure(deps.log, health, rpc, node.address, failure);
      if (!failure.retryable) {
        // Logic's verdict on a client's token is a refusal; its own faults (INTERNAL, UNIMPLEMENTED…) are not the client's
        // doing. A Receive that fails is E_RECEIVE_REFUSED whatever the status: logic's sink (the application) said no.
        const refused = rpc !== 'Connect' || CLIENT_STATUSES.has(failure.status) || failure.status === 'UNKNOWN';
        return { ok: false, error: new ImError((refused ? REFUSED_BY_RPC[rpc] : undefined) ?? 'LOGIC_UNAVAILABLE', clientDetail(failure)) };
      }
      const unknown = failure.status === 'DEADLINE_EXCEEDED' ? UNKNOWN_AFTER_TIMEOUT[rpc] : undefined;
      if (unknown) return { ok: false, error: new ImError(unknown, clientDetail(failure)) };
      lastError = `${clientDetail(failure)} (${i + 1} of ${nodes.length} logic nodes tried)`;
    }
  }
  return { ok: false, error: new ImError('LOGIC_UNAVAILABLE', lastError) };
}

/**
 * What the client may learn of a failure: the gRPC status and logic's stable
 * error code. The error's message also reaches the client (op 6 and op 5
 * reasons), so it never carries node addresses or library text; the
 * operator's log line has those.
 */
export function clientDetail(failure: LogicCallError): string {
  const code = /\bE_[A-Z0-9_]+\b/.exec(failure.message)?.[0];
  return code ? `${failure.status} ${code}` : failure.status;
}


/**
 * A refusal about one client's request (a bad token, an unknown session) is
 * logged at debug: clients can send them by the thousand, and the counter
 * has them. Anything else (a node that cannot answer, an internal error, an
 * rpc it lacks, goim's UNKNOWN) is the operator's matter: warn, throttled
 * to one line per node, rpc and status every 10 s.
 */
function logFailure(log: Log, health: LogicNodeHealth, rpc: string, address: string, failure: LogicCallError): void {
  const meta = { component: 'logic-gateway', rpc, node: address, status: failure.status, error: failure.message };
  if (CLIENT_STATUSES.has(failure.status)) log.debug('logic refused a call', meta);
  else logThrottled(log, health.warnings, 'warn', `${address} ${rpc} ${failure.status}`, 'logic call failed', meta);
}

/**
 * What became of a key or mid push: the router splits it into PushMsgs per
 * cloud node (several for one node whose keys would not fit one), each
 * node's link reports whether its share was taken, and the tally answers the
 * caller once every share is accounted for, with one entry per failed node.
 */
import { ErrorCode, ImError } from '../system/errors';

/** A cloud node that did not take (all of) its part of the push. */
export interface NodeFailure {
  readonly node: string;
  /** Session keys (connections) of the failed shares on that node. */
  readonly targets: number;
  /** The first failed share's code and reason (a node's shares usually fail alike). */
  readonly code: ErrorCode;
  readonly reason: string;
}

/** A push every node took: how many session keys it reached and on how many nodes. */
export interface PushReach {
  readonly targets: number;
  readonly nodes: number;
}

export interface PushReport extends PushReach {
  readonly failed: readonly NodeFailure[];
}

/** How a link reports one push: null when the node took it. */
export type PushDone = (failure: ImError | null) => void;

/** A key or mid push that some cloud node failed or refused: E_CLOUD_UNAVAILABLE with the report behind it. */
export class PushFailedError extends ImError {
  constructor(readonly report: PushReport) {
    const shares = report.failed.map((f) => `${f.node} held ${f.targets} target${f.targets === 1 ? '' : 's'} (${f.code}: ${f.reason})`);
    super('CLOUD_UNAVAILABLE', `${report.failed.length} of ${report.nodes} nodes failed: ${shares.join('; ')}`);
  }
}

/**
 * Counts the answers to one push's shares and calls `finish` once, after the
 * last. Shares report from their links' promise callbacks, in any order, or
 * at once while the router is still handing out the others: the number of
 * shares is fixed up front, so an early report cannot finish the push.
 */
export class PushTally {
  private pending: number;
  /** Failed nodes in the order they first failed; a node's later failed shares add their targets. */
  private readonly failed = new Map<string, NodeFailure>();

  constructor(private readonly reach: PushReach, shares: number, private readonly finish: (report: PushReport) => void) {
    this.pending = shares;
    if (this.pending === 0) finish({ ...reach, failed: [] });
  }

  /** The reporter for one share: `targets` session keys on `node`. */
  share(node: string, targets: number): PushDone {
    let reported = false;
    return (failure) => {
      if (reported) return;
      reported = true;
      if (failure) {
        const earlier = this.failed.get(node);
        this.failed.set(node, earlier
          ? { ...earlier, targets: earlier.targets + targets }
          : { node, targets, code: failure.code, reason: failure.message });
      }
      if (--this.pending === 0) this.finish({ ...this.reach, failed: [...this.failed.values()] });
    };
  }
}

/**
 * What became of a key or mid push: the router splits it into one PushMsg
 * per cloud node, each node's link reports whether its share was taken, and
 * the tally answers the caller once every share is accounted for.
 */
import { ErrorCode, ImError } from '../system/errors';

/** One cloud node's share that did not get through. */
export interface NodeFailure {
  readonly node: string;
  /** Session keys (connections) that node held for this push. */
  readonly targets: number;
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
 * last. Shares report from their links' promise callbacks, in any order.
 */
export class PushTally {
  private pending: number;
  private readonly failed: NodeFailure[] = [];

  constructor(private readonly reach: PushReach, private readonly finish: (report: PushReport) => void) {
    this.pending = reach.nodes;
    if (this.pending === 0) finish({ ...reach, failed: [] });
  }

  /** The reporter for one node's share. */
  share(node: string, targets: number): PushDone {
    let reported = false;
    return (failure) => {
      if (reported) return;
      reported = true;
      if (failure) this.failed.push({ node, targets, code: failure.code, reason: failure.message });
      if (--this.pending === 0) this.finish({ ...this.reach, failed: this.failed });
    };
  }
}

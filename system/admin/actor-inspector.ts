import type { ActorView } from '../actor-runtime';
import { ImError } from '../errors';
import { decodeCursor, encodeCursor, pageOf, walkInSlices } from './slices';
import { TopHeap } from './top-heap';
import { WalkGate } from './walk-gate';

/** One actor as the admin API shows it. */
export interface ActorJson {
  readonly name: string;
  readonly path: string;
  readonly kind: string;
  /** Messages waiting in its mailbox. */
  readonly mailbox: number;
  /** It has messages waiting, so it is scheduled to run (nothing else can be running while this is read). */
  readonly busy: boolean;
  /** Faults it survived (resumed or rebuilt). */
  readonly restarts: number;
  readonly ageMs: number;
  readonly processed: number;
  readonly childCount: number;
  /** Its kind's summary of its state. */
  readonly state: Record<string, unknown>;
}

export interface ActorsAnswer {
  readonly actor: ActorJson;
  readonly children: ActorJson[];
  readonly childCount: number;
  readonly nextCursor: string | null;
}

export type TopBy = 'mailbox' | 'processed' | 'restarts';
export const TOP_BY: readonly TopBy[] = ['mailbox', 'processed', 'restarts'];

export interface TopAnswer {
  readonly by: TopBy;
  readonly actors: ActorJson[];
}

/** What the inspector reads: the runtime's views, never an actor's mailbox. */
export interface InspectedRuntime {
  viewAt(path: string): ActorView | undefined;
  roots(): ActorView[];
  views(): Iterable<ActorView>;
}

/** An actor's state summary; one that throws must not hide the actor (it may be the broken one the operator looks for). */
export function summaryOf(view: ActorView): Record<string, unknown> {
  try {
    return view.summary();
  } catch (error) {
    return { inspectError: error instanceof Error ? error.message : String(error) };
  }
}

function score(view: ActorView, by: TopBy): number {
  switch (by) {
    case 'mailbox':
      return view.queued;
    case 'processed':
      return view.processed;
    case 'restarts':
      return view.restarts;
  }
}

/**
 * The actor tree, read through the runtime's own records: pages of one
 * actor's children, and the busiest actors by a bounded heap. Every walk of
 * a list that can be large goes in slices, one walk per request kind at a
 * time.
 */
export class ActorInspector {
  private readonly childWalks = new WalkGate<ActorsAnswer>();
  private readonly topWalks = new WalkGate<TopAnswer>();

  constructor(private readonly runtime: InspectedRuntime, private readonly now: () => number = Date.now) {}

  describe(view: ActorView): ActorJson {
    const state = summaryOf(view);
    return {
      name: view.name, path: view.path, kind: view.kind, mailbox: view.queued, busy: view.queued > 0, restarts: view.restarts,
      ageMs: Math.max(0, this.now() - view.startedAt), processed: view.processed, childCount: view.children?.size ?? 0, state,
    };
  }

  /** The root actor's path (a node has one root). */
  rootPath(): string | null {
    return this.runtime.roots()[0]?.path ?? null;
  }

  /** An actor and one page of its children; rejects with E_ADMIN_NOT_FOUND / E_ADMIN_BAD_PARAM. */
  actors(path: string | null, limit: number, cursor: string | null): Promise<ActorsAnswer> {
    const at = path ?? this.rootPath();
    const offset = decodeCursor(cursor);
    if (offset === null) return Promise.reject(new ImError('ADMIN_BAD_PARAM', 'cursor is not one this endpoint gave'));
    return this.childWalks.run(`${at ?? ''}\n${offset}\n${limit}`, async () => {
      // Looked up when the walk starts, not when the request came: it may have waited for another walk.
      const view = at === null ? undefined : this.runtime.viewAt(at);
      if (!view) throw new ImError('ADMIN_NOT_FOUND', `no actor at ${at ?? '(no root)'}`);
      const children = view.children ?? new Set<ActorView>();
      const page = await pageOf(children, offset, limit, (child) => this.describe(child));
      return { actor: this.describe(view), children: page.items, childCount: children.size, nextCursor: encodeCursor(page.next) };
    });
  }

  /** The n actors scoring highest `by`, from one sliced walk over every actor. */
  top(by: TopBy, n: number): Promise<TopAnswer> {
    return this.topWalks.run(`${by}\n${n}`, async () => {
      const heap = new TopHeap<ActorView>(n);
      await walkInSlices(this.runtime.views(), (view) => {
        const s = score(view, by);
        // An actor with nothing to show does not belong in a "busiest" list.
        if (s > 0) heap.offer(s, view);
      });
      return { by, actors: heap.sorted().map((view) => this.describe(view)) };
    });
  }
}

import * as nact from 'nact';
import { Barrier, Cell, CellHost, KindStats, messageType, NactRef, NactSupervisionContext, spawnNact } from './actor-cell';
import type { ActorKind, ActorRef, Reply, StopCause, SupervisionPolicy } from './actor-kind';
import { ImError } from './errors';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

export interface ActorInfo {
  readonly path: string;
  readonly kind: string;
  readonly name: string;
  readonly parent: string | null;
  readonly children: number;
  readonly startedAt: number;
  readonly restarts: number;
  readonly state?: Record<string, unknown>;
}

/**
 * One live actor as inspection sees it: read straight from the runtime's
 * record, without a message to the actor (which may be busy or stuck).
 */
export interface ActorView {
  readonly path: string;
  readonly name: string;
  readonly kind: string;
  /** Messages waiting in its mailbox. */
  readonly queued: number;
  readonly processed: number;
  readonly restarts: number;
  readonly startedAt: number;
  readonly children: ReadonlySet<ActorView> | null;
  /** Its kind's summary of the state it reached after its last message; {} for a kind without one. */
  summary(): Record<string, unknown>;
}

/** How a barrier ended: the actor reached it, stopped first, or neither within the time given. */
export type BarrierOutcome = 'reached' | 'gone' | 'timedOut';

export interface RuntimeHooks {
  /** An actor marked critical gave up: the node can no longer work as configured. */
  onCriticalFailure(path: string, kind: string, error: Error): void;
}

/** nact's typings lag its runtime (the system name option, ctx.sender); this is the one place that knows. */
const startSystem = nact.start as unknown as (options: { name: string }) => NactRef;

/**
 * A thin typed wrapper over nact: named actors only, a registry for
 * inspection and bottom-up stop, and supervision with a restart budget
 * (nact's own onCrash cannot see the actor's state, and stopping a parent
 * there does not stop its children).
 */
export class ActorRuntime implements CellHost {
  private readonly system: NactRef;
  private readonly entries = new Map<string, Cell>();
  private readonly kinds = new Map<string, KindStats>();
  /** Actors without a parent, kept apart so finding them walks no other actor. */
  private readonly rootCells = new Set<Cell>();
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly hooks: RuntimeHooks,
  ) {
    this.system = startSystem({ name });
  }

  spawnRoot<S, M, D>(kind: ActorKind<S, M, D>, name: string, deps: D): ActorRef<M> {
    return this.spawnUnder(null, kind, name, deps);
  }

  /** Spawns under an existing actor from outside any actor (edges adopt sockets this way). */
  spawnChild<S, M, D>(parent: ActorRef<unknown>, kind: ActorKind<S, M, D>, name: string, deps: D): ActorRef<M> {
    const cell = this.entries.get(parent.path);
    if (!cell) throw new Error(`cannot spawn ${name}: parent ${parent.path} is not running`);
    return this.spawnUnder(cell, kind, name, deps);
  }

  /** Sends a message built around a reply channel and waits for the answer, or rejects after timeoutMs. */
  ask<M, R>(ref: ActorRef<M>, build: (reply: Reply<R>) => M, timeoutMs: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`no answer from ${ref.path} within ${timeoutMs} ms`));
      }, timeoutMs);
      ref.tell(build((value) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(value);
      }));
    });
  }

  /**
   * Resolves once `ref` has handled every message sent to it before this call
   * (`reached`), or has stopped (`gone`: at once if it is not running), and
   * after timeoutMs at the latest (`timedOut`).
   */
  barrier(ref: ActorRef<unknown>, timeoutMs: number): Promise<BarrierOutcome> {
    const cell = this.entries.get(ref.path);
    if (!cell) return Promise.resolve('gone');
    return new Promise((resolve) => {
      const done = (outcome: BarrierOutcome): void => {
        clearTimeout(timer);
        cell.barriers?.delete(stopped);
        resolve(outcome);
      };
      const stopped = (): void => done('gone');
      const timer = setTimeout(() => done('timedOut'), timeoutMs);
      (cell.barriers ??= new Set()).add(stopped);
      cell.tell(new Barrier(() => done('reached')));
    });
  }

  stop(ref: ActorRef<unknown>): void {
    this.stopRef(ref);
  }

  stopRef(ref: ActorRef<unknown>): void {
    const cell = this.entries.get(ref.path);
    if (cell) this.stopCell(cell);
  }

  /** Stops every actor, leaves first. */
  shutdown(): void {
    if (this.stopped) return;
    for (const cell of [...this.rootCells]) this.stopCell(cell);
    this.stopped = true;
    nact.stop(this.system);
  }

  /** Messages waiting in `ref`'s mailbox (0 when it is not running): cheap enough for every push. */
  mailboxDepth(ref: ActorRef<unknown>): number {
    const cell = ref instanceof Cell ? ref : this.entries.get(ref.path);
    return cell && !cell.stopping ? cell.queued : 0;
  }

  isAlive(ref: ActorRef<unknown>): boolean {
    return this.entries.has(ref.path);
  }

  /** Live actors, of one kind or all: read from the kind's totals, never by walking the actors. */
  count(kind?: string): number {
    if (kind === undefined) return this.entries.size;
    return this.kinds.get(kind)?.live ?? 0;
  }

  /** Live actors, parents before children; `withState` adds each kind's inspect() view. */
  list(options: { kind?: string; withState?: boolean } = {}): ActorInfo[] {
    const out: ActorInfo[] = [];
    for (const e of this.entries.values()) {
      if (options.kind !== undefined && e.kind !== options.kind) continue;
      const info: ActorInfo = {
        path: e.path, kind: e.kind, name: e.name, parent: e.parent?.path ?? null, children: e.children?.size ?? 0,
        startedAt: e.startedAt, restarts: e.restarts,
      };
      out.push(options.withState && e.definition.inspect ? { ...info, state: e.summary() } : info);
    }
    return out;
  }

  /** A reference by path, for tools that walk the tree (admin, tests). */
  refAt(path: string): ActorRef<unknown> | undefined {
    return this.entries.get(path);
  }

  /** A live actor's read-only view by path (admin inspection reads these, never the actor's mailbox). */
  viewAt(path: string): ActorView | undefined {
    return this.entries.get(path);
  }

  /**
   * The live state of `ref` when it is an actor of `kind`, for inspection
   * that needs more than the kind's summary (the admin finds a key's
   * connection in its bucket). Read-only by contract: the actor owns it.
   */
  stateOf<S, M, D>(ref: ActorRef<M>, kind: ActorKind<S, M, D>): Readonly<S> | undefined {
    const cell = this.entries.get(ref.path);
    if (!cell || cell.stopping || cell.definition !== (kind as unknown) || cell.state === undefined) return undefined;
    // The kind check above is what makes this cell's state an S.
    return cell.state as S;
  }

  /** The actors started without a parent (a node has one). */
  roots(): ActorView[] {
    return [...this.rootCells];
  }

  /**
   * Every live actor, as a live iterator: a walk that pauses between slices
   * may go on with it, seeing actors spawned meanwhile and not those stopped.
   */
  views(): IterableIterator<ActorView> {
    return this.entries.values();
  }

  /** Totals by kind, for metrics (one entry per kind ever spawned here). */
  kindStats(): Iterable<Readonly<KindStats>> {
    return this.kinds.values();
  }

  private statsOf(kind: string): KindStats {
    let stats = this.kinds.get(kind);
    if (!stats) {
      stats = new KindStats(kind);
      this.kinds.set(kind, stats);
    }
    return stats;
  }

  /** Registered before nact runs init, so init may spawn children of its own. */
  spawnUnder<S, M, D>(parent: Cell | null, kind: ActorKind<S, M, D>, name: string, deps: D): ActorRef<M> {
    if (this.stopped) throw new Error(`actor runtime ${this.name} is stopped`);
    if (needsRebuild(kind.supervision) && !kind.supervision.rebuild) {
      throw new Error(`actor kind ${kind.kind}: its supervision rebuilds, but it supplies no rebuild`);
    }
    const path = parent ? `${parent.path}/${name}` : `/${name}`;
    if (this.entries.has(path)) throw new Error(`actor ${path} already exists`);
    const stats = this.statsOf(kind.kind);
    const cell = new Cell(this, path, name, parent, kind as unknown as ActorKind<unknown, unknown, unknown>, deps, stats);
    this.entries.set(path, cell);
    if (!parent) this.rootCells.add(cell);
    stats.live++;
    if (parent) (parent.children ??= new Set()).add(cell);
    try {
      cell.nactRef = spawnNact(cell, parent?.nactRef ?? this.system);
    } catch (error) {
      this.entries.delete(path);
      this.rootCells.delete(cell);
      parent?.children?.delete(cell);
      stats.live--;
      throw error;
    }
    return cell as ActorRef<M>;
  }

  decide(cell: Cell, msg: unknown, error: Error, sctx: NactSupervisionContext): symbol {
    const policy = cell.definition.supervision;
    const now = Date.now();
    const faults = (cell.faults ?? []).filter((t) => now - t < policy.windowMs);
    faults.push(now);
    cell.faults = faults;
    this.metrics.inc('im_actor_faults_total', { kind: cell.kind });
    const type = messageType(msg);
    const exhausted = faults.length > policy.maxRestarts;
    const action = exhausted ? policy.onExhausted ?? 'giveUp' : policy.onFault;
    const fields = {
      component: 'supervision', actor: cell.path, kind: cell.kind, faultsInWindow: faults.length, budget: policy.maxRestarts,
      messageType: type, error: error.message,
    };
    if (action === 'resume') {
      cell.restarts++;
      cell.stats.restarts++;
      this.log.warn('actor fault survived', { ...fields, action });
      return sctx.resume as symbol;
    }
    if (action === 'rebuild' && this.rebuild(cell, error)) {
      cell.restarts++;
      cell.stats.restarts++;
      this.metrics.inc('im_actor_rebuilt_total', { kind: cell.kind, cause: exhausted ? 'budget' : 'fault' });
      if (exhausted) {
        // A new window: the rebuilt actor starts with its whole budget again.
        cell.faults = null;
        this.log.error('actor exhausted its fault budget; rebuilt', { ...fields, action, stack: error.stack });
      } else {
        this.log.warn('actor fault survived', { ...fields, action });
      }
      return sctx.resume as symbol;
    }
    this.metrics.inc('im_actor_gave_up_total', { kind: cell.kind });
    this.log.error('actor gave up', { ...fields, code: new ImError('ACTOR_GAVE_UP').code, stack: error.stack });
    try {
      policy.giveUp?.(cell.state, error);
    } catch (cleanupError) {
      this.log.error('actor cleanup failed', { component: 'supervision', actor: cell.path, error: (cleanupError as Error).message });
    }
    this.stopCell(cell, 'gaveUp');
    if (policy.critical) this.hooks.onCriticalFailure(cell.path, cell.kind, error);
    // Already stopped above (children first); nact must not stop it a second time.
    return sctx.resume as symbol;
  }

  /**
   * Replaces the cell's state with the kind's rebuild of it; the next message
   * is handled with it (cells, not nact, hold the state a message starts
   * from). False when the rebuild itself failed: the actor then gives up.
   */
  private rebuild(cell: Cell, error: Error): boolean {
    const policy = cell.definition.supervision;
    if (!policy.rebuild) return false;
    try {
      cell.state = policy.rebuild(cell.state);
      return true;
    } catch (rebuildError) {
      this.log.error('actor rebuild failed', {
        component: 'supervision', actor: cell.path, kind: cell.kind, error: (rebuildError as Error).message, fault: error.message,
      });
      return false;
    }
  }

  /** Stops the cell and, first, its children (for whom the cause is always `stopped`: their parent asked). */
  stopCell(cell: Cell, cause: StopCause = 'stopped'): void {
    if (cell.stopping) return;
    cell.stopping = true;
    if (cell.children) for (const child of [...cell.children]) this.stopCell(child);
    this.entries.delete(cell.path);
    this.rootCells.delete(cell);
    cell.parent?.children?.delete(cell);
    // What is still in its mailbox will never be handled.
    cell.stats.live--;
    cell.stats.queued -= cell.queued;
    cell.queued = 0;
    if (cell.barriers) for (const done of [...cell.barriers]) done();
    try {
      cell.definition.onStop?.(cell.state, cause);
    } catch (error) {
      this.log.error('actor onStop failed', { component: 'supervision', actor: cell.path, error: (error as Error).message });
    }
    if (cell.nactRef) nact.stop(cell.nactRef);
  }
}

function needsRebuild<S>(policy: SupervisionPolicy<S>): boolean {
  return policy.onFault === 'rebuild' || policy.onExhausted === 'rebuild';
}

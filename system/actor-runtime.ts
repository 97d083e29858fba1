import * as nact from 'nact';
import { ImError } from './errors';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { ActorContext, ActorKind, ActorRef, Reply } from './actor-kind';

type NactRef = nact.Ref<unknown>;
type NactSupervisionContext = nact.SupervisionContext<unknown, NactRef>;

/** What the runtime remembers of a live actor: enough to inspect the tree and stop it bottom-up. */
interface ActorEntry {
  readonly path: string;
  readonly kind: string;
  readonly name: string;
  readonly parent: string | null;
  readonly children: Set<string>;
  readonly startedAt: number;
  nactRef: NactRef;
  readonly ref: TypedRef<unknown>;
  /** The state after the last message handled (read by inspection and by giveUp). */
  state: unknown;
  faults: number[];
  restarts: number;
  stopping: boolean;
  stopRequested: boolean;
  readonly definition: ActorKind<unknown, unknown, unknown>;
}

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

export interface RuntimeHooks {
  /** An actor marked critical gave up: the node can no longer work as configured. */
  onCriticalFailure(path: string, kind: string, error: Error): void;
}

class TypedRef<M> implements ActorRef<M> {
  /** Set once nact has spawned the actor; until then (during init) a tell is dropped. */
  raw: NactRef | undefined;

  constructor(readonly path: string, readonly kind: string) {}

  tell(msg: M): void {
    if (this.raw) nact.dispatch(this.raw, msg);
  }
}

/** A mailbox barrier: answered by the runtime when the actor reaches it, never seen by the actor's receive. */
class Barrier {
  constructor(readonly reached: () => void) {}
}

/** nact's typings lag its runtime (the system name option, ctx.sender); this is the one place that knows. */
const startSystem = nact.start as unknown as (options: { name: string }) => NactRef;

/**
 * A thin typed wrapper over nact: named actors only, a registry for
 * inspection and bottom-up stop, and supervision with a restart budget
 * (nact's own onCrash cannot see the actor's state, and stopping a parent
 * there does not stop its children).
 */
export class ActorRuntime {
  private readonly system: NactRef;
  private readonly entries = new Map<string, ActorEntry>();
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
    const entry = this.entries.get(parent.path);
    if (!entry) throw new Error(`cannot spawn ${name}: parent ${parent.path} is not running`);
    return this.spawnUnder(entry, kind, name, deps);
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
   * Resolves once `ref` has handled every message sent to it before this call;
   * at once if it is not running, and after timeoutMs at the latest.
   */
  barrier(ref: ActorRef<unknown>, timeoutMs: number): Promise<void> {
    const entry = this.entries.get(ref.path);
    if (!entry) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      nact.dispatch(entry.nactRef, new Barrier(() => {
        clearTimeout(timer);
        resolve();
      }));
    });
  }

  stop(ref: ActorRef<unknown>): void {
    const entry = this.entries.get(ref.path);
    if (entry) this.stopEntry(entry);
  }

  /** Stops every actor, leaves first. */
  shutdown(): void {
    if (this.stopped) return;
    for (const entry of [...this.entries.values()]) if (entry.parent === null) this.stopEntry(entry);
    this.stopped = true;
    nact.stop(this.system);
  }

  isAlive(ref: ActorRef<unknown>): boolean {
    return this.entries.has(ref.path);
  }

  count(kind?: string): number {
    if (kind === undefined) return this.entries.size;
    let n = 0;
    for (const e of this.entries.values()) if (e.kind === kind) n++;
    return n;
  }

  /** Live actors, parents before children; `withState` adds each kind's inspect() view. */
  list(options: { kind?: string; withState?: boolean } = {}): ActorInfo[] {
    const out: ActorInfo[] = [];
    for (const e of this.entries.values()) {
      if (options.kind !== undefined && e.kind !== options.kind) continue;
      const info: ActorInfo = {
        path: e.path, kind: e.kind, name: e.name, parent: e.parent, children: e.children.size,
        startedAt: e.startedAt, restarts: e.restarts,
      };
      out.push(options.withState && e.definition.inspect ? { ...info, state: e.definition.inspect(e.state) } : info);
    }
    return out;
  }

  /** A reference by path, for tools that walk the tree (admin, tests). */
  refAt(path: string): ActorRef<unknown> | undefined {
    return this.entries.get(path)?.ref;
  }

  private spawnUnder<S, M, D>(parent: ActorEntry | null, kind: ActorKind<S, M, D>, name: string, deps: D): ActorRef<M> {
    if (this.stopped) throw new Error(`actor runtime ${this.name} is stopped`);
    const path = parent ? `${parent.path}/${name}` : `/${name}`;
    if (this.entries.has(path)) throw new Error(`actor ${path} already exists`);
    const definition = kind as unknown as ActorKind<unknown, unknown, unknown>;
    // Registered before nact runs init, so init may spawn children of its own.
    const entry: ActorEntry = {
      path, kind: kind.kind, name, parent: parent ? parent.path : null, children: new Set(), startedAt: Date.now(),
      nactRef: this.system, ref: new TypedRef<unknown>(path, kind.kind), state: undefined, faults: [], restarts: 0,
      stopping: false, stopRequested: false, definition,
    };
    this.entries.set(path, entry);
    if (parent) parent.children.add(path);

    const ctx: ActorContext<M> = {
      get self() { return entry.ref as ActorRef<M>; },
      name,
      spawn: (childKind, childName, childDeps) => this.spawnUnder(entry, childKind, childName, childDeps),
      stop: (ref) => this.stop(ref),
      stopSelf: () => { entry.stopRequested = true; },
    };
    const behaviour = (state: unknown, msg: unknown): unknown => {
      if (msg instanceof Barrier) {
        msg.reached();
        return state;
      }
      const next = definition.receive(state, msg, ctx as ActorContext<unknown>);
      // A receive whose switch has no case for the message falls through and returns undefined: nact
      // would keep that as the state and every later message would fail. Make it a fault instead, so
      // supervision sees it and the last good state is kept.
      if (next === undefined) {
        const type = typeof msg === 'object' && msg !== null && 'type' in msg ? String((msg as { type: unknown }).type) : typeof msg;
        throw new Error(`${entry.kind} actor ${entry.path} has no handler for message type ${type}`);
      }
      entry.state = next;
      // Deferred to the end of the message so onStop sees the final state.
      if (entry.stopRequested) this.stopEntry(entry);
      return next;
    };
    try {
      entry.nactRef = nact.spawn(parent ? parent.nactRef : this.system, behaviour, name, {
        initialStateFunc: () => {
          entry.state = definition.init(deps, ctx as ActorContext<unknown>);
          return entry.state;
        },
        onCrash: (msg: unknown, error: Error | undefined, sctx: NactSupervisionContext) =>
          this.decide(entry, msg, error ?? new Error('unknown fault'), sctx),
      } as nact.ActorProps<unknown, unknown, NactRef>) as NactRef;
    } catch (error) {
      this.entries.delete(path);
      parent?.children.delete(path);
      throw error;
    }
    entry.ref.raw = entry.nactRef;
    return entry.ref as ActorRef<M>;
  }

  private decide(entry: ActorEntry, msg: unknown, error: Error, sctx: NactSupervisionContext): symbol {
    const policy = entry.definition.supervision;
    const now = Date.now();
    entry.faults = entry.faults.filter((t) => now - t < policy.windowMs);
    entry.faults.push(now);
    this.metrics.inc('im_actor_faults_total', { kind: entry.kind });
    const messageType = typeof msg === 'object' && msg !== null && 'type' in msg ? String((msg as { type: unknown }).type) : typeof msg;
    if (entry.faults.length <= policy.maxRestarts) {
      entry.restarts++;
      this.log.warn('actor fault survived', {
        component: 'supervision', actor: entry.path, kind: entry.kind, action: policy.onFault,
        faultsInWindow: entry.faults.length, budget: policy.maxRestarts, messageType, error: error.message,
      });
      return (policy.onFault === 'reset' ? sctx.reset : sctx.resume) as symbol;
    }
    this.metrics.inc('im_actor_gave_up_total', { kind: entry.kind });
    this.log.error('actor gave up', {
      component: 'supervision', code: new ImError('ACTOR_GAVE_UP').code, actor: entry.path, kind: entry.kind,
      faultsInWindow: entry.faults.length, budget: policy.maxRestarts, messageType, error: error.message, stack: error.stack,
    });
    try {
      policy.giveUp?.(entry.state, error);
    } catch (cleanupError) {
      this.log.error('actor cleanup failed', { component: 'supervision', actor: entry.path, error: (cleanupError as Error).message });
    }
    this.stopEntry(entry);
    if (policy.critical) this.hooks.onCriticalFailure(entry.path, entry.kind, error);
    // Already stopped above (children first); nact must not stop it a second time.
    return sctx.resume as symbol;
  }

  private stopEntry(entry: ActorEntry): void {
    if (entry.stopping) return;
    entry.stopping = true;
    for (const childPath of [...entry.children]) {
      const child = this.entries.get(childPath);
      if (child) this.stopEntry(child);
    }
    this.entries.delete(entry.path);
    if (entry.parent) this.entries.get(entry.parent)?.children.delete(entry.path);
    try {
      entry.definition.onStop?.(entry.state);
    } catch (error) {
      this.log.error('actor onStop failed', { component: 'supervision', actor: entry.path, error: (error as Error).message });
    }
    nact.stop(entry.nactRef);
  }
}

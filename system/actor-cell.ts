import * as nact from 'nact';
import type { ActorContext, ActorKind, ActorRef } from './actor-kind';
import { applyNactScheduling } from './nact-scheduling';

export type NactRef = nact.Ref<unknown>;
export type NactSupervisionContext = nact.SupervisionContext<unknown, NactRef>;

/** What a cell asks of the runtime that owns it (an interface, so the two files do not import each other). */
export interface CellHost {
  spawnUnder<S, M, D>(parent: Cell | null, kind: ActorKind<S, M, D>, name: string, deps: D): ActorRef<M>;
  stopCell(cell: Cell): void;
  stopRef(ref: ActorRef<unknown>): void;
  decide(cell: Cell, msg: unknown, error: Error, sctx: NactSupervisionContext): symbol;
}

/**
 * What a kind's actors add up to, kept as they run (one shared object per
 * kind, bumped beside each cell's own counters), so metrics read totals by
 * kind without walking the actors.
 */
export class KindStats {
  /** Actors of the kind running now. */
  live = 0;
  /** Messages told to them and not yet handled. */
  queued = 0;
  /** Messages they handled (barriers excluded), since the node started. */
  processed = 0;
  /** Faults they survived (resumed or rebuilt), since the node started. */
  restarts = 0;

  constructor(readonly kind: string) {}
}

/** A mailbox barrier: answered by the runtime when the actor reaches it, never seen by the actor's receive. */
export class Barrier {
  constructor(readonly reached: () => void) {}
}

/**
 * One live actor as the runtime knows it: its place in the tree, its last
 * state, its fault history. The same object is the actor's typed reference
 * and its context, so an actor costs one object and no closures beyond
 * what nact itself allocates (connections are actors: this is per socket).
 */
export class Cell implements ActorRef<unknown>, ActorContext<unknown> {
  /** Set once nact has spawned the actor; until then (during init) a tell is dropped. */
  nactRef: NactRef | undefined = undefined;
  /** The state after the last message handled: the next message starts from it; inspection, giveUp and rebuild read it. */
  state: unknown = undefined;
  /** Created on first child / first fault: most actors (connections) never have either. */
  children: Set<Cell> | null = null;
  faults: number[] | null = null;
  restarts = 0;
  /** Messages told and not yet handled: the mailbox depth, for back-pressure and inspection. */
  queued = 0;
  /** Messages handled (barriers excluded). */
  processed = 0;
  stopping = false;
  stopRequested = false;
  /** Barriers waiting on this cell: told when it stops, since a stopped cell's mailbox is never reached. */
  barriers: Set<() => void> | null = null;
  readonly startedAt = Date.now();

  constructor(
    readonly host: CellHost,
    readonly path: string,
    readonly name: string,
    readonly parent: Cell | null,
    readonly definition: ActorKind<unknown, unknown, unknown>,
    readonly deps: unknown,
    /** Totals of this cell's kind, shared with its other actors. */
    readonly stats: KindStats,
  ) {}

  get kind(): string {
    return this.definition.kind;
  }

  get self(): ActorRef<unknown> {
    return this;
  }

  tell(msg: unknown): void {
    if (!this.nactRef || this.stopping) return;
    this.queued++;
    this.stats.queued++;
    nact.dispatch(this.nactRef, msg);
  }

  spawn<CS, CM, CD>(kind: ActorKind<CS, CM, CD>, name: string, deps: CD): ActorRef<CM> {
    return this.host.spawnUnder(this, kind, name, deps);
  }

  stop(ref: ActorRef<unknown>): void {
    this.host.stopRef(ref);
  }

  stopSelf(): void {
    this.stopRequested = true;
  }

  /**
   * One message, through the kind's receive; a receive that returns nothing is a fault, not a new state.
   * The message starts from the cell's state, not nact's copy of it, so supervision can put a rebuilt
   * state in place (see ActorRuntime.decide); the two are the same object otherwise.
   */
  handle(msg: unknown): unknown {
    this.queued--;
    this.stats.queued--;
    const state = this.state;
    if (msg instanceof Barrier) {
      msg.reached();
      return state;
    }
    this.processed++;
    this.stats.processed++;
    const next = this.definition.receive(state, msg, this);
    // A switch with no case for the message falls through and returns undefined: nact would keep that
    // as the state and every later message would fail. Make it a fault so the last good state is kept.
    if (next === undefined) throw new Error(`${this.kind} actor ${this.path} has no handler for message type ${messageType(msg)}`);
    this.state = next;
    // Deferred to the end of the message so onStop sees the final state.
    if (this.stopRequested) this.host.stopCell(this);
    return next;
  }

  summary(): Record<string, unknown> {
    return this.definition.inspect && this.state !== undefined ? this.definition.inspect(this.state) : {};
  }

  init(): unknown {
    this.state = this.definition.init(this.deps, this);
    return this.state;
  }
}

export function messageType(msg: unknown): string {
  return typeof msg === 'object' && msg !== null && 'type' in msg ? String((msg as { type: unknown }).type) : typeof msg;
}

/**
 * nact hands every callback a context whose `self` is the actor's own nact
 * reference; the cell rides on that reference, so one set of callbacks
 * serves every actor. During nact's constructor (init) the reference exists
 * but spawn has not returned: the cell being spawned is parked here.
 */
interface CellCarrier {
  cell?: Cell;
}
let spawning: Cell | null = null;

function cellOf(nactContext: { self: unknown }): Cell {
  const carrier = nactContext.self as CellCarrier;
  if (!carrier.cell) {
    if (!spawning) throw new Error('nact callback for an actor this runtime did not spawn');
    carrier.cell = spawning;
  }
  return carrier.cell;
}

const callbacks = {
  behaviour: (_state: unknown, msg: unknown, nactContext: { self: unknown }): unknown => cellOf(nactContext).handle(msg),
  initialStateFunc: (nactContext: { self: unknown }): unknown => cellOf(nactContext).init(),
  /** The runtime runs onStop itself; given here so nact does not make an empty closure for every actor. */
  afterStop: (): void => undefined,
  onCrash: (msg: unknown, error: Error | undefined, sctx: NactSupervisionContext): symbol => {
    const cell = cellOf(sctx as unknown as { self: unknown });
    return cell.host.decide(cell, msg, error ?? new Error('unknown fault'), sctx);
  },
};

/** Spawns the cell's nact actor under `parent`. */
export function spawnNact(cell: Cell, parent: NactRef): NactRef {
  spawning = cell;
  try {
    const ref = nact.spawn(parent, callbacks.behaviour, cell.name, {
      initialStateFunc: callbacks.initialStateFunc,
      onCrash: callbacks.onCrash,
      afterStop: callbacks.afterStop,
    } as unknown as nact.ActorProps<unknown, unknown, NactRef>) as NactRef;
    (ref as unknown as CellCarrier).cell = cell;
    return ref;
  } finally {
    spawning = null;
  }
}

applyNactScheduling();

/**
 * The typed layer every actor file is written against. An actor file exports
 * one ActorKind: its messages (M), its state (S), its dependencies (D), its
 * behaviour and its supervision policy, side by side.
 *
 * Actors import this file and their own ports, never nact, ws, net or grpc.
 */

/** A typed address. `tell` never blocks and never throws; a message to a stopped actor is dropped. */
export interface ActorRef<M> {
  readonly path: string;
  readonly kind: string;
  tell(msg: M): void;
}

/**
 * What a behaviour may do besides returning its next state. Call its methods
 * on the context (`ctx.stopSelf()`), never detached: the context is the
 * actor's runtime record, and its methods are shared, not per-actor closures.
 */
export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly name: string;
  /** Spawns a supervised child (always named: nact's anonymous names collide at scale). */
  spawn<CS, CM, CD>(kind: ActorKind<CS, CM, CD>, name: string, deps: CD): ActorRef<CM>;
  /** Stops an actor and, first, everything below it. */
  stop(ref: ActorRef<unknown>): void;
  /** Stops this actor once the current message is handled. */
  stopSelf(): void;
}

export type FaultAction = 'resume' | 'reset';

/**
 * Supervision: a fault within the budget is survived (`resume` keeps the
 * state and drops the message that failed; `reset` starts again from init);
 * the fault that exhausts the budget makes the actor give up: `giveUp` runs
 * with the last good state to release what it holds, then the actor stops
 * and the runtime reports it (and escalates if `critical`).
 */
export interface SupervisionPolicy<S> {
  readonly onFault: FaultAction;
  /** Faults survived within `windowMs`; 0 means the first fault makes it give up. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** The node cannot work without this actor: giving up escalates to the node. */
  readonly critical: boolean;
  giveUp?(state: S, error: Error): void;
}

/** Why an actor stops: it, its parent or the node asked (`stopped`), or it exhausted its fault budget (`gaveUp`). */
export type StopCause = 'stopped' | 'gaveUp';

export interface ActorKind<S, M, D> {
  readonly kind: string;
  init(deps: D, ctx: ActorContext<M>): S;
  receive(state: S, msg: M, ctx: ActorContext<M>): S;
  readonly supervision: SupervisionPolicy<S>;
  /** Runs once when the actor stops for any reason (timers, handles); `cause` says why. */
  onStop?(state: S, cause: StopCause): void;
  /** A small JSON view of the state for the admin actor tree. */
  inspect?(state: S): Record<string, unknown>;
}

/** A typed one-shot reply channel carried inside a message (cheaper and safer than nact's query ids). */
export type Reply<R> = (value: R) => void;

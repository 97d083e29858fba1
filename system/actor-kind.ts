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

/**
 * What a fault within the budget does to the state.
 *
 * - `resume` keeps the state as it was before the failing message and drops
 *   that message. Actors change their state in place, so this is true only of
 *   a kind whose every handler does whatever can throw before its first change
 *   to the state; a kind that chooses `resume` says so in its policy.
 * - `rebuild` replaces the state with `rebuild(state)`: a consistent state
 *   built from what the state the fault left behind can still be trusted for.
 */
export type FaultAction = 'resume' | 'rebuild';

/**
 * What the fault that exhausts the budget does.
 *
 * - `giveUp`: `giveUp` runs with the state to release what it holds, then the
 *   actor stops and the runtime reports it (and stops the node if `critical`).
 * - `rebuild`: the actor stays, under the same address and with the messages
 *   already in its mailbox, with `rebuild(state)` as its state and a new
 *   window; for a kind whose members would silently miss messages if it
 *   stopped, and whose state can be recovered.
 */
export type ExhaustedAction = 'giveUp' | 'rebuild';

/**
 * Supervision: a fault within the budget is survived (see FaultAction); the
 * fault that exhausts it is handled as `onExhausted` says. Either way the
 * message that failed is dropped, the fault is counted
 * (`im_actor_faults_total`) and the actor's restarts grow unless it gave up.
 */
export interface SupervisionPolicy<S> {
  readonly onFault: FaultAction;
  /** Faults survived within `windowMs`; 0 means the first fault exhausts the budget. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** Defaults to `giveUp`. */
  readonly onExhausted?: ExhaustedAction;
  /** The node cannot work without this actor: giving up escalates to the node. */
  readonly critical: boolean;
  /** Required when `onFault` or `onExhausted` is `rebuild`; checked when the actor is spawned. */
  rebuild?(state: S): S;
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

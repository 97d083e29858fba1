/**
 * Changes to how nact 7.6.2 runs an actor, applied once per process. nact
 * itself stays in charge of mailboxes, dispatch and supervision; only the
 * scheduling of handled messages and what each actor allocates change.
 *
 * 1. Drain, don't hop. nact handles each message in its own setImmediate,
 *    so one actor handles at most one message per event-loop turn; under
 *    socket load a turn takes a millisecond or more, which caps a busy actor
 *    (the logic gateway, a bucket, a cloud link) near a thousand messages a
 *    second while the CPU idles. Here an actor handles up to
 *    MESSAGES_PER_TURN queued messages in one turn, then yields.
 * 2. Release spent Immediates. nact keeps each actor's last Immediate after
 *    it ran, and Node leaves it linked to the Immediates queued after it, so
 *    every idle actor pinned a chain of them and their closures.
 * 3. No child map in the context. nact's createContext copies the actor's
 *    map of child references for every message (and at init, stop and
 *    fault), so a parent of 10k rooms copied 10k entries per message. The
 *    runtime keeps its own children (Cell.children) and reads only `self`
 *    from a context, so the context leaves `children` out.
 * 4. Child maps on demand, and one instead of two. Every nact actor is
 *    born with two Maps for its children; most (connections, rooms) never
 *    have one. A child's Maps are swapped for one shared empty Map when its
 *    parent registers it; `children` is made for real when it spawns its
 *    first child. `childReferences` feeds only the context's `children`
 *    (left out, 3.), so it stays the shared empty Map for good. nact only
 *    reads them (has, get, values, delete) apart from childSpawned, which
 *    is patched.
 * 5. Mailboxes on demand. Likewise every actor is born with a queue that
 *    holds only the messages that arrive while it is busy; an idle
 *    connection's is empty for life. A child starts with one shared empty
 *    queue, swapped for its own when dispatch first has to queue.
 * 6. Less per actor and per tell: a child's reference shares its parent's
 *    `system` record ({ name }, read only), and a tell with no sender gets
 *    one shared "nobody" sender instead of a new one (three objects) each.
 */

/** Queued messages one actor may handle in one event-loop turn before it lets I/O and other actors run. */
export const MESSAGES_PER_TURN = 64;

interface MailboxItem {
  readonly message: unknown;
  readonly sender: unknown;
}

/** What nact asks of an actor's mailbox (a denque). */
interface MailboxQueue {
  readonly length: number;
  push(item: MailboxItem): number;
  shift(): MailboxItem | undefined;
  toArray(): MailboxItem[];
}

/** The parts of nact's Actor class this module relies on (nact/lib/actor.js, 7.6.2). */
interface NactActor {
  busy: boolean;
  mailbox: MailboxQueue;
  children: Map<string, NactActor>;
  childReferences: Map<string, unknown>;
  readonly parent: { readonly reference: unknown } | undefined;
  readonly path: unknown;
  readonly reference: { system: unknown };
  readonly name: string;
  readonly log: unknown;
  stopped: boolean;
  state: unknown;
  immediate: NodeJS.Immediate | undefined;
  f: (this: unknown, state: unknown, msg: unknown, ctx: unknown) => unknown;
  createContext(sender: unknown): NactContext;
  childSpawned(child: NactActor): void;
  dispatch(message: unknown, sender?: unknown): void;
  afterMessage(): void;
  handleFault(msg: unknown, sender: unknown, error: unknown): unknown;
  processNext(): void;
  handleMessage(message: unknown, sender: unknown): void;
  setTimeout(): void;
}

/** nact's context without `children` (see 3 above). */
interface NactContext {
  readonly parent: unknown;
  readonly path: unknown;
  readonly self: unknown;
  readonly name: string;
  readonly sender: unknown;
  readonly log: unknown;
}

/**
 * The one empty child map shared by every actor that has no children. Writing to it would hand one actor's
 * child to all of them: childSpawned (the only writer in nact) replaces it first, and set throws as a guard.
 */
class NoChildren<V> extends Map<string, V> {
  override set(): this {
    throw new Error('an actor without children was given one outside childSpawned');
  }
}
const NO_CHILDREN = new NoChildren<NactActor>();
const NO_CHILD_REFERENCES = new NoChildren<unknown>();

/** The one empty mailbox shared by every actor that never had to queue; dispatch swaps it before the first push. */
const NO_MAIL: MailboxQueue = {
  length: 0,
  push(): number {
    throw new Error('a message was queued on the shared empty mailbox');
  },
  shift: () => undefined,
  toArray: () => [],
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function drain(actor: NactActor, first: unknown, firstSender: unknown): void {
  actor.immediate = undefined;
  let message = first;
  let sender = firstSender;
  for (let handled = 1; ; handled++) {
    if (actor.stopped) return;
    let next: unknown;
    try {
      const ctx = actor.createContext(sender);
      next = actor.f.call(ctx, actor.state, message, ctx);
    } catch (error) {
      void actor.handleFault(message, sender, error);
      return;
    }
    if (isThenable(next)) {
      // An asynchronous behaviour keeps nact's own one-message-at-a-time pace.
      const failed = message;
      const from = sender;
      next.then(
        (state) => {
          actor.state = state;
          actor.afterMessage();
          actor.processNext();
        },
        (error: unknown) => void actor.handleFault(failed, from, error),
      );
      return;
    }
    actor.state = next;
    actor.afterMessage();
    if (actor.stopped) return;
    const item = actor.mailbox.shift();
    if (!item) {
      actor.busy = false;
      actor.setTimeout();
      return;
    }
    if (handled >= MESSAGES_PER_TURN) {
      actor.handleMessage(item.message, item.sender);
      return;
    }
    message = item.message;
    sender = item.sender;
  }
}

let applied = false;

export function applyNactScheduling(): void {
  if (applied) return;
  applied = true;
  const { Actor } = require('nact/lib/actor') as { Actor: { prototype: NactActor } };
  // nact's own queue class, so a swapped-in mailbox is what nact would have made.
  const Queue = require('denque') as new () => MailboxQueue;
  const { Nobody } = require('nact/lib/references') as { Nobody: new () => unknown };
  const nobody = new Nobody();
  Actor.prototype.handleMessage = function handleMessage(this: NactActor, message: unknown, sender: unknown): void {
    this.busy = true;
    this.immediate = setImmediate(drain, this, message, sender);
  };
  Actor.prototype.createContext = function lightContext(this: NactActor, sender: unknown): NactContext {
    return { parent: this.parent ? this.parent.reference : undefined, path: this.path, self: this.reference, name: this.name, sender, log: this.log };
  };
  Actor.prototype.childSpawned = function childSpawned(this: NactActor, child: NactActor): void {
    child.children = NO_CHILDREN;
    child.childReferences = NO_CHILD_REFERENCES;
    child.mailbox = NO_MAIL;
    child.reference.system = this.reference.system;
    if (this.children === NO_CHILDREN) this.children = new Map();
    // childReferences feeds only the context's `children`, which lightContext leaves out: a second map of every
    // child (about 46 bytes per connection under a connection shard) that nothing reads. It stays the shared empty map.
    this.children.set(child.name, child);
  };
  const dispatch = Actor.prototype.dispatch;
  Actor.prototype.dispatch = function queueOnDemand(this: NactActor, message: unknown, sender?: unknown): void {
    if (this.busy && this.mailbox === NO_MAIL) this.mailbox = new Queue();
    dispatch.call(this, message, sender ?? nobody);
  };
  const processNext = Actor.prototype.processNext;
  Actor.prototype.processNext = function releasingProcessNext(this: NactActor): void {
    this.immediate = undefined;
    processNext.call(this);
  };
}

/**
 * Group actor: a named branch of the tree (buckets, rooms, connections) so
 * the admin view reads like the node's structure. It handles no messages.
 */
import type { ActorKind } from '../system/actor-kind';

export type GroupMsg = never;

export interface GroupState {
  readonly description: string;
}

export const groupActor: ActorKind<GroupState, GroupMsg, string> = {
  kind: 'group',
  init: (description) => ({ description }),
  receive(state, msg) {
    throw new Error(`group ${state.description} handles no messages, got ${JSON.stringify(msg)}`);
  },
  // Its state is a description no message changes: resuming keeps it.
  supervision: { onFault: 'resume', maxRestarts: 100, windowMs: 60_000, critical: false },
  inspect: (state) => ({ description: state.description }),
};

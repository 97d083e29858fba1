import type { ConnectionMsg } from '../../actors/connection-actor';
import type { ClientHandle } from '../../actors/ports';
import type { ActorRef } from '../actor-kind';

/** How an edge turns an accepted socket into a connection actor. */
export interface ConnectionOpener {
  /** A node-unique connection id (also the actor's name). */
  nextId(): number;
  /** Spawns the socket's connection actor; the edge sends it every packet and the close. */
  open(handle: ClientHandle): ActorRef<ConnectionMsg>;
  /** False while the node drains: new sockets are refused. */
  readonly accepting: boolean;
}

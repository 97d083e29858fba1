/**
 * The admin API's answers as a client reads them: checked field by field,
 * since they come over the network from whatever answers at the URL given.
 */

/** One actor as `/actors` and `/top` describe it. */
export interface ActorAnswer {
  readonly name: string;
  readonly path: string;
  readonly kind: string;
  readonly mailbox: number;
  readonly busy: boolean;
  readonly restarts: number;
  readonly ageMs: number;
  readonly processed: number;
  /** Absent from a server that does not say; then only fetching tells. */
  readonly childCount: number | null;
  readonly state: Readonly<Record<string, unknown>>;
}

/** `GET /actors?path=&limit=&cursor=`. */
export interface ActorsAnswer {
  readonly actor: ActorAnswer;
  readonly children: readonly ActorAnswer[];
  readonly childCount: number;
  readonly nextCursor: string | null;
}

/** The error body every admin route answers with. */
export interface ErrorAnswer {
  readonly code: string;
  readonly reason: string;
}

/** An answer that is not what the contract says. */
export class UnexpectedAnswer extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field<T>(o: Record<string, unknown>, name: string, where: string, check: (v: unknown) => v is T, what: string): T {
  const v = o[name];
  if (!check(v)) throw new UnexpectedAnswer(`${where}.${name} is not ${what}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

export function parseActor(v: unknown, where: string): ActorAnswer {
  if (!isRecord(v)) throw new UnexpectedAnswer(`${where} is not an object`);
  const state = v.state === undefined ? {} : v.state;
  if (!isRecord(state)) throw new UnexpectedAnswer(`${where}.state is not an object`);
  const childCount = v.childCount;
  return {
    name: field(v, 'name', where, isString, 'a string'),
    path: field(v, 'path', where, isString, 'a string'),
    kind: field(v, 'kind', where, isString, 'a string'),
    mailbox: field(v, 'mailbox', where, isNumber, 'a number'),
    busy: field(v, 'busy', where, isBoolean, 'a boolean'),
    restarts: field(v, 'restarts', where, isNumber, 'a number'),
    ageMs: field(v, 'ageMs', where, isNumber, 'a number'),
    processed: field(v, 'processed', where, isNumber, 'a number'),
    childCount: isNumber(childCount) ? childCount : null,
    state,
  };
}

export function parseActors(v: unknown): ActorsAnswer {
  if (!isRecord(v)) throw new UnexpectedAnswer('the answer is not a JSON object');
  const children = v.children;
  if (!Array.isArray(children)) throw new UnexpectedAnswer('children is not a list');
  const nextCursor = v.nextCursor ?? null;
  if (nextCursor !== null && !isString(nextCursor)) throw new UnexpectedAnswer('nextCursor is not a string or null');
  return {
    actor: parseActor(v.actor, 'actor'),
    children: children.map((c: unknown, i) => parseActor(c, `children[${i}]`)),
    childCount: field(v, 'childCount', 'the answer', isNumber, 'a number'),
    nextCursor,
  };
}

/** The `{code, reason}` of an error answer, or null when the body is not one. */
export function parseErrorAnswer(v: unknown): ErrorAnswer | null {
  if (!isRecord(v) || !isString(v.code)) return null;
  return { code: v.code, reason: isString(v.reason) ? v.reason : '' };
}

/**
 * `im-cloud inspect`: prints a node's actor tree from its admin endpoint,
 * one actor per line, indented by depth. It reads `/actors` one actor at a
 * time (one request in flight), a page of children each, so a node with a
 * million actors costs it what the operator asked to see.
 */
import { ImError } from '../errors';
import { ActorAnswer, ActorsAnswer, parseActors, parseErrorAnswer, UnexpectedAnswer } from './admin-answers';

export const INSPECT_DEFAULT_URL = 'http://127.0.0.1:3190';
export const INSPECT_DEFAULT_DEPTH = 2;
export const INSPECT_DEFAULT_LIMIT = 20;
/** The admin endpoint's largest page of children (its limit's ceiling). */
export const INSPECT_MAX_LIMIT = 500;

export interface InspectOptions {
  /** The admin endpoint, e.g. http://127.0.0.1:3190. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when not empty. */
  readonly token: string;
  /** Levels printed below the starting actor (0: that actor only). */
  readonly depth: number;
  /** Children printed per actor at most (one page); the rest are counted. */
  readonly limit: number;
  /** Where to start; the node's root when undefined. */
  readonly path?: string;
  /** Columns to fit each line into (a terminal's width); null when the output is not a terminal. */
  readonly width: number | null;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Per request. */
  readonly timeoutMs?: number;
}

/** What went wrong talking to the endpoint: printed as it is, exit code 1. */
export class InspectFailure extends Error {}

/** The actor asked for is not (or no longer) running. */
class ActorGone extends InspectFailure {}

/** The longest state printed when the output is not a terminal (a pipe, a file): long enough to grep. */
const STATE_MAX = 400;
/** Fitting a line into a narrow terminal leaves the state at least this much. */
const STATE_MIN = 32;

/**
 * Keys and room ids are chosen by clients: anything that could drive the
 * terminal (escape sequences, newlines) is printed escaped instead.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shortValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** State fields that say which actor this is come first, so a cut line still shows them. */
const FIRST_FIELDS = ['key', 'mid', 'room', 'roomId', 'members', 'online', 'connections', 'rooms', 'transport', 'phase'];

function fieldOrder(name: string): number {
  const i = FIRST_FIELDS.indexOf(name);
  return i === -1 ? FIRST_FIELDS.length : i;
}

/** The actor's state as `name=value` pairs, identifying fields first, cut to `max` characters. */
export function shortState(state: Readonly<Record<string, unknown>>, max = STATE_MAX): string {
  // A stable sort: the other fields keep the order the server gave.
  const entries = Object.entries(state).sort(([a], [b]) => fieldOrder(a) - fieldOrder(b));
  const text = printable(entries.map(([k, v]) => `${k}=${shortValue(v)}`).join(' '));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One actor's line; the starting actor shows its path, the others their name. `width` fits it to a terminal. */
export function actorLine(a: ActorAnswer, level: number, unopenedChildren: number, width: number | null = null): string {
  const label = level === 0 ? a.path : a.name;
  const parts = [
    `${'  '.repeat(level)}${printable(label)}`,
    printable(a.kind),
    `mailbox=${a.mailbox} restarts=${a.restarts} processed=${a.processed}${a.busy ? ' busy' : ''}${unopenedChildren > 0 ? ` children=${unopenedChildren}` : ''}`,
  ];
  const head = parts.join('  ');
  const state = shortState(a.state, width === null ? STATE_MAX : Math.max(STATE_MIN, width - head.length - 2));
  return state === '' ? head : `${head}  ${state}`;
}

/** The base URL with a trailing slash, so routes resolve under any prefix it has; a bad one is a usage error. */
export function adminBaseUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new ImError('CONFIG_INVALID', `--url: ${url} is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ImError('CONFIG_INVALID', `--url: ${url} is not an http or https URL`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return base;
}

function causeCode(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause: unknown = err.cause;
    if (cause instanceof Error) {
      const code = 'code' in cause && typeof cause.code === 'string' ? cause.code : '';
      return code || cause.message;
    }
    return err.message;
  }
  return String(err);
}

class AdminReader {
  constructor(private readonly base: URL, private readonly token: string, private readonly timeoutMs: number) {}

  async actors(path: string | undefined, limit: number): Promise<ActorsAnswer> {
    const url = new URL('actors', this.base);
    if (path !== undefined) url.searchParams.set('path', path);
    url.searchParams.set('limit', String(limit));
    const body = await this.get(url, path);
    try {
      return parseActors(body);
    } catch (err) {
      if (err instanceof UnexpectedAnswer) throw new InspectFailure(`${url.href} did not answer like an im-cloud admin endpoint: ${err.message}`);
      throw err;
    }
  }

  private async get(url: URL, path: string | undefined): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== '') headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      text = await res.text();
    } catch (err) {
      throw new InspectFailure(`cannot reach the admin endpoint at ${this.base.href} (${causeCode(err)})`);
    }
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    if (res.ok) {
      if (body === null) throw new InspectFailure(`${url.href} did not answer JSON (${res.status})`);
      return body;
    }
    const error = parseErrorAnswer(body);
    const what = error ? `${error.code}: ${printable(error.reason)}` : `${res.status} ${res.statusText}`;
    if (res.status === 401) {
      const hint = this.token === '' ? 'pass --token or set IM_ADMIN_TOKEN' : 'the token given was refused';
      throw new InspectFailure(`${this.base.href} asks for a bearer token (${what}); ${hint}`);
    }
    if (res.status === 404 && path !== undefined) throw new ActorGone(`no actor at ${printable(path)} (${what})`);
    throw new InspectFailure(`${url.href} answered ${res.status} (${what})`);
  }
}

/** Prints the tree; resolves with the exit code (1 when the endpoint could not be read). */
export async function runInspect(o: InspectOptions): Promise<number> {
  try {
    const reader = new AdminReader(adminBaseUrl(o.url), o.token, o.timeoutMs ?? 10_000);
    const start = await reader.actors(o.path, o.limit);
    o.out(actorLine(start.actor, 0, o.depth === 0 ? start.childCount : 0, o.width));
    if (o.depth > 0) await printChildren(reader, start, 1, o);
    return 0;
  } catch (err) {
    if (err instanceof InspectFailure) {
      o.err(`im-cloud inspect: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** Prints `page`'s children at `level`, opening each down to the depth asked for. */
async function printChildren(reader: AdminReader, page: ActorsAnswer, level: number, o: InspectOptions): Promise<void> {
  for (const child of page.children) {
    const open = level < o.depth && child.childCount !== 0;
    if (!open) {
      o.out(actorLine(child, level, child.childCount ?? 0, o.width));
      continue;
    }
    let sub: ActorsAnswer;
    try {
      sub = await reader.actors(child.path, o.limit);
    } catch (err) {
      // It stopped between its parent's listing and now: a connection that closed, say.
      if (!(err instanceof ActorGone)) throw err;
      o.out(`${actorLine(child, level, 0, o.width)}  (gone)`);
      continue;
    }
    o.out(actorLine(sub.actor, level, 0, o.width));
    await printChildren(reader, sub, level + 1, o);
  }
  const more = page.childCount - page.children.length;
  if (more > 0) o.out(`${'  '.repeat(level)}… ${more} more`);
}

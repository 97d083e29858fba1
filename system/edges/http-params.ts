import { ImError } from '../errors';

/**
 * Parameters of the HTTP push API (wire.md §5): from the query string, a form
 * body or a JSON body, plus the message to push. Parsing only; the edge
 * decides what each route needs.
 */

/** Parameters that may repeat (`keys=a&keys=b`) and that also accept comma-separated lists. */
const LIST_PARAMS: ReadonlySet<string> = new Set(['keys', 'mids', 'rooms']);
/** Single-valued parameters read from a JSON body; other fields are ignored. */
const SCALAR_PARAMS: ReadonlySet<string> = new Set(['operation', 'speed', 'limit', 'type', 'room', 'platform']);

const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class Params {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  /** The first value of a parameter (body before query, as Go's Request.Form orders them). */
  first(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  /** Every value of a list parameter, comma-separated entries split, blanks dropped. */
  list(name: string): string[] {
    const out: string[] = [];
    for (const value of this.values.get(name) ?? []) {
      for (const part of value.split(',')) {
        const trimmed = part.trim();
        if (trimmed !== '') out.push(trimmed);
      }
    }
    return out;
  }
}

export interface ParsedRequest {
  readonly params: Params;
  /** The `msg` param if present; otherwise the raw body when it is not parameters; otherwise empty. */
  readonly message: Buffer;
}

type BodyKind = 'form' | 'json' | 'raw';

function bodyKind(contentType: string | undefined): BodyKind {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media === 'application/x-www-form-urlencoded') return 'form';
  if (media === 'application/json' || /^application\/[^/]+\+json$/.test(media)) return 'json';
  return 'raw';
}

/**
 * Parses `query` and `body` into parameters and a message.
 *
 * goim callers put every parameter in the query and send the message as the
 * body, often with a form content type they never chose (`curl -d`, jQuery,
 * goim's own benchmarks). So when the query carries `operation`, the body is
 * the message whatever its content type; otherwise a form or JSON body holds
 * parameters and any other body is the message.
 */
export function parseRequest(query: string, contentType: string | undefined, body: Buffer): ParsedRequest {
  const values = new Map<string, string[]>();
  const queryPairs = parseUrlEncoded(query, 'HTTP_BAD_PARAM', 'query string');
  const goimStyle = queryPairs.some(([name]) => name === 'operation');
  const kind = goimStyle ? 'raw' : bodyKind(contentType);
  if (kind === 'form') addAll(values, parseUrlEncoded(decodeUtf8(body), 'HTTP_BAD_BODY', 'form body'));
  if (kind === 'json') addAll(values, parseJsonBody(body));
  addAll(values, queryPairs);
  const params = new Params(values);
  const msg = params.first('msg');
  const message = msg !== undefined ? Buffer.from(msg, 'utf8') : kind === 'raw' ? body : Buffer.alloc(0);
  return { params, message };
}

function addAll(values: Map<string, string[]>, pairs: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, value] of pairs) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
}

function decodeUtf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new ImError('HTTP_BAD_BODY', 'body is not valid UTF-8');
  }
}

/** application/x-www-form-urlencoded, strictly: a malformed escape is an error, not kept as text. */
function parseUrlEncoded(text: string, error: 'HTTP_BAD_PARAM' | 'HTTP_BAD_BODY', what: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      pairs.push([decodeComponent(name), decodeComponent(value)]);
    } catch {
      throw new ImError(error, `${what} has a malformed escape near "${pair.slice(0, 40)}"`);
    }
  }
  return pairs;
}

function decodeComponent(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

function parseJsonBody(body: Buffer): Array<[string, string]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(body));
  } catch (err) {
    if (err instanceof ImError) throw err;
    throw new ImError('HTTP_BAD_BODY', `malformed JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImError('HTTP_BAD_BODY', 'JSON body must be an object');
  }
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null) continue;
    if (name === 'msg') {
      pairs.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
    } else if (LIST_PARAMS.has(name)) {
      for (const item of Array.isArray(value) ? value : [value]) pairs.push([name, jsonScalar(name, item)]);
    } else if (SCALAR_PARAMS.has(name)) {
      pairs.push([name, jsonScalar(name, value)]);
    }
  }
  return pairs;
}

function jsonScalar(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    // JSON.parse has already rounded such a number: refuse it rather than address the wrong user or room.
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new ImError(name === 'mids' ? 'HTTP_BAD_MID' : 'HTTP_BAD_PARAM', `${name}: ${value} is beyond 2^53; send it as a string`);
    }
    return String(value);
  }
  throw new ImError('HTTP_BAD_PARAM', `${name} must be a string or a number${LIST_PARAMS.has(name) ? ', or an array of them' : ''}`);
}

// ---- validation of individual parameters -------------------------------------------------------

function parseIntInRange(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

export function requireOperation(params: Params): number {
  const text = params.first('operation');
  const op = parseIntInRange(text, 0, INT32_MAX);
  if (op === undefined) throw new ImError('HTTP_BAD_OPERATION', text === undefined ? 'operation is missing' : `got "${text}"`);
  return op;
}

/** An optional integer parameter in min..max, `fallback` when absent. */
export function optionalInt(params: Params, name: string, fallback: number, min: number, max: number): number {
  const text = params.first(name);
  if (text === undefined) return fallback;
  const n = parseIntInRange(text, min, max);
  if (n === undefined) throw new ImError('HTTP_BAD_PARAM', `${name} must be an integer in ${min}..${max}, got "${text}"`);
  return n;
}

export function requireKeys(params: Params): string[] {
  const keys = params.list('keys');
  if (keys.length === 0) throw new ImError('HTTP_NO_KEYS');
  return keys;
}

/** Mids as canonical decimal int64 strings ("007" becomes "7"). */
export function requireMids(params: Params): string[] {
  const mids = params.list('mids');
  if (mids.length === 0) throw new ImError('HTTP_NO_MIDS');
  return mids.map((text) => {
    const mid = /^-?\d+$/.test(text) ? BigInt(text) : undefined;
    if (mid === undefined || mid < INT64_MIN || mid > INT64_MAX) throw new ImError('HTTP_BAD_MID', `got "${text}"`);
    return mid.toString();
  });
}

export function requireRoomType(params: Params, roomTypes: readonly string[]): string {
  const type = params.first('type');
  if (type === undefined || !roomTypes.includes(type)) {
    throw new ImError('HTTP_BAD_ROOM_TYPE', `got ${type === undefined ? 'none' : `"${type}"`}; expected one of ${roomTypes.join(', ')}`);
  }
  return type;
}

export function requireRoom(params: Params): string {
  const room = params.first('room');
  if (room === undefined || room === '') throw new ImError('HTTP_BAD_ROOM');
  return room;
}

export function requireRooms(params: Params): string[] {
  const rooms = params.list('rooms');
  if (rooms.length === 0) throw new ImError('HTTP_BAD_ROOM', 'rooms must not be empty');
  return rooms;
}

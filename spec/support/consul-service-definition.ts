/**
 * Decoding and validating the body of `PUT /v1/agent/service/register` the
 * way the Consul agent does, for the fields the Consul double implements.
 * Consul decodes JSON keys case-insensitively and also takes snake_case
 * (`deregister_critical_service_after`); durations are Go duration strings
 * ("10s", "1m30s", "500ms") or numbers of nanoseconds. Failures are 400s
 * with the agent's texts: "Request decode failed: …" (the detail after it
 * is only close to Go's), "Missing service name", "Invalid service address",
 * "Invalid Service Meta: …", "Invalid check: …", "Status for checks must
 * 'passing', 'warning', 'critical'". A check of a kind the double does not
 * run (HTTP, TCP, script, alias…) is refused as an invalid check, naming it.
 */

export type CheckStatus = 'passing' | 'warning' | 'critical';

export type CheckKind =
  | { readonly type: 'ttl'; readonly ttlMs: number }
  | { readonly type: 'grpc'; readonly target: string; readonly useTls: boolean; readonly intervalMs: number; readonly timeoutMs: number | undefined };

export interface CheckDefinition {
  readonly checkId: string;
  readonly name: string;
  readonly notes: string;
  /** The status a new check starts with; Consul's default is critical. */
  readonly status: CheckStatus | undefined;
  readonly kind: CheckKind;
  readonly deregisterCriticalServiceAfterMs: number | undefined;
}

export interface ServiceDefinition {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly meta: Record<string, string>;
  readonly tags: string[];
  readonly enableTagOverride: boolean;
  readonly checks: CheckDefinition[];
}

/** A refusal, answered with this status and a text body. */
export class ConsulHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string): ConsulHttpError => new ConsulHttpError(400, message);

const DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const DURATION = /^[-+]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;

/** Go's time.ParseDuration, in milliseconds; undefined when Go would refuse the text. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * DURATION_UNIT_MS[unit];
  return text.startsWith('-') ? -ms : ms;
}

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One JSON object's fields, looked up as Consul's decoder does: any case, underscores ignored; null is absent. */
class Fields {
  constructor(
    private readonly object: JsonObject,
    private readonly where: string,
  ) {}

  has(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  raw(name: string): unknown {
    const wanted = name.toLowerCase();
    for (const [key, value] of Object.entries(this.object)) {
      if (key.replace(/_/g, '').toLowerCase() === wanted) return value === null ? undefined : value;
    }
    return undefined;
  }

  str(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined || typeof value === 'string') return value;
    throw this.wrongType(name, 'string');
  }

  bool(name: string): boolean | undefined {
    const value = this.raw(name);
    if (value === undefined || typeof value === 'boolean') return value;
    throw this.wrongType(name, 'bool');
  }

  int(name: string): number | undefined {
    const value = this.raw(name);
    if (value === undefined || (typeof value === 'number' && Number.isInteger(value))) return value;
    throw this.wrongType(name, 'int');
  }

  durationMs(name: string): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value === 'number') return value / 1e6;
    if (typeof value !== 'string') throw this.wrongType(name, 'time.Duration');
    const ms = parseGoDuration(value);
    if (ms === undefined) throw badRequest(`Request decode failed: time: invalid duration ${JSON.stringify(value)}`);
    return ms;
  }

  strings(name: string): string[] | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
    throw this.wrongType(name, '[]string');
  }

  stringMap(name: string): Record<string, string> | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (!isObject(value)) throw this.wrongType(name, 'map[string]string');
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw this.wrongType(`${name}.${key}`, 'string');
      out[key] = v;
    }
    return out;
  }

  private wrongType(name: string, goType: string): ConsulHttpError {
    return badRequest(`Request decode failed: json: cannot unmarshal ${JSON.stringify(this.raw(name))} into Go struct field ${this.where}.${name} of type ${goType}`);
  }
}

/** Check kinds Consul has that the double does not run. */
const UNSUPPORTED_CHECK_FIELDS = ['HTTP', 'TCP', 'UDP', 'Args', 'ScriptArgs', 'Script', 'H2PING', 'AliasNode', 'AliasService', 'OSService', 'DockerContainerID'];

const CHECK_FIELDS = ['CheckID', 'Name', 'Notes', 'Status', 'TTL', 'GRPC', 'GRPCUseTLS', 'Interval', 'Timeout', 'DeregisterCriticalServiceAfter'];

interface DecodedCheck {
  readonly fields: Fields;
  readonly empty: boolean;
  readonly checkId: string | undefined;
  readonly name: string | undefined;
  readonly notes: string | undefined;
  readonly status: string | undefined;
  readonly ttlMs: number;
  readonly grpc: string | undefined;
  readonly grpcUseTls: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number | undefined;
  readonly deregisterAfterMs: number | undefined;
}

function decodeCheck(value: unknown): DecodedCheck {
  if (!isObject(value)) throw badRequest('Request decode failed: json: cannot unmarshal check: not an object');
  const f = new Fields(value, 'CheckType');
  return {
    fields: f,
    empty: ![...CHECK_FIELDS, ...UNSUPPORTED_CHECK_FIELDS].some((name) => f.has(name)),
    checkId: f.str('CheckID'),
    name: f.str('Name'),
    notes: f.str('Notes'),
    status: f.str('Status'),
    ttlMs: f.durationMs('TTL') ?? 0,
    grpc: f.str('GRPC'),
    grpcUseTls: f.bool('GRPCUseTLS') ?? false,
    intervalMs: f.durationMs('Interval') ?? 0,
    timeoutMs: f.durationMs('Timeout'),
    deregisterAfterMs: f.durationMs('DeregisterCriticalServiceAfter'),
  };
}

/** Consul's CheckType.Validate, for the kinds the double runs. */
function checkProblem(c: DecodedCheck): string | undefined {
  const unsupported = UNSUPPORTED_CHECK_FIELDS.find((name) => c.fields.has(name));
  if (unsupported) return `the Consul double runs TTL and GRPC checks only, not ${unsupported}`;
  const intervalCheck = c.grpc !== undefined && c.grpc !== '';
  if (c.intervalMs > 0 && c.ttlMs > 0) return 'Interval and TTL cannot both be specified';
  if (intervalCheck && c.intervalMs <= 0) return 'Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks';
  if (!intervalCheck && c.ttlMs <= 0) return 'TTL must be > 0 for TTL checks';
  return undefined;
}

/** Consul's ValidateServiceMetadata for a typical service. */
function metaProblem(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > 64) return 'Node metadata cannot contain more than 64 key/value pairs';
  for (const [key, value] of entries) {
    const pair = `Couldn't load metadata pair ('${key}', '${value}'): `;
    if (key === '') return `${pair}Key cannot be blank`;
    if (!/^[a-zA-Z0-9_-]+$/.test(key)) return `${pair}Key contains invalid characters`;
    if (key.length > 128) return `${pair}Key is too long (limit: 128 characters)`;
    if (key.startsWith('consul-')) return `${pair}Key prefix 'consul-' is reserved for internal use`;
    if (value.length > 512) return `${pair}Value is too long (limit: 512 characters)`;
  }
  return undefined;
}

const ANY_ADDRESSES = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

/** The register body as the agent would take it, or the ConsulHttpError the agent would answer. */
export function decodeServiceDefinition(body: string): ServiceDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw badRequest(`Request decode failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(parsed)) throw badRequest('Request decode failed: json: cannot unmarshal into Go value of type structs.ServiceDefinition');
  const f = new Fields(parsed, 'ServiceDefinition');
  const name = f.str('Name') ?? '';
  const id = f.str('ID') || name;
  const address = f.str('Address') ?? '';
  const port = f.int('Port') ?? 0;
  const meta = f.stringMap('Meta') ?? {};
  const tags = f.strings('Tags') ?? [];
  const enableTagOverride = f.bool('EnableTagOverride') ?? false;
  const single = f.raw('Check');
  const list = f.raw('Checks');
  if (list !== undefined && !Array.isArray(list)) throw badRequest('Request decode failed: json: cannot unmarshal Checks: not an array');
  const decoded = [...(single === undefined ? [] : [decodeCheck(single)].filter((c) => !c.empty)), ...(list ?? []).map(decodeCheck)];

  if (name === '') throw badRequest('Missing service name');
  if (ANY_ADDRESSES.has(address)) throw badRequest('Invalid service address');
  const badMeta = metaProblem(meta);
  if (badMeta) throw badRequest(`Invalid Service Meta: ${badMeta}`);
  for (const c of decoded) {
    const problem = checkProblem(c);
    if (problem) throw badRequest(`Invalid check: ${problem}`);
  }
  for (const c of decoded) {
    if (c.status !== undefined && c.status !== '' && !isCheckStatus(c.status)) throw badRequest("Status for checks must 'passing', 'warning', 'critical'");
  }

  const checks = decoded.map((c, i): CheckDefinition => ({
    // Consul's defaults: service:<id>, numbered from 1 when the service has several checks.
    checkId: c.checkId || (decoded.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`),
    name: c.name || `Service '${name}' check`,
    notes: c.notes ?? '',
    status: c.status !== undefined && isCheckStatus(c.status) ? c.status : undefined,
    kind: c.grpc ? { type: 'grpc', target: c.grpc, useTls: c.grpcUseTls, intervalMs: c.intervalMs, timeoutMs: c.timeoutMs } : { type: 'ttl', ttlMs: c.ttlMs },
    deregisterCriticalServiceAfterMs: c.deregisterAfterMs !== undefined && c.deregisterAfterMs > 0 ? c.deregisterAfterMs : undefined,
  }));
  return { id, name, address, port, meta, tags, enableTagOverride, checks };
}

export function isCheckStatus(value: string): value is CheckStatus {
  return value === 'passing' || value === 'warning' || value === 'critical';
}

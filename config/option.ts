/**
 * A declarative option table: each option names its place in the typed
 * config, its environment variable, its default and its documentation, so
 * loading, validation and the README table all come from one source.
 */
export type OptionKind =
  | { type: 'port' }
  | { type: 'int'; min: number; max?: number }
  | { type: 'string'; pattern?: RegExp; hint?: string }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'hostPort' }
  | { type: 'hostPortList'; allowEmpty?: boolean }
  | { type: 'stringList'; pattern: RegExp; hint: string; allowEmpty?: boolean }
  | { type: 'number'; min: number; max: number }
  | { type: 'bool' };

export type OptionValue = string | number | boolean | string[];

export interface OptionSpec {
  /** Dotted path into the config object, e.g. `tcp.port`. */
  readonly path: string;
  readonly env: string;
  readonly kind: OptionKind;
  /** Default value, or a function of the already-resolved config (for derived defaults). */
  readonly default: OptionValue | ((resolved: ReadonlyMap<string, OptionValue>) => OptionValue);
  /** How the default reads in the docs when it is derived. */
  readonly defaultDoc?: string;
  readonly doc: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function isHostPort(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match) return false;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535;
}

/** Turns a raw value (from JSON or an env string) into a typed one, or explains why it can't. */
export function coerceOption(spec: OptionSpec, raw: unknown, source: string): { value: OptionValue } | { error: string } {
  const where = `${spec.path} (${source})`;
  const kind = spec.kind;
  switch (kind.type) {
    case 'port':
    case 'int': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n)) return { error: `${where}: expected an integer, got ${JSON.stringify(raw)}` };
      const min = kind.type === 'port' ? 0 : kind.min;
      const max = kind.type === 'port' ? 65535 : kind.max ?? Number.MAX_SAFE_INTEGER;
      if (n < min || n > max) return { error: `${where}: ${n} is outside ${min}..${max}` };
      return { value: n };
    }
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return { error: `${where}: expected a number, got ${JSON.stringify(raw)}` };
      if (n < kind.min || n > kind.max) return { error: `${where}: ${n} is outside ${kind.min}..${kind.max}` };
      return { value: n };
    }
    case 'stringList': {
      const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
      if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
        return { error: `${where}: expected a comma-separated list, got ${JSON.stringify(raw)}` };
      }
      const items = list as string[];
      const bad = items.filter((item) => !kind.pattern.test(item));
      if (bad.length > 0) return { error: `${where}: not ${kind.hint}: ${bad.join(', ')}` };
      if (items.length === 0 && !kind.allowEmpty) return { error: `${where}: at least one item is required` };
      return { value: items };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === '1') return { value: true };
      if (raw === 'false' || raw === '0') return { value: false };
      return { error: `${where}: expected true or false, got ${JSON.stringify(raw)}` };
    }
    case 'string': {
      if (typeof raw !== 'string') return { error: `${where}: expected a string, got ${JSON.stringify(raw)}` };
      if (kind.pattern && !kind.pattern.test(raw)) return { error: `${where}: ${JSON.stringify(raw)} is not ${kind.hint ?? `of the form ${kind.pattern}`}` };
      return { value: raw };
    }
    case 'enum': {
      if (typeof raw !== 'string' || !kind.values.includes(raw)) {
        return { error: `${where}: expected one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}` };
      }
      return { value: raw };
    }
    case 'hostPort': {
      if (typeof raw !== 'string' || !isHostPort(raw)) return { error: `${where}: expected host:port, got ${JSON.stringify(raw)}` };
      return { value: raw };
    }
    case 'hostPortList': {
      const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
      if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
        return { error: `${where}: expected a list of host:port, got ${JSON.stringify(raw)}` };
      }
      const items = list as string[];
      const bad = items.filter((item) => !isHostPort(item));
      if (bad.length > 0) return { error: `${where}: not host:port: ${bad.join(', ')}` };
      if (items.length === 0 && !kind.allowEmpty) return { error: `${where}: at least one host:port is required` };
      return { value: items };
    }
  }
}

export function describeDefault(spec: OptionSpec): string {
  if (spec.defaultDoc) return spec.defaultDoc;
  const value = spec.default;
  if (typeof value === 'function') return '(derived)';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

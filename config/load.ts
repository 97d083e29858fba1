import { readFileSync } from 'node:fs';
import { ImError } from '../system/errors';
import { OptionSpec, OptionValue, coerceOption } from './option';

export interface LoadSources {
  /** Path of a JSON file with nested options, e.g. `{"tcp": {"port": 4101}}`. */
  readonly file?: string;
  /** Usually process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Highest precedence: nested values given in code (tests, CLI flags). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Resolved values by dotted path. Precedence: overrides > env > file > default. */
export type ResolvedOptions = ReadonlyMap<string, OptionValue>;

function lookup(tree: unknown, path: string): unknown {
  let node: unknown = tree;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function collectPaths(tree: unknown, prefix: string, out: string[]): void {
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    out.push(prefix);
    return;
  }
  for (const [k, v] of Object.entries(tree as Record<string, unknown>)) collectPaths(v, prefix ? `${prefix}.${k}` : k, out);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ImError('CONFIG_FILE', `${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ImError('CONFIG_FILE', `${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Resolves every option and reports all problems at once, so an operator
 * fixes a bad config in one pass instead of one error per restart.
 */
export function resolveOptions(specs: readonly OptionSpec[], sources: LoadSources): ResolvedOptions {
  const fileTree = sources.file ? readConfigFile(sources.file) : undefined;
  const env = sources.env ?? {};
  const errors: string[] = [];
  const known = new Set(specs.map((s) => s.path));
  for (const [tree, label] of [[fileTree, sources.file ?? 'file'], [sources.overrides, 'overrides']] as const) {
    if (tree === undefined) continue;
    const paths: string[] = [];
    collectPaths(tree, '', paths);
    for (const p of paths) if (!known.has(p)) errors.push(`${p} (${label}): unknown option`);
  }

  const resolved = new Map<string, OptionValue>();
  const derived: OptionSpec[] = [];
  for (const spec of specs) {
    const fromOverride = lookup(sources.overrides, spec.path);
    const fromEnv = env[spec.env];
    const fromFile = lookup(fileTree, spec.path);
    const [raw, source] =
      fromOverride !== undefined ? [fromOverride, 'override']
        : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, spec.env]
          : fromFile !== undefined ? [fromFile, sources.file ?? 'file']
            : [undefined, 'default'];
    if (raw === undefined) {
      if (typeof spec.default === 'function') derived.push(spec);
      else resolved.set(spec.path, spec.default);
      continue;
    }
    const result = coerceOption(spec, raw, source);
    if ('error' in result) errors.push(result.error);
    else resolved.set(spec.path, result.value);
  }
  for (const spec of derived) {
    if (typeof spec.default === 'function') resolved.set(spec.path, spec.default(resolved));
  }
  if (errors.length > 0) throw new ImError('CONFIG_INVALID', errors.join('; '));
  return resolved;
}

/** Typed accessors used by the config builders; a missing path is a programming error. */
export class OptionReader {
  constructor(private readonly values: ResolvedOptions) {}

  private get(path: string): OptionValue {
    const v = this.values.get(path);
    if (v === undefined) throw new Error(`option ${path} is not declared`);
    return v;
  }

  num(path: string): number {
    const v = this.get(path);
    if (typeof v !== 'number') throw new Error(`option ${path} is not a number`);
    return v;
  }

  str(path: string): string {
    const v = this.get(path);
    if (typeof v !== 'string') throw new Error(`option ${path} is not a string`);
    return v;
  }

  bool(path: string): boolean {
    const v = this.get(path);
    if (typeof v !== 'boolean') throw new Error(`option ${path} is not a boolean`);
    return v;
  }

  list(path: string): string[] {
    const v = this.get(path);
    if (!Array.isArray(v)) throw new Error(`option ${path} is not a list`);
    return [...v];
  }
}

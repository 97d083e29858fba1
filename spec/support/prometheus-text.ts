/**
 * A reader of the Prometheus text exposition format (version 0.0.4), for
 * specs: samples with their labels, and the TYPE each metric declares.
 * Strict: a line it cannot read throws, so a malformed exposition fails
 * the spec that reads it.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class Exposition {
  private constructor(readonly samples: readonly Sample[], readonly types: ReadonlyMap<string, string>) {}

  static parse(text: string): Exposition {
    const samples: Sample[] = [];
    const types = new Map<string, string>();
    for (const [i, line] of text.split('\n').entries()) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
        if (type) {
          if (types.has(type[1])) throw new Error(`line ${i + 1}: a second TYPE for ${type[1]}`);
          types.set(type[1], type[2]);
        } else if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) {
          throw new Error(`line ${i + 1}: not a HELP or TYPE line: ${line}`);
        }
        continue;
      }
      samples.push(parseSample(line, i + 1));
    }
    return new Exposition(samples, types);
  }

  /** The value of the one sample of `name` whose labels are exactly `labels`; 0 when there is none. */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number {
    const found = this.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0]?.value ?? 0;
  }

  /** Sum over the samples of `name` whose labels include `where`. */
  sum(name: string, where: Readonly<Record<string, string>> = {}): number {
    let total = 0;
    for (const s of this.samples) {
      if (s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function parseSample(line: string, lineNo: number): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) throw new Error(`line ${lineNo}: no metric name: ${line}`);
  const name = head[1];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
      if (!label) throw new Error(`line ${lineNo}: bad label at ${at}: ${line}`);
      at += label[0].length;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) throw new Error(`line ${lineNo}: unterminated label value: ${line}`);
        at++;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = line[at++];
          value += escaped === 'n' ? '\n' : escaped;
        } else {
          value += c;
        }
      }
      if (Object.hasOwn(labels, label[1])) throw new Error(`line ${lineNo}: label ${label[1]} twice: ${line}`);
      labels[label[1]] = value;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new Error(`line ${lineNo}: expected , or } at ${at}: ${line}`);
    }
    at++;
  }
  const rest = line.slice(at);
  const value = /^ (\S+)( -?\d+)?$/.exec(rest);
  if (!value) throw new Error(`line ${lineNo}: no value: ${line}`);
  // Prometheus reads values as Go's ParseFloat does: NaN and Inf in any case (prom-client writes Nan).
  const text = value[1].toLowerCase();
  const number = text === '+inf' || text === 'inf' ? Infinity : text === '-inf' ? -Infinity : text === 'nan' ? NaN : Number(value[1]);
  if (Number.isNaN(number) && text !== 'nan') throw new Error(`line ${lineNo}: bad value ${value[1]}: ${line}`);
  return { name, labels, value: number };
}

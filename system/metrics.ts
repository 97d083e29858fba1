/**
 * Counters and gauges kept in memory, labelled, cheap to bump on hot paths
 * (one Map lookup). The admin endpoint renders them; tests read them.
 */
export type Labels = Readonly<Record<string, string>>;

interface Series {
  readonly name: string;
  readonly labels: Labels;
  value: number;
}

function seriesKey(name: string, labels: Labels | undefined): string {
  if (!labels) return name;
  const keys = Object.keys(labels);
  if (keys.length === 0) return name;
  keys.sort();
  return `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}

export class Metrics {
  private readonly counters = new Map<string, Series>();
  private readonly gauges = new Map<string, Series>();

  inc(name: string, labels?: Labels, by = 1): void {
    this.bump(this.counters, name, labels, by);
  }

  gauge(name: string, labels?: Labels, by = 1): void {
    this.bump(this.gauges, name, labels, by);
  }

  setGauge(name: string, labels: Labels | undefined, value: number): void {
    const key = seriesKey(name, labels);
    const s = this.gauges.get(key);
    if (s) s.value = value;
    else this.gauges.set(key, { name, labels: labels ?? {}, value });
  }

  /** Current value of one series (0 when it was never touched). */
  get(name: string, labels?: Labels): number {
    const key = seriesKey(name, labels);
    return this.counters.get(key)?.value ?? this.gauges.get(key)?.value ?? 0;
  }

  /** Sum over every label combination of one metric. */
  total(name: string): number {
    let sum = 0;
    for (const s of this.counters.values()) if (s.name === name) sum += s.value;
    for (const s of this.gauges.values()) if (s.name === name) sum += s.value;
    return sum;
  }

  snapshot(): { counters: Record<string, number>; gauges: Record<string, number> } {
    const counters: Record<string, number> = {};
    const gauges: Record<string, number> = {};
    for (const [k, s] of this.counters) counters[k] = s.value;
    for (const [k, s] of this.gauges) gauges[k] = s.value;
    return { counters, gauges };
  }

  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';

  async exposition(): Promise<string> {
    return this.render();
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    const emit = (series: Map<string, Series>, type: string): void => {
      const typed = new Set<string>();
      for (const [key, s] of [...series].sort(([a], [b]) => a.localeCompare(b))) {
        if (!typed.has(s.name)) {
          lines.push(`# TYPE ${s.name} ${type}`);
          typed.add(s.name);
        }
        lines.push(`${key} ${s.value}`);
      }
    };
    emit(this.counters, 'counter');
    emit(this.gauges, 'gauge');
    return lines.join('\n') + '\n';
  }

  private bump(map: Map<string, Series>, name: string, labels: Labels | undefined, by: number): void {
    const key = seriesKey(name, labels);
    const s = map.get(key);
    if (s) s.value += by;
    else map.set(key, { name, labels: labels ?? {}, value: by });
  }
}

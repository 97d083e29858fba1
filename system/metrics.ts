import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metric } from 'prom-client';
import {
  AddArgs, catalogueEntries, CounterName, definitionOf, GaugeName, HistogramName, LabelsOf, MetricDef, MetricName, PickArgs,
} from './metrics-catalogue';

export type Labels = Readonly<Record<string, string>>;
/** The kind of node a registry serves: it exports the catalogue's series of that kind and those of both. */
export type NodeKind = 'cloud' | 'logic';

/** One counter series, resolved once: bumping it is an addition, with no lookup and no label handling. */
export interface CounterHandle {
  readonly value: number;
  inc(by?: number): void;
}

/** One gauge series, resolved once. */
export interface GaugeHandle extends CounterHandle {
  set(value: number): void;
}

/** One histogram series, resolved once. */
export interface HistogramHandle {
  /** Observations so far. */
  readonly count: number;
  readonly sum: number;
  observe(value: number): void;
}

class Series implements GaugeHandle {
  value = 0;

  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }

  set(value: number): void {
    this.value = value;
  }
}

class HistogramSeries implements HistogramHandle {
  count = 0;
  sum = 0;

  constructor(readonly labels: Labels, private readonly child: { observe(value: number): void }) {}

  observe(value: number): void {
    this.count++;
    this.sum += value;
    this.child.observe(value);
  }
}

interface ScalarFamily {
  readonly type: 'counter' | 'gauge';
  readonly name: string;
  readonly def: MetricDef;
  readonly series: Map<string, Series>;
}

interface HistogramFamily {
  readonly type: 'histogram';
  readonly name: string;
  readonly def: MetricDef;
  readonly series: Map<string, HistogramSeries>;
  readonly metric: Histogram<string>;
}

type Family = ScalarFamily | HistogramFamily;

/**
 * Default metrics that walk every socket or descriptor of the process at
 * each scrape (O(connections): a node holding 19,000 clients would stall
 * for them); the node's own gauges count its connections instead.
 */
const SKIPPED_DEFAULT_METRICS = new Set([
  'process_open_fds',
  'nodejs_active_handles', 'nodejs_active_handles_total',
  'nodejs_active_requests', 'nodejs_active_requests_total',
  'nodejs_active_resources', 'nodejs_active_resources_total',
]);

let processMetrics: readonly Metric<string>[] | null = null;

/**
 * prom-client's default metrics (event-loop lag, memory, CPU, GC), made
 * once per process and registered in every node's registry. They describe
 * the process, which two nodes may share (`im-cloud start`), and prom-client
 * never stops the monitors it starts: one set per node would leave a
 * 10 ms event-loop timer and a GC observer behind for every node a test
 * suite starts. The lag gauges are reset by each scrape of any node.
 */
function defaultMetrics(): readonly Metric<string>[] {
  if (processMetrics === null) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    processMetrics = registry.getMetricsAsArray()
      .filter((m) => !SKIPPED_DEFAULT_METRICS.has(m.name))
      .flatMap((m) => registry.getSingleMetric(m.name) ?? []);
  }
  return processMetrics;
}

function countKeys(labels: Labels): number {
  let n = 0;
  for (const key in labels) if (Object.hasOwn(labels, key)) n++;
  return n;
}

function describe(labels: Labels | undefined): string {
  return labels === undefined ? 'no labels' : `{${Object.keys(labels).sort().join(',')}}`;
}

/**
 * The series' key within its family: its label values in the declared
 * order. Checks on every call that the labels are exactly the declared ones
 * (a count and a lookup per label, no allocation for one label).
 */
function keyOf(family: Family, labels: Labels | undefined): string {
  const names = family.def.labels;
  const given = labels === undefined ? 0 : countKeys(labels);
  if (given !== names.length || (labels === undefined && names.length > 0)) throw labelError(family, labels);
  if (labels === undefined || names.length === 0) return '';
  let key = '';
  for (let i = 0; i < names.length; i++) {
    const value = labels[names[i]];
    if (typeof value !== 'string') throw labelError(family, labels);
    key = i === 0 ? value : `${key}\u0001${value}`;
  }
  return key;
}

function labelError(family: Family, labels: Labels | undefined): Error {
  return new Error(`metric ${family.name} takes labels {${family.def.labels.join(',')}}, got ${describe(labels)}`);
}

/**
 * A node's metrics: counters, gauges and histograms declared in the
 * catalogue, on a prom-client registry of the node's own (tests run several
 * nodes in one process, so never prom-client's global one).
 *
 * The values live here, as plain numbers: a bump by name is two Map
 * lookups and an addition (a series with two labels or more joins their
 * values into its key); through a handle resolved once, only the addition.
 * `get`/`total` read them synchronously. The registry's
 * counters and gauges copy them in `collect()`, at scrape. Histograms
 * observe into prom-client directly (label validation and a hash each):
 * they are observed once per call between nodes, per push request, or per
 * op-9 frame built, never per recipient.
 *
 * Series copied from elsewhere (the actor runtime's totals by kind) are
 * set by collectors (`onCollect`), run at each scrape and by `collect()`.
 */
export class Metrics {
  readonly contentType: string;
  private readonly registry = new Registry();
  private readonly families = new Map<string, Family>();
  private readonly collectors: Array<() => void> = [];

  /** `node`: which series to export; none exports every node kind's (unit tests). */
  constructor(readonly node?: NodeKind) {
    this.contentType = this.registry.contentType;
    for (const [name, def] of catalogueEntries()) {
      if (node !== undefined && def.node !== 'both' && def.node !== node) continue;
      this.families.set(name, this.register(name, def));
    }
    for (const metric of defaultMetrics()) this.registry.registerMetric(metric);
  }

  inc<N extends CounterName>(name: N, ...[labels, by = 1]: AddArgs<N>): void {
    this.scalar(name, 'counter', labels).value += by;
  }

  /** Adds `by` (which may be negative) to a gauge. */
  gauge<N extends GaugeName>(name: N, ...[labels, by = 1]: AddArgs<N>): void {
    this.scalar(name, 'gauge', labels).value += by;
  }

  setGauge<N extends GaugeName>(name: N, labels: LabelsOf<N>, value: number): void {
    this.scalar(name, 'gauge', labels).value = value;
  }

  /** Sets a counter to a total kept elsewhere (it must never go down): for collectors. */
  setCounter<N extends CounterName>(name: N, labels: LabelsOf<N>, value: number): void {
    this.scalar(name, 'counter', labels).value = value;
  }

  observe<N extends HistogramName>(name: N, labels: LabelsOf<N>, value: number): void {
    this.histogramSeries(name, labels).observe(value);
  }

  /** One counter series to bump on a hot path. */
  counterOf<N extends CounterName>(name: N, ...[labels]: PickArgs<N>): CounterHandle {
    return this.scalar(name, 'counter', labels);
  }

  gaugeOf<N extends GaugeName>(name: N, ...[labels]: PickArgs<N>): GaugeHandle {
    return this.scalar(name, 'gauge', labels);
  }

  histogramOf<N extends HistogramName>(name: N, ...[labels]: PickArgs<N>): HistogramHandle {
    return this.histogramSeries(name, labels);
  }

  /** Current value of one series (a histogram's: its observations); 0 when it was never touched. */
  get<N extends MetricName>(name: N, ...[labels]: PickArgs<N>): number {
    const family = this.family(name);
    const series = family.series.get(keyOf(family, labels));
    if (series === undefined) return 0;
    return series instanceof HistogramSeries ? series.count : series.value;
  }

  /** Sum over every label combination of one metric (a histogram's: its observations). */
  total(name: MetricName): number {
    let sum = 0;
    for (const series of this.family(name).series.values()) sum += series instanceof HistogramSeries ? series.count : series.value;
    return sum;
  }

  snapshot(): { counters: Record<string, number>; gauges: Record<string, number>; histograms: Record<string, number> } {
    const counters: Record<string, number> = {};
    const gauges: Record<string, number> = {};
    const histograms: Record<string, number> = {};
    for (const family of this.families.values()) {
      const into = family.type === 'counter' ? counters : family.type === 'gauge' ? gauges : histograms;
      for (const series of family.series.values()) {
        const keys = Object.keys(series.labels).sort();
        const name = keys.length === 0 ? family.name : `${family.name}{${keys.map((k) => `${k}="${series.labels[k]}"`).join(',')}}`;
        into[name] = series instanceof HistogramSeries ? series.count : series.value;
      }
    }
    return { counters, gauges, histograms };
  }

  /** Runs `collector` at every scrape (and `collect()`), before the values are read. */
  onCollect(collector: () => void): void {
    this.collectors.push(collector);
  }

  /** Brings the series copied from elsewhere up to date. */
  collect(): void {
    for (const collector of this.collectors) collector();
  }

  /** Prometheus text exposition of every series of this node, and the process's default metrics. */
  async exposition(): Promise<string> {
    this.collect();
    return this.registry.metrics();
  }

  private family(name: string): Family {
    const family = this.families.get(name);
    if (family) return family;
    const def = definitionOf(name);
    if (def === undefined) throw new Error(`metric ${name} is not declared in the catalogue`);
    throw new Error(`metric ${name} belongs to ${def.node} nodes, not to a ${this.node ?? '?'} node`);
  }

  private scalar(name: string, type: 'counter' | 'gauge', labels: Labels | undefined): Series {
    const family = this.family(name);
    if (family.type !== type) throw new Error(`metric ${name} is a ${family.type}, not a ${type}`);
    const key = keyOf(family, labels);
    let series = family.series.get(key);
    if (series === undefined) {
      series = new Series(labels === undefined ? {} : { ...labels });
      family.series.set(key, series);
    }
    return series;
  }

  private histogramSeries(name: string, labels: Labels | undefined): HistogramSeries {
    const family = this.family(name);
    if (family.type !== 'histogram') throw new Error(`metric ${name} is a ${family.type}, not a histogram`);
    const key = keyOf(family, labels);
    let series = family.series.get(key);
    if (series === undefined) {
      const own = labels === undefined ? {} : { ...labels };
      series = new HistogramSeries(own, family.metric.labels(own));
      family.series.set(key, series);
    }
    return series;
  }

  private register(name: string, def: MetricDef): Family {
    const common = { name, help: def.help, labelNames: def.labels, registers: [this.registry] };
    switch (def.type) {
      case 'counter': {
        const series = new Map<string, Series>();
        new Counter({
          ...common,
          collect() {
            this.reset();
            for (const s of series.values()) this.inc(s.labels, s.value);
          },
        });
        return { type: 'counter', name, def, series };
      }
      case 'gauge': {
        const series = new Map<string, Series>();
        new Gauge({
          ...common,
          collect() {
            this.reset();
            for (const s of series.values()) this.set(s.labels, s.value);
          },
        });
        return { type: 'gauge', name, def, series };
      }
      case 'histogram': {
        const metric = new Histogram({ ...common, ...(def.buckets ? { buckets: [...def.buckets] } : {}) });
        return { type: 'histogram', name, def, series: new Map(), metric };
      }
    }
  }
}

// A small Prometheus text-format registry: counters, gauges and summaries with labels, and a histogram.
// Hand-written because the needs are tiny and the edge box counts every megabyte. The edge agent and the
// collector both expose their metrics through it.

export type Labels = Record<string, string | number>;

const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'summary' | 'histogram',
  ) {}
  abstract lines(): string[];
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  /** @param zeroWhenEmpty expose `name 0` until the first inc (otherwise no sample at all). */
  constructor(
    name: string,
    help: string,
    private readonly zeroWhenEmpty = false,
  ) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  total(): number {
    let t = 0;
    for (const v of this.values.values()) t += v;
    return t;
  }
  lines(): string[] {
    if (!this.values.size && this.zeroWhenEmpty) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, number>();
  private collector?: () => Iterable<[Labels, number]>;
  /** Samples of an asynchronous collector, refreshed by Registry.collect() before each render. */
  private collected: [Labels, number][] = [];
  constructor(
    name: string,
    help: string,
    collect?: () => Iterable<[Labels, number]>,
    private readonly asyncCollector?: () => Promise<Iterable<[Labels, number]>>,
  ) {
    super(name, help, 'gauge');
    this.collector = collect;
  }
  async refresh(): Promise<void> {
    if (this.asyncCollector) this.collected = [...(await this.asyncCollector())];
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  delete(labels: Labels): void {
    this.values.delete(labelKey(labels));
  }
  lines(): string[] {
    const out = [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
    const samples = this.collector ? [...this.collector(), ...this.collected] : this.collected;
    for (const [l, v] of samples) out.push(`${this.name}${Object.keys(l).length ? `{${labelKey(l)}}` : ''} ${v}`);
    return out;
  }
}

/** Quantiles over a sliding window of the last `window` observations. */
export class Summary extends Metric {
  private readonly windows = new Map<string, { obs: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    private readonly window = 1024,
  ) {
    super(name, help, 'summary');
  }
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let w = this.windows.get(k);
    if (!w) this.windows.set(k, (w = { obs: [], sum: 0, count: 0 }));
    w.obs.push(value);
    if (w.obs.length > this.window) w.obs.shift();
    w.sum += value;
    w.count++;
  }
  quantile(q: number, labels: Labels = {}): number {
    const w = this.windows.get(labelKey(labels));
    if (!w || !w.obs.length) return NaN;
    const sorted = [...w.obs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const [k, w] of this.windows) {
      const sorted = [...w.obs].sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99]) {
        const v = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
        out.push(`${this.name}{${k ? `${k},` : ''}quantile="${q}"} ${v}`);
      }
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${w.sum}`, `${this.name}_count${k ? `{${k}}` : ''} ${w.count}`);
    }
    return out;
  }
}

/** Cumulative buckets plus a ring of recent observations for quantiles in status pages. */
export class Histogram extends Metric {
  private static readonly RECENT = 4096;
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  private readonly recent: number[] = [];
  private next = 0;
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
    if (this.recent.length < Histogram.RECENT) this.recent.push(value);
    else this.recent[this.next++ % Histogram.RECENT] = value;
  }
  /** Quantile of the recent observations; 0 before the first. */
  quantile(q: number): number {
    if (!this.recent.length) return 0;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
  lines(): string[] {
    const out = this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`);
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return out;
  }
}

export interface RegistryOptions {
  /** Counters expose `name 0` until their first inc (the collector's choice; the edge omits them). */
  zeroCounters?: boolean;
}

export class Registry {
  private readonly metrics: Metric[] = [];
  constructor(private readonly options: RegistryOptions = {}) {}
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help, this.options.zeroCounters));
  }
  gauge(name: string, help: string, collect?: () => Iterable<[Labels, number]>): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  /** A gauge whose samples come from an asynchronous source (a database); read by renderAsync(). */
  asyncGauge(name: string, help: string, collect: () => Promise<Iterable<[Labels, number]>>): Gauge {
    return this.add(new Gauge(name, help, undefined, collect));
  }
  summary(name: string, help: string, window?: number): Summary {
    return this.add(new Summary(name, help, window));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join('\n') + '\n';
  }
  /** render() after refreshing every asynchronous gauge (a failing source keeps its previous samples). */
  async renderAsync(): Promise<string> {
    await Promise.all(this.metrics.map((m) => (m instanceof Gauge ? m.refresh().catch(() => undefined) : undefined)));
    return this.render();
  }
}

export const PROM_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

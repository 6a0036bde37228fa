// A minimal Prometheus text-format registry (counters with labels, a histogram, gauges computed on scrape).

type Labels = Record<string, string>;
const labelText = (l: Labels) => {
  const keys = Object.keys(l);
  if (!keys.length) return '';
  return `{${keys.map((k) => `${k}="${String(l[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
};

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  total(): number {
    let n = 0;
    for (const v of this.values.values()) n += v.value;
    return n;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (!this.values.size) lines.push(`${this.name} 0`);
    for (const v of this.values.values()) lines.push(`${this.name}${labelText(v.labels)} ${v.value}`);
    return lines.join('\n');
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  private readonly recent: number[] = []; // ring of recent observations for quantiles in the JSON status
  private next = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
    if (this.recent.length < 4096) this.recent.push(v);
    else this.recent[this.next++ % 4096] = v;
  }
  quantile(q: number): number {
    if (!this.recent.length) return 0;
    const s = [...this.recent].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => { labels?: Labels; value: number }[]) {}
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const v of this.read()) lines.push(`${this.name}${labelText(v.labels ?? {})} ${v.value}`);
    return lines.join('\n');
  }
}

export class CollectorMetrics {
  readonly batchesIn = new Counter('yiwang_collector_batches_total', 'Batches received, by outcome (stored, duplicate, rejected)');
  readonly readingsIn = new Counter('yiwang_collector_readings_total', 'Readings stored');
  readonly eventsIn = new Counter('yiwang_collector_events_total', 'Events stored');
  readonly dedupHits = new Counter('yiwang_collector_dedup_hits_total', 'Items recognised as already committed (redelivery)');
  readonly rejected = new Counter('yiwang_collector_rejected_payloads_total', 'Payloads rejected, by reason');
  readonly refusedItems = new Counter('yiwang_collector_refused_items_total', 'Items refused inside accepted batches, by reason');
  readonly authFailures = new Counter('yiwang_collector_auth_failures_total', 'Refused MQTT connects, publishes and subscriptions, by reason');
  readonly pointsWritten = new Counter('yiwang_collector_points_written_total', 'Raw points written to storage');
  readonly commits = new Counter('yiwang_collector_commits_total', 'Storage transactions committed');
  readonly ackLatency = new Histogram('yiwang_collector_ack_latency_seconds', 'Time from batch arrival to its ack', [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]);
  readonly influxWritten = new Counter('yiwang_collector_influx_lines_total', 'Lines flushed to InfluxDB');
  readonly influxFailures = new Counter('yiwang_collector_influx_failures_total', 'Failed InfluxDB flushes (retried)');
  private readonly gauges: Gauge[] = [];
  private lastRate = { at: Date.now(), points: 0, rate: 0 };

  addGauge(g: Gauge): void {
    this.gauges.push(g);
  }

  /** Points per second since the previous call (at most once a second). */
  writeRate(): number {
    const now = Date.now();
    const dt = (now - this.lastRate.at) / 1000;
    if (dt >= 1) {
      const p = this.pointsWritten.total();
      this.lastRate = { at: now, points: p, rate: (p - this.lastRate.points) / dt };
    }
    return this.lastRate.rate;
  }

  render(): string {
    const parts = [
      this.batchesIn, this.readingsIn, this.eventsIn, this.dedupHits, this.rejected, this.refusedItems, this.authFailures,
      this.pointsWritten, this.commits, this.ackLatency, this.influxWritten, this.influxFailures,
    ].map((m) => m.render());
    parts.push(new Gauge('yiwang_collector_storage_write_rate', 'Raw points written per second (recent)', () => [{ value: this.writeRate() }]).render());
    for (const g of this.gauges) parts.push(g.render());
    return parts.join('\n') + '\n';
  }
}

// The collector's own metrics (served at /metrics), defined on the shared Prometheus registry.
import { Registry } from '../core/prom.js';

export class CollectorMetrics extends Registry {
  readonly batchesIn = this.counter('yiwang_collector_batches_total', 'Batches received, by outcome (stored, duplicate, rejected)');
  readonly readingsIn = this.counter('yiwang_collector_readings_total', 'Readings stored');
  readonly eventsIn = this.counter('yiwang_collector_events_total', 'Events stored');
  readonly dedupHits = this.counter('yiwang_collector_dedup_hits_total', 'Items recognised as already committed (redelivery)');
  readonly rejected = this.counter('yiwang_collector_rejected_payloads_total', 'Payloads rejected, by reason');
  readonly quarantined = this.counter('yiwang_collector_quarantined_items_total', 'Items kept aside in quarantine instead of stored (bad clock, not the edge\'s device, ...), by reason');
  readonly authFailures = this.counter('yiwang_collector_auth_failures_total', 'Refused MQTT connects, publishes and subscriptions, by reason');
  readonly pointsWritten = this.counter('yiwang_collector_points_written_total', 'Raw points written to storage');
  readonly commits = this.counter('yiwang_collector_commits_total', 'Storage transactions committed');
  readonly ackLatency = this.histogram('yiwang_collector_ack_latency_seconds', 'Time from batch arrival to its ack', [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]);
  readonly influxWritten = this.counter('yiwang_collector_influx_lines_total', 'Lines flushed to InfluxDB');
  readonly influxFailures = this.counter('yiwang_collector_influx_failures_total', 'Failed InfluxDB flushes (retried)');
  readonly configPushes = this.counter('yiwang_collector_config_pushes_total', 'Edge configurations sealed and published to their edges');
  readonly diagnostics = this.counter('yiwang_collector_diagnostics_total', 'Remote diagnostics sent to edges, by kind');
  private lastRate = { at: Date.now(), points: 0, rate: 0 };

  constructor() {
    super({ zeroCounters: true });
    // Registered after the fields above so the exposition keeps its order; gauges added at startup follow.
    this.gauge('yiwang_collector_storage_write_rate', 'Raw points written per second (recent)', () => [[{}, this.writeRate()]]);
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
}

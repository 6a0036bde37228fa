// InfluxDB scale path: stored readings become line protocol in a durable outbox (written in the ingest
// transaction, see influx-line.ts for the line format), and this exporter sends the outbox through
// @influxdata/influxdb-client's v2 write API, deleting rows only after flush() resolved. A database outage
// delays, never loses, data. Every collector node runs an exporter; in a cluster they share the outbox.
import { InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { Logger } from '../../core/log.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore } from './types.js';

export interface InfluxSettings {
  url: string;
  token: string;
  org: string;
  bucket: string;
  flushIntervalMs: number;
  batchLines: number;
}

export class InfluxExporter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  private readonly client: InfluxDB;

  constructor(
    private readonly store: CollectorStore,
    private readonly cfg: InfluxSettings,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {
    // The client library logs failed writes to the console itself; route that into our logger at debug level
    // (we log one warning per failed flush ourselves).
    setLogger({
      error: (message, err) => log.debug({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
      warn: (message, err) => log.debug({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
    });
    this.client = new InfluxDB({ url: cfg.url, token: cfg.token || undefined, timeout: 10_000 });
  }

  start(): void {
    this.schedule(this.cfg.flushIntervalMs);
  }

  pending(): Promise<{ rows: number; lines: number }> {
    return this.store.outbox.pending();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.flushOnce()
        .then((more) => this.schedule(more ? 0 : this.cfg.flushIntervalMs))
        .catch(() => {
          // Back off exponentially while the database is unreachable (max 30 s); rows stay in the outbox.
          this.schedule(Math.min(30_000, this.cfg.flushIntervalMs * 2 ** Math.min(this.failures, 10)));
        });
    }, ms);
  }

  /** Sends the oldest outbox rows (up to batchLines lines). Resolves true when more rows are waiting. */
  async flushOnce(): Promise<boolean> {
    const out = await this.store.outbox.process(this.cfg.batchLines, async (lines) => {
      const api = this.client.getWriteApi(this.cfg.org, this.cfg.bucket, 'ns', {
        batchSize: lines.length + 1,
        maxBufferLines: lines.length + 1,
        flushInterval: 0,
        maxRetries: 0, // our outbox is the retry mechanism
        writeFailed: () => undefined, // failures surface through flush()'s rejection below
      });
      try {
        api.writeRecords(lines);
        await api.flush();
      } catch (err) {
        this.failures++;
        this.metrics.influxFailures.inc();
        this.log.warn({ err: (err as Error).message, pendingLines: lines.length, attempt: this.failures }, 'influx flush failed; will retry');
        api.dispose();
        throw err;
      }
      await api.close().catch(() => undefined);
    });
    if (out.lines) {
      this.failures = 0;
      this.metrics.influxWritten.inc({}, out.lines);
    }
    return out.more;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

// InfluxDB scale path: readings become line protocol in a durable outbox (same transaction as the ingest),
// and an exporter flushes the outbox through @influxdata/influxdb-client's v2 write API, deleting rows only
// after flush() resolved. A database outage therefore delays, never loses, data.
import { InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { Reading } from '../../schema/types.js';
import type { Logger } from '../../core/log.js';
import type { CollectorMetrics } from '../metrics.js';
import type { Store } from './index.js';

export interface InfluxSettings {
  url: string;
  token: string;
  org: string;
  bucket: string;
  flushIntervalMs: number;
  batchLines: number;
}

const escMeasurement = (s: string) => s.replace(/[, \\]/g, (c) => `\\${c}`);
const escTag = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const escString = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/**
 * One measurement per metric; tags device_id, edge_id, site (if known), unit (if any); fields `value`
 * (float, boolean or string as the reading carries it) and `quality` (integer 0 good, 1 uncertain, 2 bad);
 * timestamp in ms. In VictoriaMetrics this shows up as `<metric>_value{device_id=...}` and `<metric>_quality`.
 */
export function lineFor(r: Reading, ctx: { edgeId: string; site?: string }): string {
  let tags = `,device_id=${escTag(r.deviceId)},edge_id=${escTag(ctx.edgeId)}`;
  if (ctx.site) tags += `,site=${escTag(ctx.site)}`;
  if (r.unit) tags += `,unit=${escTag(r.unit)}`;
  let value: string | undefined;
  if (r.number != null) value = String(r.number);
  else if (r.boolean != null) value = r.boolean ? 'true' : 'false';
  else if (r.text != null) value = escString(r.text);
  const fields = `${value !== undefined ? `value=${value},` : ''}quality=${r.quality ?? 0}i`;
  return `${escMeasurement(r.metric)}${tags} ${fields} ${r.ts}`;
}

export class InfluxExporter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  private readonly client: InfluxDB;

  constructor(
    private readonly store: Store,
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

  pending(): { rows: number; lines: number } {
    const r = this.store.db.prepare<[], { rows: number; lines: number | null }>('SELECT count(*) AS rows, sum(n) AS lines FROM influx_outbox').get()!;
    return { rows: r.rows, lines: r.lines ?? 0 };
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
    const rows = this.store.db
      .prepare<[], { id: number; lines: string; n: number }>('SELECT id, lines, n FROM influx_outbox ORDER BY id LIMIT 1000')
      .all();
    const chosen: typeof rows = [];
    let n = 0;
    for (const r of rows) {
      if (chosen.length && n + r.n > this.cfg.batchLines) break;
      chosen.push(r);
      n += r.n;
    }
    if (!chosen.length) return false;
    const api = this.client.getWriteApi(this.cfg.org, this.cfg.bucket, 'ms', {
      batchSize: n + 1,
      maxBufferLines: n + 1,
      flushInterval: 0,
      maxRetries: 0, // our outbox is the retry mechanism
      writeFailed: () => undefined, // failures surface through flush()'s rejection below
    });
    try {
      api.writeRecords(chosen.flatMap((r) => r.lines.split('\n')));
      await api.flush();
    } catch (err) {
      this.failures++;
      this.metrics.influxFailures.inc();
      this.log.warn({ err: (err as Error).message, pendingLines: n, attempt: this.failures }, 'influx flush failed; will retry');
      api.dispose();
      throw err;
    }
    await api.close().catch(() => undefined);
    const del = this.store.db.prepare('DELETE FROM influx_outbox WHERE id = ?');
    this.store.db.transaction(() => chosen.forEach((r) => del.run(r.id)))();
    this.failures = 0;
    this.metrics.influxWritten.inc({}, n);
    return rows.length > chosen.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

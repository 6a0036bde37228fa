// What the bureau analytics read and write on SQL (collector/analytics): report arrivals per device from the
// rollups (到报率 / completeness), each device's first data, and runs of missed reports — raised once per run
// even when several collector nodes check at the same time (the missed_runs row is the run; its event is written
// in the same transaction, with its live-feed item).
import type { SensingEvent } from '../../../schema/types.js';
import type { NewFeedItem } from '../feed.js';
import type { AnalyticsStore, Arrival, ArrivalQuery, MissedRun, StoredEvent } from '../types.js';
import type { Sql, SqlDb, SqlValue } from './driver.js';
import { eventAlarmsInTx } from './alarms.js';
import { EVENT_COLUMNS, eventRow, toStoredEvent, type EventRow } from './events.js';

/** How an engine publishes feed items of a collector-side write: inside the transaction (PostgreSQL) or after it (SQLite). */
export interface FeedHook {
  inTx?(tx: Sql, items: NewFeedItem[]): Promise<void>;
  afterCommit?(items: NewFeedItem[]): void;
}

const CHUNK = 500;
const chunks = <T>(list: T[]) => Array.from({ length: Math.ceil(list.length / CHUNK) }, (_, i) => list.slice(i * CHUNK, (i + 1) * CHUNK));

export class SqlAnalytics implements AnalyticsStore {
  private feed: FeedHook = {};
  constructor(private readonly db: SqlDb) {}

  useFeed(hook: FeedHook): void {
    this.feed = hook;
  }

  async arrivals(q: ArrivalQuery): Promise<Arrival[]> {
    const table = q.resolution === '1m' ? 'rollup_1m' : 'rollup_1h';
    const out: Arrival[] = [];
    for (const ids of chunks(q.devices)) {
      // Cells of `cellMs` (a multiple of the rollup's bucket) starting where (bucket + offset) is a multiple of it;
      // per cell the largest count of any one series of the schedule's variant (several metrics arrive together).
      const params: SqlValue[] = [q.from, q.to, ((q.offsetMs % q.cellMs) + q.cellMs) % q.cellMs, q.cellMs, ...ids];
      const variant = q.periodS ? `s.aggregate > 0 AND s.period_s = ${Number(q.periodS)}` : 's.aggregate = 0';
      const rows = await this.db.all<{ device: string; cell: number; n: number }>(
        `SELECT s.device_id AS device, r.bucket - (r.bucket + $3) % $4 AS cell, max(r.count) AS n
         FROM ${table} r JOIN series s ON s.sid = r.sid
         WHERE s.device_id IN (${ids.map((_, i) => `$${i + 5}`).join(', ')}) AND ${variant} AND r.bucket >= $1 AND r.bucket < $2
         GROUP BY 1, 2 ORDER BY 1, 2`,
        params,
      );
      for (const r of rows) out.push({ device: r.device, cell: Number(r.cell), count: Number(r.n) });
    }
    return out;
  }

  async firstData(devices: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const ids of chunks(devices)) {
      // One index probe per series (its oldest rollup rows), not a scan of every rollup row. The hour rollups reach
      // back furthest; the minute rollups say at which minute of that hour the data began.
      const rows = await this.db.all<{ device: string; h: number | null; m: number | null }>(
        `SELECT s.device_id AS device,
           min((SELECT r.bucket FROM rollup_1h r WHERE r.sid = s.sid ORDER BY r.bucket LIMIT 1)) AS h,
           min((SELECT r.bucket FROM rollup_1m r WHERE r.sid = s.sid ORDER BY r.bucket LIMIT 1)) AS m
         FROM series s WHERE s.device_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')}) GROUP BY s.device_id`,
        ids,
      );
      for (const r of rows) {
        if (r.h === null) continue;
        const h = Number(r.h);
        out.set(r.device, r.m !== null && Number(r.m) < h + 3_600_000 ? Number(r.m) : h);
      }
    }
    return out;
  }

  async openMissedRuns(): Promise<MissedRun[]> {
    const rows = await this.db.all<{ device_id: string; schedule: string; since: number; raised_at: number }>('SELECT device_id, schedule, since, raised_at FROM missed_runs ORDER BY device_id, schedule');
    return rows.map((r) => ({ device: r.device_id, schedule: r.schedule, since: Number(r.since), raisedAt: Number(r.raised_at) }));
  }

  raiseMissedRun(run: MissedRun, event: Omit<SensingEvent, 'seq'>): Promise<StoredEvent | undefined> {
    return this.withEvent(event, async (tx) => {
      const row = await tx.get<{ device_id: string }>(
        'INSERT INTO missed_runs (device_id, schedule, since, raised_at) VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, schedule) DO NOTHING RETURNING device_id',
        [run.device, run.schedule, run.since, run.raisedAt],
      );
      return row !== undefined;
    });
  }

  clearMissedRun(device: string, schedule: string, event: Omit<SensingEvent, 'seq'>): Promise<StoredEvent | undefined> {
    return this.withEvent(event, async (tx) => {
      const row = await tx.get<{ device_id: string }>('DELETE FROM missed_runs WHERE device_id = $1 AND schedule = $2 RETURNING device_id', [device, schedule]);
      return row !== undefined;
    });
  }

  /** Runs `change`; when it reports a change, stores `event` (and its feed item) in the same transaction. */
  private async withEvent(event: Omit<SensingEvent, 'seq'>, change: (tx: Sql) => Promise<boolean>): Promise<StoredEvent | undefined> {
    const items: NewFeedItem[] = [];
    const stored = await this.db.tx(async (tx) => {
      if (!(await change(tx))) return undefined;
      const dev = await tx.get<{ edge_id: string | null; site_id: string | null; scope: string }>('SELECT edge_id, site_id, scope FROM devices WHERE id = $1', [event.deviceId]);
      const [row] = await tx.insertManyReturning<EventRow>('events', EVENT_COLUMNS, [eventRow(event, dev?.edge_id ?? null, null)], 'RETURNING id, device_id, edge_id, ts, kind, severity, message, code, metric, value, threshold');
      const e = toStoredEvent(row!);
      items.push({ type: 'event', device: event.deviceId, metric: event.metric || undefined, site: dev?.site_id ?? undefined, scope: dev?.scope ?? ',', data: e });
      // A missed-report run is a data_gap alarm: raised and cleared with its event (collector/alarms).
      items.push(...(await eventAlarmsInTx(tx, [{ event, edgeId: dev?.edge_id ?? null, seq: null, rowId: row!.id, site: dev?.site_id ?? null, scope: dev?.scope ?? ',' }], Date.now())));
      await this.feed.inTx?.(tx, items);
      return e;
    });
    if (stored) this.feed.afterCommit?.(items);
    return stored;
  }
}

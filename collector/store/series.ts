// Time series: raw points, 1-minute and 1-hour rollups maintained on ingest, latest values, and queries
// that pick the resolution from the requested step.
import { QUALITY_NAMES, type QualityName } from '../../schema/types.js';
import type { Db } from './db.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const AGGS = ['avg', 'min', 'max', 'last', 'count'] as const;
export type Agg = (typeof AGGS)[number];
export type Resolution = 'raw' | '1m' | '1h';

interface RollupAcc {
  sid: number;
  bucket: number;
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number;
  lastTs: number;
  worst: number;
}

interface LatestAcc {
  ts: number;
  value: number | null;
  text: string | null;
  quality: number;
}

export interface SeriesPoint {
  ts: number;
  value: number | string | null;
  quality: QualityName;
}

export interface SeriesResult {
  device: string;
  metric: string;
  unit: string;
  resolution: Resolution;
  step: number | null;
  points: SeriesPoint[];
}

export interface LatestRow {
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: number | string | null;
  quality: QualityName;
}

const qualityName = (q: number): QualityName => QUALITY_NAMES[q] ?? 'bad';

/** Accumulates one transaction's points and writes rollups and latest values once at the end. */
export class SeriesWriter {
  private readonly sids = new Map<string, number>();
  private readonly insertPoint;
  private readonly insertSeries;
  private readonly selectSid;
  private readonly upsert1m;
  private readonly upsert1h;
  private readonly updateLatest;
  private minute = new Map<string, RollupAcc>();
  private latest = new Map<number, LatestAcc>();
  written = 0;

  constructor(private readonly db: Db) {
    this.insertPoint = db.prepare('INSERT OR IGNORE INTO points (sid, ts, value, text, quality) VALUES (?, ?, ?, ?, ?)');
    this.insertSeries = db.prepare('INSERT OR IGNORE INTO series (device_id, metric, unit) VALUES (?, ?, ?)');
    this.selectSid = db.prepare<[string, string], { sid: number }>('SELECT sid FROM series WHERE device_id = ? AND metric = ?');
    const upsert = (table: string) =>
      db.prepare(
        `INSERT INTO ${table} (sid, bucket, min, max, sum, count, last, last_ts, worst) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sid, bucket) DO UPDATE SET min = min(min, excluded.min), max = max(max, excluded.max),
           sum = sum + excluded.sum, count = count + excluded.count,
           last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
           last_ts = max(last_ts, excluded.last_ts), worst = max(worst, excluded.worst)`,
      );
    this.upsert1m = upsert('rollup_1m');
    this.upsert1h = upsert('rollup_1h');
    this.updateLatest = db.prepare(
      `UPDATE series SET last_ts = @ts, last_value = @value, last_text = @text, last_quality = @quality
       WHERE sid = @sid AND coalesce(last_ts, -1) <= @ts`,
    );
  }

  sid(deviceId: string, metric: string, unit: string): number {
    const key = `${deviceId}\u0000${metric}`;
    let sid = this.sids.get(key);
    if (sid === undefined) {
      this.insertSeries.run(deviceId, metric, unit);
      sid = this.selectSid.get(deviceId, metric)!.sid;
      this.sids.set(key, sid);
    }
    return sid;
  }

  /** Forgets cached series ids (after a failed transaction rolled back their creation). */
  resetCache(): void {
    this.sids.clear();
    this.minute.clear();
    this.latest.clear();
  }

  /** Stores one point; false when a point with the same (series, ts) already exists. */
  add(sid: number, ts: number, value: number | null, text: string | null, quality: number): boolean {
    if (this.insertPoint.run(sid, ts, value, text, quality).changes === 0) return false;
    this.written++;
    const l = this.latest.get(sid);
    if (!l || ts >= l.ts) this.latest.set(sid, { ts, value, text, quality });
    if (value === null) return true;
    const bucket = ts - (((ts % MINUTE) + MINUTE) % MINUTE);
    const key = `${sid}:${bucket}`;
    const a = this.minute.get(key);
    if (!a) this.minute.set(key, { sid, bucket, min: value, max: value, sum: value, count: 1, last: value, lastTs: ts, worst: quality });
    else {
      if (value < a.min) a.min = value;
      if (value > a.max) a.max = value;
      a.sum += value;
      a.count++;
      if (ts >= a.lastTs) (a.last = value), (a.lastTs = ts);
      if (quality > a.worst) a.worst = quality;
    }
    return true;
  }

  /** Writes the accumulated rollups and latest values (inside the caller's transaction). */
  finish(): void {
    const hour = new Map<string, RollupAcc>();
    for (const a of this.minute.values()) {
      this.upsert1m.run(a.sid, a.bucket, a.min, a.max, a.sum, a.count, a.last, a.lastTs, a.worst);
      const hb = a.bucket - (((a.bucket % HOUR) + HOUR) % HOUR);
      const key = `${a.sid}:${hb}`;
      const h = hour.get(key);
      if (!h) hour.set(key, { ...a, bucket: hb });
      else {
        h.min = Math.min(h.min, a.min);
        h.max = Math.max(h.max, a.max);
        h.sum += a.sum;
        h.count += a.count;
        if (a.lastTs >= h.lastTs) (h.last = a.last), (h.lastTs = a.lastTs);
        h.worst = Math.max(h.worst, a.worst);
      }
    }
    for (const h of hour.values()) this.upsert1h.run(h.sid, h.bucket, h.min, h.max, h.sum, h.count, h.last, h.lastTs, h.worst);
    for (const [sid, l] of this.latest) this.updateLatest.run({ sid, ...l });
    this.minute = new Map();
    this.latest = new Map();
  }
}

export interface SeriesQuery {
  from: number;
  to: number;
  step?: number; // ms; undefined: chosen from the range
  agg: Agg;
  rawDays: number;
  minuteDays: number;
  now?: number;
  maxRawPoints?: number;
}

// Steps chosen when the caller gives none: about 1000 points per chart, aligned to calendar-friendly widths.
const NICE_STEPS = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];
const TARGET_POINTS = 1000;

/** Picks the resolution and bucket width for a query (documented in collector/README.md). */
export function chooseResolution(q: SeriesQuery): { resolution: Resolution; step: number | null } {
  const now = q.now ?? Date.now();
  const range = Math.max(0, q.to - q.from);
  let wanted = q.step;
  if (wanted === undefined) {
    const ideal = range / TARGET_POINTS;
    wanted = ideal < MINUTE ? ideal : (NICE_STEPS.find((s) => s >= ideal) ?? Math.ceil(ideal / (24 * HOUR)) * 24 * HOUR);
  }
  let resolution: Resolution = wanted < MINUTE ? 'raw' : wanted % HOUR === 0 ? '1h' : '1m';
  // Older than the raw / minute retention: only coarser data exists.
  if (resolution === 'raw' && q.from < now - q.rawDays * 86_400_000) resolution = '1m';
  if (resolution === '1m' && q.from < now - q.minuteDays * 86_400_000) resolution = '1h';
  const unit = resolution === 'raw' ? 1 : resolution === '1m' ? MINUTE : HOUR;
  if (resolution === 'raw' && q.step === undefined) return { resolution, step: null }; // raw points as stored
  const step = Math.max(unit, Math.ceil(Math.max(wanted, 1) / unit) * unit);
  return { resolution, step };
}

export class SeriesReader {
  constructor(private readonly db: Db) {}

  seriesOf(deviceId: string, metric: string): { sid: number; unit: string } | undefined {
    return this.db
      .prepare<[string, string], { sid: number; unit: string }>('SELECT sid, unit FROM series WHERE device_id = ? AND metric = ?')
      .get(deviceId, metric);
  }

  query(deviceId: string, metric: string, q: SeriesQuery): SeriesResult | undefined {
    const s = this.seriesOf(deviceId, metric);
    if (!s) return undefined;
    const { resolution, step } = chooseResolution(q);
    const base = { device: deviceId, metric, unit: s.unit, resolution, step };
    if (resolution === 'raw') {
      const rows = this.db
        .prepare<[number, number, number, number], { ts: number; value: number | null; text: string | null; quality: number }>(
          'SELECT ts, value, text, quality FROM points WHERE sid = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?',
        )
        .all(s.sid, q.from, q.to, q.maxRawPoints ?? 1_000_000);
      if (step === null) {
        return { ...base, points: rows.map((r) => ({ ts: r.ts, value: r.value ?? r.text, quality: qualityName(r.quality) })) };
      }
      const acc = new Bucketer(step, q.agg);
      for (const r of rows) if (r.value !== null) acc.add(r.ts, r.value, r.value, r.value, 1, r.value, r.ts, r.quality);
      return { ...base, points: acc.points() };
    }
    // Rollup rows are folded into `step` buckets inside SQLite (far cheaper than materialising every row in JS).
    const table = resolution === '1m' ? 'rollup_1m' : 'rollup_1h';
    const unit = resolution === '1m' ? MINUTE : HOUR;
    const from = q.from - (((q.from % unit) + unit) % unit);
    const rows = this.db
      .prepare<[number, number, number, number], [number, number, number, number, number, number]>(
        `SELECT bucket - bucket % ? AS b, min(min), max(max), sum(sum), sum(count), max(worst) FROM ${table}
         WHERE sid = ? AND bucket >= ? AND bucket < ? GROUP BY b ORDER BY b`,
      )
      .raw()
      .all(step!, s.sid, from, q.to);
    let lastOf: Map<number, number> | undefined;
    if (q.agg === 'last') {
      // With a single max() aggregate SQLite returns the bare column `last` from the row holding the maximum.
      const lasts = this.db
        .prepare<[number, number, number, number], [number, number, number]>(
          `SELECT bucket - bucket % ? AS b, max(last_ts), last FROM ${table} WHERE sid = ? AND bucket >= ? AND bucket < ? GROUP BY b`,
        )
        .raw()
        .all(step!, s.sid, from, q.to);
      lastOf = new Map(lasts.map(([b, , last]) => [b, last]));
    }
    const points = rows.map(([b, min, max, sum, count, worst]) => {
      const value = q.agg === 'avg' ? sum / count : q.agg === 'min' ? min : q.agg === 'max' ? max : q.agg === 'count' ? count : (lastOf!.get(b) ?? null);
      return { ts: b, value, quality: qualityName(worst) };
    });
    return { ...base, points };
  }

  latest(filter: { devices: string[] | undefined; metric?: string }): LatestRow[] {
    const where: string[] = ['last_ts IS NOT NULL'];
    const params: unknown[] = [];
    if (filter.metric) (where.push('metric = ?'), params.push(filter.metric));
    const rows = this.db
      .prepare<unknown[], { device_id: string; metric: string; unit: string; last_ts: number; last_value: number | null; last_text: string | null; last_quality: number }>(
        `SELECT device_id, metric, unit, last_ts, last_value, last_text, last_quality FROM series WHERE ${where.join(' AND ')} ORDER BY device_id, metric`,
      )
      .all(...params);
    const allowed = filter.devices ? new Set(filter.devices) : undefined;
    return rows
      .filter((r) => !allowed || allowed.has(r.device_id))
      .map((r) => ({ device: r.device_id, metric: r.metric, unit: r.unit, ts: r.last_ts, value: r.last_value ?? r.last_text, quality: qualityName(r.last_quality) }));
  }
}

/** Folds rows (raw points or rollup rows) into buckets of `step` ms. */
class Bucketer {
  private readonly buckets = new Map<number, RollupAcc>();
  constructor(private readonly step: number, private readonly agg: Agg) {}

  add(ts: number, min: number, max: number, sum: number, count: number, last: number, lastTs: number, worst: number): void {
    const b = ts - (((ts % this.step) + this.step) % this.step);
    const a = this.buckets.get(b);
    if (!a) this.buckets.set(b, { sid: 0, bucket: b, min, max, sum, count, last, lastTs, worst });
    else {
      if (min < a.min) a.min = min;
      if (max > a.max) a.max = max;
      a.sum += sum;
      a.count += count;
      if (lastTs >= a.lastTs) (a.last = last), (a.lastTs = lastTs);
      if (worst > a.worst) a.worst = worst;
    }
  }

  points(): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (const a of [...this.buckets.values()].sort((x, y) => x.bucket - y.bucket)) {
      const value =
        this.agg === 'avg' ? a.sum / a.count : this.agg === 'min' ? a.min : this.agg === 'max' ? a.max : this.agg === 'last' ? a.last : a.count;
      out.push({ ts: a.bucket, value, quality: qualityName(a.worst) });
    }
    return out;
  }
}

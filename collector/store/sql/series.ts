// Time-series queries on SQL: raw points or 1-minute / 1-hour rollups picked from the requested step, latest
// values, and the series (metric × aggregate variant) a device has. Rollups are written by the ingest
// (sql/ingest.ts); every accepted reading counts in them, also readings that share a timestamp.
import { CHINA_OFFSET_MS } from '../../../core/china-time.js';
import { QUALITY_NAMES, type QualityName } from '../../../schema/types.js';
import { AGGREGATE_NAMES, type Agg, type AggregateName, type LatestRow, type Resolution, type SeriesPoint, type SeriesQuery, type SeriesResult, type SeriesStore, type SeriesVariant } from '../types.js';
import type { SqlDb, SqlValue } from './driver.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

const qualityName = (q: number): QualityName => QUALITY_NAMES[q] ?? 'bad';
export const aggregateName = (a: number): AggregateName => AGGREGATE_NAMES[a] ?? 'sample';

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

/** What a rollup row holds for one bucket (the rollup tables' columns). */
export interface Rollup {
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number;
  lastTs: number;
  worst: number;
}

/** A rollup of a single value. */
export const rollupOf = (v: number, ts: number, worst: number): Rollup => ({ min: v, max: v, sum: v, count: 1, last: v, lastTs: ts, worst });

/** Adds `b` into `a` (both rollups of the same bucket): the one rule raw points and rollup rows are folded by. */
export function foldRollup(a: Rollup, b: Rollup): void {
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  a.sum += b.sum;
  a.count += b.count;
  if (b.lastTs >= a.lastTs) (a.last = b.last), (a.lastTs = b.lastTs);
  if (b.worst > a.worst) a.worst = b.worst;
}

type RollupAcc = Rollup & { bucket: number };

/** Folds raw points into buckets of `step` ms. */
class Bucketer {
  private readonly buckets = new Map<number, RollupAcc>();
  constructor(private readonly step: number, private readonly agg: Agg, private readonly offset: number) {}

  add(ts: number, v: number, worst: number): void {
    const b = ts - ((((ts + this.offset) % this.step) + this.step) % this.step);
    const a = this.buckets.get(b);
    if (!a) this.buckets.set(b, { bucket: b, ...rollupOf(v, ts, worst) });
    else foldRollup(a, rollupOf(v, ts, worst));
  }

  points(): SeriesPoint[] {
    return [...this.buckets.values()]
      .sort((x, y) => x.bucket - y.bucket)
      .map((a) => ({ ts: a.bucket, value: pick(this.agg, a.sum, a.count, a.min, a.max, a.last), quality: qualityName(a.worst) }));
  }
}

const pick = (agg: Agg, sum: number, count: number, min: number, max: number, last: number | null) =>
  agg === 'avg' ? sum / count : agg === 'min' ? min : agg === 'max' ? max : agg === 'count' ? count : agg === 'sum' ? sum : last;

interface SeriesRow {
  sid: number;
  metric: string;
  unit: string;
  aggregate: number;
  period_s: number;
}

const variantOf = (r: SeriesRow): SeriesVariant => ({ metric: r.metric, unit: r.unit, aggregate: aggregateName(r.aggregate), periodS: r.period_s });

/**
 * The variant a query means: the one asked for, else samples, else the shortest-period average, else the first.
 * (An HJ 212 station sends avg/min/max per period and no samples; a chart then shows the averages.)
 */
export function chooseVariant<T extends { aggregate: number; period_s: number }>(rows: T[], aggregate?: AggregateName, periodS?: number): T | undefined {
  let c = rows;
  if (aggregate !== undefined) c = c.filter((r) => aggregateName(r.aggregate) === aggregate);
  if (periodS !== undefined) c = c.filter((r) => r.period_s === periodS);
  const order = (r: T) => [r.aggregate === 0 ? 0 : r.aggregate === 1 ? 1 : 2, r.period_s, r.aggregate] as const;
  return [...c].sort((a, b) => {
    const x = order(a);
    const y = order(b);
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  })[0];
}

export class SqlSeries implements SeriesStore {
  constructor(private readonly db: SqlDb) {}

  async variants(deviceId: string): Promise<SeriesVariant[]> {
    const rows = await this.db.all<SeriesRow>('SELECT sid, metric, unit, aggregate, period_s FROM series WHERE device_id = $1 ORDER BY metric, aggregate, period_s', [deviceId]);
    return rows.map(variantOf);
  }

  async query(deviceId: string, metric: string, q: SeriesQuery): Promise<SeriesResult | undefined> {
    const rows = await this.db.all<SeriesRow>('SELECT sid, metric, unit, aggregate, period_s FROM series WHERE device_id = $1 AND metric = $2', [deviceId, metric]);
    const s = chooseVariant(rows, q.aggregate, q.periodS);
    if (!s) return undefined;
    const { resolution, step } = chooseResolution(q);
    const base = { device: deviceId, ...variantOf(s), resolution, step };
    const offset = q.alignOffsetMs ?? CHINA_OFFSET_MS;
    if (resolution === 'raw') {
      const points = await this.db.all<{ ts: number; value: number | null; text: string | null; quality: number }>(
        'SELECT ts, value, text, quality FROM points WHERE sid = $1 AND ts >= $2 AND ts < $3 ORDER BY ts, src, seq LIMIT $4',
        [s.sid, q.from, q.to, q.maxRawPoints ?? 1_000_000],
      );
      if (step === null) return { ...base, points: points.map((r) => ({ ts: r.ts, value: r.value ?? r.text, quality: qualityName(r.quality) })) };
      const acc = new Bucketer(step, q.agg, offset);
      for (const r of points) if (r.value !== null) acc.add(r.ts, r.value, r.quality);
      return { ...base, points: acc.points() };
    }
    // Rollup rows are folded into `step` buckets inside the database (far cheaper than materialising every row).
    const table = resolution === '1m' ? 'rollup_1m' : 'rollup_1h';
    const unit = resolution === '1m' ? MINUTE : HOUR;
    const from = q.from - (((q.from % unit) + unit) % unit);
    // Shifting by the offset modulo the step keeps every value positive and the SQL the same on both engines.
    const params: SqlValue[] = [step!, s.sid, from, q.to, ((offset % step!) + step!) % step!];
    const rows2 = await this.db.all<{ b: number; mn: number; mx: number; s: number; n: number; w: number }>(
      `SELECT bucket - (bucket + $5) % $1 AS b, min(min) AS mn, max(max) AS mx, sum(sum) AS s, sum(count) AS n, max(worst) AS w
       FROM ${table} WHERE sid = $2 AND bucket >= $3 AND bucket < $4 GROUP BY 1 ORDER BY 1`,
      params,
    );
    let lastOf: Map<number, number> | undefined;
    if (q.agg === 'last') {
      const lasts = await this.db.all<{ b: number; last: number }>(
        `SELECT b, last FROM (SELECT bucket - (bucket + $5) % $1 AS b, last,
           row_number() OVER (PARTITION BY bucket - (bucket + $5) % $1 ORDER BY last_ts DESC) AS rn
         FROM ${table} WHERE sid = $2 AND bucket >= $3 AND bucket < $4) x WHERE rn = 1`,
        params,
      );
      lastOf = new Map(lasts.map((r) => [Number(r.b), r.last]));
    }
    const points = rows2.map((r) => ({ ts: Number(r.b), value: pick(q.agg, r.s, Number(r.n), r.mn, r.mx, lastOf?.get(Number(r.b)) ?? null), quality: qualityName(r.w) }));
    return { ...base, points };
  }

  async latest(filter: { bureau?: string; site?: string; device?: string; metric?: string; aggregate?: AggregateName }): Promise<LatestRow[]> {
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where = ['s.last_ts IS NOT NULL'];
    if (filter.bureau !== undefined) where.push(this.db.dialect.contains('d.scope', p(`,${filter.bureau},`)));
    if (filter.site) where.push(`d.site_id = ${p(filter.site)}`);
    if (filter.device) where.push(`s.device_id = ${p(filter.device)}`);
    if (filter.metric) where.push(`s.metric = ${p(filter.metric)}`);
    if (filter.aggregate) where.push(`s.aggregate = ${p(AGGREGATE_NAMES.indexOf(filter.aggregate))}`);
    const rows = await this.db.all<SeriesRow & { device_id: string; last_ts: number; last_value: number | null; last_text: string | null; last_quality: number }>(
      `SELECT s.device_id, s.metric, s.unit, s.aggregate, s.period_s, s.last_ts, s.last_value, s.last_text, s.last_quality
       FROM series s JOIN devices d ON d.id = s.device_id WHERE ${where.join(' AND ')}
       ORDER BY s.device_id, s.metric, s.aggregate, s.period_s`,
      params,
    );
    return rows.map((r) => ({ device: r.device_id, ...variantOf(r), ts: r.last_ts, value: r.last_value ?? r.last_text, quality: qualityName(r.last_quality) }));
  }
}

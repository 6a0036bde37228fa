// Rainfall period totals (时段降水量, 日降水量) from what gauges send: amounts (increments per report, 1-hour or
// daily rainfall) are added up; cumulative counters (tipping-bucket totals, SL 651 PT) are turned into increments
// first, where a decrease (reset, rollover, replaced gauge) starts a new run and never yields a negative amount.
//
// Attribution: a reading stamped t tells what fell UP TO t, so it counts in the period containing t − 1 ms — a
// reading at 09:00:00 belongs to 08:00–09:00, one at 08:00:00 to the hydrological day that ends at 08:00. Period
// aggregates stamped at their start (HJ 212 hourly `-Cou`, DataTime = start) count at their end the same way.
// Hours run on the clock; days are hydrological days, 08:00–08:00 Beijing time (= UTC days).
import { HOUR_MS, periodLabel, type PeriodKind } from '../../core/china-time.js';
import { RAIN_AMOUNT_METRICS, RAIN_COUNTER_METRICS } from '../../schema/metrics.js';
import type { QualityName } from '../../schema/types.js';
import type { AggregateName, CollectorStore, Resolution, SeriesPoint, SeriesResult } from '../store/index.js';

export const isRainMetric = (metric: string) => RAIN_AMOUNT_METRICS.includes(metric) || RAIN_COUNTER_METRICS.includes(metric);

export interface RainValue {
  ts: number;
  value: number;
  quality: QualityName;
  /** How far after `ts` the value's period ends: 0 for readings stamped at the end (samples); the period for start-stamped aggregates and rollup buckets. */
  coverMs?: number;
}

export interface CounterReset {
  ts: number;
  /** Counter value before and after the decrease. */
  from: number;
  to: number;
}

const QUALITY_RANK: Record<QualityName, number> = { good: 0, uncertain: 1, bad: 2 };
const worse = (a: QualityName, b: QualityName): QualityName => (QUALITY_RANK[b] > QUALITY_RANK[a] ? b : a);
/** Rainfall is measured in 0.1 / 0.2 / 0.5 mm steps: rounding to a micrometre removes binary noise only. */
export const roundMm = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * Increments of a cumulative counter, in time order. The first value (or `previous`, the last one before the
 * range) is the baseline; each later value adds its rise over the one before; a decrease starts a new run and
 * counts 0 for that step (what fell between the last value before the reset and the first after it is unknown).
 * BAD values are skipped.
 */
export function counterIncrements(values: RainValue[], previous?: RainValue): { increments: RainValue[]; resets: CounterReset[] } {
  const increments: RainValue[] = [];
  const resets: CounterReset[] = [];
  let prev = previous && previous.quality !== 'bad' ? previous.value : undefined;
  for (const v of values) {
    if (v.quality === 'bad') continue;
    if (prev !== undefined) {
      const rise = v.value - prev;
      if (rise < 0) resets.push({ ts: v.ts, from: prev, to: v.value });
      increments.push({ ...v, value: rise < 0 ? 0 : roundMm(rise) });
    }
    prev = v.value;
  }
  return { increments, resets };
}

export interface RainTotal {
  start: number;
  end: number;
  /** Hours by their end (`2026-06-01 09:00` = 08:00–09:00), hydrological days by their date; ranges by start–end. */
  label: string;
  total: number;
  /** Readings that counted. */
  readings: number;
  /** Worst quality among them; `uncertain` too when BAD readings had to be left out. */
  quality: QualityName;
}

/** How amounts are grouped: clock hours, hydrological days, one custom range, or fixed steps (ms, UTC-aligned). */
export type RainPeriod = 'hour' | 'hydro_day' | 'range' | number;

function cutter(period: RainPeriod, from: number, to: number): { start: (at: number) => number; end: (start: number) => number; kind?: PeriodKind } {
  if (period === 'range') return { start: () => from, end: () => to };
  const step = period === 'hour' ? HOUR_MS : period === 'hydro_day' ? 86_400_000 : period;
  // 08:00 Beijing is 00:00 UTC: steps aligned to the epoch are clock hours and hydrological days.
  return { start: (at) => at - (((at % step) + step) % step), end: (s) => s + step, kind: period === 'hour' ? 'hour' : period === 'hydro_day' ? 'hydro_day' : undefined };
}

/** Adds amounts into periods over [from, to); an amount counts at (ts + coverMs − 1 ms). Only periods with readings. */
export function totalsByPeriod(amounts: RainValue[], from: number, to: number, period: RainPeriod): RainTotal[] {
  const cut = cutter(period, from, to);
  const byStart = new Map<number, RainTotal>();
  for (const a of amounts) {
    const at = a.ts + (a.coverMs ?? 0) - 1;
    if (at < from || at >= to) continue;
    const start = cut.start(at);
    let t = byStart.get(start);
    if (!t) {
      const end = cut.end(start);
      const label = cut.kind ? periodLabel(cut.kind, start) : `${new Date(start).toISOString()}/${new Date(end).toISOString()}`;
      byStart.set(start, (t = { start, end, label, total: 0, readings: 0, quality: 'good' }));
    }
    if (a.quality === 'bad') {
      t.quality = worse(t.quality, 'uncertain');
      continue;
    }
    t.total = roundMm(t.total + a.value);
    t.readings++;
    t.quality = worse(t.quality, a.quality);
  }
  return [...byStart.values()].sort((x, y) => x.start - y.start);
}

export interface RainfallResult {
  device: string;
  metric: string;
  unit: string;
  /** amounts (increments, 1-hour or daily rainfall as sent) or counter (rises of a cumulative counter) */
  source: 'amounts' | 'counter';
  aggregate: AggregateName;
  periodS: number;
  /** Where the values came from: raw points, or 1-minute / 1-hour rollups beyond the raw retention. */
  resolution: Resolution;
  from: number;
  to: number;
  period: RainPeriod;
  periods: RainTotal[];
  total: number;
  resets: CounterReset[];
}

export interface RainQuery {
  from: number;
  to: number;
  period: RainPeriod;
  rawDays: number;
  minuteDays: number;
  now?: number;
  aggregate?: AggregateName;
  periodS?: number;
}

/** How far back a counter's baseline (its last value before the range) is looked for. */
const COUNTER_LOOKBACK_MS = 86_400_000;

/**
 * Period totals of a device's rainfall metric. Raw points within the raw retention (exact attribution); beyond it
 * the 1-minute, then 1-hour rollups (a bucket counts as a whole in the period holding it: a reading stamped exactly
 * on a boundary then counts in the following period).
 */
export async function rainfallTotals(store: CollectorStore, deviceId: string, metric: string, q: RainQuery): Promise<RainfallResult | undefined> {
  const counter = RAIN_COUNTER_METRICS.includes(metric);
  const lookback = counter ? COUNTER_LOOKBACK_MS : 0;
  // step 1 ms = every raw point on its own (readings sharing a timestamp are added, or the last kept for counters).
  const r = await store.series.query(deviceId, metric, {
    from: q.from - lookback, to: q.to + 1, step: 1, agg: counter ? 'last' : 'sum', rawDays: q.rawDays, minuteDays: q.minuteDays, now: q.now,
    aggregate: q.aggregate, periodS: q.periodS, alignOffsetMs: 0,
  });
  if (!r) return undefined;
  const values = toRainValues(r);
  let amounts = values;
  let resets: CounterReset[] = [];
  if (counter) {
    // The baseline is the last value whose own period ended before the range.
    const before = values.filter((v) => v.ts + (v.coverMs ?? 0) - 1 < q.from);
    const inRange = values.slice(before.length);
    ({ increments: amounts, resets } = counterIncrements(inRange, before.filter((v) => v.quality !== 'bad').at(-1)));
  }
  const periods = totalsByPeriod(amounts, q.from, q.to, q.period);
  return {
    device: deviceId,
    metric,
    unit: r.unit || 'mm',
    source: counter ? 'counter' : 'amounts',
    aggregate: r.aggregate,
    periodS: r.periodS,
    resolution: r.resolution,
    from: q.from,
    to: q.to,
    period: q.period,
    periods,
    total: roundMm(periods.reduce((a, p) => a + p.total, 0)),
    resets,
  };
}

function toRainValues(r: SeriesResult): RainValue[] {
  // Rollup buckets cover [ts, ts + step); start-stamped period aggregates cover [ts, ts + period).
  const cover = r.resolution === 'raw' ? (r.aggregate === 'sample' ? 0 : r.periodS * 1000) : (r.step ?? 0);
  const out: RainValue[] = [];
  for (const p of r.points) if (typeof p.value === 'number') out.push({ ts: p.ts, value: p.value, quality: p.quality, coverMs: cover });
  return out;
}

/** The rainfall totals as a series answer (`agg=sum` on a rainfall metric): one point per period, at its start. */
export function asSeries(t: RainfallResult, step: number): SeriesResult {
  const points: SeriesPoint[] = t.periods.map((p) => ({ ts: p.start, end: p.end, value: p.total, quality: p.quality }));
  return { device: t.device, metric: t.metric, unit: t.unit, aggregate: t.aggregate, periodS: t.periodS, resolution: t.resolution, step, points };
}

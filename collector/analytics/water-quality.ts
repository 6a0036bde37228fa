// GB 3838-2002 surface-water environmental quality classes (地表水环境质量标准, Table 1) for the factors the
// metric catalog carries: pH, dissolved oxygen, COD, ammonia nitrogen, total phosphorus and (lakes and reservoirs
// only) total nitrogen. A sample's class is its worst factor's (单因子评价); the deciding factors are named.
// Permanganate index, BOD5 and the other Table 1 items are not in the catalog and are not evaluated.
import type { DeviceRecord } from '../../schema/types.js';
import type { AggregateName, CollectorStore } from '../store/index.js';

export const WATER_CLASSES = ['I', 'II', 'III', 'IV', 'V', '劣V'] as const;
export type WaterClass = (typeof WATER_CLASSES)[number];

/** Where the section is: TP limits are stricter for lakes and reservoirs, and TN counts only there. */
export const WATER_BODIES = ['river', 'lake', 'reservoir'] as const;
export type WaterBody = (typeof WATER_BODIES)[number];

interface FactorLimits {
  /** Class I..V limits: values at most (≤) or at least (≥, dissolved oxygen) the limit meet the class. */
  limits: readonly [number, number, number, number, number];
  atLeast?: boolean;
}

const RIVER_TP: FactorLimits = { limits: [0.02, 0.1, 0.2, 0.3, 0.4] };
const LAKE_TP: FactorLimits = { limits: [0.01, 0.025, 0.05, 0.1, 0.2] };
const LIMITS: Record<string, FactorLimits> = {
  dissolved_oxygen: { limits: [7.5, 6, 5, 3, 2], atLeast: true },
  cod: { limits: [15, 15, 20, 30, 40] },
  ammonia_nitrogen: { limits: [0.15, 0.5, 1.0, 1.5, 2.0] },
  total_nitrogen: { limits: [0.2, 0.5, 1.0, 1.5, 2.0] },
};
/** pH 6–9 holds for every class: outside it no class is met (劣V). */
const PH_RANGE = [6, 9] as const;

/** The catalog metrics GB 3838 classifies (total nitrogen only for lakes and reservoirs). */
export const WATER_QUALITY_FACTORS = ['ph', 'dissolved_oxygen', 'cod', 'ammonia_nitrogen', 'total_phosphorus', 'total_nitrogen'] as const;

/** Float noise from averaging (0.15000000000000002) must not cross a limit: compare at a micro-unit. */
const tidy = (v: number) => Math.round(v * 1e6) / 1e6;

/** Class index 0 (I) … 5 (劣V) of one factor's value, or undefined when the factor is not classified here. */
export function factorClass(metric: string, value: number, body: WaterBody = 'river'): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  const v = tidy(value);
  if (metric === 'ph') return v >= PH_RANGE[0] && v <= PH_RANGE[1] ? 0 : 5;
  if (metric === 'total_nitrogen' && body === 'river') return undefined;
  const f = metric === 'total_phosphorus' ? (body === 'river' ? RIVER_TP : LAKE_TP) : LIMITS[metric];
  if (!f) return undefined;
  const i = f.limits.findIndex((limit) => (f.atLeast ? v >= limit : v <= limit));
  return i < 0 ? 5 : i;
}

export interface FactorResult {
  metric: string;
  value: number;
  class: WaterClass;
}

export interface ClassResult {
  class: WaterClass;
  /** 1 (I) … 6 (劣V). */
  level: number;
  /** The factors at the sample's class (the worst ones). */
  deciding: string[];
  factors: FactorResult[];
}

/** The class of one sample (metric → value); undefined when none of its factors is classified. */
export function classify(values: Record<string, number>, body: WaterBody = 'river'): ClassResult | undefined {
  const factors: (FactorResult & { i: number })[] = [];
  for (const metric of WATER_QUALITY_FACTORS) {
    const v = values[metric];
    if (v === undefined) continue;
    const i = factorClass(metric, v, body);
    if (i !== undefined) factors.push({ metric, value: v, class: WATER_CLASSES[i]!, i });
  }
  if (!factors.length) return undefined;
  const worst = Math.max(...factors.map((f) => f.i));
  return {
    class: WATER_CLASSES[worst]!,
    level: worst + 1,
    deciding: factors.filter((f) => f.i === worst).map((f) => f.metric),
    factors: factors.map(({ metric, value, class: c }) => ({ metric, value, class: c })),
  };
}

/** The record's water body (`waterBody`); rivers unless it says lake or reservoir. */
export function waterBodyOf(record: Pick<DeviceRecord, 'waterBody'> | undefined): WaterBody {
  const b = record?.waterBody;
  return b === 'lake' || b === 'reservoir' ? b : 'river';
}

export interface ClassRow extends ClassResult {
  ts: number;
  /** For days: the end of the day (exclusive). */
  end?: number;
}

export interface WaterQualityResult {
  device: string;
  waterBody: WaterBody;
  period: 'sample' | 'day';
  /** Which stored series the values came from, per factor (samples, or the station's period averages). */
  sources: { metric: string; aggregate: AggregateName; periodS: number }[];
  rows: ClassRow[];
}

/**
 * Classes of a device's samples (readings of one timestamp form a sample) or of its days (daily means, Beijing
 * calendar days) over [from, to). A sample lacking a factor is classed on the factors it has.
 */
export async function waterQualityClasses(
  store: CollectorStore,
  record: DeviceRecord,
  q: { from: number; to: number; period: 'sample' | 'day'; rawDays: number; minuteDays: number; now?: number },
): Promise<WaterQualityResult> {
  const body = waterBodyOf(record);
  const have = new Set((await store.series.variants(record.id)).map((v) => v.metric));
  const byTs = new Map<number, Record<string, number>>();
  const sources: WaterQualityResult['sources'] = [];
  for (const metric of WATER_QUALITY_FACTORS) {
    if (!have.has(metric) || (metric === 'total_nitrogen' && body === 'river')) continue;
    const r = await store.series.query(record.id, metric, {
      from: q.from, to: q.to, step: q.period === 'day' ? 86_400_000 : 1, agg: 'avg', rawDays: q.rawDays, minuteDays: q.minuteDays, now: q.now,
    });
    if (!r) continue;
    sources.push({ metric, aggregate: r.aggregate, periodS: r.periodS });
    for (const p of r.points) {
      // A BAD sample is left out; a day's mean comes from rollups that cannot tell its readings apart.
      if (typeof p.value !== 'number' || (q.period === 'sample' && p.quality === 'bad')) continue;
      const s = byTs.get(p.ts) ?? {};
      s[metric] = p.value;
      byTs.set(p.ts, s);
    }
  }
  const rows: ClassRow[] = [];
  for (const [ts, values] of [...byTs].sort((a, b) => a[0] - b[0])) {
    const c = classify(values, body);
    if (c) rows.push({ ts, ...(q.period === 'day' ? { end: ts + 86_400_000 } : {}), ...c });
  }
  return { device: record.id, waterBody: body, period: q.period, sources, rows };
}

// The daily report (日报) of one bureau: its stations with their completeness (到报率) and the day's water-quality
// class, the day's minimum / maximum / average of every measured metric (rainfall as the hydrological day's total),
// and the alarms raised and cleared. One builder; JSON, CSV and XLSX (xlsx.ts) render the same numbers.
//
// Periods for report date D (Beijing time): completeness, statistics and alarms over the calendar day 00:00 D –
// 00:00 D+1; rainfall totals over the hydrological day 08:00 D – 08:00 D+1 (the 日降水量 of D).
// Alarms come from the events (alarm raised / cleared, device offline / online, video faults, missed reports) until
// the alarm store lands; then this is where its rows go.
import { DAY_MS, chinaDayStart, fmtChina, HOUR_MS } from '../../core/china-time.js';
import { codeLabel, EVENT_KIND_LABELS, SEVERITY_LABELS } from '../../core/event-labels.js';
import { RECORD_LABELS_ZH } from '../../core/records.js';
import { findMetric } from '../../schema/metrics.js';
import type { DeviceRecord } from '../../schema/types.js';
import type { Agg, CollectorStore, StoredEvent } from '../store/index.js';
import { completeness, type MissingRange } from './completeness.js';
import { isRainMetric, rainfallTotals } from './rainfall.js';
import { waterQualityClasses } from './water-quality.js';

/** Metric categories the report summarises (device health and video metrics are left to their own views). */
const REPORTED_CATEGORIES = new Set(['hydrology', 'water_quality', 'meteorology', 'air_quality', 'fire']);
/** Event kinds the report lists as alarms. */
export const REPORTED_EVENT_KINDS = ['alarm_raised', 'alarm_cleared', 'device_offline', 'device_online', 'video_fault_raised', 'video_fault_cleared', 'data_gap'];

export interface ReportStation {
  site: string;
  siteName: string;
  device: string;
  name: string;
  kind: string;
  status: string;
  schedule: string | null;
  expected: number | null;
  received: number | null;
  rate: number | null;
  missing: string;
  waterClass: string | null;
  decidingFactors: string;
}

export interface ReportMetric {
  site: string;
  device: string;
  name: string;
  metric: string;
  metricName: string;
  unit: string;
  /** samples, or the station's period averages (HJ 212) */
  aggregate: string;
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  /** Rainfall: total over the hydrological day. */
  total: number | null;
}

export interface ReportAlarm {
  ts: number;
  time: string;
  device: string;
  name: string;
  kind: string;
  kindName: string;
  severity: string;
  severityName: string;
  code: string;
  metric: string;
  value: number | null;
  threshold: number | null;
  message: string;
}

export interface DailyReport {
  bureau: string | null;
  date: string;
  /** The calendar day (statistics, completeness, alarms) and the hydrological day (rainfall totals). */
  day: { start: number; end: number };
  hydroDay: { start: number; end: number };
  generatedAt: number;
  summary: { stations: number; online: number; offline: number; expected: number; received: number; rate: number | null; alarmsRaised: number; alarmsCleared: number };
  stations: ReportStation[];
  metrics: ReportMetric[];
  alarms: ReportAlarm[];
}

export interface ReportQuery {
  date: string;
  bureau?: string;
  rawDays: number;
  minuteDays: number;
  now?: number;
}

/** "2026-06-01 08:00–09:00" (Beijing time; the end is exclusive; a day's end is 24:00). */
export function fmtRange(r: { from: number; to: number }): string {
  const a = fmtChina(r.from, 'minute');
  const b = fmtChina(r.to, 'minute');
  if (a.slice(0, 10) === b.slice(0, 10)) return `${a}–${b.slice(11)}`;
  if (fmtChina(r.to - 1, 'date') === a.slice(0, 10)) return `${a}–24:00`;
  return `${a}–${b}`;
}

export const missingText = (m: MissingRange[], truncated?: boolean) => m.map(fmtRange).join('; ') + (truncated ? '; …' : '');

export async function dailyReport(store: CollectorStore, records: DeviceRecord[], q: ReportQuery): Promise<DailyReport> {
  const dayStart = chinaDayStart(q.date);
  if (dayStart === undefined) throw new Error(`date: "${q.date}" is not a date YYYY-MM-DD`);
  const day = { start: dayStart, end: dayStart + DAY_MS };
  const hydroDay = { start: dayStart + 8 * HOUR_MS, end: dayStart + 8 * HOUR_MS + DAY_MS };
  const now = q.now ?? Date.now();
  const opts = { rawDays: q.rawDays, minuteDays: q.minuteDays, now };
  const sorted = [...records].sort((a, b) => (a.site?.id ?? '').localeCompare(b.site?.id ?? '') || a.id.localeCompare(b.id));

  const comp = await completeness(store, sorted, { from: day.start, to: day.end, period: 'day', minuteDays: q.minuteDays, now });
  const compOf = new Map(comp.devices.map((d) => [d.device, d]));

  const stations: ReportStation[] = [];
  const metrics: ReportMetric[] = [];
  for (const r of sorted) {
    const c = compOf.get(r.id);
    const row = c?.rows[0];
    const wq = await waterQualityClasses(store, r, { from: day.start, to: day.end, period: 'day', ...opts });
    const cls = wq.rows[0];
    stations.push({
      site: r.site?.id ?? '', siteName: r.site?.name ?? '', device: r.id, name: r.name ?? '', kind: r.kind ?? '', status: r.runtimeStatus ?? 'unknown',
      schedule: c?.schedule.name ?? null, expected: row?.expected ?? null, received: row?.received ?? null, rate: row?.rate ?? null,
      missing: row ? missingText(row.missing, row.missingTruncated) : '', waterClass: cls?.class ?? null, decidingFactors: cls ? cls.deciding.map((m) => findMetric(m)?.zh ?? m).join('、') : '',
    });
    for (const v of await store.series.variants(r.id)) {
      const def = findMetric(v.metric);
      if (!def || def.type !== 'number' || !REPORTED_CATEGORIES.has(def.category)) continue;
      // One row per metric: the variant a chart shows (samples, else the station's shortest-period averages).
      if (metrics.some((m) => m.device === r.id && m.metric === v.metric)) continue;
      const base = { site: r.site?.id ?? '', device: r.id, name: r.name ?? '', metric: v.metric, metricName: def.zh, unit: def.unit };
      if (isRainMetric(v.metric)) {
        const t = await rainfallTotals(store, r.id, v.metric, { from: hydroDay.start, to: hydroDay.end, period: 'range', ...opts });
        if (!t) continue;
        const count = t.periods.reduce((a, p) => a + p.readings, 0);
        metrics.push({ ...base, aggregate: t.aggregate, count, min: null, max: null, avg: null, total: count ? t.total : null });
        continue;
      }
      const stat = async (agg: Agg) => {
        const s = await store.series.query(r.id, v.metric, { from: day.start, to: day.end, step: DAY_MS, agg, ...opts });
        const p = s?.points.find((x) => x.ts === day.start);
        return { value: typeof p?.value === 'number' ? p.value : null, aggregate: s?.aggregate ?? 'sample' };
      };
      const count = (await stat('count')).value ?? 0;
      if (!count) continue;
      const avg = await stat('avg');
      metrics.push({ ...base, aggregate: avg.aggregate, count, min: (await stat('min')).value, max: (await stat('max')).value, avg: avg.value, total: null });
    }
  }

  const ids = new Set(sorted.map((r) => r.id));
  const nameOf = new Map(sorted.map((r) => [r.id, r.name ?? '']));
  const events = (await store.events.query({ from: day.start, to: day.end, bureau: q.bureau, limit: 100_000 })).filter((e) => ids.has(e.device) && REPORTED_EVENT_KINDS.includes(e.kind));
  const alarms = events.map((e: StoredEvent): ReportAlarm => ({
    ts: e.ts, time: fmtChina(e.ts), device: e.device, name: nameOf.get(e.device) ?? '', kind: e.kind, kindName: codeLabel(EVENT_KIND_LABELS, 'zh', e.kind),
    severity: e.severity, severityName: codeLabel(SEVERITY_LABELS, 'zh', e.severity), code: e.code ?? '', metric: e.metric ? (findMetric(e.metric)?.zh ?? e.metric) : '',
    value: e.value ?? null, threshold: e.threshold ?? null, message: e.message ?? '',
  }));

  const total = comp.devices.reduce((a, d) => ({ expected: a.expected + (d.rows[0]?.expected ?? 0), received: a.received + (d.rows[0]?.received ?? 0) }), { expected: 0, received: 0 });
  return {
    bureau: q.bureau ?? null,
    date: q.date,
    day,
    hydroDay,
    generatedAt: now,
    summary: {
      stations: sorted.length,
      online: sorted.filter((r) => r.runtimeStatus === 'online').length,
      offline: sorted.filter((r) => r.runtimeStatus === 'offline').length,
      ...total,
      rate: total.expected ? total.received / total.expected : null,
      alarmsRaised: events.filter((e) => e.kind === 'alarm_raised').length,
      alarmsCleared: events.filter((e) => e.kind === 'alarm_cleared').length,
    },
    stations,
    metrics,
    alarms,
  };
}

const pct = (r: number | null) => (r === null ? '' : (r * 100).toFixed(2));
const status = (s: string) => (RECORD_LABELS_ZH.runtime as Record<string, string>)[s] ?? s;
const kindName = (k: string) => (RECORD_LABELS_ZH.kind as Record<string, string>)[k] ?? k;

/** The report's tables with Chinese headers: the same columns in CSV and XLSX. */
export function reportTables(r: DailyReport): Record<'stations' | 'metrics' | 'alarms', { title: string; header: string[]; rows: unknown[][]; percentColumns: number[] }> {
  return {
    stations: {
      title: '站点到报率',
      header: ['站点编码', '站点名称', '设备编码', '设备名称', '设备类型', '运行状态', '上报计划', '应到数', '实到数', '到报率(%)', '缺报时段', '水质类别', '定类因子'],
      rows: r.stations.map((s) => [s.site, s.siteName, s.device, s.name, kindName(s.kind), status(s.status), s.schedule ?? '', s.expected, s.received, s.rate, s.missing, s.waterClass ?? '', s.decidingFactors]),
      percentColumns: [9],
    },
    metrics: {
      title: '指标统计',
      header: ['站点编码', '设备编码', '设备名称', '指标', '单位', '数据类型', '样本数', '最小值', '最大值', '平均值', '日累计(水文日)'],
      rows: r.metrics.map((m) => [m.site, m.device, m.name, m.metricName, m.unit, m.aggregate === 'sample' ? '实时' : `${m.aggregate}`, m.count, m.min, m.max, m.avg, m.total]),
      percentColumns: [],
    },
    alarms: {
      title: '告警事件',
      header: ['时间', '设备编码', '设备名称', '事件类型', '级别', '代码', '指标', '数值', '阈值', '说明'],
      rows: r.alarms.map((a) => [a.time, a.device, a.name, a.kindName, a.severityName, a.code, a.metric, a.value, a.threshold, a.message]),
      percentColumns: [],
    },
  };
}

/** CSV cells: rates in percent with two decimals, other numbers as they are. */
export function csvRows(t: ReturnType<typeof reportTables>[keyof ReturnType<typeof reportTables>]): unknown[][] {
  return t.rows.map((row) => row.map((v, i) => (t.percentColumns.includes(i) ? pct(v as number | null) : v)));
}

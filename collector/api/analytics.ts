// What bureaus measure, over HTTP: rainfall period totals, data completeness (到报率), GB 3838 water-quality
// classes and the daily report (JSON, CSV, XLSX). Scoped like every endpoint: a bureau sees its devices only.
import { toCsv } from '../../core/csv.js';
import { chinaDayStart, DAY_MS, fmtChina, HOUR_MS, periodStart } from '../../core/china-time.js';
import { findMetric, RAIN_AMOUNT_METRICS, RAIN_COUNTER_METRICS } from '../../schema/metrics.js';
import { completeness } from '../analytics/completeness.js';
import { asSeries, isRainMetric, rainfallTotals, type RainPeriod } from '../analytics/rainfall.js';
import { csvRows, dailyReport, missingText, reportTables } from '../analytics/report.js';
import { waterQualityClasses } from '../analytics/water-quality.js';
import { reportXlsx } from '../analytics/xlsx.js';
import type { AggregateName, SeriesQuery, SeriesResult } from '../store/index.js';
import { toRecord } from '../store/records.js';
import type { ApiContext } from './context.js';
import { iso, visibleDevice, type Caller, type Handler, type Route } from './handler.js';
import { HttpError, notFound, parseTime, sendJson, sendText, wantsCsv } from './http.js';

const csvReply = (res: Parameters<Handler>[3], name: string, header: string[], rows: unknown[][]) =>
  sendText(res, 200, toCsv(header, rows), 'text/csv; charset=utf-8', { 'content-disposition': `attachment; filename="${name}"` });

function range(q: URLSearchParams, defaultMs: number, maxMs: number): { from: number; to: number } {
  const to = parseTime(q.get('to'), 'to', Date.now());
  const from = parseTime(q.get('from'), 'from', to - defaultMs);
  if (from >= to) throw new HttpError(400, 'from must be before to');
  if (to - from > maxMs) throw new HttpError(400, `range: at most ${Math.round(maxMs / DAY_MS)} days`);
  return { from, to };
}

/**
 * The series endpoint's answer, with `agg=sum` on a rainfall metric computed as rainfall period totals: clock
 * hours for `step=1h`, hydrological days (08:00–08:00 Beijing time) for `step=1d` (default 1h up to 3 days,
 * else 1d); counters give the sum of their rises. Everything else goes to the store as it is.
 */
export async function seriesFor(ctx: ApiContext, deviceId: string, metric: string, q: SeriesQuery): Promise<SeriesResult | undefined> {
  if (q.agg !== 'sum' || !isRainMetric(metric)) return ctx.store.series.query(deviceId, metric, q);
  const step = q.step ?? (q.to - q.from <= 3 * DAY_MS ? HOUR_MS : DAY_MS);
  const t = await rainfallTotals(ctx.store, deviceId, metric, { ...q, period: step });
  return t && asSeries(t, step);
}

const RAIN_PERIODS: Record<string, RainPeriod> = { hour: 'hour', day: 'hydro_day', hydro_day: 'hydro_day', range: 'range' };

/** Rainfall totals of a device per hour, hydrological day or the whole range; the metric defaults to increments, else the counter. */
const rainfall: Handler = async (ctx, who, req, res, q, [id]) => {
  await visibleDevice(ctx, who, id!);
  const csv = wantsCsv(req, q);
  const period = RAIN_PERIODS[q.get('period') ?? 'hour'];
  if (!period) throw new HttpError(400, 'period: must be hour, day (hydrological, 08:00–08:00 Beijing time) or range');
  const { from, to } = range(q, DAY_MS, 3660 * DAY_MS);
  const have = new Set((await ctx.store.series.variants(id!)).map((v) => v.metric));
  const metric = q.get('metric') || [...RAIN_AMOUNT_METRICS.slice(0, 1), ...RAIN_COUNTER_METRICS, ...RAIN_AMOUNT_METRICS.slice(1)].find((m) => have.has(m));
  if (!metric || !isRainMetric(metric)) throw new HttpError(metric ? 400 : 404, metric ? `metric: ${metric} is not a rainfall metric` : 'the device has no rainfall data');
  const t = await rainfallTotals(ctx.store, id!, metric, { from, to, period, rawDays: ctx.cfg.retention.rawDays, minuteDays: ctx.cfg.retention.minuteDays, aggregate: (q.get('aggregate') || undefined) as AggregateName | undefined });
  if (!t) throw notFound();
  if (csv) {
    return csvReply(res, `${id}-rainfall.csv`, ['时段', '开始', '结束', '降雨量(mm)', '读数', '质量'], t.periods.map((p) => [p.label, fmtChina(p.start), fmtChina(p.end), p.total, p.readings, p.quality]));
  }
  sendJson(res, 200, t);
};

const waterQuality: Handler = async (ctx, who, req, res, q, [id]) => {
  const record = toRecord(await visibleDevice(ctx, who, id!));
  const csv = wantsCsv(req, q);
  const period = q.get('period') ?? 'day';
  if (period !== 'day' && period !== 'sample') throw new HttpError(400, 'period: must be day or sample');
  const { from, to } = range(q, period === 'day' ? 30 * DAY_MS : DAY_MS, 3660 * DAY_MS);
  const r = await waterQualityClasses(ctx.store, record, { from, to, period, rawDays: ctx.cfg.retention.rawDays, minuteDays: ctx.cfg.retention.minuteDays });
  if (csv) {
    const factors = r.sources.map((s) => s.metric);
    return csvReply(
      res, `${id}-water-quality.csv`,
      ['时间', 'ts', '水质类别', '定类因子', ...factors.map((m) => `${findMetric(m)?.zh ?? m}(${findMetric(m)?.unit ?? ''})`), ...factors.map((m) => `${findMetric(m)?.zh ?? m}类别`)],
      r.rows.map((row) => {
        const f = new Map(row.factors.map((x) => [x.metric, x]));
        return [period === 'day' ? fmtChina(row.ts, 'date') : fmtChina(row.ts), row.ts, row.class, row.deciding.map((m) => findMetric(m)?.zh ?? m).join('、'), ...factors.map((m) => f.get(m)?.value ?? ''), ...factors.map((m) => f.get(m)?.class ?? '')];
      }),
    );
  }
  sendJson(res, 200, r);
};

/** The devices a caller may see, narrowed by site / device. */
async function scopedRecords(ctx: ApiContext, who: Caller, q: URLSearchParams) {
  const device = q.get('device') || undefined;
  if (device) await visibleDevice(ctx, who, device);
  const list = await ctx.store.registry.list({ bureau: who.bureau, site: q.get('site') || undefined });
  return device ? list.filter((r) => r.id === device) : list;
}

const completenessRoute: Handler = async (ctx, who, req, res, q) => {
  const csv = wantsCsv(req, q);
  const period = q.get('period') ?? 'day';
  if (period !== 'day' && period !== 'month') throw new HttpError(400, 'period: must be day or month');
  const now = Date.now();
  // Default: the last 7 days (today included) or this month, in Beijing time.
  const defaultFrom = period === 'day' ? periodStart('day', now) - 6 * DAY_MS : periodStart('month', now);
  const to = parseTime(q.get('to'), 'to', period === 'day' ? periodStart('day', now) + DAY_MS : now);
  const from = parseTime(q.get('from'), 'from', defaultFrom);
  if (from >= to) throw new HttpError(400, 'from must be before to');
  if (to - from > (period === 'day' ? 92 : 1100) * DAY_MS) throw new HttpError(400, `range: at most ${period === 'day' ? '92 days per day' : '36 months per month'}`);
  const records = await scopedRecords(ctx, who, q);
  const r = await completeness(ctx.store, records, { from, to, period, schedule: q.get('schedule') || 'primary', minuteDays: ctx.cfg.retention.minuteDays, now });
  if (csv) {
    const rows = r.devices.flatMap((d) =>
      d.rows.map((row) => [d.site ?? '', d.siteName ?? '', d.device, d.name ?? '', d.schedule.name, Math.round(d.schedule.intervalMs / 1000), row.period, iso(row.start), iso(row.end), row.expected, row.received, row.rate === null ? '' : (row.rate * 100).toFixed(2), missingText(row.missing, row.missingTruncated)]),
    );
    return csvReply(res, `completeness-${period}.csv`, ['站点编码', '站点名称', '设备编码', '设备名称', '上报计划', '间隔(秒)', '时段', '开始', '结束', '应到数', '实到数', '到报率(%)', '缺报时段'], rows);
  }
  sendJson(res, 200, r);
};

const FORMATS = ['json', 'csv', 'xlsx'] as const;
const PARTS = ['stations', 'metrics', 'alarms'] as const;

const dailyReportRoute: Handler = async (ctx, who, req, res, q) => {
  const format = (q.get('format') ?? (/spreadsheetml/.test(req.headers.accept ?? '') ? 'xlsx' : /\btext\/csv\b/.test(req.headers.accept ?? '') ? 'csv' : 'json')) as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new HttpError(400, `format: must be ${FORMATS.join(', ')}`);
  // Default: yesterday (Beijing time), the last complete day.
  const date = q.get('date') || fmtChina(periodStart('day', Date.now()) - DAY_MS, 'date');
  if (chinaDayStart(date) === undefined) throw new HttpError(400, `date: "${date.slice(0, 40)}" is not a date YYYY-MM-DD`);
  const records = await scopedRecords(ctx, who, q);
  const r = await dailyReport(ctx.store, records, { date, bureau: who.bureau, rawDays: ctx.cfg.retention.rawDays, minuteDays: ctx.cfg.retention.minuteDays });
  const name = `daily-report-${who.bureau ?? 'all'}-${date}`;
  if (format === 'xlsx') {
    const bytes = await reportXlsx(r);
    res.writeHead(200, {
      'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'content-length': bytes.length,
      'content-disposition': `attachment; filename="${name}.xlsx"`,
    });
    res.end(bytes);
    return;
  }
  if (format === 'csv') {
    const part = (q.get('part') ?? 'stations') as (typeof PARTS)[number];
    if (!PARTS.includes(part)) throw new HttpError(400, `part: must be ${PARTS.join(', ')}`);
    const t = reportTables(r)[part];
    return csvReply(res, `${name}-${part}.csv`, t.header, csvRows(t));
  }
  sendJson(res, 200, r);
};

const seg = '([^/]+)';
export const ANALYTICS_ROUTES: Route[] = [
  { method: 'GET', pattern: new RegExp(`^/api/v1/devices/${seg}/rainfall$`), handler: rainfall },
  { method: 'GET', pattern: new RegExp(`^/api/v1/devices/${seg}/water-quality$`), handler: waterQuality },
  { method: 'GET', pattern: /^\/api\/v1\/completeness$/, handler: completenessRoute },
  { method: 'GET', pattern: /^\/api\/v1\/reports\/daily$/, handler: dailyReportRoute },
];

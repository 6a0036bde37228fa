// The daily report with known inputs (both stores): completeness, statistics, the hydrological day's rainfall and
// the day's alarms in JSON; the same numbers in the CSV parts and in the XLSX, read back with exceljs.
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../core/csv.js';
import type { DailyReport } from '../../../collector/analytics/report.js';
import { Aggregate, EventKind, Severity } from '../../../schema/types.js';
import { STORES } from '../helpers.js';
import { analyticsFixture, DAY, HOUR, type AnalyticsFixture } from './fixture.js';

const D = Math.floor((Date.now() + 8 * HOUR) / DAY) * DAY - 8 * HOUR - 2 * DAY; // 00:00 Beijing time, two days ago
const DATE = new Date(D + 8 * HOUR).toISOString().slice(0, 10);

describe.each(STORES)('daily report (%s store)', (kind) => {
  let f: AnalyticsFixture;
  let report: DailyReport;
  const fetchRaw = (q: string) => fetch(`http://127.0.0.1:${f.c.httpPort}/api/v1/reports/daily?date=${DATE}${q}`, { headers: { authorization: `Bearer ${f.tok.water}` } });

  beforeAll(async () => {
    f = await analyticsFixture(kind);
    await f.send({
      records: [
        { id: 'rain-1', name: '雨量站', kind: 'sensor', site: { id: 's1', name: '东村' }, sharingScope: ['water'], schedules: [{ name: 'report', intervalMs: HOUR, primary: true }] },
        { id: 'wq-1', name: '水质站', kind: 'station', site: { id: 's2', name: '西河' }, sharingScope: ['water'], schedules: [{ name: 'hourly', intervalMs: HOUR, periodS: 3600, primary: true }] },
        { id: 'fire-1', name: '消防', kind: 'sensor', site: { id: 's3' }, sharingScope: ['fire'] },
      ],
      readings: [
        // Hourly rain reports, 00:00–23:00 except 05:00 and 06:00: 23 expected from its start at 01:00, 21 arrived.
        // The hydrological day (08:00 D – 08:00 D+1) holds the 09:00…23:00 reports: 15 × 0.5 mm.
        ...Array.from({ length: 23 }, (_, i) => i + 1).filter((h) => h !== 5 && h !== 6).map((h) => ({ deviceId: 'rain-1', metric: 'rainfall', number: 0.5, unit: 'mm', ts: D + h * HOUR })),
        // Water-quality hourly averages all day: COD 10, 20, 30 … cycling; NH3-N 0.4 → class II by NH3-N, III by COD mean 20.
        ...Array.from({ length: 24 }, (_, h) => [
          { deviceId: 'wq-1', metric: 'cod', number: [10, 20, 30][h % 3]!, unit: 'mg/L', ts: D + h * HOUR, aggregate: Aggregate.AVG, periodS: 3600 },
          { deviceId: 'wq-1', metric: 'ammonia_nitrogen', number: 0.4, unit: 'mg/L', ts: D + h * HOUR, aggregate: Aggregate.AVG, periodS: 3600 },
        ]).flat(),
        { deviceId: 'fire-1', metric: 'pipe_pressure', number: 0.3, unit: 'MPa', ts: D + HOUR },
      ],
      events: [
        { deviceId: 'wq-1', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, ts: D + 10 * HOUR, code: 'cod.warning', metric: 'cod', value: 30, threshold: 20, message: 'COD 30 above warning 20' },
        { deviceId: 'wq-1', kind: EventKind.ALARM_CLEARED, severity: Severity.INFO, ts: D + 11 * HOUR, code: 'cod.warning', metric: 'cod', value: 10, threshold: 20, message: 'cleared' },
        { deviceId: 'wq-1', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, ts: D + DAY + HOUR, code: 'cod.warning', metric: 'cod', value: 30, threshold: 20, message: 'next day' },
        { deviceId: 'fire-1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, ts: D + 12 * HOUR, message: 'not water’s' },
      ],
    });
    const r = await f.get<DailyReport>(`/api/v1/reports/daily?date=${DATE}`);
    expect(r.status).toBe(200);
    report = r.body;
  });
  afterAll(() => f?.stop());

  it('reports the bureau’s stations with completeness and the water-quality class of the day', () => {
    expect(report).toMatchObject({ bureau: 'water', date: DATE, day: { start: D, end: D + DAY }, hydroDay: { start: D + 8 * HOUR, end: D + 8 * HOUR + DAY } });
    expect(report.stations.map((s) => s.device)).toEqual(['rain-1', 'wq-1']);
    expect(report.stations[0]).toMatchObject({ schedule: 'report', expected: 23, received: 21, missing: `${DATE} 05:00–07:00` });
    expect(report.stations[0]!.rate).toBeCloseTo(21 / 23, 12);
    expect(report.stations[1]).toMatchObject({ expected: 24, received: 24, rate: 1, waterClass: 'III', decidingFactors: '化学需氧量' });
    expect(report.summary).toMatchObject({ stations: 2, expected: 47, received: 45, alarmsRaised: 1, alarmsCleared: 1 });
  });

  it('gives min / max / average per metric, rainfall as the hydrological day’s total', () => {
    const rain = report.metrics.find((m) => m.metric === 'rainfall')!;
    expect(rain).toMatchObject({ device: 'rain-1', total: 7.5, count: 15, min: null, avg: null });
    const cod = report.metrics.find((m) => m.metric === 'cod')!;
    expect(cod).toMatchObject({ device: 'wq-1', metricName: '化学需氧量', unit: 'mg/L', aggregate: 'avg', count: 24, min: 10, max: 30, avg: 20, total: null });
  });

  it('lists the day’s alarms of the bureau’s devices only', () => {
    expect(report.alarms.map((a) => [a.device, a.kindName, a.severityName, a.value])).toEqual([['wq-1', '报警', '预警', 30], ['wq-1', '报警解除', '提示', 10]]);
  });

  it('CSV parts carry the same numbers under Chinese headers', async () => {
    const stations = parseCsv(await (await fetchRaw('&format=csv&part=stations')).text());
    expect(stations[0]!.slice(0, 4)).toEqual(['站点编码', '站点名称', '设备编码', '设备名称']);
    expect(stations[1]!.slice(7, 11)).toEqual(['23', '21', (100 * 21 / 23).toFixed(2), `${DATE} 05:00–07:00`]);
    const metrics = parseCsv(await (await fetchRaw('&format=csv&part=metrics')).text());
    expect(metrics.find((r) => r[1] === 'rain-1')!.slice(-1)).toEqual(['7.5']);
    expect((await fetchRaw('&format=csv&part=nope')).status).toBe(400);
  });

  it('the XLSX opens and its numbers match the API', async () => {
    const res = await fetchRaw('&format=xlsx');
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers.get('content-disposition')).toContain(`daily-report-water-${DATE}.xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['概况', '站点到报率', '指标统计', '告警事件']);
    const summary = wb.getWorksheet('概况')!;
    const cell = (label: string) => summary.getColumn(1).values.indexOf(label);
    expect(summary.getRow(cell('日报日期')).getCell(2).value).toBe(DATE);
    expect(summary.getRow(cell('到报率')).getCell(2).value).toBe(report.summary.rate);
    expect(summary.getRow(cell('到报率')).getCell(2).numFmt).toBe('0.00%');

    const sheet = wb.getWorksheet('站点到报率')!;
    const header = sheet.getRow(1).values as unknown[];
    expect(header.slice(1, 4)).toEqual(['站点编码', '站点名称', '设备编码']);
    const col = (h: string) => header.indexOf(h);
    for (const [i, s] of report.stations.entries()) {
      const row = sheet.getRow(i + 2);
      expect(row.getCell(col('设备编码')).value).toBe(s.device);
      expect(row.getCell(col('应到数')).value).toBe(s.expected);
      expect(row.getCell(col('实到数')).value).toBe(s.received);
      expect(row.getCell(col('到报率(%)')).value).toBe(s.rate);
      expect(row.getCell(col('水质类别')).value).toBe(s.waterClass ?? '');
    }
    const m = wb.getWorksheet('指标统计')!;
    const mh = m.getRow(1).values as unknown[];
    for (const [i, x] of report.metrics.entries()) {
      const row = m.getRow(i + 2);
      expect([row.getCell(mh.indexOf('设备编码')).value, row.getCell(mh.indexOf('最小值')).value, row.getCell(mh.indexOf('最大值')).value, row.getCell(mh.indexOf('平均值')).value, row.getCell(mh.indexOf('日累计(水文日)')).value])
        .toEqual([x.device, x.min, x.max, x.avg, x.total]);
    }
    expect(wb.getWorksheet('告警事件')!.rowCount).toBe(1 + report.alarms.length);
  });

  it('refuses a bad date or format', async () => {
    expect((await f.get('/api/v1/reports/daily?date=2026-02-30')).status).toBe(400);
    expect((await f.get('/api/v1/reports/daily?format=pdf')).status).toBe(400);
  });
});

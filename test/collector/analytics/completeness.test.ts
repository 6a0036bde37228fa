// Completeness (到报率) with known inputs: a station missing 3 of 24 hourly reports is at 87.5 % with the three
// hours listed, per day, month and site, in JSON and CSV, scoped to the bureau (both stores); the counting rules as
// pure functions; and the missed-reports event raised once per run and cleared when reports resume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { parseCsv } from '../../../core/csv.js';
import { cellPlan, evaluatePeriod, type CompletenessReport } from '../../../collector/analytics/completeness.js';
import { MissedReportWatcher, trailingMissed } from '../../../collector/analytics/missed.js';
import { Aggregate, type DeviceRecord } from '../../../schema/types.js';
import type { StoredEvent } from '../../../collector/store/index.js';
import { STORES } from '../helpers.js';
import { analyticsFixture, DAY, HOUR, type AnalyticsFixture } from './fixture.js';

const MIN = 60_000;
const D = Math.floor((Date.now() + 8 * HOUR) / DAY) * DAY - 8 * HOUR - 2 * DAY; // 00:00 Beijing time, two days ago
const MISSING_HOURS = [2, 9, 17];

describe('counting rules', () => {
  const hourly = cellPlan(HOUR, 'day', true);

  it('plans cells: one per interval when it is a multiple of the bucket, else several slots per bucket', () => {
    expect(cellPlan(HOUR, 'day', true)).toEqual({ resolution: '1h', cellMs: HOUR, slotsPerCell: 1, intervalMs: HOUR });
    expect(cellPlan(5 * MIN, 'day', true)).toEqual({ resolution: '1m', cellMs: 5 * MIN, slotsPerCell: 1, intervalMs: 5 * MIN });
    expect(cellPlan(10_000, 'day', true)).toEqual({ resolution: '1m', cellMs: MIN, slotsPerCell: 6, intervalMs: 10_000 });
    expect(cellPlan(5 * MIN, 'month', true)).toEqual({ resolution: '1h', cellMs: HOUR, slotsPerCell: 12, intervalMs: 5 * MIN });
    expect(cellPlan(86_400_000, 'day', true).cellMs).toBe(DAY);
  });

  it('merges wholly missing cells into one range, lists partly filled ones alone, caps received at the slots', () => {
    const plan = cellPlan(10_000, 'day', true);
    const got = new Map([[D, 6], [D + MIN, 9], [D + 4 * MIN, 3]]); // minutes 2 and 3 empty, minute 4 half
    const row = evaluatePeriod(plan, { label: 'x', start: D, end: D + 5 * MIN }, got, undefined, D + DAY);
    expect(row).toMatchObject({ expected: 30, received: 15, rate: 0.5 });
    expect(row.missing).toEqual([{ from: D + 2 * MIN, to: D + 4 * MIN, slots: 12 }, { from: D + 4 * MIN, to: D + 5 * MIN, slots: 3 }]);
  });

  it('expects nothing before the device’s start, and a slot only once it is due (or has data)', () => {
    const now = D + 10 * HOUR + 30 * MIN; // 10:30: the 09:00 hour is due at 11:00, the 08:00 hour at 10:00
    const got = new Map([[D + 6 * HOUR, 1], [D + 7 * HOUR, 1], [D + 9 * HOUR, 1]]);
    const row = evaluatePeriod(hourly, { label: 'x', start: D, end: D + DAY }, got, D + 6 * HOUR + 20 * MIN, now);
    expect(row).toMatchObject({ expected: 4, received: 3 });
    expect(row.missing).toEqual([{ from: D + 8 * HOUR, to: D + 9 * HOUR, slots: 1 }]);
  });

  it('finds the run of missed reports at the end, and none once data arrives again', () => {
    const now = D + 12 * HOUR + 5 * MIN;
    const got = new Map([[D + 6 * HOUR, 1], [D + 7 * HOUR, 1]]); // 08:00, 09:00, 10:00 missing (11:00 not due yet)
    expect(trailingMissed(hourly, got, D, now, 10)).toEqual({ missed: 3, from: D + 8 * HOUR });
    got.set(D + 11 * HOUR, 1); // the 11:00 hour's data came early
    expect(trailingMissed(hourly, got, D, now, 10)).toEqual({ missed: 0 });
  });
});

const station: DeviceRecord = {
  id: 'hj-1', name: '一号水质站', kind: 'station', site: { id: 'river-a', name: '甲河断面' }, sharingScope: ['environment'],
  schedules: [{ name: 'hourly', intervalMs: HOUR, periodS: 3600, primary: true }, { name: 'realtime', intervalMs: MIN }],
};

describe.each(STORES)('completeness through the API (%s store)', (kind) => {
  let f: AnalyticsFixture;

  beforeAll(async () => {
    f = await analyticsFixture(kind);
    const hours = Array.from({ length: 24 }, (_, h) => h).filter((h) => !MISSING_HOURS.includes(h));
    await f.send({
      records: [station, { id: 'hj-2', name: '未共享', kind: 'station', site: { id: 'other' }, sharingScope: ['water'], schedules: station.schedules }, { id: 'no-schedule', kind: 'sensor', site: { id: 'river-a' }, sharingScope: ['environment'] }],
      // HJ 212 hourly data: avg and max of two factors per hour, stamped at the hour's start.
      readings: hours.flatMap((h) => ['cod', 'ammonia_nitrogen'].flatMap((metric) => [Aggregate.AVG, Aggregate.MAX].map((aggregate) => ({ deviceId: 'hj-1', metric, number: 1, unit: 'mg/L', ts: D + h * HOUR, aggregate, periodS: 3600 })))),
    });
  });
  afterAll(() => f?.stop());

  it('a station that missed 3 of 24 hourly reports: 87.5 % with the three hours listed', async () => {
    const r = await f.get<CompletenessReport>(`/api/v1/completeness?from=${D}&to=${D + DAY}&period=day`, f.tok.environment);
    expect(r.status).toBe(200);
    const d = r.body.devices.find((x) => x.device === 'hj-1')!;
    expect(d.schedule).toMatchObject({ name: 'hourly', intervalMs: HOUR });
    expect(d.rows).toHaveLength(1);
    expect(d.rows[0]).toMatchObject({ period: new Date(D + 8 * HOUR).toISOString().slice(0, 10), expected: 24, received: 21, rate: 0.875 });
    expect(d.rows[0]!.missing).toEqual(MISSING_HOURS.map((h) => ({ from: D + h * HOUR, to: D + (h + 1) * HOUR, slots: 1 })));
    expect(r.body.sites.find((s) => s.site === 'river-a')).toMatchObject({ devices: 1, total: { expected: 24, received: 21, rate: 0.875 } });
    expect(r.body.unscheduled).toEqual(['no-schedule']);
    expect(r.body.devices.map((x) => x.device)).not.toContain('hj-2'); // another bureau's station
  });

  it('counts the real-time schedule on its own when asked, and months', async () => {
    const rt = await f.get<CompletenessReport>(`/api/v1/completeness?from=${D}&to=${D + DAY}&schedule=realtime`, f.tok.environment);
    // No real-time data ever: expected from the station's first data (00:00), none received.
    expect(rt.body.devices[0]).toMatchObject({ device: 'hj-1', schedule: { name: 'realtime' }, total: { expected: 1440, received: 0, rate: 0 } });
    expect(rt.body.devices[0]!.rows[0]!.missing).toEqual([{ from: D, to: D + DAY, slots: 1440 }]);
    const month = await f.get<CompletenessReport>(`/api/v1/completeness?from=${D}&to=${D + DAY}&period=month`, f.tok.environment);
    expect(month.body.devices[0]!.rows[0]).toMatchObject({ expected: 24, received: 21 });
  });

  it('exports CSV with Chinese headers and the missing hours in Beijing time', async () => {
    const res = await fetch(`http://127.0.0.1:${f.c.httpPort}/api/v1/completeness?from=${D}&to=${D + DAY}&device=hj-1&format=csv`, { headers: { authorization: `Bearer ${f.tok.environment}` } });
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(['站点编码', '站点名称', '设备编码', '设备名称', '上报计划', '间隔(秒)', '时段', '开始', '结束', '应到数', '实到数', '到报率(%)', '缺报时段']);
    const date = new Date(D + 8 * HOUR).toISOString().slice(0, 10);
    expect(rows[1]!.slice(9)).toEqual(['24', '21', '87.50', `${date} 02:00–03:00; ${date} 09:00–10:00; ${date} 17:00–18:00`]);
  });

  it('refuses another bureau’s device and bad periods', async () => {
    expect((await f.get(`/api/v1/completeness?device=hj-2`, f.tok.environment)).status).toBe(404);
    expect((await f.get(`/api/v1/completeness?period=week`, f.tok.environment)).status).toBe(400);
    expect((await f.get(`/api/v1/completeness?from=${D + DAY}&to=${D}`, f.tok.environment)).status).toBe(400);
  });

  it('raises one missed-reports event per run (two nodes checking at once) and clears it when reports resume', async () => {
    const now = Date.now();
    const poll: DeviceRecord = { id: 'poll-1', name: '轮询设备', kind: 'sensor', site: { id: 'river-a' }, sharingScope: ['environment'], schedules: [{ name: 'poll', intervalMs: MIN, primary: true }] };
    await f.send({ records: [poll], readings: Array.from({ length: 20 }, (_, i) => ({ deviceId: 'poll-1', metric: 'water_level', number: i, unit: 'm', ts: now - (30 - i) * MIN })) });
    const watch = () => new MissedReportWatcher(f.c.store, { missedReports: 3, checkIntervalS: 60 }, silentLogger, () => Date.now());
    await Promise.all([watch().check(), watch().check()]);
    const events = async () => (await f.get<{ events: StoredEvent[] }>(`/api/v1/events?device=poll-1&from=${now - HOUR}`, f.tok.environment)).body.events;
    const raised = await events();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'data_gap', severity: 'warning', code: 'missed_reports', threshold: 3 });
    expect(raised[0]!.value).toBeGreaterThanOrEqual(9); // since the reading 11 minutes ago, less the one not yet due
    expect(raised[0]!.value).toBeLessThanOrEqual(10);
    await watch().check(); // still missing: no second event
    expect(await events()).toHaveLength(1);
    await f.send({ readings: [{ deviceId: 'poll-1', metric: 'water_level', number: 1, unit: 'm', ts: Date.now() - 1000 }] });
    await watch().check();
    const after = await events();
    expect(after.map((e) => [e.kind, e.severity, e.code])).toEqual([['data_gap', 'warning', 'missed_reports'], ['data_gap', 'info', 'missed_reports.resumed']]);
  });
});

// Rainfall period totals with known inputs: increments and a cumulative counter with a reset, across the 08:00
// hydrological-day boundary, through the real collector (both stores) and as pure functions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../core/csv.js';
import { counterIncrements, totalsByPeriod, type RainValue } from '../../../collector/analytics/rainfall.js';
import type { RainfallResult } from '../../../collector/analytics/rainfall.js';
import type { SeriesResult } from '../../../collector/store/index.js';
import { STORES } from '../helpers.js';
import { analyticsFixture, DAY, HOUR, hydroDayStart, type AnalyticsFixture } from './fixture.js';

const MIN = 60_000;
// H0 = 08:00 Beijing time two days ago (= 00:00 UTC): the start of hydrological day D.
const H0 = hydroDayStart(2);
const at = (h: number, m = 0) => H0 + (h - 8) * HOUR + m * MIN; // Beijing wall-clock time on day D

// Increments stamped at the end of each quarter hour; the 08:00:00.000 one belongs to 07:00–08:00 and to day D−1,
// the one at 08:00:00.001 to 08:00–09:00 and day D.
const INCREMENTS: [number, number][] = [
  [at(6, 15), 0.5], [at(6, 30), 0.5], [at(6, 45), 1.0], [at(7, 0), 2.0],
  [at(7, 15), 1.0], [at(7, 30), 1.5], [at(7, 45), 0.5], [at(8, 0), 3.0],
  [at(8, 0) + 1, 0.7], [at(8, 15), 2.0], [at(8, 30), 0.2], [at(8, 45), 0.3], [at(9, 0), 0.5],
  [at(9, 15), 0.0], [at(9, 30), 1.2], [at(9, 45), 0.8], [at(10, 0), 1.0],
];
// A tipping-bucket counter reset at 07:30 (105.0 → 0.4): that step counts nothing, never −104.6.
const COUNTER: [number, number][] = [
  [at(6, 0), 100.0], [at(6, 15), 100.5], [at(6, 30), 101.0], [at(6, 45), 102.0], [at(7, 0), 104.0],
  [at(7, 15), 105.0], [at(7, 30), 0.4], [at(7, 45), 0.9], [at(8, 0), 3.9],
  [at(8, 15), 5.9], [at(8, 30), 6.1], [at(8, 45), 6.4], [at(9, 0), 6.9],
];

describe('rainfall arithmetic', () => {
  const v = (ts: number, value: number): RainValue => ({ ts, value, quality: 'good' });

  it('turns a counter into increments; a decrease starts a new run and counts 0', () => {
    const { increments, resets } = counterIncrements(COUNTER.slice(1).map(([t, x]) => v(t, x)), v(...COUNTER[0]!));
    expect(increments.map((i) => i.value)).toEqual([0.5, 0.5, 1, 2, 1, 0, 0.5, 3, 2, 0.2, 0.3, 0.5]);
    expect(increments.every((i) => i.value >= 0)).toBe(true);
    expect(resets).toEqual([{ ts: at(7, 30), from: 105, to: 0.4 }]);
  });

  it('skips BAD counter values (neither a reset nor a baseline)', () => {
    const { increments, resets } = counterIncrements([v(1, 10), { ts: 2, value: 0, quality: 'bad' }, v(3, 10.5)]);
    expect(increments.map((i) => i.value)).toEqual([0.5]);
    expect(resets).toEqual([]);
  });

  it('counts a reading in the period that ends at or after it; start-stamped aggregates at their end', () => {
    const amounts = [v(at(8, 0), 1), v(at(8, 0) + 1, 2), { ts: at(8, 0), value: 4, quality: 'good' as const, coverMs: HOUR }];
    const hours = totalsByPeriod(amounts, at(7, 0), at(10, 0), 'hour');
    expect(hours.map((h) => [h.label.slice(11), h.total])).toEqual([['08:00', 1], ['09:00', 6]]);
  });
});

describe.each(STORES)('rainfall totals through the API (%s store)', (kind) => {
  let f: AnalyticsFixture;

  beforeAll(async () => {
    f = await analyticsFixture(kind);
    await f.send({
      records: [
        { id: 'rg-1', name: '一号雨量站', kind: 'sensor', site: { id: 'rs', name: '雨量站' }, sharingScope: ['water'] },
        { id: 'rg-2', name: '二号雨量站', kind: 'sensor', site: { id: 'rs', name: '雨量站' }, sharingScope: ['water'] },
        { id: 'wl-1', name: '水位', kind: 'sensor', site: { id: 'rs' }, sharingScope: ['water'] },
      ],
      readings: [
        ...INCREMENTS.map(([ts, n]) => ({ deviceId: 'rg-1', metric: 'rainfall', number: n, unit: 'mm', ts })),
        ...COUNTER.map(([ts, n]) => ({ deviceId: 'rg-2', metric: 'rainfall_cumulative', number: n, unit: 'mm', ts })),
        { deviceId: 'wl-1', metric: 'water_level', number: 1, unit: 'm', ts: H0 - 9 * HOUR },
        { deviceId: 'wl-1', metric: 'water_level', number: 3, unit: 'm', ts: H0 - 7 * HOUR },
      ],
    });
  });
  afterAll(() => f?.stop());

  const rain = (device: string, q: string) => f.get<RainfallResult>(`/api/v1/devices/${device}/rainfall?${q}`);

  it('hourly totals from increments, each hour labelled by its end', async () => {
    const r = await rain('rg-1', `from=${at(6)}&to=${at(10)}&period=hour`);
    expect(r.status).toBe(200);
    expect(r.body.source).toBe('amounts');
    expect(r.body.periods.map((p) => [p.label.slice(11), p.total, p.readings])).toEqual([['07:00', 4, 4], ['08:00', 6, 4], ['09:00', 3.7, 5], ['10:00', 3, 4]]);
    expect(r.body.total).toBe(16.7);
  });

  it('hydrological-day totals from increments: 08:00:00.000 closes day D−1, 08:00:00.001 opens day D', async () => {
    const r = await rain('rg-1', `from=${H0 - DAY}&to=${H0 + DAY}&period=day`);
    expect(r.body.periods.map((p) => [p.label, p.start, p.total])).toEqual([
      [new Date(H0 - DAY).toISOString().slice(0, 10), H0 - DAY, 10],
      [new Date(H0).toISOString().slice(0, 10), H0, 6.7],
    ]);
  });

  it('hourly and hydrological-day totals from a counter with a reset', async () => {
    const hours = await rain('rg-2', `from=${at(6)}&to=${at(10)}&period=hour`);
    expect(hours.body.source).toBe('counter');
    expect(hours.body.periods.map((p) => p.total)).toEqual([4, 4.5, 3]);
    expect(hours.body.resets).toEqual([{ ts: at(7, 30), from: 105, to: 0.4 }]);
    const days = await rain('rg-2', `from=${H0 - DAY}&to=${H0 + DAY}&period=day`);
    expect(days.body.periods.map((p) => p.total)).toEqual([8.5, 3]);
    const range = await rain('rg-2', `from=${at(7, 30)}&to=${at(8, 30)}&period=range`);
    // 07:30 (the reset) up to 08:30: 0.5 + 3.0 + 2.0 + 0.2 — the baseline is the value before the range.
    expect(range.body.total).toBe(5.7);
  });

  it('agg=sum on the series API: step=1h gives clock hours, step=1d hydrological days; CSV says where each ends', async () => {
    const hours = await f.get<SeriesResult>(`/api/v1/devices/rg-1/series/rainfall?agg=sum&step=1h&from=${at(6)}&to=${at(10)}`);
    expect(hours.body.points.map((p) => [p.ts, p.value])).toEqual([[at(6), 4], [at(7), 6], [at(8), 3.7], [at(9), 3]]);
    expect(hours.body.points[0]!.end).toBe(at(7));
    const days = await f.get<SeriesResult>(`/api/v1/devices/rg-2/series/rainfall_cumulative?agg=sum&step=1d&from=${H0 - DAY}&to=${H0 + DAY}`);
    expect(days.body.points.map((p) => [p.ts, p.value])).toEqual([[H0 - DAY, 8.5], [H0, 3]]);
    const csv = parseCsv(await (await fetch(`http://127.0.0.1:${f.c.httpPort}/api/v1/devices/rg-1/series/rainfall?agg=sum&step=1d&from=${H0 - DAY}&to=${H0 + DAY}&format=csv`, { headers: { authorization: `Bearer ${f.tok.water}` } })).text());
    expect(csv[0]).toEqual(['ts', 'time', 'value', 'unit', 'quality', 'aggregate', 'period_s', 'end_time']);
    expect(csv.slice(1).map((r) => [Number(r[0]), Number(r[2]), r[7]])).toEqual([[H0 - DAY, 10, new Date(H0).toISOString()], [H0, 6.7, new Date(H0 + DAY).toISOString()]]);
  });

  it('other metrics: agg=sum adds values; 1-day buckets are Beijing calendar days', async () => {
    const r = await f.get<SeriesResult>(`/api/v1/devices/wl-1/series/water_level?agg=sum&step=1d&from=${H0 - 2 * DAY}&to=${H0}`);
    // 23:00 and 01:00 Beijing time fall on either side of midnight (16:00 UTC).
    expect(r.body.points.map((p) => [p.ts, p.value])).toEqual([[H0 - 8 * HOUR - DAY, 1], [H0 - 8 * HOUR, 3]]);
  });

  it('is scoped to the bureau and says when a device has no rainfall', async () => {
    expect((await f.get(`/api/v1/devices/rg-1/rainfall`, f.tok.fire)).status).toBe(404);
    expect((await f.get(`/api/v1/devices/wl-1/rainfall`)).status).toBe(404);
    expect((await f.get(`/api/v1/devices/rg-1/rainfall?period=week`)).status).toBe(400);
  });
});

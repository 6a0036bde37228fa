// GB 3838-2002 classes: the boundary value of every factor and class (data-driven, collector/analytics/testcases),
// the deciding factor of a sample, lakes vs rivers, and classes per sample and per day through the API (both stores).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../core/csv.js';
import { classify, factorClass, WATER_CLASSES, type WaterBody, type WaterQualityResult } from '../../../collector/analytics/water-quality.js';
import { STORES } from '../helpers.js';
import { analyticsFixture, DAY, HOUR, type AnalyticsFixture } from './fixture.js';

const cases = JSON.parse(readFileSync(new URL('../../../collector/analytics/testcases/gb3838-boundaries.json', import.meta.url), 'utf8')) as { cases: [string, number, WaterBody, string | null][] };

describe('GB 3838-2002 classes', () => {
  it.each(cases.cases)('%s = %s (%s) → class %s', (metric, value, body, expected) => {
    const i = factorClass(metric, value, body);
    expect(i === undefined ? null : WATER_CLASSES[i]).toBe(expected);
  });

  it('a sample takes its worst factor’s class and names every deciding factor', () => {
    const r = classify({ ph: 7.4, dissolved_oxygen: 6.2, cod: 18, ammonia_nitrogen: 1.2, total_phosphorus: 0.25 });
    expect(r).toMatchObject({ class: 'IV', level: 4 });
    expect(r!.deciding.sort()).toEqual(['ammonia_nitrogen', 'total_phosphorus']);
    expect(r!.factors.find((f) => f.metric === 'cod')).toEqual({ metric: 'cod', value: 18, class: 'III' });
  });

  it('total nitrogen counts for lakes and reservoirs only; their phosphorus limits are stricter', () => {
    const v = { dissolved_oxygen: 8, total_phosphorus: 0.04, total_nitrogen: 1.8 };
    expect(classify(v, 'river')).toMatchObject({ class: 'II', deciding: ['total_phosphorus'] });
    expect(classify(v, 'lake')).toMatchObject({ class: 'V', deciding: ['total_nitrogen'] });
  });

  it('pH outside 6–9 meets no class; float noise from averaging does not cross a limit', () => {
    expect(classify({ ph: 9.4, cod: 10 })).toMatchObject({ class: '劣V', deciding: ['ph'] });
    expect(classify({ ammonia_nitrogen: (0.1 + 0.2) / 2 })?.class).toBe('I'); // 0.15000000000000002
    expect(classify({ water_temperature: 20 })).toBeUndefined();
  });
});

describe.each(STORES)('water-quality classes through the API (%s store)', (kind) => {
  let f: AnalyticsFixture;
  const day0 = Math.floor((Date.now() + 8 * HOUR) / DAY) * DAY - 8 * HOUR - 2 * DAY; // Beijing midnight, two days ago
  const t1 = day0 + 10 * HOUR;
  const t2 = day0 + 14 * HOUR;

  beforeAll(async () => {
    f = await analyticsFixture(kind);
    await f.send({
      records: [
        { id: 'wq-river', name: '河流断面', kind: 'station', site: { id: 'ws' }, sharingScope: ['environment'] },
        { id: 'wq-lake', name: '湖库点位', kind: 'station', site: { id: 'ws' }, sharingScope: ['environment'], waterBody: 'lake' },
      ],
      readings: ['wq-river', 'wq-lake'].flatMap((deviceId) => [
        // 10:00: class II by DO; 14:00: NH3-N 1.2 → IV. Lake: TN 1.8 → V decides both samples.
        { deviceId, metric: 'dissolved_oxygen', number: 6.5, unit: 'mg/L', ts: t1 },
        { deviceId, metric: 'ammonia_nitrogen', number: 0.3, unit: 'mg/L', ts: t1 },
        { deviceId, metric: 'total_nitrogen', number: 1.8, unit: 'mg/L', ts: t1 },
        { deviceId, metric: 'dissolved_oxygen', number: 7.7, unit: 'mg/L', ts: t2 },
        { deviceId, metric: 'ammonia_nitrogen', number: 1.2, unit: 'mg/L', ts: t2 },
        { deviceId, metric: 'total_nitrogen', number: 1.8, unit: 'mg/L', ts: t2 },
      ]),
    });
  });
  afterAll(() => f?.stop());

  it('classes each sample and each day, with the deciding factor', async () => {
    const s = await f.get<WaterQualityResult>(`/api/v1/devices/wq-river/water-quality?period=sample&from=${day0}&to=${day0 + DAY}`, f.tok.environment);
    expect(s.status).toBe(200);
    expect(s.body.waterBody).toBe('river');
    expect(s.body.rows.map((r) => [r.ts, r.class, r.deciding])).toEqual([[t1, 'II', ['dissolved_oxygen', 'ammonia_nitrogen']], [t2, 'IV', ['ammonia_nitrogen']]]);
    // Daily means: DO 7.1 (II), NH3-N 0.75 (III) → III.
    const d = await f.get<WaterQualityResult>(`/api/v1/devices/wq-river/water-quality?period=day&from=${day0}&to=${day0 + DAY}`, f.tok.environment);
    expect(d.body.rows.map((r) => [r.ts, r.end, r.class, r.deciding])).toEqual([[day0, day0 + DAY, 'III', ['ammonia_nitrogen']]]);
    expect(d.body.rows[0]!.factors.find((x) => x.metric === 'ammonia_nitrogen')!.value).toBeCloseTo(0.75, 9);
  });

  it('uses the record’s water body: a lake counts total nitrogen', async () => {
    const s = await f.get<WaterQualityResult>(`/api/v1/devices/wq-lake/water-quality?period=sample&from=${day0}&to=${day0 + DAY}`, f.tok.environment);
    expect(s.body.waterBody).toBe('lake');
    expect(s.body.rows.map((r) => [r.class, r.deciding])).toEqual([['V', ['total_nitrogen']], ['V', ['total_nitrogen']]]);
  });

  it('exports CSV with Chinese headers and is scoped to the bureau', async () => {
    const res = await fetch(`http://127.0.0.1:${f.c.httpPort}/api/v1/devices/wq-river/water-quality?period=sample&from=${day0}&to=${day0 + DAY}&format=csv`, { headers: { authorization: `Bearer ${f.tok.environment}` } });
    const rows = parseCsv(await res.text());
    expect(rows[0]!.slice(0, 4)).toEqual(['时间', 'ts', '水质类别', '定类因子']);
    expect(rows.slice(1).map((r) => [r[2], r[3]])).toEqual([['II', '溶解氧、氨氮'], ['IV', '氨氮']]);
    expect((await f.get('/api/v1/devices/wq-river/water-quality', f.tok.water)).status).toBe(404);
  });
});

// Custom metrics (x_ names): validated like catalog metrics, normalized at the edge, carried in the 一机一档
// record through the wire schema.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ProfileCatalog, validateProfile, type DeviceProfile } from '../../core/profiles.js';
import { decodeBatch, encodeBatch } from '../../schema/codec.js';
import { Quality } from '../../schema/types.js';
import { recordFor } from '../../edge/devices.js';
import { Normalizer } from '../../edge/normalize.js';
import type { EdgeConfig } from '../../edge/config.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pump: DeviceProfile = {
  id: 'pump-counter', manufacturer: 'Acme', model: 'P1', kind: 'sensor', protocol: 'modbus',
  customMetrics: [{ name: 'x_pump_starts', unit: 'count', zh: '水泵启动次数', en: 'Pump starts', range: [0, 100000] }],
  points: [
    { name: 'starts', metric: 'x_pump_starts', modbus: { area: 'holding', address: 0, type: 'uint32' } },
    { name: 'level', metric: 'water_level', unit: 'cm', modbus: { area: 'holding', address: 2, type: 'uint16' } },
  ],
};

describe('custom metrics', () => {
  it('are validated: prefix, unit table, range, no clash with the catalog, unknown names explained', () => {
    expect(validateProfile(pump)).toEqual([]);
    const bad = {
      ...pump,
      customMetrics: [
        { name: 'pump_starts', unit: 'count', zh: 'a', en: 'a' },
        { name: 'x_speed', unit: 'furlong/fortnight', zh: 'b', en: 'b', range: [5, 1] },
        { name: 'x_level', unit: 'mm', zh: 'c', en: 'c' },
      ],
      points: [
        { name: 'starts', metric: 'x_unknown', modbus: { area: 'holding', address: 0, type: 'uint16' } },
        { name: 'level', metric: 'x_level', unit: 'MPa', modbus: { area: 'holding', address: 1, type: 'uint16' } },
      ],
    };
    const issues = validateProfile(bad).map((i) => `${i.path}: ${i.message}`);
    expect(issues).toEqual([
      '/customMetrics/0/name: "pump_starts" must start with x_ and use lower-case letters, digits and _ (at most 64 characters)',
      '/customMetrics/1/unit: unknown unit "furlong/fortnight" (see schema/units.ts; use "count" for counters)',
      '/customMetrics/1/range: [5, 1] must be [low, high] with low < high',
      '/points/0/metric: unknown metric "x_unknown" (see yiwang profile metrics; a value the catalog lacks can be declared under customMetrics with an x_ name)',
      '/points/1/unit: unit "MPa" (pressure) cannot be converted to "mm" (length) (metric x_level is in mm)',
    ]);
    expect(validateProfile({ ...pump, customMetrics: [{ name: 'x_a', unit: 'count', zh: 'a', en: 'a' }, { name: 'x_a', unit: 'count', zh: 'a', en: 'a' }] }).map((i) => i.message)).toContain('duplicate custom metric "x_a"');
  });

  it('can be declared in the edge config and used by any profile there', () => {
    const f = join(dir, 'counter.yaml');
    writeFileSync(f, YAML.stringify({ ...pump, id: 'counter', customMetrics: undefined }));
    expect(() => ProfileCatalog.load([dir])).toThrow(/unknown metric "x_pump_starts"/);
    const catalog = ProfileCatalog.load([dir], { customMetrics: pump.customMetrics });
    expect(catalog.get('counter')!.customMetrics).toEqual(pump.customMetrics);
    expect(() => ProfileCatalog.load([dir], { customMetrics: [{ name: 'battery', unit: '%', zh: 'x', en: 'x' }] })).toThrow(/customMetrics\[0\]\.name: "battery" must start with x_/);
  });

  it('are normalized at the edge with their unit and plausible range', () => {
    const n = new Normalizer(() => 1000);
    n.setDevice('P-1', pump);
    const r = n.normalize([
      { deviceId: 'P-1', point: 'starts', value: 42, quality: 'good' },
      { deviceId: 'P-1', point: 'starts', value: 250000, quality: 'good' },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.readings[0]).toMatchObject({ metric: 'x_pump_starts', unit: 'count', number: 42, quality: Quality.GOOD });
    expect(r.readings[1]).toMatchObject({ number: 250000, quality: Quality.UNCERTAIN, qualityReason: 'outside plausible range 0..100000 count' });
  });

  it('travel in the 一机一档 record through the wire schema', () => {
    const cfg = { edge: { id: 'e1' }, site: { id: 'S1' }, uplink: { url: 'mqtt://x' }, devices: [] } as EdgeConfig;
    const record = recordFor({ id: 'P-1', profile: 'pump-counter', connection: { host: 'h' } }, pump, cfg);
    expect(record.customMetrics).toEqual([{ name: 'x_pump_starts', unit: 'count', zh: '水泵启动次数', en: 'Pump starts', type: 'number', rangeMin: 0, rangeMax: 100000 }]);
    const back = decodeBatch(encodeBatch({ edgeId: 'e1', batchId: 1, firstSeq: 1, lastSeq: 1, records: [{ ...record, seq: 1 }] }));
    expect(back.records![0]!.customMetrics).toEqual(record.customMetrics);
  });
});

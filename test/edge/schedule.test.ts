// The data schedules an edge derives for each device's 一机一档 record (completeness at the collector).
import { describe, expect, it } from 'vitest';
import { ProfileCatalog } from '../../core/profiles.js';
import { recordFor } from '../../edge/devices.js';
import { dataSchedules } from '../../edge/schedule.js';
import type { EdgeConfig } from '../../edge/config.js';
import { decodeBatch, encodeBatch } from '../../schema/codec.js';

const catalog = ProfileCatalog.load();
const profile = (id: string) => catalog.get(id)!;

describe('data schedules', () => {
  it('modbus: the effective poll interval (connection over profile over default)', () => {
    expect(dataSchedules(profile('rain-gauge-modbus'), {})).toEqual([{ name: 'poll', intervalMs: 10_000, primary: true }]);
    expect(dataSchedules(profile('rain-gauge-modbus'), { pollIntervalMs: 2000 })).toEqual([{ name: 'poll', intervalMs: 2000, primary: true }]);
    expect(dataSchedules(profile('radar-level-modbus'), {})[0]!.intervalMs).toBe(5000);
  });

  it('hj212: hourly data first (what 到报率 is judged by), then real-time, minute and daily data', () => {
    expect(dataSchedules(profile('hj212-water-quality-station'), { mn: 'X', password: 'p' })).toEqual([
      { name: 'hourly', intervalMs: 3_600_000, periodS: 3600, primary: true },
      { name: 'realtime', intervalMs: 60_000 },
      { name: 'minute', intervalMs: 600_000, periodS: 60 },
      { name: 'daily', intervalMs: 86_400_000, periodS: 86_400 },
    ]);
  });

  it('sl651: the report interval; others: health.expectedIntervalS, or nothing', () => {
    expect(dataSchedules(profile('sl651-hydrology-station'), {})).toEqual([{ name: 'report', intervalMs: 300_000, primary: true }]);
    expect(dataSchedules(profile('weather-station-sparkplug'), {})).toEqual([{ name: 'expected', intervalMs: 60_000, primary: true }]);
    expect(dataSchedules(profile('onvif-ip-camera'), {})).toEqual([]);
  });

  it('travels in the record over the wire, with the water body', () => {
    const cfg = { edge: { id: 'e1' }, site: { id: 's1' }, uplink: { url: 'mqtt://x' }, devices: [] } as unknown as EdgeConfig;
    const rec = recordFor({ id: 'wq-1', profile: 'hj212-water-quality-station', connection: { mn: 'A1', password: 'p' }, waterBody: 'lake' }, profile('hj212-water-quality-station'), cfg);
    expect(rec.waterBody).toBe('lake');
    const back = decodeBatch(encodeBatch({ edgeId: 'e1', batchId: 1, firstSeq: 1, lastSeq: 1, records: [{ ...rec, seq: 1 }] })).records![0]!;
    expect(back.schedules).toEqual(rec.schedules);
    expect(back.waterBody).toBe('lake');
  });
});

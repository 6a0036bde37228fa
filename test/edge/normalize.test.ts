import { describe, expect, it } from 'vitest';
import { ProfileCatalog } from '../../core/profiles.js';
import { Normalizer, numericLevel } from '../../edge/normalize.js';
import { EventKind, Quality, Severity } from '../../schema/types.js';

const catalog = ProfileCatalog.load();

function normalizerWith(id: string, profileId: string, now = () => 1_000) {
  const n = new Normalizer(now);
  n.setDevice(id, catalog.get(profileId)!);
  return n;
}

describe('normalizer', () => {
  it('maps a point to its canonical metric, converting units and applying scale', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    const r = n.normalize([
      { deviceId: 'wl', point: 'level', value: 372, quality: 'good' },
      { deviceId: 'wl', point: 'voltage', value: 1234, quality: 'good', ts: 55 },
    ]);
    expect(r.readings).toEqual([
      { deviceId: 'wl', metric: 'water_level', unit: 'm', number: 3.72, ts: 1_000, quality: Quality.GOOD, qualityReason: undefined },
      { deviceId: 'wl', metric: 'supply_voltage', unit: 'V', number: 12.34, ts: 55, quality: Quality.GOOD, qualityReason: undefined },
    ]);
  });

  it('converts L/s to m³/s and kPa to MPa', () => {
    const f = normalizerWith('fm', 'flow-meter-modbus').normalize([{ deviceId: 'fm', point: 'flow', value: 250, quality: 'good' }]);
    expect(f.readings[0]!.number).toBeCloseTo(0.25);
    const h = normalizerWith('hp', 'hydrant-pressure-mqtt').normalize([{ deviceId: 'hp', point: 'pressure', value: 352, quality: 'good' }]);
    expect(h.readings[0]!.number).toBeCloseTo(0.352);
    expect(h.readings[0]!.unit).toBe('MPa');
  });

  it('keeps BAD samples with their reason and marks implausible values UNCERTAIN', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    const r = n.normalize([
      { deviceId: 'wl', point: 'level', value: null, quality: 'bad', reason: 'modbus timeout after 1000 ms' },
      { deviceId: 'wl', point: 'rssi', value: 20, quality: 'good' },
    ]);
    expect(r.readings[0]).toMatchObject({ quality: Quality.BAD, qualityReason: 'modbus timeout after 1000 ms' });
    expect(r.readings[0]!.number).toBeUndefined();
    expect(r.readings[1]).toMatchObject({ quality: Quality.UNCERTAIN, qualityReason: 'outside plausible range -140..0 dBm' });
  });

  it('reports values that cannot be used and unknown points as problems', () => {
    const n = normalizerWith('aq', 'air-quality-mqtt');
    const r = n.normalize([
      { deviceId: 'aq', point: 'pm25', value: 'n/a', quality: 'good' },
      { deviceId: 'aq', point: 'pm1', value: 3, quality: 'good' },
      { deviceId: 'ghost', point: 'pm25', value: 3, quality: 'good' },
    ]);
    expect(r.problems.map((p) => p.reason)).toEqual([
      'value "n/a" is not a finite number for metric pm2_5',
      'profile air-quality-mqtt has no point pm1',
      'unknown device',
    ]);
    expect(r.readings).toHaveLength(1);
    expect(r.readings[0]!.quality).toBe(Quality.BAD);
  });

  it('raises and clears water-level alarms with hysteresis, once per crossing', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    const levels = [340, 351, 352, 349, 421, 418, 414, 344, 300]; // cm; warning 3.5 m, alarm 4.2 m, hysteresis 0.05 m
    const events = levels.flatMap((cm) => n.normalize([{ deviceId: 'wl', point: 'level', value: cm, quality: 'good' }]).events);
    expect(events.map((e) => [e.kind, e.code, e.value])).toEqual([
      [EventKind.ALARM_RAISED, 'water_level.warning', 3.51],
      [EventKind.ALARM_RAISED, 'water_level.alarm', 4.21],
      [EventKind.ALARM_CLEARED, 'water_level.alarm', 4.14],
      [EventKind.ALARM_CLEARED, 'water_level.warning', 3.44],
    ]);
    expect(events[1]!.severity).toBe(Severity.MAJOR);
    expect(events[0]!.message).toBe('Water level 3.51 m above warning level 3.5');
  });

  it('handles "below" thresholds and boolean alarms', () => {
    expect(numericLevel({ direction: 'below', warning: 6.5, alarm: 6, hysteresis: 0.1 }, 6.45, 0)).toBe(1);
    expect(numericLevel({ direction: 'below', warning: 6.5, alarm: 6, hysteresis: 0.1 }, 6.55, 1)).toBe(1);
    expect(numericLevel({ direction: 'below', warning: 6.5, alarm: 6, hysteresis: 0.1 }, 6.65, 1)).toBe(0);
    const n = normalizerWith('sd', 'smoke-detector-mqtt');
    const ev = ['0', '1', '1', '0'].flatMap((v) => n.normalize([{ deviceId: 'sd', point: 'alarm', value: v, quality: 'good' }]).events);
    expect(ev.map((e) => [e.kind, e.severity])).toEqual([
      [EventKind.ALARM_RAISED, Severity.CRITICAL],
      [EventKind.ALARM_CLEARED, Severity.INFO],
    ]);
  });

  it('does not drive alarms from BAD readings', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    expect(n.normalize([{ deviceId: 'wl', point: 'level', value: 500, quality: 'bad', reason: 'x' }]).events).toEqual([]);
  });
});

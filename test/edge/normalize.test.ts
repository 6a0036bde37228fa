import { describe, expect, it } from 'vitest';
import { ProfileCatalog } from '../../core/profiles.js';
import { Normalizer, numericLevel } from '../../edge/normalize.js';
import { EventKind, Quality, Severity } from '../../schema/types.js';

const catalog = ProfileCatalog.load();

const NOW = Date.UTC(2024, 4, 1, 8, 0, 0);

function normalizerWith(id: string, profileId: string, now = () => NOW, window?: ConstructorParameters<typeof Normalizer>[1]) {
  const n = new Normalizer(now, window);
  n.setDevice(id, catalog.get(profileId)!);
  return n;
}

describe('normalizer', () => {
  it('maps a point to its canonical metric, converting units and applying scale', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    const r = n.normalize([
      { deviceId: 'wl', point: 'level', value: 372, quality: 'good' },
      { deviceId: 'wl', point: 'voltage', value: 1234, quality: 'good', ts: NOW - 5000 },
    ]);
    expect(r.readings).toEqual([
      { deviceId: 'wl', metric: 'water_level', unit: 'm', number: 3.72, ts: NOW, quality: Quality.GOOD, qualityReason: undefined },
      { deviceId: 'wl', metric: 'supply_voltage', unit: 'V', number: 12.34, ts: NOW - 5000, quality: Quality.GOOD, qualityReason: undefined },
    ]);
  });

  it('makes receive-time stamps strictly increasing per series, and never touches a source timestamp', () => {
    const n = normalizerWith('wl', 'radar-level-modbus'); // the clock stands still: a burst within one ms
    const burst = Array.from({ length: 100 }, (_, i) => n.normalize([{ deviceId: 'wl', point: 'level', value: 300 + i, quality: 'good' }]).readings[0]!.ts);
    expect(burst).toEqual(Array.from({ length: 100 }, (_, i) => NOW + i));
    // Another series of the same device is independent; two points of one call are two series.
    const other = n.normalize([
      { deviceId: 'wl', point: 'rssi', value: -70, quality: 'good' },
      { deviceId: 'wl', point: 'voltage', value: 1200, quality: 'good' },
      { deviceId: 'wl', point: 'level', value: 301, quality: 'good' },
    ]).readings.map((r) => r.ts);
    expect(other).toEqual([NOW, NOW, NOW + 100]);
    // Source timestamps stay as the device sent them, even when equal.
    const src = n.normalize([
      { deviceId: 'wl', point: 'level', value: 1, quality: 'good', ts: NOW - 1000 },
      { deviceId: 'wl', point: 'level', value: 2, quality: 'good', ts: NOW - 1000 },
    ]).readings.map((r) => r.ts);
    expect(src).toEqual([NOW - 1000, NOW - 1000]);
    // Once the clock passes the last stamp, stamps are the receive time again.
    let t = NOW + 5000;
    const later = normalizerWith('wl', 'radar-level-modbus', () => t);
    expect(later.normalize([{ deviceId: 'wl', point: 'level', value: 1, quality: 'good' }]).readings[0]!.ts).toBe(t);
    t += 1;
    expect(later.normalize([{ deviceId: 'wl', point: 'level', value: 1, quality: 'good' }]).readings[0]!.ts).toBe(t);
  });

  it('does not trust a device clock outside the window: receive time, UNCERTAIN, the device time in the reason', () => {
    const n = normalizerWith('aq', 'air-quality-mqtt');
    const yearAhead = NOW + 365 * 86_400_000;
    const r = n.normalize([
      { deviceId: 'aq', point: 'pm25', value: 30, quality: 'good', ts: yearAhead },
      { deviceId: 'aq', point: 'pm10', value: 40, quality: 'good', ts: Date.UTC(1999, 11, 31, 23, 59) },
      { deviceId: 'aq', point: 'so2', value: 0.01, quality: 'good', ts: NOW + 3_600_000 }, // 1 h ahead: within a day
      { deviceId: 'aq', point: 'no2', value: null, quality: 'bad', reason: 'sensor fault', ts: yearAhead },
      { deviceId: 'aq', point: 'o3', value: 0.05, quality: 'good', ts: Number.NaN },
    ]).readings;
    expect(r.map((x) => [x.ts, x.quality, x.qualityReason])).toEqual([
      [NOW, Quality.UNCERTAIN, 'clock: device time 2025-05-01T08:00:00.000Z'],
      [NOW, Quality.UNCERTAIN, 'clock: device time 1999-12-31T23:59:00.000Z'],
      [NOW + 3_600_000, Quality.GOOD, undefined],
      [NOW, Quality.BAD, 'clock: device time 2025-05-01T08:00:00.000Z; sensor fault'],
      [NOW, Quality.UNCERTAIN, 'clock: device time invalid (NaN)'],
    ]);
    expect(r[0]!.number).toBe(30); // the value is kept
    // The window is configurable.
    const strict = normalizerWith('aq', 'air-quality-mqtt', () => NOW, { maxAheadMs: 60_000, notBeforeMs: Date.UTC(2024, 0, 1) });
    const s2 = strict.normalize([
      { deviceId: 'aq', point: 'pm25', value: 30, quality: 'good', ts: NOW + 3_600_000 },
      { deviceId: 'aq', point: 'pm10', value: 30, quality: 'good', ts: Date.UTC(2023, 11, 31) },
    ]).readings;
    expect(s2.map((x) => x.quality)).toEqual([Quality.UNCERTAIN, Quality.UNCERTAIN]);
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
    // A clear says what remains: the alarm line cleared with the warning line still crossed is WARNING; then nothing.
    expect(events.slice(2).map((e) => e.severity)).toEqual([Severity.WARNING, Severity.INFO]);
  });

  it('reports every level change with its event, and takes saved levels back after a restart', () => {
    const changes: [string, number, number | undefined][] = [];
    const n = normalizerWith('wl', 'radar-level-modbus');
    n.onAlarmLevel = (key, level, e) => changes.push([key, level, e.kind]);
    for (const cm of [360, 430]) n.normalize([{ deviceId: 'wl', point: 'level', value: cm, quality: 'good' }]);
    expect(changes).toEqual([['wl\u0000level', 1, EventKind.ALARM_RAISED], ['wl\u0000level', 2, EventKind.ALARM_RAISED]]);
    // A restarted normalizer with the saved level: still above the alarm line raises nothing; falling clears.
    const again = normalizerWith('wl', 'radar-level-modbus');
    again.restoreAlarmLevels([['wl\u0000level', 2]]);
    expect(again.normalize([{ deviceId: 'wl', point: 'level', value: 431, quality: 'good' }]).events).toEqual([]);
    expect(again.normalize([{ deviceId: 'wl', point: 'level', value: 300, quality: 'good' }]).events.map((e) => [e.kind, e.code])).toEqual([[EventKind.ALARM_CLEARED, 'water_level.alarm']]);
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

describe('threshold overrides (site and device levels from the city)', () => {
  it('evaluates a device\'s own levels instead of its profile\'s, and the profile\'s again once they are removed', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    // 3.0 m is below the profile's 3.5 m warning line: no alarm
    expect(n.normalize([{ deviceId: 'wl', point: 'level', value: 300, quality: 'good' }]).events).toEqual([]);
    n.setThresholds('wl', new Map([['water_level', { direction: 'above', warning: 2.8, alarm: 4.2, hysteresis: 0.05 }]]));
    const raised = n.normalize([{ deviceId: 'wl', point: 'level', value: 300, quality: 'good' }]).events;
    expect(raised).toMatchObject([{ kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, code: 'water_level.warning', value: 3, threshold: 2.8 }]);
    n.setThresholds('wl', undefined);
    expect(n.normalize([{ deviceId: 'wl', point: 'level', value: 300, quality: 'good' }]).events).toMatchObject([{ kind: EventKind.ALARM_CLEARED, threshold: 3.5 }]);
  });

  it('alarms on a metric whose profile point has no levels once the city sets some', () => {
    const n = normalizerWith('wl', 'radar-level-modbus');
    expect(n.normalize([{ deviceId: 'wl', point: 'voltage', value: 1000, quality: 'good' }]).events).toEqual([]);
    n.setThresholds('wl', new Map([['supply_voltage', { direction: 'below', warning: 11, alarm: 10.5 }]]));
    expect(n.normalize([{ deviceId: 'wl', point: 'voltage', value: 1000, quality: 'good' }]).events).toMatchObject([{ code: 'supply_voltage.alarm', threshold: 10.5, severity: Severity.MAJOR }]);
  });
});

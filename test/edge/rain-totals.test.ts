// Rain-intensity alarms on rolling 1/3/24-hour totals (profile totalAlarms), through the normalizer with the
// built-in rain gauge profile: increments and a cumulative counter with a reset, hysteresis, one alarm per window,
// and backfilled history that changes nothing.
import { describe, expect, it } from 'vitest';
import { ProfileCatalog, validateProfile } from '../../core/profiles.js';
import { Normalizer } from '../../edge/normalize.js';
import { RainTotals } from '../../edge/rain-totals.js';
import { EventKind, Severity } from '../../schema/types.js';

const catalog = ProfileCatalog.load();
const MIN = 60_000;
const HOUR = 3_600_000;

describe('rain-intensity alarms on rolling totals', () => {
  it('raises on the 1-hour total, not on single increments, and clears with hysteresis when it falls', () => {
    const T0 = Date.UTC(2026, 5, 1); // device timestamps must be plausible (after 2000, not ahead of the clock)
    const n = new Normalizer(() => T0 + 10 * HOUR);
    n.setDevice('rg', catalog.get('rain-gauge-modbus')!);
    // 2.5 mm every 5 minutes (the profile scales 0.1 mm tips): 30 mm/h; the old alarm of 5 mm per increment never fires.
    const events = [];
    for (let i = 1; i <= 12; i++) events.push(...n.normalize([{ deviceId: 'rg', point: 'interval', value: 25, quality: 'good', ts: T0 + i * 5 * MIN }]).events);
    expect(events.map((e) => [e.kind, e.code, e.value, e.threshold, e.ts])).toEqual([[EventKind.ALARM_RAISED, 'rainfall_1h.warning', 20, 20, T0 + 40 * MIN]]);
    expect(events[0]).toMatchObject({ severity: Severity.WARNING, metric: 'rainfall_1h' });
    // Then no rain: the 1-hour total drops below 20 − 0.2 once the 5-minute amounts leave the window.
    const later = [];
    for (let i = 13; i <= 30; i++) later.push(...n.normalize([{ deviceId: 'rg', point: 'interval', value: 0, quality: 'good', ts: T0 + i * 5 * MIN }]).events);
    expect(later.map((e) => [e.kind, e.code, e.value])).toEqual([[EventKind.ALARM_CLEARED, 'rainfall_1h.warning', 17.5]]);
  });

  it('keeps one alarm per window: the 3- and 24-hour totals escalate on their own', () => {
    const t = new RainTotals();
    const alarms = catalog.get('rain-gauge-modbus')!.points.find((p) => p.name === 'interval')!.totalAlarms!;
    const out = [];
    // 60 mm in the first hour, then 10 mm per hour for 4 hours: each window follows its own total.
    out.push(...t.evaluate('rg', 'interval', 'rainfall', 60, HOUR, alarms));
    for (let h = 2; h <= 5; h++) out.push(...t.evaluate('rg', 'interval', 'rainfall', 10, h * HOUR, alarms));
    expect(out.map((e) => [e.kind, e.code, e.value, e.ts])).toEqual([
      [EventKind.ALARM_RAISED, 'rainfall_1h.alarm', 60, HOUR],
      [EventKind.ALARM_RAISED, 'rainfall_3h.warning', 60, HOUR],
      [EventKind.ALARM_RAISED, 'rainfall_24h.warning', 60, HOUR],
      [EventKind.ALARM_CLEARED, 'rainfall_1h.alarm', 10, 2 * HOUR],
      [EventKind.ALARM_CLEARED, 'rainfall_3h.warning', 30, 4 * HOUR],
      [EventKind.ALARM_RAISED, 'rainfall_24h.alarm', 100, 5 * HOUR], // 24 h: 60 + 4 × 10 reaches the alarm level
    ]);
  });

  it('turns a cumulative counter into rises; a reset adds nothing and raises nothing', () => {
    const t = new RainTotals();
    const alarms = [{ hours: 1, warning: 10 }];
    const feed = (v: number, min: number) => t.evaluate('rg', 'cumulative', 'rainfall_cumulative', v, min * MIN, alarms);
    expect([feed(500, 0), feed(504, 10), feed(508, 20), feed(0.5, 30)].flat()).toEqual([]); // 8 mm, then the reset
    expect(feed(2.5, 40).map((e) => [e.code, e.value])).toEqual([['rainfall_1h.warning', 10]]); // 8 + 2
  });

  it('ignores readings older than the newest (backfilled history) for live alarms', () => {
    const t = new RainTotals();
    const alarms = [{ hours: 1, warning: 10 }];
    expect(t.evaluate('rg', 'p', 'rainfall', 1, 10 * HOUR, alarms)).toEqual([]);
    expect(t.evaluate('rg', 'p', 'rainfall', 50, 9 * HOUR, alarms)).toEqual([]);
    expect(t.evaluate('rg', 'p', 'rainfall', 1, 10 * HOUR + MIN, alarms)).toEqual([]);
  });

  it('profiles: totals only on rainfall points, distinct windows, levels in order', () => {
    const base = { id: 'x', manufacturer: 'm', model: 'm', kind: 'sensor', protocol: 'modbus' };
    const point = (metric: string, totalAlarms: unknown[]) => ({ ...base, points: [{ name: 'p', metric, modbus: { area: 'input', address: 0, type: 'uint16' }, totalAlarms }] });
    expect(validateProfile(point('rainfall', [{ hours: 1, warning: 20, alarm: 50 }]))).toEqual([]);
    expect(validateProfile(point('water_level', [{ hours: 1, warning: 20 }])).map((i) => i.path)).toEqual(['/points/0/totalAlarms']);
    expect(validateProfile(point('rainfall', [{ hours: 2, warning: 20 }]))[0]!.path).toBe('/points/0/totalAlarms/0/hours');
    expect(validateProfile(point('rainfall', [{ hours: 1, warning: 20 }, { hours: 1, alarm: 10 }, { hours: 3 }, { hours: 24, warning: 9, alarm: 5 }])).map((i) => i.message)).toEqual([
      'duplicate 1-hour window', 'needs a warning or an alarm level', 'alarm level 5 must be above the warning level 9',
    ]);
  });
});

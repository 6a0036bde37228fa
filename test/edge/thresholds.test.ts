import { describe, expect, it } from 'vitest';
import { ProfileCatalog } from '../../core/profiles.js';
import { effectiveThresholds, unmatchedDeviceThresholds } from '../../edge/thresholds.js';

const catalog = ProfileCatalog.load();
const radar = catalog.get('radar-level-modbus')!; // water_level: warning 3.5, alarm 4.2, hysteresis 0.05

describe('effective thresholds', () => {
  it('are the profile\'s, overridden field by field by the site\'s and then the device\'s', () => {
    const none = effectiveThresholds(radar, 'S1', 'WL-1', undefined);
    expect(none.overrides.size).toBe(0);
    expect(none.list).toEqual([{ metric: 'water_level', warning: 3.5, alarm: 4.2, hysteresis: 0.05, direction: 'above', source: 'profile' }]);

    const site = effectiveThresholds(radar, 'S1', 'WL-1', { sites: { S1: { water_level: { warning: 2.8 } } } });
    expect(site.overrides.get('water_level')).toMatchObject({ warning: 2.8, alarm: 4.2, hysteresis: 0.05 });
    expect(site.list[0]).toMatchObject({ warning: 2.8, alarm: 4.2, source: 'site' });

    const device = effectiveThresholds(radar, 'S1', 'WL-1', { sites: { S1: { water_level: { warning: 2.8 } } }, devices: { 'WL-1': { water_level: { alarm: 3.3 } } } });
    expect(device.list[0]).toMatchObject({ warning: 2.8, alarm: 3.3, source: 'device' });
    // Another site's levels do not apply.
    expect(effectiveThresholds(radar, 'S2', 'WL-1', { sites: { S1: { water_level: { warning: 2.8 } } } }).overrides.size).toBe(0);
  });

  it('names the override that makes levels inconsistent, and a device level for a metric the device lacks', () => {
    const r = effectiveThresholds(radar, 'S1', 'WL-1', { sites: { S1: { water_level: { warning: 5 } } }, devices: { 'WL-1': { ph: { warning: 9 } } } });
    expect(r.problems).toEqual([
      { path: 'thresholds.devices.WL-1.ph', message: 'device WL-1 (profile radar-level-modbus) has no metric ph' },
      { path: 'thresholds.sites.S1.water_level', message: "the alarm level 4.2 must be above the warning level 5 (for device WL-1, with profile radar-level-modbus's levels)" },
    ]);
    expect(r.overrides.size).toBe(0);
    expect(unmatchedDeviceThresholds({ devices: { 'WL-9': { water_level: { warning: 1 } } } }, new Set(['WL-1']))).toEqual([
      { path: 'thresholds.devices.WL-9', message: 'no device WL-9 at this edge' },
    ]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, validateProfile, type DeviceProfile } from '../../../core/profiles.js';

const read = (id: string) => YAML.parse(readFileSync(join(BUILTIN_PROFILE_DIR, `${id}.yaml`), 'utf8')) as DeviceProfile;

describe('hj212 station profiles', () => {
  for (const id of ['hj212-water-quality-station', 'hj212-air-quality-station']) {
    it(`${id} passes validateProfile and maps every point to a factor`, () => {
      const p = read(id);
      expect(validateProfile(p)).toEqual([]);
      expect(p.protocol).toBe('hj212');
      expect(p.health?.expectedIntervalS).toBeGreaterThan(0);
      for (const pt of p.points) expect(pt.hj212?.factor).toMatch(/^[aw]\d{5}$/);
    });
  }
  it('uses the factor codes of HJ 212-2017', () => {
    const factors = (id: string) => Object.fromEntries(read(id).points.map((p) => [p.metric, p.hj212?.factor]));
    expect(factors('hj212-water-quality-station')).toMatchObject({ cod: 'w01018', ammonia_nitrogen: 'w21003', ph: 'w01001', dissolved_oxygen: 'w01009' });
    expect(factors('hj212-air-quality-station')).toMatchObject({ pm2_5: 'a34004', pm10: 'a34002', so2: 'a21026', no2: 'a21004', o3: 'a05024', co: 'a21005' });
  });
  it('validateProfile catches a point without an hj212 mapping', () => {
    const p = read('hj212-water-quality-station');
    delete p.points[0]!.hj212;
    expect(validateProfile(p).map((i) => i.message)).toContain('point "cod" has no hj212 mapping for protocol hj212');
  });
});

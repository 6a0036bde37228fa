import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, validateProfile, type DeviceProfile } from '../../../core/profiles.js';
import { elementById } from '../../../protocols/sl651/elements.js';

describe('sl651 hydrology station profile', () => {
  const p = YAML.parse(readFileSync(join(BUILTIN_PROFILE_DIR, 'sl651-hydrology-station.yaml'), 'utf8')) as DeviceProfile;
  it('passes validateProfile', () => expect(validateProfile(p)).toEqual([]));
  it('maps known element identifiers in the elements own units', () => {
    for (const pt of p.points) {
      const def = elementById(parseInt(pt.sl651!.element, 16));
      expect(def, pt.name).toBeDefined();
      expect(pt.unit).toBe(def!.unit);
    }
    expect(Object.fromEntries(p.points.map((x) => [x.metric, x.sl651?.element]))).toMatchObject({ water_level: '39', rainfall: '20', flow_rate: '27', supply_voltage: '38' });
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BUILTIN_PROFILE_DIR, ProfileCatalog, loadProfileFile, profileFiles, validateProfile } from '../../core/profiles.js';

const good = {
  id: 'test-gauge',
  manufacturer: 'ACME',
  model: 'G1',
  kind: 'sensor',
  protocol: 'modbus',
  points: [{ name: 'level', metric: 'water_level', unit: 'cm', modbus: { area: 'holding', address: 0, type: 'uint16' } }],
};
const mutate = (f: (p: any) => void) => { // any: test fixtures are deliberately malformed
  const p = structuredClone(good) as any;
  f(p);
  return validateProfile(p);
};

describe('device profiles', () => {
  const files = profileFiles(BUILTIN_PROFILE_DIR);

  it('ships a starter catalog of at least 8 profiles', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files.map((f) => [f.slice(BUILTIN_PROFILE_DIR.length)]))('%s validates', (name) => {
    expect(() => loadProfileFile(join(BUILTIN_PROFILE_DIR, name))).not.toThrow();
  });

  it('the built-in catalog loads by id', () => {
    const c = ProfileCatalog.load();
    expect(c.get('flow-meter-modbus')!.modbus!.wordOrder).toBe('LE');
  });

  it('accepts a good profile', () => {
    expect(validateProfile(good)).toEqual([]);
  });

  it.each([
    ['unknown metric', (p: any) => (p.points[0].metric = 'water_lvl'), '/points/0/metric', 'unknown metric "water_lvl"'],
    ['incompatible unit', (p: any) => (p.points[0].unit = 'MPa'), '/points/0/unit', 'unit "MPa" (pressure) cannot be converted to "m" (length)'],
    ['unknown unit', (p: any) => (p.points[0].unit = 'feet'), '/points/0/unit', 'unknown unit "feet"'],
    ['bad area', (p: any) => (p.points[0].modbus.area = 'holdings'), '/points/0/modbus/area', 'must be one of coil, discrete, holding, input'],
    ['missing field', (p: any) => delete p.model, '/', "must have required property 'model'"],
    ['unknown field', (p: any) => (p.points[0].scaling = 2), '/points/0', 'unknown field "scaling"'],
    ['address out of range', (p: any) => (p.points[0].modbus.address = 70000), '/points/0/modbus/address', 'must be <= 65535'],
    ['coil not bool', (p: any) => (p.points[0].modbus.area = 'coil'), '/points/0/modbus/type', 'coil points are single bits'],
    ['missing protocol mapping', (p: any) => delete p.points[0].modbus, '/points/0', 'point "level" has no modbus mapping'],
    ['duplicate point', (p: any) => p.points.push(structuredClone(p.points[0])), '/points/1/name', 'duplicate point name "level"'],
    ['inverted thresholds', (p: any) => (p.points[0].alarms = { warning: 4, alarm: 3 }), '/points/0/alarms', 'alarm level 3 must be above the warning level 4'],
  ])('reports %s with path and problem', (_name, f, path, message) => {
    const issues = mutate(f);
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toContainEqual(expect.stringContaining(`${path}: ${message}`));
  });

  it('a bad profile file fails with "file: path: problem" lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yiwang-prof-'));
    const f = join(dir, 'test-gauge.yaml');
    writeFileSync(f, YAML.stringify({ ...good, points: [{ ...good.points[0], metric: 'nope' }] }));
    expect(() => loadProfileFile(f)).toThrow(`${f}: /points/0/metric: unknown metric "nope"`);
    const g = join(dir, 'other-name.yaml');
    writeFileSync(g, YAML.stringify(good));
    expect(() => loadProfileFile(g)).toThrow('id "test-gauge" must match the file name "other-name"');
    const h = join(dir, 'broken.yaml');
    writeFileSync(h, 'id: [unclosed');
    expect(() => loadProfileFile(h)).toThrow(/broken.yaml: \/: not valid YAML/);
  });
});

// Built-in profiles say their assumptions: the README's row of each names every point's source unit and where
// it is read, and `yiwang profile show` prints the same map.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricOf, ProfileCatalog } from '../../core/profiles.js';
import { yiwang } from './helpers.js';

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
const rowOf = (id: string) => readme.split('\n').find((l) => l.startsWith(`| \`${id}\` |`));

describe('built-in profile assumptions', () => {
  for (const p of ProfileCatalog.load().list()) {
    it(`${p.id}: the README row names its source units and map`, () => {
      const row = rowOf(p.id);
      expect(row, `README has no table row for ${p.id}`).toBeDefined();
      for (const pt of p.points) {
        const unit = pt.unit ?? metricOf(p, pt.metric)!.unit;
        if (unit !== 'bool' && unit !== 'count' && p.protocol !== 'onvif') expect(row, `${p.id}.${pt.name} unit`).toContain(unit);
        const where = pt.modbus ? `${pt.modbus.area} ${pt.modbus.address}` : pt.opcua ? pt.opcua.nodeId.replace('ns=1;s=', '') : pt.hj212?.factor ?? pt.sl651?.element ?? pt.mqtt?.path ?? pt.mqtt?.topic?.replace(/.*\//, '/');
        if (where) expect(row, `${p.id}.${pt.name} map`).toContain(where);
      }
    });
  }

  it('profile show prints each point\'s map and source unit', async () => {
    const r = await yiwang(process.cwd(), ['profile', 'show', 'water-quality-opcua']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Assumes conductivity in mS/cm');
    expect(r.out).toMatch(/conductivity\s+conductivity\s+ns=1;s=WQ\.Conductivity\s+sends mS\/cm → µS\/cm/);
  });
});

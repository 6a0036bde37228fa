// The browser's WGS-84 → GCJ-02 transform (collector/dashboard/static/js/geo.js), checked against published
// reference points of other implementations (eviltransform's test table, coordtransform).
import { describe, expect, it } from 'vitest';
// @ts-expect-error a browser ES module without type declarations
import { outOfChina, projectorFor, wgs84ToGcj02 } from '../../../collector/dashboard/static/js/geo.js';

const project = wgs84ToGcj02 as (lon: number, lat: number) => [number, number];

describe('WGS-84 → GCJ-02', () => {
  it('matches reference points in Shanghai, Shenzhen and Beijing', () => {
    const cases: [[number, number], [number, number]][] = [
      [[121.5272106, 31.1774276], [121.531541859215, 31.17530398364597]],
      [[113.912316, 22.543847], [113.9171764808363, 22.540796131694766]],
      [[116.377817, 39.911954], [116.38404722455657, 39.91334545536069]],
      [[116.404, 39.915], [116.41024449916938, 39.91640428150164]],
    ];
    for (const [[lon, lat], [gLon, gLat]] of cases) {
      const [x, y] = project(lon, lat);
      expect(x).toBeCloseTo(gLon, 9);
      expect(y).toBeCloseTo(gLat, 9);
    }
  });

  it('shifts the demo area by a few hundred metres, and nothing outside China', () => {
    const [x, y] = project(117.25, 31.86);
    const metres = Math.hypot((x - 117.25) * 111_320 * Math.cos((31.86 * Math.PI) / 180), (y - 31.86) * 110_540);
    expect(metres).toBeGreaterThan(100);
    expect(metres).toBeLessThan(700);
    expect(outOfChina(2.35, 48.85)).toBe(true);
    expect(project(2.35, 48.85)).toEqual([2.35, 48.85]);
    expect((projectorFor('wgs84') as typeof project)(117.25, 31.86)).toEqual([117.25, 31.86]); // 天地图 / CGCS2000
    expect((projectorFor('gcj02') as typeof project)(117.25, 31.86)).toEqual([x, y]);
  });
});

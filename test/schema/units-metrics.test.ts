import { describe, expect, it } from 'vitest';
import { METRICS, findMetric } from '../../schema/metrics.js';
import { UnitError, convertUnit, findUnit } from '../../schema/units.js';

describe('unit conversion into canonical units', () => {
  it.each([
    [372, 'cm', 'm', 3.72],
    [12.5, 'mm', 'm', 0.0125],
    [250, 'L/s', 'm³/s', 0.25],
    [250, 'l/s', 'm3/s', 0.25],
    [3600, 'm³/h', 'm³/s', 1],
    [350, 'kPa', 'MPa', 0.35],
    [0.35, 'MPa', 'kPa', 350],
    [1013, 'hPa', 'kPa', 101.3],
    [0.012, 'mg/m³', 'µg/m³', 12],
    [1.2, 'mS/cm', 'µS/cm', 1200],
    [293.15, 'K', '°C', 20],
    [68, '°F', '°C', 20],
    [36, 'km/h', 'm/s', 10],
  ])('%s %s = %s %s', (v, from, to, expected) => {
    expect(convertUnit(v, from, to)).toBeCloseTo(expected, 9);
  });

  it('refuses to convert across dimensions and names both units', () => {
    expect(() => convertUnit(1, 'cm', 'MPa')).toThrow(UnitError);
    expect(() => convertUnit(1, 'cm', 'MPa')).toThrow('unit "cm" (length) cannot be converted to "MPa" (pressure)');
    expect(() => convertUnit(1, 'furlong', 'm')).toThrow('unknown unit "furlong"');
  });
});

describe('metric catalog', () => {
  it('covers every metric the foundation issue lists, each with a known unit and both names', () => {
    const required = [
      'water_level', 'rainfall', 'flow_rate', 'flow_velocity', 'water_temperature', 'ph', 'dissolved_oxygen',
      'turbidity', 'conductivity', 'cod', 'ammonia_nitrogen', 'total_phosphorus', 'air_temperature',
      'relative_humidity', 'air_pressure', 'wind_speed', 'pm2_5', 'pm10', 'so2', 'no2', 'o3', 'co', 'noise',
      'smoke_alarm', 'pipe_pressure', 'battery', 'signal_strength',
    ];
    for (const name of required) expect(findMetric(name), name).toBeDefined();
    for (const m of METRICS) {
      expect(findUnit(m.unit), m.name).toBeDefined();
      expect(m.zh.length).toBeGreaterThan(0);
      expect(m.en.length).toBeGreaterThan(0);
      if (m.range) expect(m.range[0]).toBeLessThan(m.range[1]);
    }
    expect(findMetric('water_level')!.unit).toBe('m');
    expect(findMetric('pipe_pressure')!.unit).toBe('MPa');
    expect(findMetric('conductivity')!.unit).toBe('µS/cm');
    expect(findMetric('smoke_alarm')!.type).toBe('boolean');
  });
});

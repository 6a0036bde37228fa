// Units and conversion into canonical units. Each unit belongs to a dimension; conversion is only
// defined within one dimension: value_in_base = value * factor + offset.

export interface UnitDef {
  symbol: string;       // canonical spelling
  dimension: string;
  factor: number;       // to the dimension's base unit
  offset?: number;
  aliases?: string[];
}

const U = (symbol: string, dimension: string, factor: number, aliases: string[] = [], offset = 0): UnitDef => ({
  symbol,
  dimension,
  factor,
  offset,
  aliases,
});

export const UNITS: readonly UnitDef[] = [
  // length (base m)
  U('m', 'length', 1, ['meter', 'metre', '米']),
  U('cm', 'length', 0.01, ['厘米']),
  U('mm', 'length', 0.001, ['毫米']),
  U('km', 'length', 1000),
  // volumetric flow (base m³/s)
  U('m³/s', 'flow', 1, ['m3/s', 'm^3/s', 'cms']),
  U('m³/h', 'flow', 1 / 3600, ['m3/h', 'm^3/h']),
  U('L/s', 'flow', 0.001, ['l/s']),
  U('L/min', 'flow', 0.001 / 60, ['l/min']),
  // velocity (base m/s)
  U('m/s', 'velocity', 1),
  U('cm/s', 'velocity', 0.01),
  U('km/h', 'velocity', 1 / 3.6),
  // temperature (base °C)
  U('°C', 'temperature', 1, ['C', 'degC', 'celsius', '℃']),
  U('K', 'temperature', 1, ['kelvin'], -273.15),
  U('°F', 'temperature', 5 / 9, ['F', 'degF'], -32 * (5 / 9)),
  // pressure (base kPa)
  U('kPa', 'pressure', 1),
  U('MPa', 'pressure', 1000),
  U('Pa', 'pressure', 0.001),
  U('hPa', 'pressure', 0.1, ['mbar']),
  U('bar', 'pressure', 100),
  // mass concentration in water (base mg/L)
  U('mg/L', 'concentration_water', 1, ['mg/l', 'ppm']),
  U('µg/L', 'concentration_water', 0.001, ['ug/L', 'ug/l', 'μg/L']),
  U('g/L', 'concentration_water', 1000),
  // mass concentration in air (base µg/m³)
  U('µg/m³', 'concentration_air', 1, ['ug/m3', 'μg/m³', 'μg/m3', 'ug/m³', 'µg/m3']),
  U('mg/m³', 'concentration_air', 1000, ['mg/m3']),
  // conductivity (base µS/cm)
  U('µS/cm', 'conductivity', 1, ['uS/cm', 'μS/cm']),
  U('mS/cm', 'conductivity', 1000),
  U('mS/m', 'conductivity', 10),
  // dimensionless and special scales: converting between them makes no sense
  U('%', 'ratio', 1, ['percent', '%RH']),
  U('pH', 'ph', 1),
  U('NTU', 'turbidity', 1, ['FNU']),
  U('dB(A)', 'sound_level', 1, ['dBA', 'dB']),
  U('dBm', 'power_level', 1),
  U('bool', 'boolean', 1, ['boolean']),
  U('°', 'angle', 1, ['deg', 'degree']),
  U('V', 'voltage', 1),
  U('mV', 'voltage', 0.001),
  U('fps', 'frame_rate', 1),
  U('kbit/s', 'bitrate', 1, ['kbps']),
  U('Mbit/s', 'bitrate', 1000, ['Mbps']),
  U('ms', 'duration', 1),
  U('s', 'duration', 1000),
  U('count', 'count', 1),
];

const BY_NAME = new Map<string, UnitDef>();
for (const u of UNITS) {
  BY_NAME.set(u.symbol, u);
  for (const a of u.aliases ?? []) BY_NAME.set(a, u);
}

export function findUnit(symbol: string): UnitDef | undefined {
  return BY_NAME.get(symbol) ?? BY_NAME.get(symbol.trim());
}

export class UnitError extends Error {}

/** A converter from `from` into `to`; throws UnitError for unknown or incompatible units. */
export function unitConverter(from: string, to: string): (v: number) => number {
  const a = findUnit(from);
  const b = findUnit(to);
  if (!a) throw new UnitError(`unknown unit "${from}"`);
  if (!b) throw new UnitError(`unknown unit "${to}"`);
  if (a.dimension !== b.dimension) {
    throw new UnitError(`unit "${from}" (${a.dimension}) cannot be converted to "${to}" (${b.dimension})`);
  }
  if (a === b) return (v) => v;
  const scale = a.factor / b.factor;
  const shift = ((a.offset ?? 0) - (b.offset ?? 0)) / b.factor;
  return shift === 0 ? (v) => v * scale : (v) => v * scale + shift;
}

export function convertUnit(value: number, from: string, to: string): number {
  return unitConverter(from, to)(value);
}

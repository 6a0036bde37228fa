// SL 651-2014 element identifiers (要素标识符): HEX id, ASCII-mode code, meaning, unit, and the standard's
// data format N(digits, decimals) used when encoding. The definition byte that follows an id in HEX mode
// is self-describing (high 5 bits = bytes, low 3 bits = decimals), so unlisted ids still decode.

export interface ElementDef {
  id: number;
  ascii: string;
  name: string;
  unit?: string;
  /** N(digits, decimals) of the standard. */
  digits: number;
  decimals: number;
  /** Not a BCD number: ZT status bits (HEX) or 5-minute series. */
  special?: 'hex' | 'series';
}

const E = (id: number, ascii: string, name: string, unit: string | undefined, digits: number, decimals: number, special?: ElementDef['special']): ElementDef => ({
  id, ascii, name, unit, digits, decimals, ...(special ? { special } : {}),
});

export const OBSERVATION_TIME = 0xf0; // F0F0 + YYMMDDhhmm BCD
export const STATION_ADDRESS = 0xf1; // F1F1 + 5-byte address + category
export const MANUAL_DATA = 0xf2;
export const PICTURE = 0xf3;

export const ELEMENTS: readonly ElementDef[] = [
  E(0x01, 'AC', 'section area', 'm²', 8, 2),
  E(0x02, 'AI', 'air temperature', '°C', 3, 1),
  E(0x03, 'C', 'water temperature', '°C', 3, 1),
  E(0x06, 'ED', 'daily evaporation', 'mm', 5, 1),
  E(0x07, 'EJ', 'current evaporation', 'mm', 5, 1),
  E(0x08, 'FL', 'air pressure', 'hPa', 5, 0),
  E(0x09, 'GH', 'gate opening height', 'm', 5, 2),
  E(0x0d, 'GTP', 'ground temperature', '°C', 3, 1),
  E(0x0e, 'H', 'groundwater depth', 'm', 6, 2),
  E(0x0f, 'HW', 'wave height', 'm', 5, 2),
  E(0x18, 'MST', 'humidity', '%', 4, 1),
  E(0x1a, 'P1', '1-hour rainfall', 'mm', 5, 1),
  E(0x1b, 'P2', '2-hour rainfall', 'mm', 5, 1),
  E(0x1c, 'P3', '3-hour rainfall', 'mm', 5, 1),
  E(0x1d, 'P6', '6-hour rainfall', 'mm', 5, 1),
  E(0x1e, 'P12', '12-hour rainfall', 'mm', 5, 1),
  E(0x1f, 'PD', 'daily rainfall', 'mm', 5, 1),
  E(0x20, 'PJ', 'current rainfall', 'mm', 5, 1),
  E(0x21, 'PN01', '1-minute rainfall', 'mm', 5, 1),
  E(0x22, 'PN05', '5-minute rainfall', 'mm', 5, 1),
  E(0x23, 'PN10', '10-minute rainfall', 'mm', 5, 1),
  E(0x24, 'PN30', '30-minute rainfall', 'mm', 5, 1),
  E(0x25, 'PR', 'storm rainfall', 'mm', 5, 1),
  E(0x26, 'PT', 'cumulative rainfall', 'mm', 6, 1),
  E(0x27, 'Q', 'instantaneous flow', 'm³/s', 9, 3),
  E(0x30, 'QA', 'total outflow', 'm³/s', 9, 3),
  E(0x35, 'US', 'wind speed', 'm/s', 4, 1),
  E(0x36, 'VA', 'mean section velocity', 'm/s', 5, 3),
  E(0x37, 'VJ', 'current velocity', 'm/s', 5, 3),
  E(0x38, 'VT', 'supply voltage', 'V', 4, 2),
  E(0x39, 'Z', 'water level', 'm', 7, 3),
  E(0x3a, 'ZB', 'downstream water level', 'm', 7, 3),
  E(0x3b, 'ZU', 'upstream water level', 'm', 7, 3),
  E(0x44, 'SQ', 'sediment concentration', 'kg/m³', 9, 3),
  E(0x45, 'ZT', 'station status and alarm bits', undefined, 8, 0, 'hex'),
  E(0x46, 'PH', 'pH', 'pH', 4, 2),
  E(0x47, 'DO', 'dissolved oxygen', 'mg/L', 4, 2),
  E(0x48, 'COND', 'conductivity', 'µS/cm', 5, 0),
  E(0x49, 'TURB', 'turbidity', 'NTU', 3, 0),
  E(0x4a, 'CODMN', 'permanganate index', 'mg/L', 4, 1),
  E(0x4b, 'REDOX', 'redox potential', 'mV', 5, 1),
  E(0x4c, 'NH4N', 'ammonia nitrogen', 'mg/L', 6, 2),
  E(0x4d, 'TP', 'total phosphorus', 'mg/L', 5, 3),
  E(0x4e, 'TN', 'total nitrogen', 'mg/L', 5, 2),
  E(0x4f, 'TOC', 'total organic carbon', 'mg/L', 4, 2),
  E(0x57, 'CHLA', 'chlorophyll a', 'mg/L', 4, 2),
  E(0xf4, 'DRP', '5-minute rainfall series (1 hour)', 'mm', 24, 0, 'series'),
  E(0xf5, 'DRZ1', '5-minute relative water level series (1 hour)', 'm', 48, 0, 'series'),
];

const BY_ID = new Map(ELEMENTS.map((e) => [e.id, e]));
const BY_ASCII = new Map(ELEMENTS.map((e) => [e.ascii, e]));

export const elementById = (id: number): ElementDef | undefined => BY_ID.get(id);
export const elementByAscii = (code: string): ElementDef | undefined => BY_ASCII.get(code.toUpperCase());

/** Definition byte: high 5 bits = data length in bytes, low 3 bits = decimal places. */
export function definitionByte(bytes: number, decimals: number): number {
  if (bytes < 1 || bytes > 31 || decimals < 0 || decimals > 7) throw new Error(`definition ${bytes} bytes/${decimals} decimals out of range`);
  return (bytes << 3) | decimals;
}

export const hexId = (id: number): string => id.toString(16).toUpperCase().padStart(2, '0');

// Device connection settings: validation with precise messages, and the resolved per-device settings
// (connection overrides profile, profile overrides built-in defaults).
import type { ByteOrder, DeviceProfile } from '../../core/profiles.js';
import { MODBUS_MAX_BITS, MODBUS_MAX_REGISTERS, type PlannedPoint } from './blocks.js';

export const TRANSPORTS = ['tcp', 'rtu', 'rtu-over-tcp'] as const;
export type ModbusTransport = (typeof TRANSPORTS)[number];
export const PARITIES = ['none', 'even', 'odd'] as const;
export type Parity = (typeof PARITIES)[number];

/** A device's `connection` block as written in the edge config. */
export interface ModbusConnection {
  transport?: ModbusTransport;
  host?: string;
  port?: number;
  unitId?: number;
  serialPort?: string;
  baudRate?: number;
  parity?: Parity;
  dataBits?: number;
  stopBits?: number;
  pollIntervalMs?: number;
  timeoutMs?: number;
  retries?: number;
}

export const DEFAULTS = {
  port: 502,
  unitId: 1,
  baudRate: 9600,
  parity: 'none' as Parity,
  dataBits: 8,
  stopBits: 1,
  pollIntervalMs: 10_000,
  timeoutMs: 1000,
  retries: 1,
  maxGap: 8,
  byteOrder: 'BE' as ByteOrder,
  wordOrder: 'BE' as ByteOrder,
};

/** Everything a poller needs about one device, defaults applied. */
export interface DeviceSettings {
  transport: ModbusTransport;
  host: string;
  port: number;
  unitId: number;
  serialPort: string;
  baudRate: number;
  parity: Parity;
  dataBits: number;
  stopBits: number;
  pollIntervalMs: number;
  timeoutMs: number;
  retries: number;
  maxGap: number;
  maxRegisters: number;
  maxBits: number;
  /** Devices with the same line key share one client and are polled in turn. */
  lineKey: string;
}

const KNOWN = new Set<string>([
  'transport', 'host', 'port', 'unitId', 'serialPort', 'baudRate', 'parity', 'dataBits', 'stopBits',
  'pollIntervalMs', 'timeoutMs', 'retries',
]);
const NETWORK_ONLY = ['host', 'port'];
const SERIAL_ONLY = ['serialPort', 'baudRate', 'parity', 'dataBits', 'stopBits'];

function intIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Returns every problem as "connection.<field>: <problem>" (empty = valid). */
export function validateConnection(connection: unknown, profile: DeviceProfile): string[] {
  const problems: string[] = [];
  const add = (field: string, msg: string) => problems.push(`connection${field ? `.${field}` : ''}: ${msg}`);
  if (profile.protocol !== 'modbus') problems.push(`profile ${profile.id}: protocol is ${profile.protocol}, not modbus`);
  if (!profile.points.some((p) => p.modbus)) problems.push(`profile ${profile.id}: no point has a modbus mapping`);
  if (typeof connection !== 'object' || connection === null || Array.isArray(connection)) {
    add('', 'must be an object');
    return problems;
  }
  const c = connection as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KNOWN.has(k)) add(k, 'unknown field');
  const transport = c.transport ?? 'tcp';
  if (!(TRANSPORTS as readonly unknown[]).includes(transport)) {
    add('transport', `must be one of ${TRANSPORTS.join(', ')}`);
    return problems;
  }
  const serial = transport === 'rtu';
  if (serial) {
    if (typeof c.serialPort !== 'string' || c.serialPort.trim() === '') add('serialPort', 'required for transport rtu (e.g. /dev/ttyUSB0)');
    for (const k of NETWORK_ONLY) if (c[k] !== undefined) add(k, 'applies only to transports tcp and rtu-over-tcp');
    if (c.baudRate !== undefined && !intIn(c.baudRate, 50, 4_000_000)) add('baudRate', 'must be an integer baud rate such as 9600');
    if (c.parity !== undefined && !(PARITIES as readonly unknown[]).includes(c.parity)) add('parity', `must be one of ${PARITIES.join(', ')}`);
    if (c.dataBits !== undefined && !intIn(c.dataBits, 5, 8)) add('dataBits', 'must be an integer 5-8');
    if (c.stopBits !== undefined && c.stopBits !== 1 && c.stopBits !== 2) add('stopBits', 'must be 1 or 2');
  } else {
    if (typeof c.host !== 'string' || c.host.trim() === '') add('host', `required for transport ${transport}`);
    if (c.port !== undefined && !intIn(c.port, 1, 65535)) add('port', 'must be an integer 1-65535');
    for (const k of SERIAL_ONLY) if (c[k] !== undefined) add(k, 'applies only to transport rtu');
  }
  // Modbus TCP allows unit 0 and 255 (often ignored by the device); RTU addresses are 1-247.
  if (c.unitId !== undefined) {
    if (transport === 'tcp' ? !intIn(c.unitId, 0, 255) : !intIn(c.unitId, 1, 247)) {
      add('unitId', transport === 'tcp' ? 'must be an integer 0-255' : 'must be an integer 1-247');
    }
  }
  if (c.pollIntervalMs !== undefined && !intIn(c.pollIntervalMs, 100, 86_400_000)) add('pollIntervalMs', 'must be an integer >= 100 (ms)');
  if (c.timeoutMs !== undefined && !intIn(c.timeoutMs, 50, 60_000)) add('timeoutMs', 'must be an integer 50-60000 (ms)');
  if (c.retries !== undefined && !intIn(c.retries, 0, 10)) add('retries', 'must be an integer 0-10');
  return problems;
}

/** Resolves a validated connection against its profile. */
export function resolveSettings(connection: ModbusConnection, profile: DeviceProfile): DeviceSettings {
  const pm = profile.modbus ?? {};
  const transport = connection.transport ?? 'tcp';
  const host = connection.host ?? '';
  const port = connection.port ?? DEFAULTS.port;
  const serialPort = connection.serialPort ?? '';
  const maxBlock = pm.maxBlock;
  return {
    transport,
    host,
    port,
    unitId: connection.unitId ?? DEFAULTS.unitId,
    serialPort,
    baudRate: connection.baudRate ?? DEFAULTS.baudRate,
    parity: connection.parity ?? DEFAULTS.parity,
    dataBits: connection.dataBits ?? DEFAULTS.dataBits,
    stopBits: connection.stopBits ?? DEFAULTS.stopBits,
    pollIntervalMs: connection.pollIntervalMs ?? pm.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    timeoutMs: connection.timeoutMs ?? pm.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: connection.retries ?? pm.retries ?? DEFAULTS.retries,
    maxGap: pm.maxGap ?? DEFAULTS.maxGap,
    maxRegisters: Math.min(maxBlock ?? MODBUS_MAX_REGISTERS, MODBUS_MAX_REGISTERS),
    maxBits: Math.min(maxBlock ?? MODBUS_MAX_BITS, MODBUS_MAX_BITS),
    lineKey: transport === 'rtu' ? `rtu:${serialPort}` : `${transport}://${host}:${port}`,
  };
}

/** The profile's Modbus points with byte/word order defaults applied. */
export function plannedPoints(profile: DeviceProfile): PlannedPoint[] {
  const pm = profile.modbus ?? {};
  const out: PlannedPoint[] = [];
  for (const p of profile.points) {
    const m = p.modbus;
    if (!m) continue;
    out.push({
      name: p.name,
      area: m.area,
      address: m.address,
      type: m.type,
      byteOrder: m.byteOrder ?? pm.byteOrder ?? DEFAULTS.byteOrder,
      wordOrder: m.wordOrder ?? pm.wordOrder ?? DEFAULTS.wordOrder,
      ...(m.bit !== undefined ? { bit: m.bit } : {}),
    });
  }
  return out;
}

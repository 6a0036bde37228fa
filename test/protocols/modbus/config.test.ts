import { describe, expect, it } from 'vitest';
import type { DeviceProfile } from '../../../core/profiles.js';
import { plannedPoints, resolveSettings, validateConnection } from '../../../protocols/modbus/config.js';

const profile: DeviceProfile = {
  id: 'flow-meter-modbus',
  manufacturer: 'Generic',
  model: 'EMF',
  kind: 'sensor',
  protocol: 'modbus',
  modbus: { pollIntervalMs: 5000, timeoutMs: 800, retries: 2, maxGap: 4, maxBlock: 60, wordOrder: 'LE' },
  points: [
    { name: 'flow', metric: 'flow_rate', modbus: { area: 'holding', address: 4112, type: 'float32' } },
    { name: 'total', metric: 'flow_total', modbus: { area: 'holding', address: 4116, type: 'int32', wordOrder: 'BE', byteOrder: 'LE' } },
    { name: 'pump', metric: 'pump_running', modbus: { area: 'coil', address: 0, type: 'bool' } },
  ],
};

describe('validateConnection', () => {
  it('accepts minimal and full connections', () => {
    expect(validateConnection({ host: '10.0.0.5' }, profile)).toEqual([]);
    expect(validateConnection({ transport: 'rtu-over-tcp', host: 'gw', port: 4001, unitId: 7, timeoutMs: 300 }, profile)).toEqual([]);
    expect(
      validateConnection({ transport: 'rtu', serialPort: '/dev/ttyUSB0', baudRate: 19200, parity: 'even', dataBits: 8, stopBits: 1, unitId: 3 }, profile),
    ).toEqual([]);
  });

  it('names each bad field precisely', () => {
    expect(validateConnection({ host: 'h', port: 70000 }, profile)).toEqual(['connection.port: must be an integer 1-65535']);
    expect(validateConnection({ host: 'h', port: 502.5 }, profile)).toEqual(['connection.port: must be an integer 1-65535']);
    expect(validateConnection({}, profile)).toEqual(['connection.host: required for transport tcp']);
    expect(validateConnection({ transport: 'udp', host: 'h' }, profile)).toEqual(['connection.transport: must be one of tcp, rtu, rtu-over-tcp']);
    expect(validateConnection({ transport: 'rtu' }, profile)).toEqual(['connection.serialPort: required for transport rtu (e.g. /dev/ttyUSB0)']);
    expect(validateConnection({ transport: 'rtu', serialPort: '/dev/ttyS1', unitId: 0, parity: 'mark', stopBits: 3, host: 'x' }, profile)).toEqual([
      'connection.host: applies only to transports tcp and rtu-over-tcp',
      'connection.parity: must be one of none, even, odd',
      'connection.stopBits: must be 1 or 2',
      'connection.unitId: must be an integer 1-247',
    ]);
    expect(validateConnection({ host: 'h', unitId: 256, baudRate: 9600, pollIntervalMs: 10, retries: 11, timeoutMs: 'x', pw: 1 }, profile)).toEqual([
      'connection.pw: unknown field',
      'connection.baudRate: applies only to transport rtu',
      'connection.unitId: must be an integer 0-255',
      'connection.pollIntervalMs: must be an integer >= 100 (ms)',
      'connection.timeoutMs: must be an integer 50-60000 (ms)',
      'connection.retries: must be an integer 0-10',
    ]);
    expect(validateConnection('tcp://h', profile)).toEqual(['connection: must be an object']);
  });

  it('rejects a profile without modbus points', () => {
    const mqtt: DeviceProfile = { ...profile, id: 'x', protocol: 'mqtt', points: [{ name: 'a', metric: 'm' }] };
    expect(validateConnection({ host: 'h' }, mqtt)).toEqual(['profile x: protocol is mqtt, not modbus', 'profile x: no point has a modbus mapping']);
  });
});

describe('resolveSettings / plannedPoints', () => {
  it('applies defaults, then the profile, then the connection', () => {
    const s = resolveSettings({ host: 'gw', timeoutMs: 250 }, profile);
    expect(s).toMatchObject({ transport: 'tcp', port: 502, unitId: 1, pollIntervalMs: 5000, timeoutMs: 250, retries: 2, maxGap: 4, maxRegisters: 60, maxBits: 60 });
    expect(s.lineKey).toBe('tcp://gw:502');
    expect(resolveSettings({ transport: 'rtu', serialPort: '/dev/ttyUSB0' }, { ...profile, modbus: {} })).toMatchObject({
      lineKey: 'rtu:/dev/ttyUSB0',
      baudRate: 9600,
      parity: 'none',
      pollIntervalMs: 10_000,
      timeoutMs: 1000,
      retries: 1,
      maxRegisters: 125,
      maxBits: 2000,
    });
  });

  it('resolves byte and word order per point over the profile default', () => {
    const pts = plannedPoints(profile);
    expect(pts.map((p) => [p.name, p.byteOrder, p.wordOrder])).toEqual([
      ['flow', 'BE', 'LE'],
      ['total', 'LE', 'BE'],
      ['pump', 'BE', 'LE'],
    ]);
  });
});

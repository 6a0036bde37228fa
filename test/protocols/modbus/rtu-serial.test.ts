// Modbus RTU over a real serial device: a pseudo-terminal pair (the only serial line a CI box has) whose
// far side is bridged to an RTU gateway speaking real RTU frames with CRC. Exercises the adapter's
// `transport: rtu` path through the serialport library.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createModbusAdapter, { type ModbusAdapter } from '../../../protocols/modbus/index.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { radarProfile } from './fixtures/profiles.js';
import { emptyMap, putWords } from './fixtures/register-map.js';
import { RtuOverTcpGateway } from './fixtures/rtu-gateway.js';

const BRIDGE = fileURLToPath(new URL('./fixtures/pty_bridge.py', import.meta.url));
let gateway: RtuOverTcpGateway;
let bridge: ChildProcess;
let serialPath: string;
let adapter: ModbusAdapter;
const sink = new RecordingSink();

beforeAll(async () => {
  const radar = emptyMap();
  putWords(radar.holding, 0, [412, 0, 0xffc3, 1198]); // 412 cm, -61 dBm, 11.98 V
  radar.coils.set(0, true);
  gateway = await RtuOverTcpGateway.start({ 7: { map: radar } });
  bridge = spawn('/usr/bin/python3', [BRIDGE, String(gateway.port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  serialPath = await new Promise<string>((resolve, reject) => {
    bridge.once('error', reject);
    bridge.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  adapter = createModbusAdapter({ dataDir: '' }) as ModbusAdapter;
  await adapter.start(sink, new MemoryLogger());
});

afterAll(async () => {
  await adapter?.stop();
  bridge?.stdin?.end();
  bridge?.kill();
  await gateway?.close();
});

describe('modbus rtu on a serial line', () => {
  it('polls a unit over a pseudo-terminal with real RTU framing', async () => {
    expect(serialPath).toMatch(/^\/dev\/pts\/\d+$/);
    await adapter.addDevice({
      id: 'radar-serial',
      profile: radarProfile,
      connection: { transport: 'rtu', serialPort: serialPath, baudRate: 9600, parity: 'none', unitId: 7, pollIntervalMs: 200, timeoutMs: 1000 },
    });
    await sink.waitFor((s) => s.samplesOf('radar-serial', 'level').length > 0, 'a level sample over the serial line', 10_000);
    const values = Object.fromEntries(sink.samplesOf('radar-serial').map((s) => [s.point, s.value]));
    expect(values).toEqual({ level: 412, rssi: -61, voltage: 1198, relay: true });
    expect(sink.statusLog.find((r) => r.deviceId === 'radar-serial')?.ok).toBe(true);
    expect(gateway.requestsOf(7).length).toBeGreaterThan(0);
  });
});

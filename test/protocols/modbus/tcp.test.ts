// Modbus TCP against modbus-serial's ServerTCP on 127.0.0.1: decoding, request planning, learned and
// remembered splits, exception and reconnect handling.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceProfile } from '../../../core/profiles.js';
import createModbusAdapter, { SPLITS_FILE, type ModbusAdapter } from '../../../protocols/modbus/index.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { stationProfile } from './fixtures/profiles.js';
import { emptyMap, putWords, type RegisterMap } from './fixtures/register-map.js';
import { TcpDevice } from './fixtures/tcp-device.js';

/** The station's memory, word by word as the PLC stores it; holding 1 and 7-9 do not exist. */
function stationMap(): RegisterMap {
  const m = emptyMap();
  putWords(m.holding, 0, [1234]); // radar level, cm
  putWords(m.holding, 2, [0x0fd0, 0x4049]); // flow 3.14159 L/s, float32 low word first (CDAB)
  putWords(m.holding, 4, [0xfffe, 0x1dc0]); // totaliser -123456 (int32, high word first)
  putWords(m.holding, 6, [0x0008]); // status word: bit 3 = overflow alarm
  putWords(m.holding, 10, [0x0001, 0x1170]); // rain counter 70000 tips (uint32)
  putWords(m.holding, 12, [0x2c01]); // gate opening 300 mm, bytes swapped
  putWords(m.input, 0, [0xffcc]); // water temperature -52 (x0.1 °C)
  putWords(m.input, 1, [0x408f, 0xaa00, 0x0000, 0x0000]); // pressure 1013.25 hPa, float64
  putWords(m.input, 5, [0x7856, 0x3412]); // serial 0x12345678, fully reversed (DCBA)
  [true, false, true, false, false, true].forEach((v, i) => m.coils.set(i, v));
  [true, false].forEach((v, i) => m.discrete.set(i, v));
  return m;
}

const EXPECTED: Record<string, number | boolean> = {
  level: 1234,
  total: -123456,
  overflow_alarm: true,
  sensor_fault: false,
  rain_tips: 70000,
  gate_opening: 300,
  water_temp: -52,
  pressure: 1013.25,
  serial: 0x12345678,
  pump_running: true,
  pump2_running: false,
  valve_open: true,
  door_open: true,
  power_ok: false,
};

let device: TcpDevice;
let dataDir: string;
const adapters: ModbusAdapter[] = [];

async function startAdapter(): Promise<{ adapter: ModbusAdapter; sink: RecordingSink; log: MemoryLogger }> {
  const adapter = createModbusAdapter({ dataDir }) as ModbusAdapter;
  adapters.push(adapter);
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  await adapter.start(sink, log);
  return { adapter, sink, log };
}

const binding = (id: string, port: number, profile: DeviceProfile = stationProfile, extra: Record<string, unknown> = {}) => ({
  id,
  profile,
  connection: { host: '127.0.0.1', port, pollIntervalMs: 60_000, timeoutMs: 1000, ...extra },
});

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'yiwang-modbus-'));
  device = await TcpDevice.start(stationMap());
});

afterAll(async () => {
  await Promise.all(adapters.map((a) => a.stop()));
  await device?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('modbus tcp adapter', () => {
  it('decodes every type, learns the map holes with the fewest requests and then polls in 6 requests', async () => {
    const { adapter, sink, log } = await startAdapter();
    const before = { ...device.counts };
    await adapter.addDevice(binding('station-1', device.port));
    await sink.waitFor((s) => s.statusLog.length >= 1, 'first poll');

    // First poll: holding 0-12 is rejected (hole at 1 and 7-9); split at the widest hole (before 10),
    // 0-6 is rejected again (hole at 1) and split before 2; then 0, 2-6 and 10-12 read fine.
    expect(device.counts.holding - before.holding).toBe(5);
    expect(device.counts.rejected - before.rejected).toBe(2);
    expect(device.counts.input - before.input).toBe(1);
    expect(device.counts.coil - before.coil).toBe(1);
    expect(device.counts.discrete - before.discrete).toBe(1);
    expect(sink.statusLog[0]).toMatchObject({ deviceId: 'station-1', ok: true });
    expect(sink.statusLog[0]?.latencyMs).toBeGreaterThan(0);

    const values = Object.fromEntries(sink.samplesOf('station-1').map((s) => [s.point, s.value]));
    expect(values).toMatchObject(EXPECTED);
    expect(values.flow as number).toBeCloseTo(3.14159, 5);
    expect(sink.samplesOf('station-1').every((s) => s.quality === 'good' && typeof s.ts === 'number')).toBe(true);
    expect(sink.samplesOf('station-1')).toHaveLength(stationProfile.points.length);

    let stats = adapter.stats().devices['station-1'];
    expect(stats).toMatchObject({ polls: 1, requestsLastPoll: 8, blocks: 6, splits: ['holding:10', 'holding:2'] });
    expect(log.text()).toContain('splitting it (remembered)');

    // Second poll: the remembered plan, no rejected requests.
    const mid = { ...device.counts };
    const total = device.total();
    await adapter.pollNow('station-1');
    expect(device.total() - total).toBe(6);
    expect(device.counts.holding - mid.holding).toBe(3);
    expect(device.counts.rejected).toBe(mid.rejected);
    stats = adapter.stats().devices['station-1'];
    expect(stats).toMatchObject({ polls: 2, requests: 14, requestsLastPoll: 6, errors: { exception: 0, timeout: 0, unreachable: 0 } });
    expect(stats?.lastLatencyMs).toBeGreaterThan(0);
    expect(sink.statusLog.at(-1)).toMatchObject({ ok: true });

    const saved = JSON.parse(readFileSync(join(dataDir, SPLITS_FILE), 'utf8')) as { devices: Record<string, string[]> };
    expect(saved.devices['station-1']).toEqual(['holding:10', 'holding:2']);
    await adapter.stop();
  });

  it('remembers splits across restarts (persisted in dataDir)', async () => {
    const { adapter, sink } = await startAdapter();
    const before = { ...device.counts };
    const total = device.total();
    await adapter.addDevice(binding('station-1', device.port));
    await sink.waitFor((s) => s.statusLog.length >= 1, 'first poll');
    expect(device.total() - total).toBe(6);
    expect(device.counts.rejected).toBe(before.rejected);
    expect(adapter.stats().devices['station-1']?.requestsLastPoll).toBe(6);
    await adapter.stop();
  });

  it('marks a point on a missing register BAD with the exception and reports the device status', async () => {
    const { adapter, sink } = await startAdapter();
    const profile: DeviceProfile = {
      ...stationProfile,
      id: 'gauge-with-wrong-map',
      points: [
        { name: 'level', metric: 'water_level', modbus: { area: 'holding', address: 0, type: 'uint16' } },
        { name: 'ghost', metric: 'water_level', modbus: { area: 'holding', address: 8, type: 'uint16' } },
      ],
    };
    await adapter.addDevice(binding('gauge-2', device.port, profile));
    await sink.waitFor((s) => s.statusLog.length >= 1, 'first poll');
    expect(sink.samplesOf('gauge-2', 'level')[0]).toMatchObject({ value: 1234, quality: 'good' });
    expect(sink.samplesOf('gauge-2', 'ghost')[0]).toEqual({
      deviceId: 'gauge-2',
      point: 'ghost',
      value: null,
      quality: 'bad',
      reason: 'modbus exception 2 (illegal data address)',
    });
    expect(sink.statusLog[0]).toMatchObject({
      deviceId: 'gauge-2',
      ok: false,
      reason: 'exception',
      detail: 'modbus exception 2 (illegal data address) reading holding 8',
    });
    expect(adapter.stats().devices['gauge-2']).toMatchObject({ errors: { exception: 1 }, splits: ['holding:8'] });
    await adapter.stop();
  });

  it('refuses an invalid connection with a precise message, counted as an adapter error', async () => {
    const { adapter, sink } = await startAdapter();
    await expect(adapter.addDevice({ id: 'bad-1', profile: stationProfile, connection: { host: '127.0.0.1', port: 0 } })).rejects.toThrow(
      'device bad-1: connection.port: must be an integer 1-65535',
    );
    expect(sink.errorLog).toEqual([{ protocol: 'modbus', kind: 'config', detail: 'connection.port: must be an integer 1-65535', deviceId: 'bad-1' }]);
    expect(adapter.stats().devices['bad-1']).toBeUndefined();
    await adapter.stop();
  });

  it('reports unreachable while the device is down and reconnects when it is back', async () => {
    const own = await TcpDevice.start(stationMap());
    const port = own.port;
    const { adapter, sink } = await startAdapter();
    try {
      await adapter.addDevice(binding('station-9', port, stationProfile, { pollIntervalMs: 100, timeoutMs: 300 }));
      await sink.waitFor((s) => s.statusLog.some((r) => r.ok), 'first good poll');
      await own.close();
      await sink.waitFor((s) => s.statusLog.some((r) => !r.ok && r.reason === 'unreachable'), 'unreachable status');
      const down = sink.statusLog.find((r) => !r.ok && r.reason === 'unreachable');
      expect(down?.detail).toMatch(/ECONNREFUSED/);
      const badLevel = sink.samplesOf('station-9', 'level').find((s) => s.quality === 'bad');
      expect(badLevel?.value).toBeNull();
      expect(badLevel?.reason).toMatch(/^(cannot connect to 127\.0\.0\.1:\d+|not connected)/);

      const restarted = await TcpDevice.start(stationMap(), port);
      try {
        const n = sink.statusLog.length;
        await sink.waitFor((s) => s.statusLog.slice(n).some((r) => r.ok), 'recovery after restart', 15_000);
        expect(restarted.total()).toBeGreaterThanOrEqual(6);
        const lineStats = adapter.stats().lines[`tcp://127.0.0.1:${port}`];
        expect(lineStats?.connects).toBeGreaterThanOrEqual(2);
        expect(lineStats?.connectFailures).toBeGreaterThanOrEqual(1);
      } finally {
        await adapter.stop();
        await restarted.close();
      }
    } finally {
      await adapter.stop();
    }
  });
});

// RTU framing over a serial gateway: three units on one RS-485 line behind one TCP connection, one of
// them dead. The dead unit times out and is reported BAD; the live ones keep their poll rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createModbusAdapter, { type ModbusAdapter } from '../../../protocols/modbus/index.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { radarProfile, rainProfile } from './fixtures/profiles.js';
import { emptyMap, putWords } from './fixtures/register-map.js';
import { RtuOverTcpGateway } from './fixtures/rtu-gateway.js';

const POLL_MS = 100;
const DEAD_TIMEOUT_MS = 150;

let gateway: RtuOverTcpGateway;
let adapter: ModbusAdapter;
const sink = new RecordingSink();

beforeAll(async () => {
  const radar = emptyMap();
  putWords(radar.holding, 0, [356, 0, 0xffc3, 1215]); // level 356 cm, rssi -61 dBm, 12.15 V
  radar.coils.set(0, true);
  const rain = emptyMap();
  putWords(rain.input, 0, [0x0001, 0xe240, 7]); // 123456 tips so far, 7 in the last interval
  gateway = await RtuOverTcpGateway.start({ 1: { map: radar }, 2: { silent: true }, 3: { map: rain } });
  adapter = createModbusAdapter({ dataDir: '' }) as ModbusAdapter; // '' = keep splits in memory only
  await adapter.start(sink, new MemoryLogger());
});

afterAll(async () => {
  await adapter?.stop();
  await gateway?.close();
});

describe('modbus rtu-over-tcp adapter', () => {
  it('polls live units at their rate while a dead unit on the same line times out', async () => {
    const connection = (unitId: number, extra: Record<string, unknown> = {}) => ({
      transport: 'rtu-over-tcp' as const,
      host: '127.0.0.1',
      port: gateway.port,
      unitId,
      pollIntervalMs: POLL_MS,
      timeoutMs: 500,
      retries: 0,
      ...extra,
    });
    await adapter.addDevice({ id: 'radar-1', profile: radarProfile, connection: connection(1) });
    await adapter.addDevice({ id: 'dead-2', profile: radarProfile, connection: connection(2, { timeoutMs: DEAD_TIMEOUT_MS, retries: 1 }) });
    await adapter.addDevice({ id: 'rain-3', profile: rainProfile, connection: connection(3) });

    const started = Date.now();
    await sink.waitFor((s) => s.statusLog.filter((r) => r.deviceId === 'dead-2').length >= 5, 'five failed polls of the dead unit', 15_000);
    const elapsed = Date.now() - started;

    // Live units: RTU frames decoded correctly.
    const radar = Object.fromEntries(sink.samplesOf('radar-1').map((s) => [s.point, s.value]));
    expect(radar).toEqual({ level: 356, rssi: -61, voltage: 1215, relay: true });
    const rain = Object.fromEntries(sink.samplesOf('rain-3').map((s) => [s.point, s.value]));
    expect(rain).toEqual({ cumulative: 123456, interval: 7 });
    expect(sink.statusLog.filter((r) => r.deviceId !== 'dead-2').every((r) => r.ok)).toBe(true);

    // Dead unit: BAD samples with the timeout as reason, timeout status.
    const deadStatus = sink.statusLog.filter((r) => r.deviceId === 'dead-2');
    expect(deadStatus.every((r) => !r.ok && r.reason === 'timeout')).toBe(true);
    expect(deadStatus[0]?.detail).toBe(`modbus timeout after ${DEAD_TIMEOUT_MS} ms reading holding 0-3`);
    const deadSamples = sink.samplesOf('dead-2');
    expect(deadSamples.length).toBeGreaterThanOrEqual(4);
    expect(deadSamples.every((s) => s.quality === 'bad' && s.value === null && s.reason === `modbus timeout after ${DEAD_TIMEOUT_MS} ms`)).toBe(true);
    // Each dead poll costs its first block only (the coil block is never tried); the retry is spent on
    // the first poll only, later polls of a unit known dead get a single attempt.
    const deadRequests = gateway.requestsOf(2);
    expect(deadRequests.every((r) => r.fc === 3 && r.answer === 'none')).toBe(true);
    expect(deadRequests.length).toBe(adapter.stats().devices['dead-2']!.polls + 1);
    expect(adapter.stats().devices['dead-2']).toMatchObject({ errors: { timeout: adapter.stats().devices['dead-2']!.polls } });

    // The live units keep their rate: on the shared line, a live unit's poll never waits behind more than one
    // request to the dead unit (one timeout), and the live unit is asked at least as often as the dead one. Both
    // are properties of the order of requests on the line, so they hold however slow the machine is.
    const line = gateway.requests.filter((r) => r.unit === 2 || (r.unit === 1 && r.fc === 3));
    let deadSinceLive = 0;
    let worst = 0;
    for (const r of line) {
      if (r.unit === 2) worst = Math.max(worst, ++deadSinceLive);
      else deadSinceLive = 0;
    }
    expect(worst).toBe(1);
    const livePolls = line.filter((r) => r.unit === 1).length;
    expect(livePolls).toBeGreaterThanOrEqual(line.length - livePolls);
    console.log(`live unit: ${livePolls} polls in ${elapsed} ms; dead unit: ${deadStatus.length} polls, ${line.length - livePolls} requests`);

    // One client for the whole line.
    expect(adapter.stats().lines[`rtu-over-tcp://127.0.0.1:${gateway.port}`]).toMatchObject({ connects: 1, devices: ['dead-2', 'radar-1', 'rain-3'] });
    expect(gateway.connections).toBe(1);
    expect(adapter.stats().devices['radar-1']?.requestsLastPoll).toBe(2); // holding 0-3 + coil 0
  });

  it('stops promptly even with a request to the dead unit in flight', async () => {
    const t0 = Date.now();
    await adapter.stop();
    expect(Date.now() - t0).toBeLessThan(DEAD_TIMEOUT_MS + 100);
    const n = sink.sampleLog.length;
    await new Promise((r) => setTimeout(r, 2 * POLL_MS));
    expect(sink.sampleLog.length).toBe(n);
  });
});

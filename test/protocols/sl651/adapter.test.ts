// End to end over real sockets: simulated hydrological stations (TCP and UDP, HEX and ASCII)
// → Sl651Adapter (port 0) → samples in a RecordingSink, confirmations back at the stations.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import factory, { Sl651Adapter, parseSettings } from '../../../protocols/sl651/index.js';
import { ESC } from '../../../protocols/sl651/framer.js';
import { startSl651Station, type Sl651Station } from '../../../demo/simulators/sl651-station.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const hydro = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'sl651-hydrology-station.yaml'));

describe('sl651 adapter over TCP and UDP', () => {
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  let adapter: Sl651Adapter;
  let ports: { tcp?: number; udp?: number };
  const stations: Sl651Station[] = [];

  beforeAll(async () => {
    adapter = factory({ dataDir: mkdtempSync(join(tmpdir(), 'yiwang-sl651-adapter-')), settings: { host: '127.0.0.1', port: 0, udpPort: 0 } }) as unknown as Sl651Adapter;
    await adapter.addDevice({ id: 'river-1', profile: hydro, connection: { station: '0012345678', password: '1234', centre: '01' } });
    await adapter.addDevice({ id: 'river-2', profile: hydro, connection: { station: 'ab00000002' } });
    await adapter.addDevice({ id: 'rain-3', profile: hydro, connection: { station: '0000000003' } });
    await adapter.start(sink, log);
    ports = await adapter.listening;
    expect(ports.tcp).toBeGreaterThan(0);
    expect(ports.udp).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await Promise.all(stations.map((s) => s.stop()));
    await adapter.stop();
  });

  it('takes HEX reports over TCP and confirms each one', async () => {
    const s = startSl651Station({ host: '127.0.0.1', port: ports.tcp!, station: '0012345678', password: '1234', intervalMs: 100, keepAliveMs: 150 });
    stations.push(s);
    await sink.waitFor((k) => k.samplesOf('river-1', 'water_level').length >= 3, 'water level readings');
    const z = sink.samplesOf('river-1', 'water_level')[0]!;
    expect(z.quality).toBe('good');
    expect(z.value).toBeGreaterThan(11);
    expect(z.value).toBeLessThan(14);
    expect(Math.abs((z.ts ?? 0) - Date.now())).toBeLessThan(120_000); // F0F0 observation time (minute)
    expect(sink.samplesOf('river-1', 'supply_voltage')[0]!.value).toBeGreaterThan(12);
    await sink.waitFor(() => s.confirmations.length >= 3, 'confirmations');
    for (const c of s.confirmations) expect(c).toMatchObject({ up: false, fn: 0x32, end: ESC, station: '0012345678', centre: 1 });
    expect(sink.errorLog).toEqual([]);
  });

  it('takes ASCII reports over UDP and keep-alives keep the station online', async () => {
    const s = startSl651Station({ host: '127.0.0.1', port: ports.udp!, transport: 'udp', mode: 'ascii', station: 'AB00000002', intervalMs: 100 });
    stations.push(s);
    await sink.waitFor((k) => k.samplesOf('river-2', 'rainfall_cumulative').length >= 2, 'UDP/ASCII readings');
    await sink.waitFor(() => s.confirmations.length >= 1, 'UDP confirmation');
    expect(s.confirmations[0]).toMatchObject({ mode: 'ascii', up: false, station: 'AB00000002' });
    const before = sink.statusLog.filter((r) => r.deviceId === 'river-2' && r.ok).length;
    s.sendKeepAlive();
    await sink.waitFor((k) => k.statusLog.filter((r) => r.deviceId === 'river-2' && r.ok).length > before, 'status after keep-alive');
  });

  it('refuses a wrong password and survives garbage on the same connection', async () => {
    const bad = startSl651Station({ host: '127.0.0.1', port: ports.tcp!, station: '0012345678', password: '9999', intervalMs: 60_000 });
    stations.push(bad);
    await sink.waitFor((k) => k.errorLog.some((e) => e.kind === 'auth_failure'), 'auth failure');
    expect(sink.statusLog.find((r) => !r.ok)).toMatchObject({ deviceId: 'river-1', reason: 'auth_failure' });
    expect(bad.confirmations).toEqual([]);

    const s = startSl651Station({ host: '127.0.0.1', port: ports.tcp!, station: '0000000003', intervalMs: 60_000 });
    stations.push(s);
    await s.connected;
    const before = sink.samplesOf('rain-3').length;
    s.sendRaw(Buffer.from('7E7E0100000000030000320008020001FFFFFFFFFFFF03ABCD', 'hex')); // CRC error
    s.sendRaw(Buffer.from('hello'));
    s.sendNow();
    await sink.waitFor((k) => k.samplesOf('rain-3').length > before, 'report after bad bytes');
    const kinds = sink.errorLog.filter((e) => e.kind !== 'auth_failure').map((e) => e.kind);
    // The bytes after the corrupt frame are skipped with it when they arrive together, else counted as garbage.
    expect(kinds[0]).toBe('crc');
    expect(kinds.slice(1).every((k) => k === 'garbage')).toBe(true);
  });

  it('stops confirming when confirm is false', async () => {
    const quiet = factory({ dataDir: '/tmp', settings: { host: '127.0.0.1', port: 0, confirm: false } }) as unknown as Sl651Adapter;
    const qsink = new RecordingSink();
    await quiet.addDevice({ id: 'q', profile: hydro, connection: { station: '0000000009' } });
    await quiet.start(qsink, new MemoryLogger());
    try {
      const s = startSl651Station({ host: '127.0.0.1', port: quiet.ports().tcp!, station: '0000000009', intervalMs: 60_000 });
      await qsink.waitFor((k) => k.sampleLog.length > 0, 'samples');
      await new Promise((r) => setTimeout(r, 100));
      expect(s.confirmations).toEqual([]);
      await s.stop();
    } finally {
      await quiet.stop();
    }
  });

  it('validates connections and settings', () => {
    expect(adapter.validateConnection({ station: '0012345678', password: '12AB', centre: '1' }, hydro)).toEqual([]);
    expect(adapter.validateConnection({ station: '12345', password: 'xyz1', centre: '00', port: 1 }, hydro)).toEqual([
      'connection.station: must be 10 hex digits (the station address)',
      'connection.password: must be 4 hex digits',
      'connection.centre: must be a hex centre address 01-FF',
      'connection.port: unknown field',
    ]);
    expect(parseSettings(undefined)).toEqual({ host: '0.0.0.0', port: 9651, confirm: true, confirmEnd: 'ESC', limits: { maxGarbageBytes: 65536, maxConnections: 1024 }, backfill: true });
    expect(parseSettings({ backfill: false }).backfill).toBe(false);
    expect(() => parseSettings({ backfill: 'no' })).toThrow('protocols.sl651.backfill: must be true or false');
    expect(parseSettings({ maxGarbageBytes: 4096 }).limits.maxGarbageBytes).toBe(4096);
    expect(() => parseSettings({ maxGarbageBytes: 0 })).toThrow('protocols.sl651.maxGarbageBytes: must be a positive integer');
    expect(() => parseSettings({ confirmEnd: 'ACK' })).toThrow('protocols.sl651.confirmEnd: must be ESC or EOT');
  });
});

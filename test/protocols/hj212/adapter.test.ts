// End to end over real TCP: simulated stations → Hj212Adapter (port 0) → samples in a RecordingSink.
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import factory, { Hj212Adapter, type Hj212Connection } from '../../../protocols/hj212/index.js';
import { EXAMPLE } from './example.js';
import { startHj212Station, type Hj212Station } from '../../../demo/simulators/hj212-station.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const water = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'hj212-water-quality-station.yaml'));
const air = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'hj212-air-quality-station.yaml'));

describe('hj212 adapter over TCP', () => {
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  let adapter: Hj212Adapter;
  let port: number;
  const stations: Hj212Station[] = [];

  beforeAll(async () => {
    adapter = factory({ dataDir: mkdtempSync(join(tmpdir(), 'yiwang-hj212-adapter-')), settings: { host: '127.0.0.1', port: 0 } }) as unknown as Hj212Adapter;
    await adapter.addDevice({ id: 'wq-1', profile: water, connection: { mn: 'WQ0000000000000000000001', password: '123456' } });
    await adapter.addDevice({ id: 'aq-1', profile: air, connection: { mn: 'AQ01', password: 'air-pw' } });
    await adapter.addDevice({ id: 'std', profile: water, connection: { mn: EXAMPLE.mn, password: EXAMPLE.pw } });
    await adapter.start(sink, log);
    port = await adapter.listening;
    expect(adapter.ports().tcp).toBe(port);
  });

  afterAll(async () => {
    await Promise.all(stations.map((s) => s.stop()));
    await adapter.stop();
  });

  it('receives readings from two stations on one port and answers them', async () => {
    const w = startHj212Station({ host: '127.0.0.1', port, mn: 'WQ0000000000000000000001', password: '123456', kind: 'water', intervalMs: 100, minuteEvery: 2 });
    const a = startHj212Station({ host: '127.0.0.1', port, mn: 'AQ01', password: 'air-pw', kind: 'air', intervalMs: 100 });
    stations.push(w, a);
    await sink.waitFor((s) => s.samplesOf('wq-1', 'cod').some((x) => x.aggregate === 'avg') && s.samplesOf('aq-1', 'pm2_5').length >= 2, 'samples from both stations');
    const cod = sink.samplesOf('wq-1', 'cod').find((x) => x.aggregate === undefined)!;
    expect(cod.quality).toBe('good');
    expect(cod.value).toBeGreaterThan(10);
    expect(cod.value).toBeLessThan(22);
    expect(Math.abs((cod.ts ?? 0) - Date.now())).toBeLessThan(10_000); // DataTime (China time) → epoch ms
    const avg = sink.samplesOf('wq-1', 'cod').find((x) => x.aggregate === 'avg')!;
    expect(avg.periodS).toBe(60);
    expect(sink.samplesOf('aq-1', 'so2')[0]!.value).toBeLessThan(1); // mg/m³ as sent, not converted
    expect(sink.statusLog.some((r) => r.deviceId === 'aq-1' && r.ok)).toBe(true);
    await sink.waitFor(() => w.answers.length >= 2 && a.answers.length >= 1, 'answers at the stations');
    expect(w.answers.every((p) => p.cn === '9014' && p.mn === 'WQ0000000000000000000001')).toBe(true);
    expect(sink.errorLog).toEqual([]);
  });

  it('refuses a station with a wrong password and one with an unknown MN', async () => {
    const bad = startHj212Station({ host: '127.0.0.1', port, mn: 'AQ01', password: 'wrong', kind: 'air', intervalMs: 60_000 });
    const stranger = startHj212Station({ host: '127.0.0.1', port, mn: 'NOBODY', password: 'x', kind: 'air', intervalMs: 60_000 });
    stations.push(bad, stranger);
    await sink.waitFor((s) => s.errorLog.some((e) => e.kind === 'auth_failure') && s.errorLog.some((e) => e.kind === 'unknown_mn'), 'refusals');
    expect(sink.errorLog.find((e) => e.kind === 'auth_failure')).toMatchObject({ protocol: 'hj212', deviceId: 'aq-1' });
    expect(sink.statusLog.find((r) => !r.ok)).toMatchObject({ deviceId: 'aq-1', ok: false, reason: 'auth_failure' });
    expect(bad.answers).toEqual([]);
    expect(stranger.answers).toEqual([]);
    expect(log.text()).toContain('wrong password');
    // The bad password itself is never logged.
    expect(log.lines.flatMap((l) => Object.values(l.obj).map(String))).not.toContain('wrong');
  });

  it('keeps a connection up through a CRC error, garbage and a bad length, and answers the standard example', async () => {
    const before = sink.errorLog.length;
    const sock = net.connect({ host: '127.0.0.1', port });
    const got: string[] = [];
    sock.on('data', (d) => got.push(d.toString('latin1')));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(EXAMPLE.frame.replace('1C80', '0000'));
    sock.write('\x00\x00junk');
    sock.write(EXAMPLE.frame.replace('##0101', '##0120'));
    sock.write(EXAMPLE.frame);
    await sink.waitFor(() => got.join('').includes('CN=9011'), '9011 answer to the standard example');
    expect(sink.errorLog.slice(before).map((e) => e.kind)).toEqual(['crc', 'garbage', 'bad_length']);
    expect(got.join('')).toMatch(/^##\d{4}QN=20160801085857223;ST=91;CN=9011;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&[0-9A-F]{4}\r\n$/);
    sock.destroy();
  });

  it('validates connections', async () => {
    expect(adapter.validateConnection({ mn: 'A1', password: '123456' }, water)).toEqual([]);
    expect(adapter.validateConnection({ mn: 'has space', password: '' }, water)).toEqual([
      'connection.mn: must be 1-24 letters or digits (the station MN)',
      'connection.password: must be 1-32 characters without ; , = & (the station PW)',
    ]);
    expect(adapter.validateConnection(null, water)).toEqual(['connection: must be an object with mn and password']);
    await expect(adapter.addDevice({ id: 'dup', profile: water, connection: { mn: 'AQ01', password: 'x' } satisfies Hj212Connection })).rejects.toThrow(/already used by device aq-1/);
  });

  it('stops taking data for a removed device', async () => {
    await adapter.removeDevice('std');
    const before = sink.errorLog.length;
    const sock = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(EXAMPLE.frame);
    await sink.waitFor((s) => s.errorLog.length > before, 'unknown_mn after removal');
    expect(sink.errorLog[before]).toMatchObject({ kind: 'unknown_mn' });
    sock.destroy();
  });
});

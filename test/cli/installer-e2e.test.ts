// Done-when of the installer's path: a fresh box from `edge init` to a device reading verified by
// `device test`, and a clean `edge doctor`, without opening the YAML. Real binary, real collector process,
// real Modbus TCP device simulator.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/net.js';
import { startModbusSimulator } from '../../demo/simulators/modbus-sim.js';
import { start, yiwang, type LongRunning } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-e2e-'));
let collector: LongRunning | undefined;
let gauge: Awaited<ReturnType<typeof startModbusSimulator>> | undefined;
let mqttPort = 0;
let edgePassword = '';

beforeAll(async () => {
  const data = join(dir, 'collector');
  const added = await yiwang(dir, ['collector', 'edge', 'add', '--id', 'edge-qianchi-01', '--data-dir', data]);
  expect(added.code).toBe(0);
  edgePassword = added.out.trim();
  mqttPort = await freePort();
  collector = start(dir, ['collector', '--data-dir', data, '--http-port', '0', '--mqtt-port', String(mqttPort)], { YIWANG_LOG_LEVEL: 'warn' });
  await collector.waitFor(/collector running/);
  // A radar gauge at unit 1: level 351 cm, RSSI -36 dBm, supply 12.10 V (raw 1210 × 0.01).
  gauge = await startModbusSimulator({ 1: () => ({ holding: { 0: 351, 1: 0, 2: 65500, 3: 1210 } }) });
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await gauge?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('installer, fresh box', () => {
  it('goes from edge init to a verified device reading and a clean doctor without editing the YAML', async () => {
    const cfg = join(dir, 'edge.yaml');
    const init = await yiwang(dir, [
      'edge', 'init', '--site-type', 'water_station', '--edge-id', 'edge-qianchi-01', '--site-id', 'QC01', '--site-name', '前池泵站',
      '--address', '合肥市蜀山区前池路1号', '--lon', '117.18', '--lat', '31.85', '--division', '340104',
      '--uplink-url', `mqtt://127.0.0.1:${mqttPort}`, '--uplink-password', edgePassword, '--buffer-dir', './buffer', '--out', cfg,
    ]);
    expect(init.code).toBe(0);
    expect(statSync(cfg).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'edge.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(cfg, 'utf8')).not.toContain(edgePassword);

    const add = await yiwang(dir, ['edge', 'device', 'add', '--config', cfg, '--profile', 'radar-level-modbus', '--id', 'QC01-WL-01', '--address', `127.0.0.1:${gauge!.port}#1`, '--name', '前池水位', '--share', '水务,应急', '--no-apply']);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);

    const test = await yiwang(dir, ['edge', 'device', 'test', 'QC01-WL-01', '--config', cfg]);
    expect(test.code).toBe(0);
    expect(test.out).toMatch(/level\s+Water level \(水位\)\s+holding 0 uint16\s+351 cm\s+3\.51 m\s+good/);
    expect(test.out).toMatch(/voltage .*1,210 \(× 0\.01\) V\s+12\.1 V\s+good/);
    expect(test.out).toContain('OK: 3 point(s) read, all good');

    // The doctor as the README runs it: the uplink password comes from edge.env, not from the shell.
    const doctor = await yiwang(dir, ['edge', 'doctor', '--config', cfg, '--timeout-ms', '2000'], { unset: ['YIWANG_UPLINK_PASSWORD'] });
    expect(doctor.out).toContain('All checks passed.');
    expect(doctor.out).toMatch(/\[ ok \] device QC01-WL-01 \(前池水位\): exchange completed/);
    expect(doctor.out).toMatch(/\[ ok \] uplink mqtt:\/\/127\.0\.0\.1:\d+: connected and logged in as this edge/);
    expect(doctor.code).toBe(0);
  }, 60_000);
});

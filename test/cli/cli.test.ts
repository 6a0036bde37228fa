// The CLI as an installer uses it: help on every command, profile validation, edge init / device add / doctor.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'yiwang.js');
const dir = mkdtempSync(join(tmpdir(), 'yiwang-cli-'));

async function yiwang(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, YIWANG_LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('yiwang CLI', () => {
  it('lists commands and answers --help on each', async () => {
    const top = await yiwang('--help');
    expect(top.code).toBe(0);
    for (const c of ['edge', 'collector', 'demo', 'profile']) expect(top.out).toContain(c);
    expect((await yiwang('demo', '--help')).out).toContain('--sites');
    expect((await yiwang('collector', '--help')).out).toMatch(/token/);
    expect((await yiwang('edge', 'device', 'add', '--help')).out).toContain('--profile ID');
    const bad = await yiwang('nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown command "nope"');
  }, 30_000);

  it('validates profiles: the shipped catalog passes, a bad file fails with file, path and problem', async () => {
    const ok = await yiwang('profile', 'validate', join(process.cwd(), 'device-profiles'));
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/\d+ valid, 0 invalid/);
    const f = join(dir, 'bad-gauge.yaml');
    writeFileSync(f, YAML.stringify({ id: 'bad-gauge', manufacturer: 'x', model: 'y', kind: 'sensor', protocol: 'modbus', points: [{ name: 'l', metric: 'water_level', unit: 'MPa', modbus: { area: 'holding', address: 0, type: 'uint16' } }] }));
    const bad = await yiwang('profile', 'validate', f);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${f}: /points/0/unit: unit "MPa" (pressure) cannot be converted to "m" (length)`);
  }, 30_000);

  it('writes a starter config, registers a device with validation, and the doctor explains what is wrong', async () => {
    const cfg = join(dir, 'edge.yaml');
    expect((await yiwang('edge', 'init', '--site-type', 'water_station', '--out', cfg)).code).toBe(0);
    const text = readFileSync(cfg, 'utf8');
    expect(text).toContain('# yiwang edge agent configuration (water_station)');
    // Point the starter config somewhere harmless for the test.
    const doc = YAML.parse(text);
    doc.buffer.dir = join(dir, 'buffer');
    doc.uplink = { url: 'mqtt://127.0.0.1:1', password: 'x' };
    doc.devices = [];
    writeFileSync(cfg, YAML.stringify(doc));

    const badPort = await yiwang('edge', 'device', 'add', '--config', cfg, '--profile', 'radar-level-modbus', '--id', 'WL-9', '--address', '127.0.0.1:99999#1', '--no-apply');
    expect(badPort.code).toBe(1);
    expect(badPort.err).toMatch(/devices\[0\]\.connection\.port: must be an integer 1-65535/);
    const badId = await yiwang('edge', 'device', 'add', '--config', cfg, '--profile', 'radar-level-modbus', '--id', '3401020000132000001X', '--address', '127.0.0.1:502#1', '--no-apply');
    expect(badId.err).toContain('non-digit "X" at position 20');
    const added = await yiwang('edge', 'device', 'add', '--config', cfg, '--profile', 'radar-level-modbus', '--id', 'WL-1', '--address', '127.0.0.1:1#3', '--name', '前池水位', '--share', 'water,emergency', '--no-apply');
    expect(added.code).toBe(0);
    const after = YAML.parse(readFileSync(cfg, 'utf8'));
    expect(after.devices).toEqual([{ id: 'WL-1', profile: 'radar-level-modbus', connection: { transport: 'tcp', host: '127.0.0.1', port: 1, unitId: 3 }, name: '前池水位', sharingScope: ['water', 'emergency'] }]);
    expect((await yiwang('edge', 'device', 'list', '--config', cfg)).out).toContain('WL-1');

    const doctor = await yiwang('edge', 'doctor', '--config', cfg, '--timeout-ms', '500');
    expect(doctor.code).toBe(1);
    expect(doctor.out).toContain('[ ok ] config file');
    expect(doctor.out).toMatch(/\[FAIL\] device WL-1 \(前池水位\): 127\.0\.0\.1:1: the address is up but nothing listens on that port/);
    expect(doctor.out).toMatch(/\[FAIL\] uplink mqtt:\/\/127\.0\.0\.1:1/);

    const cam = await yiwang('edge', 'camera', 'add', '--config', cfg, '--id', '34012100001320000009', '--host', '127.0.0.1', '--port', '8000', '--user', 'admin', '--password', 'pw', '--name', '村口球机', '--camera-type', 'dome', '--fill-light', 'infrared', '--direction', 'SE', '--share', 'public_security,water', '--lon', '117.1', '--lat', '31.9', '--no-apply');
    expect(cam.code).toBe(0);
    const camDev = YAML.parse(readFileSync(cfg, 'utf8')).devices.find((d: { id: string }) => d.id === '34012100001320000009');
    expect(camDev).toMatchObject({ profile: 'onvif-ip-camera', kind: 'camera', name: '村口球机', sharingScope: ['public_security', 'water'], location: { longitude: 117.1, latitude: 31.9 }, camera: { cameraType: 'dome', fillLight: 'infrared', direction: 'SE' }, connection: { host: '127.0.0.1', port: 8000, username: 'admin', passwordEnv: 'YIWANG_DEVICE_34012100001320000009_PASSWORD' } });
    expect(camDev.connection.password).toBeUndefined(); // the password went to edge.env, not the YAML
    expect(readFileSync(join(dir, 'edge.env'), 'utf8')).toContain('YIWANG_DEVICE_34012100001320000009_PASSWORD=pw\n');
    const badCam = await yiwang('edge', 'camera', 'add', '--config', cfg, '--id', '34012100001340000009', '--host', '127.0.0.1', '--direction', 'up', '--no-apply');
    expect(badCam.code).toBe(1);
    expect(badCam.err).toContain('type code 134');
    expect(badCam.err).toContain('camera.direction: "up" is not one of');
    expect((await yiwang('edge', 'device', 'remove', '34012100001320000009', '--config', cfg, '--no-apply')).code).toBe(0);

    expect((await yiwang('edge', 'device', 'remove', 'WL-1', '--config', cfg, '--no-apply')).code).toBe(0);
    expect(YAML.parse(readFileSync(cfg, 'utf8')).devices).toEqual([]);
  }, 60_000);
});

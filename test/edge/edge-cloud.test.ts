// Edge–cloud coordination end to end with real processes: `node bin/yiwang.js collector` and a managed
// `node bin/yiwang.js edge`, Modbus devices from the simulator. Devices pushed from the city reach the collector
// without a restart; an invalid configuration is refused with its problems while the edge keeps working; a
// configuration pushed while the edge is down applies when it is back; a site threshold set at the city raises
// the alarm at the edge; remote test read, doctor and logs; bureau tokens see no configuration; the managed edge
// refuses a local `device add`.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../core/net.js';
import { startModbusSimulator } from '../../demo/simulators/modbus-sim.js';
import { start, yiwang, type LongRunning } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-edge-cloud-'));
const dataDir = join(dir, 'collector');
const configFile = join(dir, 'edge.yaml');
const EDGE = 'edge-ec';
let collector: LongRunning;
let edge: LongRunning | undefined;
let sim: Awaited<ReturnType<typeof startModbusSimulator>>;
let httpPort = 0;
let mqttPort = 0;
let admin = '';
let water = '';
const levelCm: Record<number, number> = { 1: 250, 2: 300 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}\nedge stderr: ${edge?.stderr().slice(-2000)}\nedge stdout: ${edge?.stdout().slice(-3000)}`);
    await sleep(200);
  }
}

async function call<T = Record<string, unknown>>(path: string, init: RequestInit = {}, token = admin): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Fleet {
  connected: boolean;
  managed?: boolean;
  config: { desiredVersion: number; appliedVersion: number; failedVersion?: number; state: string; errors: { path: string; message: string }[] };
  devices?: { online?: number };
  clockOffsetMs?: number;
}
const fleetRow = async () => (await call<Fleet>(`/api/v1/admin/edges/${EDGE}`)).body;
const latest = async (device: string) => (await call<{ latest: { device: string; ts: number; value: number }[] }>(`/api/v1/latest?metric=water_level&device=${device}`)).body.latest[0];

function startEdge(): LongRunning {
  return start(dir, ['edge', '--config', configFile], { YIWANG_LOG_LEVEL: 'warn' });
}

beforeAll(async () => {
  sim = await startModbusSimulator({
    1: () => ({ holding: { 0: levelCm[1]!, 1: 0, 2: 0xffb5, 3: 1234 } }),
    2: () => ({ holding: { 0: levelCm[2]!, 1: 0, 2: 0xffb0, 3: 1200 } }),
  });
  httpPort = await freePort();
  mqttPort = await freePort();
  const add = await yiwang(dir, ['collector', 'edge', 'add', '--id', EDGE, '--data-dir', dataDir]);
  expect(add.code).toBe(0);
  const password = add.out.trim();
  admin = (await yiwang(dir, ['collector', 'token', 'create', '--admin', '--name', 'ops', '--data-dir', dataDir])).out.trim();
  water = (await yiwang(dir, ['collector', 'token', 'create', '--bureau', 'water', '--data-dir', dataDir])).out.trim();
  collector = start(dir, ['collector', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort)], { YIWANG_LOG_LEVEL: 'warn' });
  await collector.waitFor(/collector running/);
  writeFileSync(join(dir, 'edge.env'), `YIWANG_UPLINK_PASSWORD=${password}\n`, { mode: 0o600 });
  writeFileSync(configFile, YAML.stringify({
    edge: { id: EDGE, managed: true },
    site: { id: 'QC01', name: '前池泵站', type: 'water_station' },
    uplink: { url: `mqtt://127.0.0.1:${mqttPort}`, passwordEnv: 'YIWANG_UPLINK_PASSWORD' },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
    admin: { host: '127.0.0.1', port: await freePort() },
  }), { mode: 0o600 });
  edge = startEdge();
  await until('the edge connected with its key', async () => (await fleetRow()).connected && (await fleetRow()).managed === true);
}, 90_000);

afterAll(async () => {
  await edge?.stop();
  await collector?.stop();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('edge–cloud coordination with real processes', () => {
  it('a Modbus device configured at the collector (CLI, then API) delivers readings within 30 s, without restarting the edge', async () => {
    const pid = edge!.child.pid;
    const t0 = Date.now();
    const cli = await yiwang(dir, ['collector', 'device', 'add', '--data-dir', dataDir, '--edge', EDGE, '--profile', 'radar-level-modbus', '--id', 'WL-01',
      '--address', `127.0.0.1:${sim.port}#1`, '--name', '前池一号水位', '--share', '水务,应急', '--connection', '{"pollIntervalMs":300}']);
    expect(cli.code, cli.err).toBe(0);
    expect(cli.out).toMatch(/configured on edge edge-ec: configuration version 1/);
    const first = await until('WL-01 readings at the collector', () => latest('WL-01'));
    expect(first.value).toBe(2.5);
    expect(Date.now() - t0).toBeLessThan(30_000);

    const t1 = Date.now();
    const put = await call('/api/v1/admin/edges/edge-ec/devices/WL-02', { method: 'PUT', body: JSON.stringify({ profile: 'radar-level-modbus', name: '前池二号水位', sharingScope: ['water'], connection: { host: '127.0.0.1', port: sim.port, unitId: 2, pollIntervalMs: 300 } }) });
    expect(put).toMatchObject({ status: 201, body: { version: 2, published: true } });
    expect((await until('WL-02 readings', () => latest('WL-02'))).value).toBe(3);
    expect(Date.now() - t1).toBeLessThan(30_000);
    expect(edge!.child.pid).toBe(pid);
    expect(edge!.child.exitCode).toBeNull();
    expect(await fleetRow()).toMatchObject({ config: { desiredVersion: 2, appliedVersion: 2, state: 'in_sync' } });
    // The edge keeps the applied configuration for restarts, readable by its user only (it holds connections).
    expect(statSync(join(dir, 'buffer', 'central-config.json')).mode & 0o777).toBe(0o600);
    // The registry has both, assigned to this edge, shared as the registrar said.
    expect((await call('/api/v1/devices/WL-01')).body).toMatchObject({ edgeId: EDGE, name: '前池一号水位', sharingScope: ['water', 'emergency'] });
  }, 70_000);

  it('an invalid configuration is refused with its problems; the edge keeps working on the last good one', async () => {
    const bad = await call('/api/v1/admin/edges/edge-ec/devices/WL-03', { method: 'PUT', body: JSON.stringify({ profile: 'radar-level-modbus', connection: { host: '127.0.0.1', port: 70000, unitId: 3 } }) });
    expect(bad.body).toMatchObject({ version: 3, published: true });
    const row = await until('the refusal reported', async () => ((await fleetRow()).config.state === 'failed' ? fleetRow() : undefined));
    expect(row.config).toMatchObject({ desiredVersion: 3, appliedVersion: 2, failedVersion: 3 });
    expect(row.config.errors).toContainEqual({ path: 'devices[2].connection.port', message: 'must be an integer 1-65535' });
    const before = (await latest('WL-01'))!.ts;
    await until('WL-01 still delivering', async () => (await latest('WL-01'))!.ts > before);
    const list = await yiwang(dir, ['collector', 'edge', 'list', '--data-dir', dataDir]);
    expect(list.out).toMatch(/edge-ec\s+up\s.*v2\/3 FAILED/);
    expect(list.out).toContain('devices[2].connection.port: must be an integer 1-65535');
  }, 40_000);

  it('a site threshold set at the city raises the alarm at the edge at the new level; the device API shows it', async () => {
    // 2.5 m is below the profile's 3.5 m warning line; the city's line for this site is 2.4 m.
    const r = await call<{ edges: { edgeId: string; changed: boolean }[] }>('/api/v1/admin/sites/QC01/thresholds', { method: 'PUT', body: JSON.stringify({ water_level: { warning: 2.4 } }) });
    expect(r.body.edges).toEqual([expect.objectContaining({ edgeId: EDGE, changed: true })]);
    // Version 4 still carries WL-03's bad port: fix it (the registrar's next edit) so the edge can apply.
    await call('/api/v1/admin/edges/edge-ec/devices/WL-03', { method: 'DELETE' });
    type Ev = { device: string; code: string; kind: string; value: number; threshold: number };
    const alarm = await until('the warning from the edge', async () =>
      (await call<{ events: Ev[] }>(`/api/v1/events?device=WL-01&from=0&to=${Date.now() + 60_000}`)).body.events.find((e) => e.code === 'water_level.warning' && e.kind === 'alarm_raised'),
    );
    expect(alarm).toMatchObject({ value: 2.5, threshold: 2.4 });
    expect(await fleetRow()).toMatchObject({ config: { state: 'in_sync', desiredVersion: 5, appliedVersion: 5 } });
    const rec = await until('effective levels in the record', async () => {
      const th = (await call<{ thresholds?: { metric: string; warning: number; source: string }[] }>('/api/v1/devices/WL-01')).body.thresholds;
      return th?.find((t) => t.metric === 'water_level' && t.warning === 2.4) ? th : undefined;
    });
    expect(rec).toContainEqual({ metric: 'water_level', warning: 2.4, alarm: 4.2, hysteresis: 0.05, direction: 'above', source: 'site' });
  }, 40_000);

  it('runs the test read, the doctor and the log read on the edge from the city', async () => {
    const t = await call<{ result: { ok: boolean; points: { point: string; raw: number; value: number; unit: string; sourceUnit: string }[] }; text: string }>('/api/v1/admin/edges/edge-ec/devices/WL-02/test', { method: 'POST' });
    expect(t.status).toBe(200);
    expect(t.body.result.ok).toBe(true);
    expect(t.body.result.points.find((p) => p.point === 'level')).toMatchObject({ raw: 300, sourceUnit: 'cm', value: 3, unit: 'm' });
    expect(t.body.text).toMatch(/level .* 300 cm .* 3 m .* good/);
    const doctor = await call<{ findings: { ok: boolean; what: string; detail: string }[] }>('/api/v1/admin/edges/edge-ec/doctor', { method: 'POST' });
    expect(doctor.status).toBe(200);
    expect(doctor.body.findings.find((f) => f.what === 'config file')?.detail).toMatch(/managed by the collector/);
    expect(doctor.body.findings.filter((f) => f.what.startsWith('device WL-0')).every((f) => f.ok)).toBe(true);
    const logs = await call<{ lines: { level: string; msg: string; errors?: string[] }[] }>('/api/v1/admin/edges/edge-ec/logs?limit=50');
    expect(logs.body.lines).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringMatching(/configuration from the collector refused/), errors: ['devices[2].connection.port: must be an integer 1-65535'] }));
    expect((await call('/api/v1/admin/edges/edge-ec/doctor', { method: 'POST' }, water)).status).toBe(403);
  }, 120_000);

  it('a bureau token can neither read nor push a configuration', async () => {
    expect((await call('/api/v1/admin/edges/edge-ec/config', {}, water)).status).toBe(403);
    expect((await call('/api/v1/admin/edges/edge-ec/devices/X', { method: 'PUT', body: '{"profile":"radar-level-modbus","connection":{}}' }, water)).status).toBe(403);
    expect((await call('/api/v1/admin/sites/QC01/thresholds', { method: 'PUT', body: '{}' }, water)).status).toBe(403);
    expect((await call<{ version: number }>('/api/v1/admin/edges/edge-ec/config')).body.version).toBe(5);
  });

  it('the managed edge refuses a local `device add`, naming the collector', async () => {
    const r = await yiwang(dir, ['edge', 'device', 'add', '--config', configFile, '--profile', 'radar-level-modbus', '--id', 'LOCAL-1', '--address', '127.0.0.1:502#9']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cannot add a device here: edge ${EDGE} is managed by the collector at 127.0.0.1:${mqttPort}`);
    expect(r.err).toContain(`yiwang collector device add --edge ${EDGE}`);
    // What it runs is listed from the collector's configuration.
    const list = await yiwang(dir, ['edge', 'device', 'list', '--config', configFile]);
    expect(list.out).toMatch(/WL-01 .*radar-level-modbus.*online/);
  });

  it('a configuration pushed while the edge is down is applied when it comes back', async () => {
    await edge!.stop();
    await until('the edge seen offline', async () => !(await fleetRow()).connected);
    levelCm[2] = 310;
    const put = await call<{ version: number; published: boolean }>('/api/v1/admin/edges/edge-ec/devices/WL-02', { method: 'PUT', body: JSON.stringify({ profile: 'radar-level-modbus', name: '二号水位（新）', sharingScope: ['water'], connection: { host: '127.0.0.1', port: sim.port, unitId: 2, pollIntervalMs: 300 } }) });
    expect(put.body).toMatchObject({ version: 6, published: true }); // retained at the broker until the edge subscribes again
    const removed = await call<{ version: number }>('/api/v1/admin/edges/edge-ec/devices/WL-01', { method: 'DELETE' });
    expect(removed.body.version).toBe(7);
    expect(await fleetRow()).toMatchObject({ connected: false, config: { desiredVersion: 7, appliedVersion: 5, state: 'pending' } });
    edge = startEdge();
    await until('version 7 applied after the reconnect', async () => (await fleetRow()).config.appliedVersion === 7);
    expect((await until('WL-02 reading the new value', async () => ((await latest('WL-02'))?.value === 3.1 ? latest('WL-02') : undefined)))!.value).toBe(3.1);
    expect(await until('the renamed record from the edge', async () => ((await call<{ name: string }>('/api/v1/devices/WL-02')).body.name === '二号水位（新）' ? true : undefined))).toBe(true);
    // Health counts reach the fleet view within seconds of a change (not only with the minute's report).
    await until('one device online in the fleet view', async () => (await fleetRow()).devices?.online === 1);
    // WL-01 was removed from the edge; its record stays in the registry.
    expect((await call('/api/v1/devices/WL-01')).status).toBe(200);
    const history = await call<{ history: { version: number; actor: string; changes: string[] }[] }>('/api/v1/admin/edges/edge-ec/config/history');
    expect(history.body.history.map((h) => [h.version, h.actor])).toEqual([
      [7, 'admin:ops'], [6, 'admin:ops'], [5, 'admin:ops'], [4, 'admin:ops'], [3, 'admin:ops'], [2, 'admin:ops'], [1, expect.stringMatching(/^cli:/)],
    ]);
    expect(history.body.history[0]!.changes).toEqual(['devices.WL-01: removed']);
    expect(history.body.history[1]!.changes).toEqual(['devices.WL-02.name: 前池二号水位 → 二号水位（新）']);
    // The command line's admin actions are in the audit log beside the API's.
    const audit = await call<{ entries: { actor: string; action: string; target: string }[] }>('/api/v1/admin/audit?q=cli');
    expect(audit.body.entries.map((e) => [e.action, e.target])).toEqual([['cli device add', 'edge-ec/WL-01'], ['cli token create', 'water-bureau'], ['cli token create', 'ops'], ['cli edge add', EDGE]]);
    expect(audit.body.entries.every((e) => /^cli:/.test(e.actor))).toBe(true);
  }, 90_000);
});

// End to end on 127.0.0.1: Modbus TCP simulator + MQTT field device -> edge agent -> real collector.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startCollector, type Collector } from '../../collector/index.js';
import { silentLogger } from '../../core/log.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { hashSecret } from '../../core/secrets.js';
import type { MqttAdapter } from '../../protocols/mqtt/index.js';
import { float32Words, startModbusSimulator } from '../../demo/simulators/modbus-sim.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-edge-e2e-'));
let collector: Collector;
let agent: EdgeAgent;
let modbus: Awaited<ReturnType<typeof startModbusSimulator>>;
let token: string;
let levelCm = 372;
const configFile = join(dir, 'edge.yaml');

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api<T>(path: string, t = token): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}${path}`, { headers: { authorization: `Bearer ${t}` } });
  return { status: res.status, body: (await res.json()) as T };
}

type Latest = { latest: { device: string; metric: string; value: number; unit: string; quality: string }[] };

beforeAll(async () => {
  collector = await startCollector({ overrides: { dataDir: join(dir, 'collector'), httpPort: 0, mqttPort: 0 }, log: silentLogger });
  const password = await collector.addEdge('edge-e2e');
  token = await collector.createToken({ name: 'water', bureau: 'water' });
  modbus = await startModbusSimulator({
    1: () => ({ holding: { 0: levelCm, 1: 1200, 2: 0xffb5, 3: 1234 } }),
    2: () => {
      const [a, b] = float32Words(250.5, true);
      const [c, d] = float32Words(1.25, true);
      return { holding: { 4112: a, 4113: b, 4114: c, 4115: d, 4116: 0, 4117: 4242 } };
    },
  });
  const config = {
    edge: { id: 'edge-e2e' },
    site: { id: 'site-e2e', name: '测试村', type: 'village', location: { longitude: 117.1, latitude: 31.9 } },
    uplink: { url: `mqtt://127.0.0.1:${collector.mqttPort}`, password },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 50 },
    admin: { host: '127.0.0.1', port: 0 },
    protocols: { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: 0, users: [{ username: 'aq', passwordHash: hashSecret('aq-secret') }] } } },
    devices: [
      { id: 'WL-01', name: '河道水位', profile: 'radar-level-modbus', sharingScope: ['water'], connection: { host: '127.0.0.1', port: modbus.port, unitId: 1, pollIntervalMs: 200 } },
      { id: 'FM-01', name: '流量计', profile: 'flow-meter-modbus', sharingScope: ['water'], connection: { host: '127.0.0.1', port: modbus.port, unitId: 2, pollIntervalMs: 200 } },
      { id: 'AQ-01', name: '空气站', profile: 'air-quality-mqtt', sharingScope: ['environment'], connection: { broker: 'local', topicId: 'aq1' } },
    ],
  };
  writeFileSync(configFile, YAML.stringify(config));
  agent = await startEdge({ configFile, adminPort: 0, log: silentLogger });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  await modbus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('edge agent end to end', () => {
  it('polls Modbus devices and delivers canonical readings to the collector', async () => {
    const level = await until('water level at the collector', async () => {
      const r = await api<Latest>('/api/v1/latest?metric=water_level');
      return r.body.latest.find((l) => l.device === 'WL-01');
    });
    expect(level).toMatchObject({ value: 3.72, unit: 'm', quality: 'good' });
    const flow = await until('flow at the collector', async () => (await api<Latest>('/api/v1/latest?metric=flow_rate')).body.latest.find((l) => l.device === 'FM-01'));
    expect(flow.value).toBeCloseTo(0.2505, 6); // 250.5 L/s, float32 with swapped words
    const rssi = (await api<Latest>('/api/v1/latest?metric=signal_strength')).body.latest.find((l) => l.device === 'WL-01');
    expect(rssi?.value).toBe(-75);
  });

  it('raises a water-level alarm when the river passes the warning line and clears it when it falls back', async () => {
    type Ev = { device: string; code: string; kind: string; value: number };
    const alarms = async () =>
      ((await api<{ events: Ev[] }>(`/api/v1/events?from=0&to=${Date.now() + 60_000}&device=WL-01`)).body.events ?? []).filter((e) => e.code === 'water_level.warning');
    // 3.72 m from the start: above the 3.5 m warning line.
    const raised = await until('alarm raised', async () => (await alarms()).find((e) => e.kind === 'alarm_raised'));
    expect(raised.value).toBe(3.72);
    levelCm = 300;
    const cleared = await until('alarm cleared', async () => (await alarms()).find((e) => e.kind === 'alarm_cleared'));
    expect(cleared.value).toBe(3);
    expect((await alarms()).filter((e) => e.kind === 'alarm_raised')).toHaveLength(1);
    levelCm = 372;
  });

  it('takes MQTT JSON from a field device on the embedded broker; the bureau scope hides other bureaus\' devices', async () => {
    const adapter = agent.devices.getAdapter('mqtt') as MqttAdapter;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${adapter.localPort}`, { username: 'aq', password: 'aq-secret' });
    await client.publishAsync('aq/aq1/data', JSON.stringify({ ts: Date.now(), pm25: 41, pm10: 70, so2: 0.01, no2: 0.03, o3: 0.05, co: 0.4, env: { t: 20, rh: 50, p: 101 }, noise: 55 }), { qos: 1 });
    await client.endAsync();
    const envToken = await collector.createToken({ name: 'env', bureau: 'environment' });
    const pm = await until('pm2.5 at the collector', async () => (await api<Latest>('/api/v1/latest?metric=pm2_5', envToken)).body.latest.find((l) => l.device === 'AQ-01'));
    expect(pm.value).toBe(41);
    const so2 = (await api<Latest>('/api/v1/latest?metric=so2', envToken)).body.latest.find((l) => l.device === 'AQ-01');
    expect(so2?.value).toBeCloseTo(10); // 0.01 mg/m³ -> µg/m³
    const waterView = await api<Latest>('/api/v1/latest?metric=pm2_5');
    expect(waterView.body.latest.find((l) => l.device === 'AQ-01')).toBeUndefined();
  });

  it('serves /healthz openly and /metrics and the device list only with the local admin token', async () => {
    const base = `http://127.0.0.1:${agent.adminPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const tokenFile = readFileSync(join(dir, 'buffer', 'admin.token'), 'utf8').trim();
    const auth = { headers: { authorization: `Bearer ${tokenFile}` } };
    const metrics = await (await fetch(`${base}/metrics`, auth)).text();
    expect(metrics).toMatch(/yiwang_edge_readings_in_total\{protocol="modbus"\} \d+/);
    expect(metrics).toMatch(/yiwang_edge_device_up\{device="WL-01",state="online"\} 1/);
    expect(metrics).toContain('yiwang_edge_buffer_bytes');
    const devices = (await (await fetch(`${base}/api/v1/devices`, auth)).json()) as { devices: { record: { id: string; runtimeStatus: string } }[] };
    expect(devices.devices.map((d) => d.record.id).sort()).toEqual(['AQ-01', 'FM-01', 'WL-01']);
  });

  it('applies a config reload live: adds and removes devices, rejects a bad config and keeps running', async () => {
    const cfg = YAML.parse(readFileSync(configFile, 'utf8'));
    cfg.devices = cfg.devices.filter((d: { id: string }) => d.id !== 'FM-01');
    cfg.devices.push({ id: 'WL-02', profile: 'radar-level-modbus', sharingScope: ['water'], connection: { host: '127.0.0.1', port: modbus.port, unitId: 1, pollIntervalMs: 200 } });
    writeFileSync(configFile, YAML.stringify(cfg));
    const r = await agent.reload();
    expect(r).toEqual({ added: ['WL-02'], updated: [], removed: ['FM-01'] });
    await until('WL-02 readings', async () => (await api<Latest>('/api/v1/latest?metric=water_level')).body.latest.find((l) => l.device === 'WL-02'));
    cfg.devices.push({ id: 'BAD', profile: 'radar-level-modbus', connection: { host: '127.0.0.1', port: 70000 } });
    writeFileSync(configFile, YAML.stringify(cfg));
    await expect(agent.reload()).rejects.toThrow(/devices\[3\]\.connection\.port/);
    expect(agent.devices.devices().map((d) => d.record.id).sort()).toEqual(['AQ-01', 'WL-01', 'WL-02']);
  });
});

describe('an unmanaged edge and the collector', () => {
  it('reports its own configuration upstream, read-only and without passwords; the collector will not edit it', async () => {
    const admin = await collector.createToken({ name: 'ops', admin: true });
    const cfg = YAML.parse(readFileSync(configFile, 'utf8'));
    cfg.devices = cfg.devices.filter((d: { id: string }) => d.id !== 'BAD'); // the previous test's refused device
    cfg.devices.push({ id: 'HJ-9', profile: 'hj212-water-quality-station', enabled: false, connection: { mn: 'MN-9', password: 'local-secret-9' } });
    writeFileSync(configFile, YAML.stringify(cfg));
    await agent.reload();
    type Config = { managed: boolean | null; reported?: { devices: { id: string; connection: Record<string, unknown> }[] } };
    const got = await until('the reported local config', async () => {
      const r = await api<Config>('/api/v1/admin/edges/edge-e2e/config', admin);
      return r.body.reported?.devices.some((d) => d.id === 'HJ-9') ? r.body : undefined;
    });
    expect(got.managed).toBe(false);
    expect(got.reported!.devices.find((d) => d.id === 'HJ-9')!.connection).toEqual({ mn: 'MN-9', password: '********' });
    expect(JSON.stringify(got)).not.toContain('local-secret-9');
    const put = await fetch(`http://127.0.0.1:${collector.httpPort}/api/v1/admin/edges/edge-e2e/devices/X-1`, {
      method: 'PUT', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ profile: 'radar-level-modbus', connection: {} }),
    });
    expect(put.status).toBe(409);
    expect(((await put.json()) as { error: string }).error).toMatch(/not managed from the collector .*edited on the box/);
  });
});

// An edge restarted while its gauge is still above the warning line raises no second alarm: the level is saved
// (after its event is committed to the buffer) and restored at start. Real Modbus simulator, real edge agent
// restarted on the same buffer directory, real collector counting events and alarms.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startCollector, type Collector } from '../../collector/index.js';
import type { Alarm } from '../../collector/store/index.js';
import { silentLogger } from '../../core/log.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { startModbusSimulator } from '../../demo/simulators/modbus-sim.js';
import { waitFor } from '../collector/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-edge-levels-'));
const configFile = join(dir, 'edge.yaml');
let collector: Collector;
let agent: EdgeAgent;
let modbus: Awaited<ReturnType<typeof startModbusSimulator>>;
let token: string;
let levelCm = 372; // above the 3.5 m warning line

const get = async <T,>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${collector.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
// (404 until the edge has announced the device: no events or alarms yet)
const raises = async () => ((await get<{ events?: { kind: string; code: string }[] }>(`/api/v1/events?from=0&to=${Date.now() + 60_000}&device=WL-01`)).events ?? []).filter((e) => e.kind === 'alarm_raised');
const alarms = async () => (await get<{ alarms?: Alarm[] }>('/api/v1/alarms?device=WL-01')).alarms ?? [];

beforeAll(async () => {
  collector = await startCollector({ overrides: { dataDir: join(dir, 'collector'), httpPort: 0, mqttPort: 0 }, log: silentLogger });
  const password = await collector.addEdge('edge-levels');
  token = await collector.createToken({ name: 'water', bureau: 'water' });
  modbus = await startModbusSimulator({ 1: () => ({ holding: { 0: levelCm, 1: 1200, 2: 0xffb5, 3: 1234 } }) });
  writeFileSync(configFile, YAML.stringify({
    edge: { id: 'edge-levels' },
    site: { id: 'site-l', name: '测试站', type: 'water_station' },
    uplink: { url: `mqtt://127.0.0.1:${collector.mqttPort}`, password },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 50 },
    admin: { host: '127.0.0.1', port: 0 },
    devices: [{ id: 'WL-01', name: '河道水位', profile: 'radar-level-modbus', sharingScope: ['water'], connection: { host: '127.0.0.1', port: modbus.port, unitId: 1, pollIntervalMs: 200 } }],
  }));
  agent = await startEdge({ configFile, adminPort: 0, log: silentLogger });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  await modbus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('edge alarm levels across a restart', () => {
  it('raises once, keeps the level through a restart above the line, and clears when the level falls', async () => {
    await waitFor('alarm raised', async () => (await raises()).length === 1, 15_000);
    const levels = join(dir, 'buffer', 'alarm-levels.json');
    await waitFor('level saved', () => existsSync(levels) && readFileSync(levels, 'utf8').includes('"WL-01\\u0000level":1'), 5000);
    const readingsBefore = (await get<{ latest: { ts: number }[] }>('/api/v1/latest?metric=water_level')).latest[0]!.ts;
    await agent.stop();
    agent = await startEdge({ configFile, adminPort: 0, log: silentLogger });
    // Polling resumed (new readings arrive), still above the line: no new raise, still one open alarm.
    await waitFor('readings after restart', async () => (await get<{ latest: { ts: number }[] }>('/api/v1/latest?metric=water_level')).latest[0]!.ts > readingsBefore + 1000, 15_000);
    expect(await raises()).toHaveLength(1);
    expect((await alarms()).map((a) => [a.state, a.code])).toEqual([['active', 'water_level.warning']]);
    levelCm = 300;
    await waitFor('alarm cleared', async () => (await alarms())[0]!.state === 'cleared', 15_000);
    await waitFor('level forgotten', () => readFileSync(levels, 'utf8').includes('"levels":{}'), 5000);
  });
});

// What the collector rejects is parked at the edge — kept on disk, counted, visible to the operator in
// `yiwang edge status`, `yiwang edge parked`, the admin API and /metrics — and sent again only on request,
// while everything else keeps flowing. Also at this seam: device timestamps the edge does not trust, and
// bursts of receive-stamped readings that must stay distinct readings.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { hashSecret } from '../../core/secrets.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { Quality, type Batch } from '../../schema/types.js';
import { writeEdgeConfig } from '../fixtures/edge-process.js';
import { TestCollector } from '../fixtures/test-collector.js';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'yiwang.js');
const dir = mkdtempSync(join(tmpdir(), 'yiwang-parked-'));
let collector: TestCollector;
let agent: EdgeAgent;
let configFile = '';
let device: mqtt.MqttClient;
let mqttPort = 0;

async function yiwang(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args, '--config', configFile], { env: { ...process.env, YIWANG_LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

async function until(what: string, f: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const aq = (extra: object) => JSON.stringify({ pm25: 30, pm10: 50, so2: 0.01, no2: 0.03, o3: 0.05, co: 0.4, env: { t: 20, rh: 50, p: 101 }, noise: 50, ...extra });
const fromDevice = (id: string) => (b: Batch) => (b.readings ?? []).some((r) => r.deviceId === id);

beforeAll(async () => {
  collector = new TestCollector(join(dir, 'collector.db'));
  collector.keepReadings = true;
  await collector.start();
  mqttPort = await freePort();
  configFile = writeEdgeConfig(dir, {
    edge: { id: 'edge-parked' },
    site: { id: 's1', type: 'village' },
    uplink: { url: collector.url, password: 'x' },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
    admin: { host: '127.0.0.1', port: await freePort() },
    protocols: { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: mqttPort, users: [{ username: 'dev', passwordHash: hashSecret('dev-pass') }] } } },
    devices: [
      { id: 'AQ-1', profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: 'aq1' } },
      { id: 'AQ-FOREIGN', profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: 'aq2' } },
    ],
  });
  agent = await startEdge({ configFile, log: silentLogger });
  device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'dev', password: 'dev-pass', reconnectPeriod: 0 });
}, 60_000);

afterAll(async () => {
  await device?.endAsync(true);
  await agent?.stop();
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('parked batches, untrusted clocks and bursts at the edge', () => {
  it('a rejected batch is parked and shown to the operator; other data keeps flowing; a retry sends it again', async () => {
    collector.rejectWhen = (b) => (fromDevice('AQ-FOREIGN')(b) ? 'device AQ-FOREIGN is owned by another edge' : undefined);
    await device.publishAsync('aq/aq2/data', aq({ pm25: 77 }), { qos: 1 });
    await until('the rejection', () => agent.uplink.state().rejectedBatches === 1);
    await device.publishAsync('aq/aq1/data', aq({ pm25: 11 }), { qos: 1 });
    await until('AQ-1 delivered past the parked batch', () => collector.readings.some((r) => r.deviceId === 'AQ-1'));

    const status = await yiwang('edge', 'status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/PARKED\s+1 chunks \(\d+ items\) rejected by the collector/);
    const list = await yiwang('edge', 'parked');
    expect(list.out).toContain('1 parked chunks');
    expect(list.out).toContain('device AQ-FOREIGN is owned by another edge');
    const json = JSON.parse((await yiwang('edge', 'parked', '--json')).out) as { chunks: number; list: { id: number; reason: string }[] };
    expect(json.chunks).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.adminPort}/metrics`, { headers: { authorization: `Bearer ${agent.adminToken}` } })).text();
    expect(metrics).toContain('yiwang_edge_uplink_parked_chunks{reason="device AQ-FOREIGN is owned by another edge"} 1');
    expect(metrics).toMatch(/yiwang_edge_uplink_rejected_batches 1/);

    // Not sent again on its own.
    await new Promise((r) => setTimeout(r, 1000));
    expect(collector.batches.filter((b) => b.batchId === json.list[0]!.id)).toHaveLength(1);

    expect((await yiwang('edge', 'parked', 'retry')).code).toBe(2); // neither --all nor ids
    const none = await yiwang('edge', 'parked', 'retry', '999999');
    expect(none.out).toContain('0 parked chunks offered to the collector again (1 of the ids were not parked)');
    collector.rejectWhen = undefined; // the registrar fixed the ownership at the collector
    const retried = await yiwang('edge', 'parked', 'retry', '--all');
    expect(retried.out).toContain('1 parked chunk offered to the collector again');
    await until('the parked reading delivered', () => collector.readings.some((r) => r.deviceId === 'AQ-FOREIGN' && r.number === 77));
    expect((await yiwang('edge', 'parked')).out).toContain('no parked chunks');
  }, 60_000);

  it('a device clock a year ahead: the reading is kept with receive time, UNCERTAIN and the device time in the reason; nothing is parked', async () => {
    const yearAhead = Date.now() + 365 * 86_400_000;
    const t0 = Date.now();
    await device.publishAsync('aq/aq1/data', aq({ ts: yearAhead, pm25: 42 }), { qos: 1 });
    await until('the reading at the collector', () => collector.readings.some((r) => r.deviceId === 'AQ-1' && r.metric === 'pm2_5' && r.number === 42));
    const r = collector.readings.find((x) => x.deviceId === 'AQ-1' && x.metric === 'pm2_5' && x.number === 42)!;
    expect(r.quality).toBe(Quality.UNCERTAIN);
    expect(r.qualityReason).toBe(`clock: device time ${new Date(yearAhead).toISOString()}`);
    expect(r.ts).toBeGreaterThanOrEqual(t0);
    expect(r.ts).toBeLessThanOrEqual(Date.now());
    expect(agent.buffer.parkedSummary().chunks).toBe(0);
  }, 30_000);

  it('a QoS 1 burst without device timestamps stays a burst of distinct readings: one ms per reading of a series', async () => {
    const before = collector.readings.filter((r) => r.deviceId === 'AQ-1' && r.metric === 'pm10').length;
    await Promise.all(Array.from({ length: 100 }, (_, i) => device.publishAsync('aq/aq1/data', aq({ pm10: 1000 + i }), { qos: 1 })));
    await until('the burst at the collector', () => collector.readings.filter((r) => r.deviceId === 'AQ-1' && r.metric === 'pm10').length === before + 100);
    const burst = collector.readings.filter((r) => r.deviceId === 'AQ-1' && r.metric === 'pm10').slice(before);
    expect(new Set(burst.map((r) => r.ts)).size).toBe(100);
    // In the order they were received, stamps only go up.
    const bySeq = [...burst].sort((a, b) => a.seq - b.seq).map((r) => r.ts);
    expect(bySeq).toEqual([...bySeq].sort((a, b) => a - b));
  }, 30_000);
});

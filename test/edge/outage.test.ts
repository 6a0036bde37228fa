// Outages with the real collector: the collector down for a while, and the edge process killed with SIGKILL
// mid-stream. Afterwards the collector holds every sequence number the edge committed, exactly once, no gaps.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startCollector, type Collector } from '../../collector/index.js';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { hashSecret } from '../../core/secrets.js';
import { countRows } from '../collector/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-outage-'));
const EDGE = 'edge-outage';
let collector: Collector;
let mqttPort: number;
let password: string;
let brokerPort: number;
let publisher: mqtt.MqttClient | undefined;
let pubTimer: NodeJS.Timeout | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BIN = join(process.cwd(), 'bin', 'yiwang.js');

async function startCollectorOnce(): Promise<Collector> {
  return startCollector({ overrides: { dataDir: join(dir, 'collector'), httpPort: 0, mqttPort }, log: silentLogger });
}

function startAgentProcess(configFile: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'edge', '--config', configFile], { stdio: 'ignore', env: { ...process.env, YIWANG_LOG_LEVEL: 'silent' } });
}

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** A field device publishing JSON to the edge's embedded broker every 20 ms (reconnecting across edge restarts). */
async function startPublisher(): Promise<void> {
  publisher = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, { username: 'dev', password: 'dev-pass', reconnectPeriod: 200 });
  let n = 0;
  pubTimer = setInterval(() => {
    if (!publisher?.connected) return;
    n++;
    publisher.publish('aq/aq-1/data', JSON.stringify({ ts: Date.now(), pm25: n % 500, pm10: 60, so2: 0.01, no2: 0.03, o3: 0.05, co: 0.4, env: { t: 20, rh: 50, p: 101 }, noise: 50 }), { qos: 0 });
  }, 20);
}

beforeAll(async () => {
  mqttPort = await freePort();
  brokerPort = await freePort();
  collector = await startCollectorOnce();
  password = await collector.addEdge(EDGE);
  const cfg = {
    edge: { id: EDGE },
    site: { id: 'o1', type: 'street' },
    uplink: { url: `mqtt://127.0.0.1:${mqttPort}`, password },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
    admin: { host: '127.0.0.1', port: await freePort() },
    protocols: { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: brokerPort, users: [{ username: 'dev', passwordHash: hashSecret('dev-pass') }] } } },
    devices: [{ id: 'AQ-1', profile: 'air-quality-mqtt', sharingScope: ['environment'], connection: { broker: 'local', topicId: 'aq-1' } }],
  };
  writeFileSync(join(dir, 'edge.yaml'), YAML.stringify(cfg));
}, 30_000);

afterAll(async () => {
  if (pubTimer) clearInterval(pubTimer);
  await publisher?.endAsync(true);
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('outages end to end', () => {
  it('collector down for a while, edge SIGKILLed twice: every committed seq reaches the collector exactly once, no gaps', async () => {
    let agent = startAgentProcess(join(dir, 'edge.yaml'));
    await startPublisher();
    const through = () => collector.store.edges.committedThrough(EDGE);
    await until('first readings at the collector', async () => (await through()) > 200);

    // 1. The collector goes away for 3 s while the edge keeps reading and buffering.
    const before = await through();
    await collector.stop();
    await sleep(3000);
    collector = await startCollectorOnce();
    await until('backlog drained past the outage', async () => (await through()) > before + 1000);

    // 2. kill -9 the edge mid-stream, twice, restarting it each time.
    for (let k = 0; k < 2; k++) {
      await sleep(700);
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('exit', r));
      const atKill = await through();
      agent = startAgentProcess(join(dir, 'edge.yaml'));
      await until(`delivery after restart ${k + 1}`, async () => (await through()) > atKill + 300);
    }

    // Stop the field device, let the edge drain, then stop it cleanly.
    clearInterval(pubTimer);
    await sleep(1500);
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));

    const ranges = await collector.store.edges.ranges(EDGE);
    expect(ranges).toHaveLength(1); // one contiguous run from the first seq: no gap anywhere
    expect(ranges[0]!.first).toBe(1);
    const held = ranges[0]!.last;
    // Every seq the collector holds was stored once: readings + events + records add up to the seq count.
    const readings = await countRows(collector.store, 'points p JOIN series s ON s.sid = p.sid', "s.device_id = 'AQ-1'");
    const events = await countRows(collector.store, 'events', "edge_id = 'edge-outage'");
    expect(readings + events).toBeGreaterThan(2000);
    expect(readings + events).toBeLessThanOrEqual(held);
  }, 120_000);
});

// `yiwang edge` stops within a bounded time on SIGTERM whatever the network does: here the collector link
// turns into a black hole (a TCP proxy that keeps the connection open but forwards nothing) while batches are
// in flight. Afterwards the buffer holds every reading the device was told was delivered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/net.js';
import { hashSecret } from '../../core/secrets.js';
import { EdgeBuffer, decodeChunk } from '../../edge/buffer/index.js';
import { EdgeProcess, writeEdgeConfig } from '../fixtures/edge-process.js';
import { TcpProxy } from '../fixtures/tcp-proxy.js';
import { TestCollector } from '../fixtures/test-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-shutdown-'));
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, f: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('edge shutdown', () => {
  it('SIGTERM with a black-holed collector link: exits within the bound, buffer intact', async () => {
    const collector = new TestCollector(join(dir, 'collector.db'));
    collector.keepReadings = true;
    await collector.start();
    cleanups.push(() => collector.stop());
    const proxy = await new TcpProxy(collector.port).start();
    cleanups.push(() => proxy.stop());
    const [adminPort, mqttPort] = [await freePort(), await freePort()];
    const configFile = writeEdgeConfig(dir, {
      edge: { id: 'edge-stop' },
      site: { id: 's1', type: 'street' },
      uplink: { url: proxy.url, password: 'x' },
      buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
      admin: { host: '127.0.0.1', port: adminPort },
      protocols: { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: mqttPort, users: [{ username: 'dev', passwordHash: hashSecret('dev-pass') }] } } },
      devices: [{ id: 'AQ-1', profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: 'aq1' } }],
    });
    const edge = await new EdgeProcess(configFile, adminPort).ready();
    cleanups.push(() => void edge.kill('SIGKILL'));
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'dev', password: 'dev-pass', reconnectPeriod: 0 });
    device.on('error', () => {});
    const acked: number[] = [];
    const publish = async (from: number, to: number) => {
      await Promise.all(
        Array.from({ length: to - from + 1 }, (_, k) => {
          const i = from + k;
          const payload = JSON.stringify({ pm25: i, pm10: 50, so2: 0.01, no2: 0.03, o3: 0.05, co: 0.4, env: { t: 20, rh: 50, p: 101 }, noise: 50 });
          return device.publishAsync('aq/aq1/data', payload, { qos: 1 }).then(() => acked.push(i));
        }),
      );
    };
    await publish(1, 200);
    await until('the first readings at the collector', () => collector.readings.filter((r) => r.metric === 'pm2_5').length === 200);

    proxy.blackhole();
    await publish(201, 600); // accepted by the edge; their batches go into the hole
    await new Promise((r) => setTimeout(r, 500));

    const t0 = Date.now();
    const exit = await Promise.race([edge.kill('SIGTERM'), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    const took = Date.now() - t0;
    expect(exit, `still running ${took} ms after SIGTERM`).not.toBe('hung');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(8_000); // the agent's bound is 5 s; process start-up noise aside
    await device.endAsync(true);

    // Every acknowledged value is at the collector or still in the buffer, none lost.
    const buffer = EdgeBuffer.open({ dir: join(dir, 'buffer'), maxBytes: 1e9 });
    const inBuffer = new Set(buffer.listChunks(0, 1e6).flatMap((c) => (decodeChunk(c.payload).readings ?? []).filter((r) => r.metric === 'pm2_5').map((r) => r.number)));
    buffer.close();
    const atCollector = new Set(collector.readings.filter((r) => r.metric === 'pm2_5').map((r) => r.number));
    expect(acked).toHaveLength(600);
    expect(acked.filter((v) => !inBuffer.has(v) && !atCollector.has(v))).toEqual([]);
    expect(inBuffer.size).toBeGreaterThanOrEqual(400); // what went into the hole was never acked: kept
  }, 60_000);
});

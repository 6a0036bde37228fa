// Edge–cloud coordination behind an external broker: Mosquitto with the documented ACL (YIWANG_ACL), two
// collector nodes sharing one store, a real managed edge agent. A configuration changed on one node reaches the
// edge; a diagnostic asked on the other node gets its answer there; an edge cannot read or write another edge's
// configuration or requests.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { startModbusSimulator } from '../../demo/simulators/modbus-sim.js';
import { Mosquitto, MOSQUITTO } from '../../demo/services/mosquitto.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import type { Collector } from '../../collector/index.js';
import { topics } from '../../schema/topics.js';
import { apiJson, requireBinary, startTestCollector, tempDir, waitFor } from './helpers.js';

describe('edge–cloud coordination through Mosquitto with the documented ACL', () => {
  const tmp = tempDir();
  let broker: Mosquitto;
  let port = 0;
  const nodes: Collector[] = [];
  let agent: EdgeAgent;
  let sim: Awaited<ReturnType<typeof startModbusSimulator>>;
  let admin = '';

  beforeAll(async () => {
    requireBinary(MOSQUITTO, 'mosquitto');
    port = await freePort();
    chmodSync(tmp.dir, 0o755); // mosquitto (dropped to its own user) must reach its files
    broker = new Mosquitto(port, join(tmp.dir, 'mosquitto'), new Map([['collector', 'collector-pw'], ['edge-m', 'edge-m-pw'], ['edge-x', 'edge-x-pw']]));
    await broker.start();
    for (let i = 0; i < 2; i++) {
      nodes.push(await startTestCollector(join(tmp.dir, 'db'), (c) => (c.mqtt = { external: { url: `mqtt://127.0.0.1:${port}`, username: 'collector', password: 'collector-pw', sharedGroup: 'collectors', clientId: `collector-${i}` } })));
    }
    admin = await nodes[0]!.createToken({ name: 'ops', admin: true });
    sim = await startModbusSimulator({ 1: () => ({ holding: { 0: 180, 1: 0, 2: 0xffb5, 3: 1234 } }) });
    const file = join(tmp.dir, 'edge.yaml');
    mkdirSync(join(tmp.dir, 'buffer'), { recursive: true });
    writeFileSync(file, YAML.stringify({
      edge: { id: 'edge-m', managed: true },
      site: { id: 'M1', type: 'street' },
      uplink: { url: `mqtt://127.0.0.1:${port}`, password: 'edge-m-pw' },
      buffer: { dir: join(tmp.dir, 'buffer'), commitIntervalMs: 50 },
      admin: { host: '127.0.0.1', port: 0 },
    }));
    agent = await startEdge({ configFile: file, adminPort: 0, log: silentLogger });
    await waitFor('the edge known with its key', async () => !!(await nodes[0]!.store.edgeConfigs.state('edge-m'))?.configKey);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    for (const n of nodes) await n.stop();
    await broker?.stop();
    await sim?.stop();
    tmp.remove();
  });

  it('a device configured on one node reaches the edge; a test read asked on the other node is answered there', async () => {
    const put = await apiJson<{ version: number; published: boolean }>(nodes[1]!.httpPort, admin, '/api/v1/admin/edges/edge-m/devices/M-WL-1', {
      method: 'PUT', body: JSON.stringify({ profile: 'radar-level-modbus', connection: { host: '127.0.0.1', port: sim.port, unitId: 1, pollIntervalMs: 200 } }),
    });
    expect(put.body).toMatchObject({ version: 1, published: true });
    await waitFor('applied at the edge', () => agent.devices.devices().some((d) => d.record.id === 'M-WL-1'));
    await waitFor('readings stored', async () => (await apiJson<{ latest: unknown[] }>(nodes[0]!.httpPort, admin, '/api/v1/latest?device=M-WL-1')).body.latest.length > 0);
    await waitFor('applied version reported', async () => (await nodes[0]!.store.edgeConfigs.state('edge-m'))?.appliedVersion === 1);
    const test = await apiJson<{ result: { ok: boolean; points: { point: string; value: number }[] } }>(nodes[0]!.httpPort, admin, '/api/v1/admin/edges/edge-m/devices/M-WL-1/test', { method: 'POST' });
    expect(test.status).toBe(200);
    expect(test.body.result.points.find((p) => p.point === 'level')?.value).toBe(1.8);
  }, 40_000);

  it('another edge gets nothing of this edge\'s configuration or requests, and cannot write a configuration', async () => {
    // Mosquitto grants a subscription the ACL denies and then delivers nothing on it: watch what arrives.
    const x = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'edge-x', password: 'edge-x-pw', clientId: 'edge-x-probe', reconnectPeriod: 0 });
    const seen: string[] = [];
    x.on('message', (topic) => seen.push(topic));
    await x.subscribeAsync([topics.config('edge-m'), topics.request('edge-m'), topics.config('edge-x')], { qos: 1 });
    await x.publishAsync(topics.config('edge-x'), Buffer.from('forged'), { qos: 1, retain: true });
    await x.publishAsync(topics.config('edge-m'), Buffer.from('forged'), { qos: 1, retain: true });
    // A new version for edge-m and a diagnostic request to it, while edge-x listens.
    const put = await apiJson<{ version: number }>(nodes[0]!.httpPort, admin, '/api/v1/admin/edges/edge-m/devices/M-WL-1', {
      method: 'PUT', body: JSON.stringify({ profile: 'radar-level-modbus', name: '二号', connection: { host: '127.0.0.1', port: sim.port, unitId: 1, pollIntervalMs: 200 } }),
    });
    expect(put.body.version).toBe(2);
    expect((await apiJson<{ lines: unknown[] }>(nodes[1]!.httpPort, admin, '/api/v1/admin/edges/edge-m/logs')).status).toBe(200);
    await waitFor('v2 applied at the edge', async () => (await nodes[0]!.store.edgeConfigs.state('edge-m'))?.appliedVersion === 2);
    await x.endAsync();
    expect(seen).toEqual([]);
    expect(agent.devices.devices().map((d) => d.record.name)).toEqual(['二号']);
  });
});

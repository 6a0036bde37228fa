// How a managed edge applies the collector's configuration, in process with a real collector and a real HJ 212
// station simulator: a station's access code travels sealed and works; protocol settings from the city restart the
// listener on its new port live; a box that lost its key and configuration gets it sealed to its new key; a last
// good configuration that no longer validates after a local change (the box's embedded broker turned off) is
// reported as refused at start-up.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { startHj212Station, type Hj212Station } from '../../demo/simulators/hj212-station.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import type { Collector } from '../../collector/index.js';
import { apiJson, portOpen, startTestCollector, tempDir, waitFor } from '../collector/helpers.js';

const EDGE = 'edge-apply';
const MN = '33010200000001';

describe('a managed edge applying the collector\'s configuration', () => {
  const tmp = tempDir('yiwang-central-apply-');
  const file = join(tmp.dir, 'edge.yaml');
  const bufferDir = join(tmp.dir, 'buffer');
  let c: Collector;
  let agent: EdgeAgent | undefined;
  let admin = '';
  let station: Hj212Station | undefined;
  const ports: number[] = [];

  const put = (path: string, body: unknown) => apiJson<{ version: number; published: boolean }>(c.httpPort, admin, path, { method: 'PUT', body: JSON.stringify(body) });
  const state = async () => (await c.store.edgeConfigs.state(EDGE))!;
  const latestOf = async (device: string) => (await apiJson<{ latest: { ts: number; metric: string }[] }>(c.httpPort, admin, `/api/v1/latest?device=${device}`)).body.latest;

  beforeAll(async () => {
    c = await startTestCollector(join(tmp.dir, 'collector'));
    const pw = await c.addEdge(EDGE);
    admin = await c.createToken({ name: 'ops', admin: true });
    ports.push(await freePort(), await freePort());
    writeFileSync(file, YAML.stringify({
      edge: { id: EDGE, managed: true },
      site: { id: 'HZ01', type: 'other' },
      uplink: { url: `mqtt://127.0.0.1:${c.mqttPort}`, password: pw },
      buffer: { dir: bufferDir, commitIntervalMs: 50 },
      admin: { host: '127.0.0.1', port: 0 },
      protocols: { hj212: { host: '127.0.0.1', port: ports[0] } },
    }));
    agent = await startEdge({ configFile: file, adminPort: 0, log: silentLogger });
    await waitFor('the edge key at the collector', async () => !!(await c.store.edgeConfigs.state(EDGE))?.configKey);
  });

  afterAll(async () => {
    await station?.stop();
    await agent?.stop();
    await c?.stop();
    tmp.remove();
  });

  it('configures an HJ 212 station whose access code travels sealed; the station\'s data arrives', async () => {
    const r = await put(`/api/v1/admin/edges/${EDGE}/devices/ENV-WQ-1`, { profile: 'hj212-water-quality-station', name: '城东断面', connection: { mn: MN, password: 'pw-7781' } });
    expect(r.body).toMatchObject({ version: 1, published: true });
    await waitFor('applied', async () => (await state()).appliedVersion === 1);
    station = startHj212Station({ host: '127.0.0.1', port: ports[0]!, mn: MN, password: 'pw-7781', intervalMs: 200 });
    await waitFor('HJ 212 readings at the collector', async () => (await latestOf('ENV-WQ-1')).length > 0);
    // On the box the access code is in the applied configuration, readable by the agent's user only.
    expect(readFileSync(join(bufferDir, 'central-config.json'), 'utf8')).toContain('pw-7781');
    expect(statSync(join(bufferDir, 'central-config.json')).mode & 0o777).toBe(0o600);
  });

  it('moves the HJ 212 listener to the port the city sets, live (the adapter restarts, data keeps flowing)', async () => {
    await station!.stop();
    const before = agent!.devices.getAdapter('hj212');
    const got = await apiJson<{ config: Record<string, unknown> }>(c.httpPort, admin, `/api/v1/admin/edges/${EDGE}/config`);
    const r = await put(`/api/v1/admin/edges/${EDGE}/config`, { ...got.body.config, protocols: { hj212: { host: '127.0.0.1', port: ports[1] } } });
    expect(r.body.version).toBe(2);
    await waitFor('applied', async () => (await state()).appliedVersion === 2);
    expect(agent!.devices.getAdapter('hj212')).not.toBe(before);
    expect(await portOpen(ports[1]!)).toBe(true);
    expect(await portOpen(ports[0]!)).toBe(false);
    const t0 = Date.now();
    station = startHj212Station({ host: '127.0.0.1', port: ports[1]!, mn: MN, password: 'pw-7781', intervalMs: 200 });
    await waitFor('readings through the new port', async () => (await latestOf('ENV-WQ-1')).some((l) => l.ts >= t0));
    await station.stop();
    station = undefined;
  });

  it('a box that lost its key and configuration gets it again, sealed to its new key', async () => {
    const oldKey = (await state()).configKey;
    await agent!.stop();
    rmSync(join(bufferDir, 'config-key.pem'));
    rmSync(join(bufferDir, 'central-config.json'));
    agent = await startEdge({ configFile: file, adminPort: 0, log: silentLogger });
    await waitFor('version 2 applied again', async () => (await state()).appliedVersion === 2 && (await state()).configKey !== oldKey);
    expect(agent.devices.devices().map((d) => d.record.id)).toEqual(['ENV-WQ-1']);
    expect(existsSync(join(bufferDir, 'central-config.json'))).toBe(true);
  });

  it('reports its last good configuration as refused when a local change made it invalid, and runs without it', async () => {
    // An MQTT device on the box's embedded broker (a local setting of edge.yaml).
    await agent!.stop();
    const local = YAML.parse(readFileSync(file, 'utf8')) as Record<string, { [k: string]: unknown }>;
    local.protocols = { ...local.protocols, mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: 0 } } };
    writeFileSync(file, YAML.stringify(local));
    agent = await startEdge({ configFile: file, adminPort: 0, log: silentLogger });
    await waitFor('connected again', async () => (await c.store.edges.list()).some((e) => e.id === EDGE && e.connected));
    const r = await put(`/api/v1/admin/edges/${EDGE}/devices/AQ-1`, { profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: 'aq1' } });
    expect(r.body.version).toBe(3);
    await waitFor('applied', async () => (await state()).appliedVersion === 3);
    // The installer turns the embedded broker off; the city's devices still need it.
    await agent!.stop();
    local.protocols = { ...local.protocols, mqtt: { localBroker: { enabled: false } } };
    writeFileSync(file, YAML.stringify(local));
    agent = await startEdge({ configFile: file, adminPort: 0, log: silentLogger });
    await waitFor('the refusal reported', async () => (await state()).failedVersion === 3);
    const s = await state();
    expect(s.appliedVersion).toBe(0);
    expect(s.errors).toContainEqual({ path: 'devices[1].connection.broker', message: 'local, but the embedded broker is off (protocols.mqtt.localBroker.enabled)' });
    expect(agent.devices.devices()).toEqual([]); // running, without the collector's devices, until a push that fits
    const row = (await apiJson<{ config: { state: string } }>(c.httpPort, admin, `/api/v1/admin/edges/${EDGE}`)).body;
    expect(row.config.state).toBe('failed');
  });
});

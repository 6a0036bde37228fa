// Edge–cloud coordination at the collector, on both stores: desired configurations (versions, history, one edge
// per device, registry assignment), passwords (encrypted at rest, masked in answers, sealed to the edge), the
// embedded broker's ACL for the config topic, the admin API (bureau tokens refused, audit log), diagnostics,
// the spreadsheet import across edges, site thresholds, and the fleet view. The edges here are MQTT clients
// speaking the wire contract; test/edge/edge-cloud.test.ts runs the real edge agent.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../core/csv.js';
import { loadOrCreateEdgeKey, openSealed, type EdgeKeyPair } from '../../core/seal.js';
import { DeviceOnOtherEdgeError } from '../../collector/store/sql/edge-configs.js';
import { EdgeTimeoutError, EdgeUnavailableError } from '../../collector/control/plane.js';
import type { Collector } from '../../collector/index.js';
import { decodeConfigPush, decodeDiagnosticRequest, encodeDiagnosticResponse, encodeEdgeReport, encodeEdgeStatus } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import type { ConfigPush, DeviceRecord } from '../../schema/types.js';
import { api, apiJson, sqlOf, startTestCollector, STORES, tempDir, testStore, waitFor } from './helpers.js';

/** An edge as the wire contract sees it: its key in the status, the config and request topics subscribed. */
class ControlEdge {
  readonly pushes: ConfigPush[] = [];
  private constructor(readonly id: string, readonly client: MqttClient, readonly key: EdgeKeyPair) {}

  static async connect(port: number, id: string, password: string, keyFile: string, answer?: (kind: string) => string | undefined): Promise<ControlEdge> {
    const key = loadOrCreateEdgeKey(keyFile);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${id}-${Math.random().toString(16).slice(2, 8)}`, username: id, password, reconnectPeriod: 0 });
    const e = new ControlEdge(id, client, key);
    client.on('message', (topic, payload) => {
      if (topic === topics.config(id)) e.pushes.push(decodeConfigPush(payload));
      if (topic === topics.request(id) && answer) {
        const req = decodeDiagnosticRequest(payload);
        const result = answer(req.kind);
        if (result !== undefined) void client.publishAsync(topics.response(id), Buffer.from(encodeDiagnosticResponse({ edgeId: id, requestId: req.requestId, ok: true, result })), { qos: 1 });
      }
    });
    const granted = await client.subscribeAsync([topics.config(id), topics.request(id)], { qos: 1 });
    if (granted.some((g) => g.qos === 128)) throw new Error('control topics refused');
    await client.publishAsync(topics.status(id), Buffer.from(encodeEdgeStatus({ edgeId: id, online: true, ts: Date.now(), version: '9.9.9', configKey: key.publicKey, managed: true })), { qos: 1, retain: true });
    return e;
  }

  /** The newest push, opened with this edge's key. */
  newest(): { version: number; config: Record<string, unknown> } {
    const p = this.pushes[this.pushes.length - 1]!;
    return { version: p.version, config: JSON.parse(openSealed(this.key, p, `${this.id}:${p.version}`).toString()) as Record<string, unknown> };
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

const json = (body: unknown): RequestInit => ({ method: 'PUT', body: JSON.stringify(body) });

describe.each(STORES)('edge–cloud coordination at the collector (%s store)', (kind) => {
  const tmp = tempDir();
  let c: Collector;
  let cleanup: () => Promise<void>;
  let admin = '';
  let water = '';
  const pw: Record<string, string> = {};
  const edges: ControlEdge[] = [];

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    const keyFile = join(tmp.dir, 'secrets.key');
    writeFileSync(keyFile, `${Buffer.alloc(32, 3).toString('base64')}\n`, { mode: 0o600 });
    // PostgreSQL needs the key named (every node the same); SQLite creates one in the data directory.
    c = await startTestCollector(tmp.dir, (cfg) => kind === 'postgres' && (cfg.secrets = { keyFile }), s.url);
    for (const e of ['e1', 'e2', 'e3', 'loose']) pw[e] = await c.addEdge(e);
    admin = await c.createToken({ name: 'ops', admin: true });
    water = await c.createToken({ name: 'water-bureau', bureau: 'water' });
  });
  afterAll(async () => {
    for (const e of edges) await e.close();
    await c?.stop();
    await cleanup?.();
    tmp.remove();
  });

  it('versions every change with who made it and what changed; a device is configured on one edge only', async () => {
    const cfgs = c.store.edgeConfigs;
    const doc = (ids: string[]) => ({ doc: JSON.stringify({ devices: ids.map((id) => ({ id, profile: 'radar-level-modbus', connection: {} })) }), changes: [`set ${ids}`], devices: ids });
    expect((await cfgs.update('e3', 'admin:a', () => doc(['X-1'])))?.version).toBe(1);
    expect((await cfgs.update('e3', 'admin:b', () => undefined))?.version).toBe(1); // no change, no version
    // Changes from several requests at once are serialised: every one gets its own version.
    const versions = await Promise.all([0, 1, 2, 3].map((i) => cfgs.update('e3', `admin:${i}`, () => doc(['X-1', `X-${i + 2}`]))));
    expect(versions.map((v) => v!.version).sort()).toEqual([2, 3, 4, 5]);
    expect((await cfgs.history('e3')).map((h) => h.version)).toEqual([5, 4, 3, 2, 1]);
    expect((await cfgs.history('e3', 1))[0]).toMatchObject({ edgeId: 'e3', actor: expect.stringMatching(/^admin:\d$/) });
    expect(await cfgs.edgeOfDevice('X-1')).toBe('e3');
    await expect(cfgs.update('e2', 'admin:a', () => doc(['X-1']))).rejects.toBeInstanceOf(DeviceOnOtherEdgeError);
    expect(await cfgs.get('e2')).toBeUndefined(); // nothing of the refused change was stored
    await cfgs.update('e3', 'admin:a', () => doc([]));
    expect(await cfgs.edgeOfDevice('X-1')).toBeUndefined();
  });

  it('keeps what an edge reports; an empty local config in a report keeps the one reported before', async () => {
    const cfgs = c.store.edgeConfigs;
    await cfgs.noteStatus('loose', { configKey: 'a2V5', managed: false, appliedVersion: 0, softwareVersion: '1.2.3' });
    await cfgs.noteReport('loose', { managed: false, appliedVersion: 0, errors: [], localConfig: '{"devices":[]}', devices: { online: 2, offline: 1 }, bufferFill: 0.25, reportAt: 1000, clockOffsetMs: -1500 });
    await cfgs.noteReport('loose', { managed: false, appliedVersion: 0, errors: [{ path: 'devices[0].x', message: 'y' }], localConfig: undefined, reportAt: 2000, clockOffsetMs: 40 });
    expect(await cfgs.state('loose')).toMatchObject({ configKey: 'a2V5', managed: false, softwareVersion: '1.2.3', localConfig: '{"devices":[]}', errors: [{ path: 'devices[0].x' }], reportAt: 2000, clockOffsetMs: 40 });
  });

  it('a bureau token can neither read nor change an edge\'s configuration, nor see the fleet; the attempts are audited', async () => {
    expect((await api(c.httpPort, water, '/api/v1/admin/edges/e1/config')).status).toBe(403);
    expect((await api(c.httpPort, water, '/api/v1/admin/edges/e1/devices/WL-1', json({ profile: 'radar-level-modbus', connection: {} }))).status).toBe(403);
    expect((await api(c.httpPort, water, '/api/v1/admin/edges')).status).toBe(403);
    expect((await api(c.httpPort, water, '/api/v1/admin/audit')).status).toBe(403);
    expect(await c.store.edgeConfigs.get('e1')).toBeUndefined();
    const audit = await apiJson<{ entries: { actor: string; action: string; status: number; detail: Record<string, unknown> }[] }>(c.httpPort, admin, '/api/v1/admin/audit?actor=water-bureau');
    expect(audit.body.entries).toEqual([expect.objectContaining({ actor: 'water-bureau', action: 'PUT /api/v1/admin/edges/e1/devices/WL-1', status: 403, detail: { bureau: 'water' } })]);
  });

  it('seals each version to the edge\'s key and publishes it retained; only that edge reads it, no edge writes it', async () => {
    const e1 = await ControlEdge.connect(c.mqttPort!, 'e1', pw.e1!, join(tmp.dir, 'e1.pem'));
    edges.push(e1);
    await waitFor('e1 key at the collector', async () => !!(await c.store.edgeConfigs.state('e1'))?.configKey);
    const put = await apiJson<{ version: number; published: boolean }>(c.httpPort, admin, '/api/v1/admin/edges/e1/devices/HJ-1', json({
      profile: 'hj212-water-quality-station', name: '断面水质站', sharingScope: ['environment'], connection: { mn: '010000A8900016F000169DC0', password: 'hj-secret-123' },
    }));
    expect(put).toMatchObject({ status: 201, body: { version: 1, published: true } });
    await waitFor('push at e1', () => e1.pushes.length > 0);
    const push = e1.pushes[e1.pushes.length - 1]!;
    expect(Buffer.from(push.sealed).includes(Buffer.from('hj-secret-123'))).toBe(false);
    expect(e1.newest()).toMatchObject({ version: 1, config: { devices: [{ id: 'HJ-1', connection: { password: 'hj-secret-123' } }] } });

    // Retained: a reconnecting edge gets it again.
    const again = await ControlEdge.connect(c.mqttPort!, 'e1', pw.e1!, join(tmp.dir, 'e1.pem'));
    edges.push(again);
    await waitFor('retained push', () => again.pushes.length > 0);
    expect(again.newest().version).toBe(1);

    // Another edge may not subscribe to e1's configuration, and no edge may publish on a config topic.
    const e2 = await mqtt.connectAsync(`mqtt://127.0.0.1:${c.mqttPort}`, { username: 'e2', password: pw.e2!, reconnectPeriod: 0 });
    const refused = await e2.subscribeAsync(topics.config('e1'), { qos: 1 }).catch((err: Error & { packet?: { granted: number[] } }) => err);
    await e2.endAsync(true);
    expect((refused as { packet?: { granted: number[] } }).packet?.granted).toEqual([128]);
    await e1.client.publishAsync(topics.config('e1'), Buffer.from('forged'), { qos: 0, retain: true }).catch(() => undefined);
    const third = await ControlEdge.connect(c.mqttPort!, 'e1', pw.e1!, join(tmp.dir, 'e1.pem'));
    edges.push(third);
    await waitFor('retained push', () => third.pushes.length > 0);
    expect(third.newest().config).toMatchObject({ devices: [{ id: 'HJ-1' }] });
  });

  it('stores passwords encrypted (a database dump holds none), answers them masked, keeps them when sent back masked', async () => {
    const dump = JSON.stringify([
      ...(await sqlOf(c.store).all('SELECT * FROM edge_config')),
      ...(await sqlOf(c.store).all('SELECT * FROM edge_config_history')),
      ...(await sqlOf(c.store).all('SELECT * FROM devices')),
      ...(await sqlOf(c.store).all('SELECT * FROM record_history')),
      ...(await sqlOf(c.store).all('SELECT * FROM audit_log')),
    ]);
    expect(dump).toContain('HJ-1');
    expect(dump).not.toContain('hj-secret-123');
    const got = await apiJson<{ config: { devices: { connection: Record<string, unknown> }[] } }>(c.httpPort, admin, '/api/v1/admin/edges/e1/config');
    expect(got.body.config.devices[0]!.connection).toEqual({ mn: '010000A8900016F000169DC0', password: '********' });
    expect(JSON.stringify(got.body)).not.toContain('hj-secret-123');
    // The masked document sent back unchanged is no change at all; with a new name the password is kept.
    const same = await apiJson<{ changed: boolean; version: number }>(c.httpPort, admin, '/api/v1/admin/edges/e1/config', json(got.body.config));
    expect(same.body).toMatchObject({ changed: false, version: 1 });
    const renamed = await apiJson<{ version: number }>(c.httpPort, admin, '/api/v1/admin/edges/e1/devices/HJ-1', json({ ...got.body.config.devices[0], name: '一号断面' }));
    expect(renamed.body.version).toBe(2);
    const e1 = edges.filter((e) => e.id === 'e1' && e.client.connected).at(-1)!;
    await waitFor('v2 at e1', () => e1.pushes.some((p) => p.version === 2));
    expect(e1.newest().config).toMatchObject({ devices: [{ name: '一号断面', connection: { password: 'hj-secret-123' } }] });
    const history = await apiJson<{ history: { version: number; actor: string; changes: string[] }[] }>(c.httpPort, admin, '/api/v1/admin/edges/e1/config/history');
    expect(history.body.history[0]).toEqual({ version: 2, time: expect.any(String), actor: 'admin:ops', changes: ['devices.HJ-1.name: 断面水质站 → 一号断面'] });
    // A mask where nothing is stored is refused.
    const bad = await apiJson<{ issues: { path: string; message: string }[] }>(c.httpPort, admin, '/api/v1/admin/edges/e1/devices/HJ-2', json({ profile: 'hj212-water-quality-station', connection: { mn: 'X', password: '********' } }));
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0]).toMatchObject({ path: 'devices[1].connection.password', message: expect.stringMatching(/none is stored/) });
  });

  it('registers a configured device in the 一机一档 registry, assigned to its edge, with the registrar\'s sharing scope', async () => {
    const rec = await apiJson<DeviceRecord>(c.httpPort, admin, '/api/v1/devices/HJ-1');
    expect(rec.body).toMatchObject({ id: 'HJ-1', edgeId: 'e1', profileId: 'hj212-water-quality-station', kind: 'station', name: '一号断面', sharingScope: ['environment'] });
    const row = await c.store.registry.row('HJ-1');
    expect(row).toMatchObject({ registered: 1, scope_source: 'registrar', edge_id: 'e1' });
    // The water bureau does not see it (not shared with water).
    expect((await api(c.httpPort, water, '/api/v1/devices/HJ-1')).status).toBe(404);
  });

  it('a registrar\'s edit of a configured device\'s record goes into its edge\'s configuration (the edge would undo it otherwise)', async () => {
    const before = (await c.store.edgeConfigs.get('e1'))!.version;
    const post = await apiJson<DeviceRecord>(c.httpPort, admin, '/api/v1/devices/HJ-1', { method: 'POST', body: JSON.stringify({ maintainer: '区生态环境局' }) });
    expect(post.status).toBe(200);
    const desired = (await c.store.edgeConfigs.get('e1'))!;
    expect(desired.version).toBe(before + 1);
    expect(JSON.parse(desired.doc).devices[0]).toMatchObject({ id: 'HJ-1', maintainer: '区生态环境局', profile: 'hj212-water-quality-station', connection: { mn: '010000A8900016F000169DC0' } });
    const e1 = edges.filter((e) => e.id === 'e1' && e.client.connected).at(-1)!;
    await waitFor('the edit at e1', () => e1.pushes.some((p) => p.version === before + 1));
    expect(e1.newest().config).toMatchObject({ devices: [{ maintainer: '区生态环境局', connection: { password: 'hj-secret-123' } }] });
    // It cannot be moved to another edge through the registry while e1's configuration has it.
    const move = await apiJson<{ error: string }>(c.httpPort, admin, '/api/v1/devices/HJ-1', { method: 'POST', body: JSON.stringify({ edgeId: 'e2' }) });
    expect(move).toMatchObject({ status: 409, body: { error: expect.stringMatching(/configured on edge e1/) } });
  });

  it('refuses what the collector can tell is wrong, with the paths of the edge config', async () => {
    const r = await apiJson<{ error: string; issues: { path: string; message: string }[] }>(c.httpPort, admin, '/api/v1/admin/edges/e1/devices/WL-9', json({
      profile: 'radar-level-modbus', connection: {}, location: { longitude: 500 }, sharingScope: ['水务'],
    }));
    expect(r.status).toBe(400);
    expect(r.body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['devices.1.location.longitude', 'devices.1.sharingScope.0']));
    const unknownProfile = await apiJson<{ issues: { path: string; message: string }[] }>(c.httpPort, admin, '/api/v1/admin/edges/e1/devices/WL-9', json({ profile: 'nope', connection: {} }));
    expect(unknownProfile.body.issues).toEqual([{ path: 'devices[1].profile', message: expect.stringMatching(/^unknown profile "nope"/) }]);
    const threshold = await apiJson<{ issues: { path: string; message: string }[] }>(c.httpPort, admin, '/api/v1/admin/devices/HJ-1/thresholds', json({ cod: { warning: 30, alarm: 20 } }));
    expect(threshold.body.issues).toEqual([{ path: 'thresholds.devices.HJ-1.cod', message: expect.stringMatching(/alarm level 20 must be above the warning level 30/) }]);
    expect((await api(c.httpPort, admin, '/api/v1/admin/edges/nobody/devices/A', json({ profile: 'radar-level-modbus', connection: {} }))).status).toBe(404);
    expect((await api(c.httpPort, admin, '/api/v1/admin/edges/loose/devices/A', json({ profile: 'radar-level-modbus', connection: {} }))).status).toBe(409); // reported managed: false
    expect((await apiJson<{ version: number }>(c.httpPort, admin, '/api/v1/admin/edges/e1/config')).body.version).toBe(3); // nothing refused was stored
  });

  it('runs diagnostics as request/response: an answer, a timeout, and an immediate refusal for an edge that is not connected', async () => {
    await expect(c.control.request('e2', 'logs')).rejects.toThrow(EdgeUnavailableError);
    const offline = await apiJson<{ error: string }>(c.httpPort, admin, '/api/v1/admin/edges/e2/doctor', { method: 'POST' });
    expect(offline).toMatchObject({ status: 503, body: { error: expect.stringMatching(/^edge e2 is not connected/) } });
    const e3 = await ControlEdge.connect(c.mqttPort!, 'e3', pw.e3!, join(tmp.dir, 'e3.pem'), (k) => (k === 'logs' ? JSON.stringify({ lines: [{ level: 'warn', msg: 'modbus timeout' }] }) : undefined));
    edges.push(e3);
    await waitFor('e3 key', async () => !!(await c.store.edgeConfigs.state('e3'))?.configKey);
    const logs = await apiJson<{ lines: unknown[] }>(c.httpPort, admin, '/api/v1/admin/edges/e3/logs?limit=5');
    expect(logs.body.lines).toEqual([{ level: 'warn', msg: 'modbus timeout' }]);
    await expect(c.control.request('e3', 'doctor', {}, 300)).rejects.toThrow(EdgeTimeoutError);
    const audited = await apiJson<{ entries: { action: string; detail: Record<string, unknown> }[] }>(c.httpPort, admin, '/api/v1/admin/audit?q=/logs');
    expect(audited.body.entries[0]).toMatchObject({ action: 'GET /api/v1/admin/edges/e3/logs', detail: { edge: 'e3', lines: 1 } });
  });

  it('imports one spreadsheet that configures devices on several edges, with an error per unusable row', async () => {
    await c.store.edgeConfigs.noteStatus('e2', { managed: true });
    const csv = [
      '设备编码,设备名称,设备模板,接入网关,连接参数,接入地址,共享范围',
      'CSV-WL-1,一号水位,radar-level-modbus,e1,10.0.0.5:502#3,,水务',
      'CSV-WL-2,二号水位,radar-level-modbus,e2,,10.0.0.6,水务',
      'CSV-AQ-1,空气站,air-quality-mqtt,e2,"{""broker"":""local"",""topicId"":""aq9""}",,环保',
      'CSV-BAD-1,无网关,radar-level-modbus,ghost-edge,10.0.0.7,,水务',
      'CSV-BAD-2,坏模板,no-such-profile,e1,10.0.0.8,,水务',
      'CSV-BAD-3,坏地址,radar-level-modbus,e1,10.0.0.9:port,,水务',
      'CSV-BAD-4,缺模板,,e1,10.0.0.10,,水务',
      'CSV-BAD-5,不受管,radar-level-modbus,loose,10.0.0.11,,水务',
      'CSV-PLAIN,只登记,,,,,水务',
    ].join('\r\n');
    const r = await apiJson<{ imported: number; created: number; configured: { edgeId: string; devices: number }[]; errors: { row: number; message: string }[] }>(c.httpPort, admin, '/api/v1/records/import', { method: 'POST', body: csv });
    expect(r.status).toBe(200);
    expect(r.body.imported).toBe(4);
    expect(r.body.configured.map((x) => [x.edgeId, x.devices]).sort()).toEqual([['e1', 1], ['e2', 2]]);
    expect(r.body.errors).toEqual([
      { row: 5, message: '接入网关: no edge ghost-edge at this collector (yiwang collector edge add --id ghost-edge)' },
      { row: 6, message: '设备模板: unknown profile "no-such-profile"' },
      { row: 7, message: '连接参数: port "port" is not a number' },
      { row: 8, message: '设备模板: is required to configure the device on its edge (接入网关)' },
      { row: 9, message: expect.stringMatching(/^接入网关: edge loose is not managed from the collector/) },
    ]);
    const e2doc = await apiJson<{ config: { devices: { id: string; connection: Record<string, unknown> }[] } }>(c.httpPort, admin, '/api/v1/admin/edges/e2/config');
    expect(e2doc.body.config.devices).toEqual([
      expect.objectContaining({ id: 'CSV-WL-2', connection: { transport: 'tcp', host: '10.0.0.6', port: 502, unitId: 1 } }),
      expect.objectContaining({ id: 'CSV-AQ-1', connection: { broker: 'local', topicId: 'aq9' }, sharingScope: ['environment'] }),
    ]);
    expect((await c.store.registry.row('CSV-WL-1'))?.edge_id).toBe('e1');
    expect((await c.store.registry.row('CSV-PLAIN'))?.edge_id).toBeNull();
  });

  it('sets a site\'s levels on every edge with devices of the site', async () => {
    await c.store.registry.upsert({ id: 'CSV-WL-1', site: { id: 'QC01' } }, 'test');
    await c.store.registry.upsert({ id: 'CSV-WL-2', site: { id: 'QC01' } }, 'test');
    const r = await apiJson<{ edges: { edgeId: string; changed: boolean }[] }>(c.httpPort, admin, '/api/v1/admin/sites/QC01/thresholds', json({ water_level: { warning: 2.8 } }));
    expect(r.body.edges.map((e) => [e.edgeId, e.changed])).toEqual([['e1', true], ['e2', true]]);
    const e1 = edges.filter((e) => e.id === 'e1' && e.client.connected).at(-1)!;
    await waitFor('thresholds at e1', () => JSON.stringify(e1.pushes.length ? e1.newest().config : {}).includes('QC01'));
    expect(e1.newest().config).toMatchObject({ thresholds: { sites: { QC01: { water_level: { warning: 2.8 } } } } });
    expect((await api(c.httpPort, admin, '/api/v1/admin/sites/NOWHERE/thresholds', json({ water_level: { warning: 1 } }))).status).toBe(404);
  });

  it('shows the fleet: desired vs applied version and the problems of a refused one, in the API, the CLI\'s view and /metrics', async () => {
    const e1 = edges.filter((e) => e.id === 'e1' && e.client.connected).at(-1)!;
    const desired = (await c.store.edgeConfigs.get('e1'))!.version;
    await e1.client.publishAsync(topics.report('e1'), Buffer.from(encodeEdgeReport({
      edgeId: 'e1', ts: Date.now() + 120_000, version: '9.9.9', managed: true, appliedVersion: desired - 1, failedVersion: desired,
      errors: [{ path: 'devices[1].connection.port', message: 'must be an integer 1-65535' }], devices: { online: 3, offline: 1 }, bufferFill: 0.5, backlogItems: 42, droppedReadings: 7,
    })), { qos: 1 });
    await waitFor('report stored', async () => (await c.store.edgeConfigs.state('e1'))?.failedVersion === desired);
    const list = await apiJson<{ edges: { id: string; config: { state: string; errors: unknown[] }; clockOffsetMs: number; devices: unknown; droppedReadings: number; softwareVersion: string }[] }>(c.httpPort, admin, '/api/v1/admin/edges');
    const row = list.body.edges.find((e) => e.id === 'e1')!;
    expect(row).toMatchObject({ softwareVersion: '9.9.9', config: { state: 'failed', errors: [{ path: 'devices[1].connection.port' }] }, devices: { online: 3, offline: 1 }, droppedReadings: 7 });
    expect(row.clockOffsetMs).toBeGreaterThan(110_000);
    const metrics = await (await api(c.httpPort, admin, '/metrics')).text();
    expect(metrics).toContain(`yiwang_collector_edge_config_desired_version{edge="e1"} ${desired}`);
    expect(metrics).toContain(`yiwang_collector_edge_config_applied_version{edge="e1"} ${desired - 1}`);
    expect(metrics).toContain('yiwang_collector_edge_config_failed{edge="e1"} 1');
    expect(metrics).toContain('yiwang_collector_edge_devices{edge="e1",state="offline"} 1');
    expect(metrics).toMatch(/yiwang_collector_edge_clock_offset_seconds\{edge="e1"\} 1[12]\d/);
    // The audit log as CSV: every admin change of this test is in it.
    const csv = parseCsv(await (await api(c.httpPort, admin, '/api/v1/admin/audit?format=csv')).text());
    expect(csv[0]).toEqual(['time', 'actor', 'action', 'target', 'status', 'detail']);
    expect(csv.some((l) => l[2] === 'POST /api/v1/records/import' && l[1] === 'ops' && l[4] === '200')).toBe(true);
    expect(csv.some((l) => l[2] === 'PUT /api/v1/admin/sites/QC01/thresholds')).toBe(true);
  });
});

// The OPC UA adapter against a real node-opcua server (demo/simulators/opcua-server.ts) on 127.0.0.1.
// One server is shared by every test; the reconnect test, last, stops it and starts a new one on the same port.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadProfileFile, type DeviceProfile, type PointDef } from '../../../core/profiles.js';
import type { ProtocolAdapter } from '../../../protocols/adapter.js';
import createOpcuaAdapter from '../../../protocols/opcua/index.js';
import { freePort } from '../../../core/net.js';
import { startOpcuaServer, type OpcuaSim } from '../../../demo/simulators/opcua-server.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const USER = { username: 'operator', password: 'Pa55-w0rd-never-logged' };
const FAST = { reconnectInitialDelayMs: 200, reconnectMaxDelayMs: 1000, connectTimeoutMs: 5000, okReportIntervalMs: 500 };

let sim: OpcuaSim;
let dataDir: string;
const running: ProtocolAdapter[] = [];

function point(name: string, node: string, opcua: Partial<NonNullable<PointDef['opcua']>> = {}): PointDef {
  return { name, metric: 'ph', opcua: { nodeId: node.startsWith('ns=') ? node : `ns=1;s=WQ.${node}`, samplingIntervalMs: 100, ...opcua } };
}

function profile(points: PointDef[]): DeviceProfile {
  return {
    id: 'test.wq-analyser',
    manufacturer: 'yiwang',
    model: 'WQ-SIM',
    kind: 'sensor',
    protocol: 'opcua',
    opcua: { publishingIntervalMs: 100, samplingIntervalMs: 100, queueSize: 10 },
    points,
  };
}

async function startAdapter(settings: Record<string, unknown> = FAST) {
  const adapter = createOpcuaAdapter({ dataDir, settings });
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  await adapter.start(sink, log);
  running.push(adapter);
  return { adapter, sink, log };
}

const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'yiwang-opcua-test-'));
  sim = await startOpcuaServer({ users: [USER], allowAnonymous: true, simulateIntervalMs: 0 });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  await sim?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('opcua adapter', () => {
  it('delivers subscribed values with their source timestamps and types, and creates its PKI under dataDir', async () => {
    const measuredAt = new Date(Date.now() - 3_600_000); // an hour ago: must not be replaced by receipt time
    sim.setValue('pH', 7.31, 'Good', measuredAt);
    sim.setValue('Running', true);
    sim.setValue('State', 'measuring');
    sim.setValue('SampleCount', 2 ** 40 + 5);
    const { adapter, sink } = await startAdapter();
    expect(existsSync(join(dataDir, 'opcua', 'pki'))).toBe(true);
    await adapter.addDevice({
      id: 'wq-1',
      connection: { endpoint: sim.endpoint },
      profile: profile([point('ph', 'pH'), point('running', 'Running'), point('state', 'State'), point('count', 'SampleCount')]),
    });
    await sink.waitFor((s) => ['ph', 'running', 'state', 'count'].every((p) => s.samplesOf('wq-1', p).length > 0), 'initial values');
    expect(sink.samplesOf('wq-1', 'ph')[0]).toMatchObject({ value: 7.31, quality: 'good', ts: measuredAt.getTime() });
    expect(sink.samplesOf('wq-1', 'running')[0]).toMatchObject({ value: true, quality: 'good' });
    expect(sink.samplesOf('wq-1', 'state')[0]).toMatchObject({ value: 'measuring', quality: 'good' });
    expect(sink.samplesOf('wq-1', 'count')[0]).toMatchObject({ value: 2 ** 40 + 5, quality: 'good' });
    await sink.waitFor((s) => s.statusLog.some((r) => r.deviceId === 'wq-1' && r.ok), 'ok status');

    // Changes arrive by subscription (no polling): a new value shows up with its new source timestamp.
    const at2 = new Date(Date.now() - 1000);
    sim.setValue('pH', 6.95, 'Good', at2);
    await sink.waitFor((s) => s.samplesOf('wq-1', 'ph').some((x) => x.value === 6.95), 'changed pH');
    expect(sink.samplesOf('wq-1', 'ph').find((x) => x.value === 6.95)?.ts).toBe(at2.getTime());
    expect(sink.errorLog).toEqual([]);
  });

  it('maps Bad and Uncertain status codes to sample quality with the status name as reason', async () => {
    sim.setValue('Turbidity', 12, 'Good');
    sim.setValue('COD', 18, 'Good');
    const { adapter, sink } = await startAdapter();
    await adapter.addDevice({ id: 'wq-q', connection: { endpoint: sim.endpoint }, profile: profile([point('turb', 'Turbidity'), point('cod', 'COD')]) });
    await sink.waitFor((s) => s.samplesOf('wq-q', 'turb').length > 0 && s.samplesOf('wq-q', 'cod').length > 0, 'initial values');
    expect(sink.samplesOf('wq-q', 'turb')[0]).toMatchObject({ value: 12, quality: 'good' });
    expect(sink.samplesOf('wq-q', 'turb')[0]?.reason).toBeUndefined();

    sim.setValue('Turbidity', 13, 'BadSensorFailure');
    sim.setValue('COD', 19.5, 'UncertainLastUsableValue');
    await sink.waitFor((s) => s.samplesOf('wq-q', 'turb').length > 1 && s.samplesOf('wq-q', 'cod').length > 1, 'status changes');
    expect(last(sink.samplesOf('wq-q', 'turb'))).toMatchObject({ value: null, quality: 'bad', reason: 'BadSensorFailure' });
    expect(last(sink.samplesOf('wq-q', 'cod'))).toMatchObject({ value: 19.5, quality: 'uncertain', reason: 'UncertainLastUsableValue' });

    sim.setValue('Turbidity', 14, 'Good');
    await sink.waitFor((s) => last(s.samplesOf('wq-q', 'turb'))?.quality === 'good', 'recovered turbidity');
    expect(last(sink.samplesOf('wq-q', 'turb'))?.value).toBe(14);
  });

  it('applies absolute and percent deadbands on the server (a point without deadband on the same node sees every change)', async () => {
    sim.setValue('Conductivity', 0.4); // mS/cm
    sim.setValue('DissolvedOxygen', 8); // EURange 0..20: 5 % = 1.0 mg/L
    const { adapter, sink } = await startAdapter();
    await adapter.addDevice({
      id: 'wq-db',
      connection: { endpoint: sim.endpoint },
      profile: profile([
        point('cond', 'Conductivity', { deadband: { type: 'absolute', value: 0.01 } }),
        point('cond_all', 'Conductivity'),
        point('do', 'DissolvedOxygen', { deadband: { type: 'percent', value: 5 } }),
        point('do_all', 'DissolvedOxygen'),
      ]),
    });
    const has = (p: string, v: number) => (s: RecordingSink) => s.samplesOf('wq-db', p).some((x) => x.value === v);
    await sink.waitFor((s) => has('cond', 0.4)(s) && has('do', 8)(s), 'initial values');
    for (const [cond, dox] of [[0.405, 8.5], [0.409, 8.8], [0.425, 9.2]] as const) {
      sim.setValue('Conductivity', cond);
      sim.setValue('DissolvedOxygen', dox);
      await sink.waitFor((s) => has('cond_all', cond)(s) && has('do_all', dox)(s), `unfiltered ${cond}/${dox}`);
    }
    await sink.waitFor((s) => has('cond', 0.425)(s) && has('do', 9.2)(s), 'changes beyond the deadbands');
    expect(sink.samplesOf('wq-db', 'cond').map((x) => x.value)).toEqual([0.4, 0.425]);
    expect(sink.samplesOf('wq-db', 'do').map((x) => x.value)).toEqual([8, 9.2]);
    expect(sink.errorLog.filter((e) => e.kind === 'deadband_rejected')).toEqual([]);
  });

  it('falls back to no filter (and counts deadband_rejected) when the server refuses a percent deadband', async () => {
    sim.setValue('SampleCount', 41); // a plain Int64 variable: no EURange, so no percent deadband
    const { adapter, sink } = await startAdapter();
    await adapter.addDevice({
      id: 'wq-nodb',
      connection: { endpoint: sim.endpoint },
      profile: profile([point('count', 'SampleCount', { deadband: { type: 'percent', value: 10 } })]),
    });
    await sink.waitFor((s) => s.samplesOf('wq-nodb', 'count').some((x) => x.value === 41), 'value without the filter');
    const rejected = sink.errorLog.find((e) => e.kind === 'deadband_rejected');
    expect(rejected).toMatchObject({ protocol: 'opcua', deviceId: 'wq-nodb' });
    expect(rejected?.detail).toMatch(/count \(ns=1;s=WQ.SampleCount\): deadband percent rejected: Bad/);
  });

  it('reports an unknown node id as a bad point (and a bad_node error) while the other points keep working', async () => {
    sim.setValue('Temperature', 21.5);
    const { adapter, sink } = await startAdapter();
    await adapter.addDevice({
      id: 'wq-bad',
      connection: { endpoint: sim.endpoint },
      profile: profile([point('temp', 'Temperature'), point('ghost', 'ns=1;s=WQ.DoesNotExist')]),
    });
    await sink.waitFor((s) => s.samplesOf('wq-bad', 'ghost').length > 0 && s.samplesOf('wq-bad', 'temp').length > 0, 'both points');
    expect(sink.samplesOf('wq-bad', 'ghost')[0]).toMatchObject({ value: null, quality: 'bad', reason: 'BadNodeIdUnknown' });
    expect(sink.samplesOf('wq-bad', 'temp')[0]).toMatchObject({ value: 21.5, quality: 'good' });
    expect(sink.errorLog).toContainEqual(expect.objectContaining({ protocol: 'opcua', kind: 'bad_node', deviceId: 'wq-bad' }));
    sim.setValue('Temperature', 22.25);
    await sink.waitFor((s) => s.samplesOf('wq-bad', 'temp').some((x) => x.value === 22.25), 'temperature keeps flowing');
  });

  it('reports auth_failure for a wrong password without ever logging the password', async () => {
    const { adapter, sink, log } = await startAdapter();
    const wrong = 'wrong-Secret-123';
    await adapter.addDevice({
      id: 'wq-auth',
      connection: { endpoint: sim.endpoint, username: USER.username, password: wrong },
      profile: profile([point('ph', 'pH')]),
    });
    await sink.waitFor((s) => s.statusLog.some((r) => r.deviceId === 'wq-auth' && !r.ok), 'failure status');
    expect(sink.statusLog.find((r) => r.deviceId === 'wq-auth')).toMatchObject({ ok: false, reason: 'auth_failure' });
    expect(sink.statusLog.find((r) => r.deviceId === 'wq-auth')?.detail).toMatch(/Bad(UserAccessDenied|IdentityToken)/);
    expect(sink.samplesOf('wq-auth')).toEqual([]);
    expect(log.text()).not.toContain(wrong);
    expect(JSON.stringify(sink.statusLog)).not.toContain(wrong);
  });

  it('connects with username/password over SignAndEncrypt Basic256Sha256', async () => {
    sim.setValue('NH3N', 0.37);
    const { adapter, sink, log } = await startAdapter();
    await adapter.addDevice({
      id: 'wq-sec',
      connection: { endpoint: sim.endpoint, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', ...USER },
      profile: profile([point('nh3n', 'NH3N')]),
    });
    await sink.waitFor((s) => s.samplesOf('wq-sec', 'nh3n').length > 0, 'value over a secure channel', 20_000);
    expect(sink.samplesOf('wq-sec', 'nh3n')[0]).toMatchObject({ value: 0.37, quality: 'good' });
    expect(sink.statusLog.filter((r) => r.deviceId === 'wq-sec' && !r.ok)).toEqual([]);
    expect(log.text()).not.toContain(USER.password);
  });

  it('reports unreachable when nothing listens on the endpoint, and keeps retrying', async () => {
    const port = await freePort();
    const { adapter, sink } = await startAdapter();
    await adapter.addDevice({ id: 'wq-down', connection: { endpoint: `opc.tcp://127.0.0.1:${port}/x` }, profile: profile([point('ph', 'pH')]) });
    await sink.waitFor((s) => s.statusLog.filter((r) => r.deviceId === 'wq-down').length >= 2, 'two failed attempts');
    const reports = sink.statusLog.filter((r) => r.deviceId === 'wq-down');
    expect(reports.map((r) => [r.ok, r.reason])).toEqual(reports.map(() => [false, 'unreachable']));
    expect(reports[0]?.detail).toContain('ECONNREFUSED');
  });

  it('rejects an invalid connection with precise messages', async () => {
    const { adapter, sink } = await startAdapter();
    await expect(
      adapter.addDevice({ id: 'wq-inv', connection: { endpoint: 'http://x' }, profile: profile([point('ph', 'pH')]) }),
    ).rejects.toThrow('connection.endpoint: must be an opc.tcp:// URL');
    expect(sink.errorLog).toContainEqual(expect.objectContaining({ kind: 'config', deviceId: 'wq-inv' }));
  });

  it('streams every point of the shipped water-quality profile from the simulating fixture', async () => {
    const wq = await startOpcuaServer({ simulateIntervalMs: 100 });
    try {
      const shipped = loadProfileFile(fileURLToPath(new URL('../../../device-profiles/water-quality-opcua.yaml', import.meta.url)));
      const fast: DeviceProfile = { ...shipped, opcua: { samplingIntervalMs: 100, publishingIntervalMs: 100, queueSize: 10 } };
      const { adapter, sink } = await startAdapter();
      const t0 = Date.now();
      await adapter.addDevice({ id: 'wq-sim', connection: { endpoint: wq.endpoint }, profile: fast });
      const names = shipped.points.map((p) => p.name);
      await sink.waitFor((s) => names.every((n) => s.samplesOf('wq-sim', n).length > 0), 'every point');
      const firstAllMs = Date.now() - t0;
      // The simulation random-walks: each point keeps changing (pH's 0.01 deadband may hold back one step).
      await sink.waitFor((s) => names.every((n) => new Set(s.samplesOf('wq-sim', n).map((x) => x.value)).size >= 3), 'changing values', 15_000);
      expect(sink.samplesOf('wq-sim').every((x) => x.quality === 'good' && typeof x.value === 'number')).toBe(true);
      console.log(`opcua: ${names.length} points subscribed and first values in ${firstAllMs} ms; rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
    } finally {
      await wq.stop();
    }
  });

  it('reconnects after the server restarts on the same port and re-creates the subscription', async () => {
    sim.setValue('pH', 7.0);
    const { adapter, sink, log } = await startAdapter();
    await adapter.addDevice({ id: 'wq-re', connection: { endpoint: sim.endpoint }, profile: profile([point('ph', 'pH')]) });
    await sink.waitFor((s) => s.samplesOf('wq-re', 'ph').some((x) => x.value === 7.0), 'value before restart');

    const { port, endpoint } = sim;
    const stoppedAt = Date.now();
    await sim.stop();
    await sink.waitFor((s) => s.statusLog.some((r) => r.deviceId === 'wq-re' && !r.ok), 'connection loss reported');
    const lossReport = sink.statusLog.find((r) => r.deviceId === 'wq-re' && !r.ok);
    expect(lossReport?.reason).toBe('unreachable');

    sim = await startOpcuaServer({ port, users: [USER], allowAnonymous: true, simulateIntervalMs: 0 });
    expect(sim.endpoint).toBe(endpoint);
    const restartedAt = Date.now();
    sim.setValue('pH', 8.25); // only the new server has this value: it can only arrive via a new subscription
    await sink.waitFor((s) => s.samplesOf('wq-re', 'ph').some((x) => x.value === 8.25), 'value from the restarted server', 15_000);
    const recoveredAt = Date.now();
    const okAfter = sink.statusLog.filter((r) => r.deviceId === 'wq-re' && r.ok && (r.ts ?? 0) >= restartedAt);
    expect(okAfter.length).toBeGreaterThan(0);
    sim.setValue('pH', 8.5);
    await sink.waitFor((s) => s.samplesOf('wq-re', 'ph').some((x) => x.value === 8.5), 'later change via the new subscription');
    expect(log.lines.filter((l) => l.msg === 'opcua session established')).toHaveLength(2);
    console.log(`opcua reconnect: loss detected in ${(lossReport?.ts ?? 0) - stoppedAt} ms, data again ${recoveredAt - restartedAt} ms after restart`);
  });
});

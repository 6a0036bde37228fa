// Conditions only the collector sees, on both stores: an edge that disconnects or goes quiet (edge_offline, one
// alarm for the edge), and a device whose scheduled reports stop (bureau analytics' missed-report run, which
// becomes a data_gap alarm in the same transaction); both clear when data flows again. The sweeper runs on a clock
// the test sets, against the real collector state (MQTT connections, committed readings).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import type { DeviceRecord } from '../../../schema/types.js';
import { DEFAULT_ALARMS_CONFIG, type AlarmsConfig } from '../../../collector/alarms/config.js';
import { AlarmSweeper, edgeOfflineSince } from '../../../collector/alarms/sweeper.js';
import { MissedReportWatcher } from '../../../collector/analytics/missed.js';
import type { Collector } from '../../../collector/index.js';
import type { Alarm, AlarmDetail } from '../../../collector/store/index.js';
import { apiJson, startTestCollector, STORES, tempDir, testStore, waitFor } from '../helpers.js';
import { EventEdge } from './edge-events.js';

const EDGE = 'edge-sweep';
const cfg: AlarmsConfig = { ...DEFAULT_ALARMS_CONFIG, edgeOfflineAfterS: 60, edgeSilentAfterS: 300 };
const MIN = 60_000;
const site = { id: 'nanhe', name: '南河', type: 'water_station' };
const records: DeviceRecord[] = [
  // Polled every minute (the schedule the edge announces in the record: what its 到报率 is judged by).
  { id: 'gauge', name: '南河水位', kind: 'sensor', site, sharingScope: ['water'], schedules: [{ name: 'poll', intervalMs: MIN, primary: true }], seq: 1 },
  { id: 'rain', name: '南河雨量', kind: 'sensor', site, sharingScope: ['water'], schedules: [{ name: 'poll', intervalMs: MIN, primary: true }], seq: 2 },
  { id: 'opc', name: '水质仪', kind: 'sensor', site, sharingScope: ['water'], seq: 3 }, // reports on change: no schedule, never a gap
];

describe('sweeper conditions', () => {
  it('counts an edge offline after the grace, or silent after edgeSilentAfterS, from when it went quiet', () => {
    const now = 1_000_000_000;
    expect(edgeOfflineSince({ id: 'e', connected: true, lastBatchAt: now - 10_000 }, cfg, now)).toBeUndefined();
    expect(edgeOfflineSince({ id: 'e', connected: false, statusTs: now - 59_000, lastBatchAt: now - 70_000 }, cfg, now)).toBeUndefined();
    expect(edgeOfflineSince({ id: 'e', connected: false, statusTs: now - 61_000, lastBatchAt: now - 70_000 }, cfg, now)).toBe(now - 61_000);
    expect(edgeOfflineSince({ id: 'e', connected: true, lastBatchAt: now - 301_000 }, cfg, now)).toBe(now - 301_000);
    expect(edgeOfflineSince({ id: 'e', connected: false }, cfg, now)).toBeUndefined(); // never sent anything
  });
});

describe.each(STORES)('alarm sweeper (%s store)', (kind) => {
  const tmp = tempDir('yiwang-sweep-');
  let c: Collector;
  let cleanup: () => Promise<void>;
  let edge: EventEdge;
  let password: string;
  let token: string;
  let clock = Date.now();
  let sweeper: AlarmSweeper;
  const open = async () => (await apiJson<{ alarms: Alarm[] }>(c.httpPort, token, '/api/v1/alarms?state=open')).body.alarms.map((a) => `${a.kind}:${a.device ?? a.edge}`).sort();
  const all = async (q: string) => (await apiJson<{ alarms: Alarm[] }>(c.httpPort, token, `/api/v1/alarms${q}`)).body.alarms;

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, (x) => (x.alarms = { ...cfg, sweepIntervalS: 3600 }), s.url);
    password = await c.addEdge(EDGE);
    token = await c.createToken({ name: 'water', bureau: 'water' });
    edge = await EventEdge.connect(c.mqttPort!, EDGE, password);
    await edge.edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: 3, records });
    sweeper = new AlarmSweeper(c.store, cfg, silentLogger, () => clock);
  });
  afterAll(async () => {
    await edge?.close();
    await c?.stop();
    await cleanup();
    tmp.remove();
  });

  it('makes a missed-report run (bureau analytics) one data_gap alarm, cleared when reports resume', async () => {
    const now = Date.now();
    // Minute readings that stopped 11 minutes ago for the gauge; the rain gauge goes on.
    await edge.send({ readings: Array.from({ length: 20 }, (_, i) => ({ deviceId: 'gauge', metric: 'water_level', value: 1 + i / 100, ts: now - (30 - i) * MIN })) });
    await edge.send({ readings: Array.from({ length: 30 }, (_, i) => ({ deviceId: 'rain', metric: 'rainfall', value: 0, unit: 'mm', ts: now - (29 - i) * MIN })) });
    const watcher = () => new MissedReportWatcher(c.store, { missedReports: 3, checkIntervalS: 3600 }, silentLogger, () => Date.now());
    await Promise.all([watcher().check(), watcher().check()]); // two nodes at once: one run, one alarm
    expect(await open()).toEqual(['data_gap:gauge']);
    const [gap] = await all('?kind=data_gap');
    expect(gap).toMatchObject({ state: 'active', severity: 'warning', code: 'missed_reports', source: 'collector', deviceName: '南河水位' });
    await watcher().check(); // still missing: nothing new
    expect((await apiJson<AlarmDetail>(c.httpPort, token, `/api/v1/alarms/${gap!.id}`)).body.history.map((h) => h.transition)).toEqual(['raised']);
    await edge.send({ readings: [{ deviceId: 'gauge', metric: 'water_level', value: 1.3, ts: Date.now() - 1000 }] });
    await watcher().check();
    expect(await open()).toEqual([]);
    expect((await all('?kind=data_gap'))[0]).toMatchObject({ state: 'cleared' });
  });

  it('raises one edge_offline alarm for a disconnected edge (no data_gap storm for its devices) and clears it on return', async () => {
    await edge.close();
    await waitFor('edge disconnected', async () => !(await c.store.edges.list()).find((e) => e.id === EDGE)!.connected, 5000);
    const info = (await c.store.edges.list()).find((e) => e.id === EDGE)!;
    clock = Math.max(info.statusTs!, info.lastBatchAt!) + 61_000;
    await sweeper.sweep();
    expect(await open()).toEqual([`edge_offline:${EDGE}`]);
    const [off] = await all('?kind=edge_offline');
    expect(off).toMatchObject({ subject: EDGE, edge: EDGE, severity: 'major', site: 'nanhe' });
    expect(off!.device).toBeUndefined();
    const seq = edge.seq;
    edge = await EventEdge.connect(c.mqttPort!, EDGE, password);
    edge.seq = seq;
    await edge.send({ readings: ['gauge', 'rain'].map((d) => ({ deviceId: d, metric: 'water_level', value: 1, ts: Date.now() })) });
    clock = Date.now() + 1000;
    await sweeper.sweep();
    expect(await open()).toEqual([]);
    expect((await all('?kind=edge_offline'))[0]!.state).toBe('cleared');
  });
});

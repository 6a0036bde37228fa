// The alarm lifecycle at the collector, end to end through a real MQTT edge client and the HTTP API, on both
// stores: edge events raise, escalate, de-escalate and clear one alarm (never a second one, also for repeated and
// redelivered events and across a collector restart); readings carry its latest and worst value; operators
// acknowledge, viewers cannot; another bureau sees nothing; the live feed carries the transitions; late events
// from an edge's backlog become past episodes instead of disturbing the current state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../core/csv.js';
import { EventKind, Severity, type DeviceRecord, type SensingEvent } from '../../../schema/types.js';
import type { Collector } from '../../../collector/index.js';
import type { Alarm, AlarmDetail } from '../../../collector/store/index.js';
import { api, apiJson, openFeed, startTestCollector, STORES, tempDir, testStore, waitFor } from '../helpers.js';
import { EventEdge } from './edge-events.js';

const EDGE = 'edge-alarm';
const records: DeviceRecord[] = [
  { id: 'wl-01', name: '东村水位计', kind: 'sensor', site: { id: 'dongcun', name: '东村', type: 'village' }, sharingScope: ['water', 'emergency'], seq: 1 },
  { id: 'hy-01', name: '西街消火栓', kind: 'sensor', site: { id: 'xijie', name: '西街', type: 'street' }, sharingScope: ['fire'], seq: 2 },
];

describe.each(STORES)('alarm lifecycle (%s store)', (kind) => {
  const tmp = tempDir('yiwang-alarms-');
  let c: Collector;
  let url: string;
  let cleanup: () => Promise<void>;
  let edge: EventEdge;
  let password: string;
  const tok: Record<string, string> = {};
  const t0 = Date.now() - 600_000;
  const ev = (e: Omit<SensingEvent, 'seq' | 'message'> & { message?: string }) => edge.ev(e);
  const send = (items: Parameters<EventEdge['send']>[0]) => edge.send(items);
  const alarms = async (t: string, q = '') => (await apiJson<{ alarms: Alarm[]; open: Record<string, number> }>(c.httpPort, t, `/api/v1/alarms${q}`)).body;

  beforeAll(async () => {
    const s = await testStore(kind);
    url = s.url;
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, undefined, url);
    password = await c.addEdge(EDGE);
    tok.water = await c.createToken({ name: 'water-viewer', bureau: 'water' });
    tok.waterOps = await c.createToken({ name: 'water-duty', bureau: 'water', role: 'operator' });
    tok.fire = await c.createToken({ name: 'fire-ops', bureau: 'fire', role: 'operator' });
    tok.admin = await c.createToken({ name: 'ops', admin: true });
    edge = await EventEdge.connect(c.mqttPort!, EDGE, password);
    await edge.edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: 2, records });
  });
  afterAll(async () => {
    await edge?.close();
    await c?.stop();
    await cleanup();
    tmp.remove();
  });

  let id = 0;

  it('raises one alarm from a threshold event and follows its value from the readings', async () => {
    const feed = openFeed(c.httpPort, tok.water!);
    const fireFeed = openFeed(c.httpPort, tok.fire!);
    expect(await feed.ready).toBe(200);
    expect(await fireFeed.ready).toBe(200);
    await send({
      readings: [{ deviceId: 'wl-01', metric: 'water_level', value: 3.52, ts: t0 }],
      events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, code: 'water_level.warning', metric: 'water_level', value: 3.52, threshold: 3.5, ts: t0, message: 'Water level 3.52 m above warning level 3.5' })],
    });
    await send({ readings: [{ deviceId: 'wl-01', metric: 'water_level', value: 3.8, ts: t0 + 10_000 }, { deviceId: 'wl-01', metric: 'water_level', value: 3.7, ts: t0 + 20_000 }] });
    const list = await alarms(tok.water!, '?state=active');
    expect(list.alarms).toHaveLength(1);
    const a = list.alarms[0]!;
    id = a.id;
    expect(a).toMatchObject({
      kind: 'threshold', code: 'water_level.warning', severity: 'warning', state: 'active', device: 'wl-01', deviceName: '东村水位计', site: 'dongcun', siteName: '东村',
      metric: 'water_level', unit: 'm', direction: 'above', threshold: 3.5, firstValue: 3.52, value: 3.7, peak: 3.8, raisedAt: t0, edge: EDGE, source: 'edge',
    });
    expect(list.open).toEqual({ info: 0, warning: 1, major: 0, critical: 0 });
    await waitFor('alarm in the water feed', () => feed.events.some((e) => e.event === 'alarm' && e.data.id === id && e.data.transition === 'raised'), 5000);
    feed.close();
    // Another bureau sees nothing of it: not in lists, not by id, not in its feed.
    expect((await alarms(tok.fire!)).alarms).toEqual([]);
    expect((await api(c.httpPort, tok.fire, `/api/v1/alarms/${id}`)).status).toBe(404);
    expect((await api(c.httpPort, tok.fire, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect(fireFeed.events.filter((e) => e.event === 'alarm')).toEqual([]);
    fireFeed.close();
  });

  it('escalates the same alarm, and neither a redelivery nor a repeated raise makes a second one', async () => {
    const b = await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, code: 'water_level.alarm', metric: 'water_level', value: 4.31, threshold: 4.2, ts: t0 + 30_000 })] });
    await edge.resend(b); // the same items again: a redelivery
    // An edge restarted mid-alarm (state lost) raising again at the same level.
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, code: 'water_level.alarm', metric: 'water_level', value: 4.35, threshold: 4.2, ts: t0 + 40_000 })] });
    const all = (await alarms(tok.admin!)).alarms.filter((x) => x.device === 'wl-01');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id, severity: 'major', peakSeverity: 'major', code: 'water_level.alarm', threshold: 4.2, thresholds: { warning: 3.5, alarm: 4.2 }, value: 4.35, peak: 4.35 });
    const d = (await apiJson<AlarmDetail>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body;
    expect(d.history.map((h) => h.transition)).toEqual(['raised', 'escalated']);
  });

  it('lets an operator acknowledge once; a viewer is refused with 403', async () => {
    const viewer = await api(c.httpPort, tok.water, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: JSON.stringify({ comment: '收到' }) });
    expect(viewer.status).toBe(403);
    const ok = await apiJson<Alarm>(c.httpPort, tok.waterOps, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: JSON.stringify({ comment: '已通知巡查人员' }) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'water-duty', ackComment: '已通知巡查人员' });
    expect(ok.body.acknowledgedAt).toBeGreaterThan(t0);
    const again = await api(c.httpPort, tok.waterOps, `/api/v1/alarms/${id}/ack`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await alarms(tok.water!, '?state=acknowledged')).alarms.map((a) => a.id)).toEqual([id]);
    expect((await alarms(tok.water!, '?state=active')).alarms).toEqual([]);
  });

  it('de-escalates when the alarm line clears but the warning line is still crossed, then clears with its duration', async () => {
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_CLEARED, severity: Severity.WARNING, code: 'water_level.alarm', metric: 'water_level', value: 4.1, threshold: 4.2, ts: t0 + 60_000 })] });
    let a = (await apiJson<Alarm>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body;
    expect(a).toMatchObject({ state: 'acknowledged', severity: 'warning', peakSeverity: 'major', code: 'water_level.warning', threshold: 3.5 });
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_CLEARED, severity: Severity.INFO, code: 'water_level.warning', metric: 'water_level', value: 3.4, threshold: 3.5, ts: t0 + 90_000 })] });
    a = (await apiJson<Alarm>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body;
    expect(a).toMatchObject({ state: 'cleared', clearedAt: t0 + 90_000, durationMs: 90_000, value: 3.4, peak: 4.35 });
    const d = (await apiJson<AlarmDetail>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body;
    expect(d.history.map((h) => h.transition)).toEqual(['raised', 'escalated', 'acknowledged', 'deescalated', 'cleared']);
    expect(d.history.find((h) => h.transition === 'acknowledged')).toMatchObject({ actor: 'water-duty', comment: '已通知巡查人员' });
    // A repeated clear (an edge restarted after clearing) changes nothing.
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_CLEARED, severity: Severity.INFO, code: 'water_level.warning', metric: 'water_level', value: 3.3, threshold: 3.5, ts: t0 + 95_000 })] });
    expect((await apiJson<AlarmDetail>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body.history).toHaveLength(5);
  });

  it('keeps alarms across a collector restart and raises a new one after a clear', async () => {
    await edge.close();
    await c.stop();
    c = await startTestCollector(tmp.dir, (cfg) => (cfg.mqtt = { embedded: { host: '127.0.0.1', port: 0 } }), url);
    const seq = edge.seq;
    edge = await EventEdge.connect(c.mqttPort!, EDGE, password);
    edge.seq = seq;
    expect((await apiJson<Alarm>(c.httpPort, tok.water, `/api/v1/alarms/${id}`)).body).toMatchObject({ id, state: 'cleared', durationMs: 90_000 });
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, code: 'water_level.warning', metric: 'water_level', value: 3.6, threshold: 3.5, ts: t0 + 200_000 })] });
    const open = (await alarms(tok.water!, '?state=open')).alarms;
    expect(open).toHaveLength(1);
    expect(open[0]!.id).not.toBe(id);
    expect(open[0]).toMatchObject({ state: 'active', raisedAt: t0 + 200_000 });
  });

  it('turns device offline/online, video faults and quarantine notices into alarms of their kinds', async () => {
    await send({
      events: [
        ev({ deviceId: 'hy-01', kind: EventKind.DEVICE_OFFLINE, severity: Severity.MAJOR, code: 'timeout', ts: t0 + 210_000, message: 'device offline: timeout' }),
        ev({ deviceId: 'wl-01', kind: EventKind.VIDEO_FAULT_RAISED, severity: Severity.WARNING, code: 'blur', value: 0.7, ts: t0 + 210_000 }),
      ],
    });
    const fire = (await alarms(tok.fire!, '?state=open')).alarms;
    expect(fire).toEqual([expect.objectContaining({ kind: 'device_offline', device: 'hy-01', code: 'timeout', severity: 'major' })]);
    const video = (await alarms(tok.water!, '?kind=video_fault')).alarms;
    expect(video).toEqual([expect.objectContaining({ kind: 'video_fault', subject: 'blur', severity: 'warning' })]);
    await send({ events: [ev({ deviceId: 'hy-01', kind: EventKind.DEVICE_ONLINE, severity: Severity.INFO, code: 'online', ts: t0 + 240_000 })] });
    expect((await alarms(tok.fire!, '?state=open')).alarms).toEqual([]);
    expect((await alarms(tok.fire!, '?state=cleared')).alarms[0]).toMatchObject({ kind: 'device_offline', durationMs: 30_000 });
    // A reading with a timestamp from 1970: quarantined by the collector, which raises a quarantine alarm.
    await send({ readings: [{ deviceId: 'wl-01', metric: 'water_level', value: 1, ts: 1000 }] });
    await waitFor('quarantine alarm', async () => (await alarms(tok.water!, '?kind=quarantine')).alarms.length === 1, 5000);
    expect((await alarms(tok.water!, '?kind=quarantine')).alarms[0]).toMatchObject({ subject: 'bad_timestamp', source: 'collector', state: 'active' });
  });

  it('files late events from an edge backlog as a past episode without touching the open alarm', async () => {
    // Live data first: a raise at t0+400 s; then the backlog: a raise at t0+300 s and its clear at t0+330 s.
    await send({ events: [ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, code: 'ph.warning', metric: 'ph', value: 9.1, threshold: 9, ts: t0 + 400_000 })] });
    await send({
      events: [
        ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.WARNING, code: 'ph.warning', metric: 'ph', value: 9.2, threshold: 9, ts: t0 + 300_000 }),
        ev({ deviceId: 'wl-01', kind: EventKind.ALARM_CLEARED, severity: Severity.INFO, code: 'ph.warning', metric: 'ph', value: 8.8, threshold: 9, ts: t0 + 330_000 }),
      ],
    });
    const ph = (await alarms(tok.water!, '?device=wl-01')).alarms.filter((a) => a.subject === 'ph');
    expect(ph.map((a) => [a.state, a.raisedAt, a.clearedAt ?? null])).toEqual([
      ['active', t0 + 400_000, null],
      ['cleared', t0 + 300_000, t0 + 330_000],
    ]);
    const past = (await apiJson<AlarmDetail>(c.httpPort, tok.water, `/api/v1/alarms/${ph[1]!.id}`)).body;
    expect(past.history.every((h) => h.late)).toBe(true);
  });

  it('answers CSV and checks its parameters', async () => {
    const res = await api(c.httpPort, tok.water, '/api/v1/alarms?format=csv&kind=threshold');
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const rows = parseCsv(await res.text());
    expect(rows[0]!.slice(0, 5)).toEqual(['id', 'state', 'severity', 'peak_severity', 'kind']);
    expect(rows.slice(1).some((r) => r[0] === String(id) && r[1] === 'cleared' && r[18] === '90')).toBe(true);
    expect((await api(c.httpPort, tok.water, '/api/v1/alarms?state=bogus')).status).toBe(400);
    expect((await api(c.httpPort, tok.water, '/api/v1/alarms?severity=huge')).status).toBe(400);
    expect((await api(c.httpPort, tok.water, '/api/v1/alarms?device=hy-01')).status).toBe(404);
    expect((await api(c.httpPort, tok.water, '/api/v1/alarms/abc')).status).toBe(404);
    expect((await alarms(tok.water!, '?minSeverity=major')).alarms.every((a) => a.severity === 'major' || a.severity === 'critical')).toBe(true);
  });
});

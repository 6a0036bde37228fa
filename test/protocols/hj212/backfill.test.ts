// HJ 212 backfill end to end: a real edge process, the station simulator and a real collector. A station that
// lost 3 of 24 hourly packets shows 87.5 % with those hours listed; when it reconnects, the edge asks for them
// (CN 2061 with BeginTime / EndTime), the station answers from its history, and completeness reaches 100 %.
// And the period bookkeeping on its own: holes, what is asked for when, copies not stored twice, kept on disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../core/net.js';
import { HistoryTracker } from '../../../protocols/common/history-periods.js';
import { toUtcMs } from '../../../protocols/hj212/parse.js';
import { startHj212Station, type Hj212Station } from '../../../demo/simulators/hj212-station.js';
import type { CompletenessReport } from '../../../collector/analytics/completeness.js';
import type { Collector } from '../../../collector/index.js';
import { apiJson, startTestCollector, waitFor } from '../../collector/helpers.js';
import { EdgeProcess, writeEdgeConfig } from '../../fixtures/edge-process.js';

const HOUR = 3_600_000;
const hourly = { key: '2061', intervalMs: HOUR };

describe('history periods (backfill bookkeeping)', () => {
  const H = Math.floor(Date.now() / HOUR) * HOUR;

  it('finds the holes between the first period seen and the one before the last, in runs', () => {
    const t = new HistoryTracker();
    for (const h of [10, 9, 7, 6, 3]) t.record('MN1', hourly, H - h * HOUR, H);
    expect(t.missing('MN1', hourly, H + 5 * 60_000)).toEqual([
      { key: '2061', begin: H - 8 * HOUR, end: H - 8 * HOUR, periods: 1 },
      { key: '2061', begin: H - 5 * HOUR, end: H - 4 * HOUR, periods: 2 },
      { key: '2061', begin: H - 2 * HOUR, end: H - 2 * HOUR, periods: 1 }, // H−1 may still come on its own
    ]);
    expect(t.missing('OTHER', hourly, H)).toEqual([]); // never seen: nothing to ask for
  });

  it('claims a packet once: a copy (same DataTime) arriving before or after it is durable is not new', () => {
    const t = new HistoryTracker();
    expect(t.claim('MN1', hourly, H - HOUR)).toBe(true);
    expect(t.claim('MN1', hourly, H - HOUR)).toBe(false); // still pending
    expect(t.claim('MN1', hourly, H - HOUR + 60_000)).toBe(true); // another DataTime: a finer interval than the profile says loses nothing
    t.settle('MN1', hourly, H - HOUR, true, H);
    expect(t.claim('MN1', hourly, H - HOUR)).toBe(false);
    expect(t.claim('MN1', hourly, H - 2 * HOUR)).toBe(true);
    t.settle('MN1', hourly, H - 2 * HOUR, false, H); // not stored: it may come again
    expect(t.claim('MN1', hourly, H - 2 * HOUR)).toBe(true);
  });

  it('keeps the periods seen across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yiwang-hj212-history-'));
    try {
      const file = join(dir, 'sub', 'history.json');
      const a = new HistoryTracker({ file });
      a.record('MN1', hourly, H - 5 * HOUR, H);
      a.record('MN1', hourly, H - 3 * HOUR, H);
      a.save();
      const b = new HistoryTracker({ file });
      expect(b.missing('MN1', hourly, H).map((r) => (H - r.begin) / HOUR)).toEqual([4, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HJ 212 backfill: edge process + station simulator + collector', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-backfill-'));
  const H = Math.floor(Date.now() / HOUR) * HOUR;
  const LOST = [20, 13, 5]; // hours ago
  let c: Collector;
  let edge: EdgeProcess;
  let station: Hj212Station;
  let token: string;

  beforeAll(async () => {
    c = await startTestCollector(join(dir, 'collector'));
    const password = await c.addEdge('edge-bf');
    token = await c.createToken({ name: 'env', bureau: 'environment' });
    const ports = { admin: await freePort(), hj212: await freePort() };
    const configFile = writeEdgeConfig(dir, {
      edge: { id: 'edge-bf' },
      site: { id: 'river-1', name: '甲河断面', type: 'water_station' },
      uplink: { url: `mqtt://127.0.0.1:${c.mqttPort}`, password },
      buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
      admin: { host: '127.0.0.1', port: ports.admin },
      protocols: { hj212: { host: '127.0.0.1', port: ports.hj212 } },
      devices: [{ id: 'HJ-1', name: '甲河水质站', profile: 'hj212-water-quality-station', connection: { mn: 'BF0001', password: '123456' }, sharingScope: ['environment'] }],
    });
    edge = await new EdgeProcess(configFile, ports.admin).ready();
    // Real-time data only once an hour: the test drives the hourly data itself.
    station = startHj212Station({ host: '127.0.0.1', port: ports.hj212, mn: 'BF0001', password: '123456', intervalMs: HOUR, answerHistory: false });
    await station.connected;
  }, 60_000);

  afterAll(async () => {
    await station?.stop();
    await edge?.kill('SIGTERM');
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const report = async () =>
    (await apiJson<CompletenessReport>(c.httpPort, token, `/api/v1/completeness?device=HJ-1&from=${H - 24 * HOUR}&to=${H}`)).body.devices?.[0]; // 404 until the edge registered the station
  const missingHours = (d: CompletenessReport['devices'][number] | undefined) => d?.rows.flatMap((r) => r.missing.map((m) => (H - m.from) / HOUR));

  it('a station that lost 3 of 24 hourly packets: 87.5 % with the three hours listed', async () => {
    for (let h = 24; h >= 1; h--) station.sendPeriod('2061', H - h * HOUR, !LOST.includes(h));
    await waitFor('21 hourly reports at the collector', async () => (await report())?.total.received === 21, 30_000);
    const d = (await report())!;
    expect(d.schedule).toMatchObject({ name: 'hourly', intervalMs: HOUR, periodS: 3600 });
    expect(d.total).toEqual({ expected: 24, received: 21, rate: 0.875 });
    expect(missingHours(d)).toEqual(LOST);
    // The edge asked for the holes as soon as a later hour showed them; this station could not answer yet.
    await waitFor('history requests', () => station.requests.length >= 3, 10_000);
    expect(station.requests.every((r) => r.cn === '2061' && r.params.has('EndTime'))).toBe(true);
  }, 60_000);

  it('after the station reconnects, the edge asks for the lost hours and completeness reaches 100 %', async () => {
    const asked = station.requests.length;
    station.answerHistory = true;
    station.dropConnection();
    await waitFor('the lost hours backfilled', async () => (await report())?.total.received === 24, 30_000);
    const d = (await report())!;
    expect(d.total).toEqual({ expected: 24, received: 24, rate: 1 });
    expect(missingHours(d)).toEqual([]);
    // One request per lost hour (they are not adjacent), each naming exactly that hour.
    const again = station.requests.slice(asked).map((r) => [toUtcMs(r.params.get('BeginTime')!), toUtcMs(r.params.get('EndTime')!)]);
    expect(again.sort()).toEqual(LOST.map((h) => [H - h * HOUR, H - h * HOUR]).sort());
    // The backfilled hours are the station's own values (its history), stored once each.
    const series = await apiJson<{ points: { ts: number }[] }>(c.httpPort, token, `/api/v1/devices/HJ-1/series/cod?aggregate=avg&from=${H - 24 * HOUR}&to=${H}&step=1`);
    expect(series.body.points.map((p) => p.ts)).toEqual(Array.from({ length: 24 }, (_, i) => H - (24 - i) * HOUR));
  }, 60_000);

  it('a period the station sends again is answered but not stored twice', async () => {
    const before = (await report())!.total.received;
    station.sendPeriod('2061', H - 2 * HOUR); // a new packet for an hour the edge holds
    await waitFor('the answer to the repeated hour', () => station.answers.filter((a) => a.cn === '9014').length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 1500)); // give a wrongly stored copy time to reach the collector
    const series = await apiJson<{ points: { ts: number }[] }>(c.httpPort, token, `/api/v1/devices/HJ-1/series/cod?aggregate=avg&agg=count&from=${H - 2 * HOUR}&to=${H - HOUR}&step=1h`);
    expect(series.body.points).toEqual([{ ts: H - 2 * HOUR, value: 1, quality: 'good' }]);
    expect((await report())!.total.received).toBe(before);
  }, 30_000);
});

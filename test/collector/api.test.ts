// HTTP API: bureau scope on every endpoint (incl. the SSE feed), series across raw and rollup resolutions,
// CSV export/import, admin endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../core/csv.js';
import { EventKind, Severity, type DeviceRecord } from '../../schema/types.js';
import type { Collector } from '../../collector/index.js';
import { api, apiJson, openFeed, readingsBatch, sleep, sqlOf, startTestCollector, STORES, tempDir, testStore, TestEdge } from './helpers.js';

const HOUR = 3_600_000;
const t0 = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR; // an hour boundary 4-5 h ago
const value = (i: number) => Math.round(Math.sin(i / 17) * 1000) / 100 + (i % 7); // irregular but deterministic

const records: DeviceRecord[] = [
  { id: 'w1', name: '一号水位站', kind: 'sensor', site: { id: 's1', name: '东村', type: 'village' }, location: { longitude: 121.4, latitude: 31.2 }, sharingScope: ['water'], seq: 1 },
  { id: 'f1', name: '消火栓压力', kind: 'sensor', site: { id: 's2', name: '西街', type: 'street' }, location: { longitude: 120.1, latitude: 30.2 }, sharingScope: ['fire'], seq: 2 },
  { id: 'wf', name: '共享摄像机', kind: 'camera', site: { id: 's1', name: '东村', type: 'village' }, location: { longitude: 121.5, latitude: 31.3 }, sharingScope: ['water', 'fire'], seq: 3 },
  { id: 'none', name: '未共享', kind: 'sensor', site: { id: 's3', type: 'other' }, sharingScope: [], seq: 4 },
];

describe.each(STORES)('collector HTTP API (%s store)', (kind) => {
  const tmp = tempDir();
  let c: Collector;
  let cleanup: () => Promise<void>;
  let edge: TestEdge;
  const tok: Record<string, string> = {};
  let seq = 10;

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, undefined, s.url);
    const pw = await c.addEdge('edge-api');
    for (const b of ['water', 'fire', 'environment']) tok[b] = await c.createToken({ name: `${b}-bureau`, bureau: b });
    tok.admin = await c.createToken({ name: 'ops', admin: true });
    edge = await TestEdge.connect(c.mqttPort!, 'edge-api', pw);
    await edge.send({ edgeId: 'edge-api', batchId: 1, firstSeq: 1, lastSeq: 4, records });
    // 10-second water levels for w1 over 3 hours, and one reading + one event for every device.
    const b = readingsBatch('edge-api', 2, 5, 1080, { device: 'w1', ts0: t0 - 5 * 10_000, stepMs: 10_000, value });
    b.readings!.forEach((r, i) => (r.quality = i === 100 ? 1 : 0));
    await edge.send(b);
    seq = 1085;
    const now = Date.now();
    await edge.send({
      edgeId: 'edge-api', batchId: 3, firstSeq: seq, lastSeq: seq + 7,
      readings: records.map((r, i) => ({ deviceId: r.id, metric: 'pipe_pressure', number: 0.3 + i, unit: 'MPa', ts: now - 1000, seq: seq + i })),
      events: records.map((r, i) => ({ deviceId: r.id, kind: EventKind.ALARM_RAISED, severity: i === 0 ? Severity.CRITICAL : Severity.WARNING, message: `alarm ${r.id}`, ts: now - 500, seq: seq + 4 + i })),
    });
    seq += 8;
  });
  afterAll(async () => {
    await edge?.close();
    await c.stop();
    await cleanup();
    tmp.remove();
  });

  it('requires a bearer token; healthz is open, metrics need an admin token', async () => {
    expect((await api(c.httpPort, undefined, '/api/v1/devices')).status).toBe(401);
    expect((await api(c.httpPort, 'yw_not-a-token', '/api/v1/devices')).status).toBe(401);
    const h = await apiJson(c.httpPort, undefined, '/healthz');
    expect(h.body).toMatchObject({ ok: true });
    expect((await api(c.httpPort, undefined, '/metrics')).status).toBe(401);
    expect((await api(c.httpPort, tok.water, '/metrics')).status).toBe(403);
    expect(await (await api(c.httpPort, tok.admin, '/metrics')).text()).toMatch(/yiwang_collector_readings_total \d+/);
  });

  it('tells a token who it is (whoami) without revealing anything else', async () => {
    expect((await apiJson(c.httpPort, tok.water, '/api/v1/whoami')).body).toEqual({ name: 'water-bureau', bureau: 'water', admin: false, role: 'viewer' });
    expect((await apiJson(c.httpPort, tok.admin, '/api/v1/whoami')).body).toEqual({ name: 'ops', bureau: null, admin: true, role: 'admin' });
  });

  it('scopes device lists, records, history, series, latest, events, sites and export to the bureau', async () => {
    const ids = async (t: string, q = '') => (await apiJson<{ devices: DeviceRecord[] }>(c.httpPort, t, `/api/v1/devices${q}`)).body.devices.map((d) => d.id);
    expect(await ids(tok.water!)).toEqual(['w1', 'wf']);
    expect(await ids(tok.fire!)).toEqual(['f1', 'wf']);
    expect(await ids(tok.environment!)).toEqual([]);
    expect(await ids(tok.admin!)).toEqual(['f1', 'none', 'w1', 'wf']);
    for (const path of ['/api/v1/devices/f1', '/api/v1/devices/f1/history', '/api/v1/devices/f1/series/pipe_pressure', '/api/v1/devices/none', '/api/v1/devices/nope', '/api/v1/events?device=f1']) {
      const r = await apiJson(c.httpPort, tok.water, path);
      expect(r.status, path).toBe(404);
      expect(r.body).toEqual({ error: 'not found' });
    }
    expect((await apiJson(c.httpPort, tok.fire, '/api/v1/devices/f1')).status).toBe(200);
    expect((await apiJson(c.httpPort, tok.water, '/api/v1/devices/wf/history')).status).toBe(200);
    const latest = await apiJson<{ latest: { device: string }[] }>(c.httpPort, tok.water, '/api/v1/latest?metric=pipe_pressure');
    expect(latest.body.latest.map((l) => l.device)).toEqual(['w1', 'wf']);
    const ev = await apiJson<{ events: { device: string }[] }>(c.httpPort, tok.water, '/api/v1/events');
    expect(ev.body.events.map((e) => e.device).sort()).toEqual(['w1', 'wf']);
    const crit = await apiJson<{ events: { device: string }[] }>(c.httpPort, tok.admin, '/api/v1/events?severity=critical');
    expect(crit.body.events.map((e) => e.device)).toEqual(['w1']);
    const sites = await apiJson<{ sites: { site: string; devices: number }[] }>(c.httpPort, tok.water, '/api/v1/sites');
    expect(sites.body.sites.map((s) => [s.site, s.devices])).toEqual([['s1', 2]]);
    const exp = await (await api(c.httpPort, tok.fire, '/api/v1/records/export?format=json')).json() as DeviceRecord[];
    expect(exp.map((r) => r.id)).toEqual(['f1', 'wf']);
    const latestCsv = await (await api(c.httpPort, tok.fire, '/api/v1/latest', { headers: { accept: 'text/csv' } })).text();
    const rows = parseCsv(latestCsv);
    expect(rows[0]).toEqual(['device', 'metric', 'aggregate', 'period_s', 'ts', 'time', 'value', 'unit', 'quality']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['f1', 'wf']);
  });

  it('filters devices by site, site type, kind, metric, status, bbox and text', async () => {
    const ids = async (q: string) => (await apiJson<{ devices: DeviceRecord[] }>(c.httpPort, tok.admin, `/api/v1/devices?${q}`)).body.devices.map((d) => d.id);
    expect(await ids('site=s1')).toEqual(['w1', 'wf']);
    expect(await ids('siteType=street')).toEqual(['f1']);
    expect(await ids('kind=camera')).toEqual(['wf']);
    expect(await ids('metric=water_level')).toEqual(['w1']);
    expect(await ids('status=online')).toEqual(['f1', 'none', 'w1', 'wf']);
    expect(await ids('bbox=121.3,31.1,121.45,31.25')).toEqual(['w1']);
    expect(await ids(`q=${encodeURIComponent('水位')}`)).toEqual(['w1']);
    expect((await apiJson(c.httpPort, tok.admin, '/api/v1/devices?bbox=1,2,3')).status).toBe(400);
  });

  it('returns series from raw points and from 1-minute / 1-hour rollups, matching the raw data', async () => {
    const raw = Array.from({ length: 1080 }, (_, i) => ({ ts: t0 + i * 10_000, v: value(i + 5) }));
    const path = (q: string) => `/api/v1/devices/w1/series/water_level?${q}`;
    type S = { unit: string; resolution: string; points: { ts: number; value: number; quality: string }[] };
    // Short range: raw points as stored.
    const r1 = await apiJson<S>(c.httpPort, tok.water, path(`from=${t0}&to=${t0 + 20 * 60_000}`));
    expect(r1.body.resolution).toBe('raw');
    expect(r1.body.unit).toBe('m');
    expect(r1.body.points.length).toBe(120);
    expect(r1.body.points[7]).toEqual({ ts: raw[7]!.ts, value: raw[7]!.v, quality: 'good' });
    expect(r1.body.points.find((p) => p.ts === t0 + 100 * 10_000)?.quality).toBe('uncertain');
    expect(r1.body.points.filter((p) => p.quality !== 'good').length).toBe(1);
    const expectBuckets = (step: number, agg: (vs: number[]) => number) => {
      const m = new Map<number, number[]>();
      for (const p of raw) {
        const b = p.ts - (p.ts % step);
        m.set(b, [...(m.get(b) ?? []), p.v]);
      }
      return [...m.entries()].map(([ts, vs]) => ({ ts, value: agg(vs) }));
    };
    const avg = (vs: number[]) => vs.reduce((a, b) => a + b, 0) / vs.length;
    const close = (got: { ts: number; value: number }[], want: { ts: number; value: number }[]) => {
      expect(got.map((p) => p.ts)).toEqual(want.map((p) => p.ts));
      got.forEach((p, i) => expect(p.value).toBeCloseTo(want[i]!.value, 9));
    };
    const all = `from=${t0}&to=${t0 + 3 * HOUR}`;
    const m5 = await apiJson<S>(c.httpPort, tok.water, path(`${all}&step=5m&agg=avg`));
    expect(m5.body.resolution).toBe('1m');
    close(m5.body.points, expectBuckets(5 * 60_000, avg));
    const m1max = await apiJson<S>(c.httpPort, tok.water, path(`${all}&step=60000&agg=max`));
    close(m1max.body.points, expectBuckets(60_000, (vs) => Math.max(...vs)));
    const h1 = await apiJson<S>(c.httpPort, tok.water, path(`${all}&step=1h&agg=count`));
    expect(h1.body.resolution).toBe('1h');
    close(h1.body.points, [0, 1, 2].map((h) => ({ ts: t0 + h * HOUR, value: 360 })));
    const h1min = await apiJson<S>(c.httpPort, tok.water, path(`${all}&step=1h&agg=min`));
    close(h1min.body.points, expectBuckets(HOUR, (vs) => Math.min(...vs)));
    const h1last = await apiJson<S>(c.httpPort, tok.water, path(`${all}&step=1h&agg=last`));
    close(h1last.body.points, expectBuckets(HOUR, (vs) => vs[vs.length - 1]!));
    // A sub-minute step buckets raw points.
    const s30 = await apiJson<S>(c.httpPort, tok.water, path(`from=${t0}&to=${t0 + HOUR}&step=30s&agg=avg`));
    expect(s30.body.resolution).toBe('raw');
    close(s30.body.points, expectBuckets(30_000, avg).filter((p) => p.ts < t0 + HOUR));
    // No step over a long range: a rollup is chosen automatically.
    const auto = await apiJson<S>(c.httpPort, tok.water, path(`from=${t0 - 20 * HOUR}&to=${t0 + 4 * HOUR}`));
    expect(auto.body.resolution).toBe('1m');
    expect(auto.body.points.length).toBeGreaterThan(0);
    // CSV download
    const csv = await (await api(c.httpPort, tok.water, path(`${all}&step=1h&agg=count&format=csv`))).text();
    expect(parseCsv(csv).slice(1).map((r) => r[2])).toEqual(['360', '360', '360']);
    expect((await apiJson(c.httpPort, tok.water, path('agg=median'))).status).toBe(400);
    expect((await apiJson(c.httpPort, tok.water, path('from=yesterday'))).status).toBe(400);
  });

  it('streams only the bureau\'s devices on the SSE feed, live and on resume with Last-Event-ID', async () => {
    const water = openFeed(c.httpPort, tok.water!);
    const fireSite = openFeed(c.httpPort, tok.fire!, '?site=s2');
    expect(await water.ready).toBe(200);
    expect(await fireSite.ready).toBe(200);
    const nonexistent = openFeed(c.httpPort, 'bogus');
    expect(await nonexistent.ready).toBe(401);
    await sleep(50);
    const now = Date.now();
    await edge.send({
      edgeId: 'edge-api', batchId: 4, firstSeq: seq, lastSeq: seq + 4,
      readings: records.map((r, i) => ({ deviceId: r.id, metric: 'battery', number: 50 + i, unit: '%', ts: now, seq: seq + i })),
      events: [{ deviceId: 'f1', kind: EventKind.DEVICE_DEGRADED, severity: Severity.WARNING, message: 'slow', code: 'timeout', ts: now, seq: seq + 4 }],
    });
    seq += 5;
    const deadline = Date.now() + 5000;
    while ((water.events.length < 2 || fireSite.events.length < 2) && Date.now() < deadline) await sleep(20);
    await sleep(100);
    expect(water.events.map((e) => e.data.device).sort()).toEqual(['w1', 'wf']);
    expect(fireSite.events.map((e) => `${e.event}:${e.data.device}`).sort()).toEqual(['event:f1', 'reading:f1']);
    const firstId = water.events[0]!.id;
    water.close();
    fireSite.close();
    // Resume from the first item: only later, visible items are replayed.
    const resumed = openFeed(c.httpPort, tok.water!, '', String(Number(firstId) - 1));
    expect(await resumed.ready).toBe(200);
    const until = Date.now() + 3000;
    while (resumed.events.length < 2 && Date.now() < until) await sleep(20);
    await sleep(100);
    resumed.close();
    expect(resumed.events.map((e) => e.id)).toEqual(water.events.map((e) => e.id));
    const env = openFeed(c.httpPort, tok.environment!, '', '0');
    expect(await env.ready).toBe(200);
    await sleep(200);
    env.close();
    expect(env.events).toEqual([]); // the whole ring replayed, nothing visible to environment
  });

  it('ends an open feed within seconds of its token being revoked, and hides a device whose scope no longer includes the bureau', async () => {
    const t = await c.createToken({ name: 'soon-revoked', bureau: 'water' });
    const feed = openFeed(c.httpPort, t);
    const other = openFeed(c.httpPort, tok.water!);
    expect(await feed.ready).toBe(200);
    expect(await other.ready).toBe(200);
    let ended = false;
    const endedAt = feed.ended.then(() => (ended = true));
    expect(await c.store.tokens.revoke('soon-revoked')).toBe(1);
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) await sleep(50);
    await endedAt.catch(() => undefined);
    expect(ended).toBe(true);
    // The same request with the revoked token is refused outright.
    expect((await api(c.httpPort, t, '/api/v1/feed')).status).toBe(401);
    // A scope change applies to feeds already open: wf stops reaching water's feed once it is no longer shared.
    await apiJson(c.httpPort, tok.admin, '/api/v1/devices/wf', { method: 'POST', body: JSON.stringify({ sharingScope: ['fire'] }) });
    await sleep(2500); // past one re-check interval of the open feed (FEED_RECHECK_MS)
    const before = other.events.length;
    const now = Date.now();
    await edge.send({ edgeId: 'edge-api', batchId: 40, firstSeq: seq, lastSeq: seq + 1, readings: [
      { deviceId: 'wf', metric: 'battery', number: 9, unit: '%', ts: now, seq },
      { deviceId: 'w1', metric: 'battery', number: 8, unit: '%', ts: now, seq: seq + 1 },
    ] });
    seq += 2;
    const until = Date.now() + 5000;
    while (other.events.length === before && Date.now() < until) await sleep(20);
    await sleep(200);
    other.close();
    expect(other.events.slice(before).map((e) => e.data.device)).toEqual(['w1']);
    await apiJson(c.httpPort, tok.admin, '/api/v1/devices/wf', { method: 'POST', body: JSON.stringify({ sharingScope: ['water', 'fire'] }) });
  });

  it('exports CSV with Chinese headers and imports CSV with row-level errors (admin only)', async () => {
    const csv = await (await api(c.httpPort, tok.admin, '/api/v1/records/export?format=csv')).text();
    const rows = parseCsv(csv);
    expect(rows[0]!.slice(0, 3)).toEqual(['设备编码', '设备名称', '设备类型']);
    expect(rows.find((r) => r[0] === 'w1')?.[1]).toBe('一号水位站');
    const body = '设备编码,设备名称,共享范围,经度\r\nimp-1,导入设备,水务/环保,121.1\r\nbad id!,x,,\r\nimp-2,另一台,消防,200\r\nw1,一号水位站(改),水务,\r\n';
    expect((await api(c.httpPort, tok.water, '/api/v1/records/import', { method: 'POST', body })).status).toBe(403);
    const r = await apiJson<{ imported: number; created: number; updated: number; errors: { row: number; message: string }[] }>(c.httpPort, tok.admin, '/api/v1/records/import', { method: 'POST', body, headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(200);
    expect(r.body.imported).toBe(2);
    expect(r.body.created).toBe(1);
    expect(r.body.updated).toBe(1);
    expect(r.body.errors.map((e) => e.row)).toEqual([3, 4]);
    expect(r.body.errors[1]!.message).toMatch(/longitude/);
    const env = await apiJson<DeviceRecord>(c.httpPort, tok.environment, '/api/v1/devices/imp-1');
    expect(env.status).toBe(200);
    expect(env.body.sharingScope).toEqual(['water', 'environment']);
    const hist = await apiJson<{ history: { actor: string; changes: Record<string, unknown> }[] }>(c.httpPort, tok.water, '/api/v1/devices/w1/history');
    expect(hist.body.history[0]!.actor).toBe('import:ops');
    expect(hist.body.history[0]!.changes.name).toEqual(['一号水位站', '一号水位站(改)']);
    expect(hist.body.history.at(-1)!.actor).toBe('edge:edge-api');
  });

  it('lets admins register devices (pinned to an edge) and manage edges and tokens', async () => {
    const put = await apiJson<DeviceRecord>(c.httpPort, tok.admin, '/api/v1/devices/pinned-1', {
      method: 'PUT', body: JSON.stringify({ name: '预登记', sharingScope: ['fire'], edgeId: 'edge-other' }),
    });
    expect(put.status).toBe(201);
    expect(put.body.edgeId).toBe('edge-other');
    expect((await apiJson(c.httpPort, tok.fire, '/api/v1/devices', { method: 'PUT' })).status).toBe(405);
    expect((await apiJson(c.httpPort, tok.fire, '/api/v1/devices/pinned-1', { method: 'PUT', body: '{}' })).status).toBe(403);
    expect((await apiJson(c.httpPort, tok.admin, '/api/v1/devices/pinned-1', { method: 'POST', body: JSON.stringify({ location: { latitude: 99 } }) })).status).toBe(400);
    // edge-api may not report for a device pinned to another edge
    const ack = await edge.send({ edgeId: 'edge-api', batchId: 5, firstSeq: seq, lastSeq: seq, readings: [{ deviceId: 'pinned-1', metric: 'battery', number: 1, unit: '%', ts: Date.now(), seq }] });
    seq++;
    expect(ack.committed).toEqual([{ first: seq - 1, last: seq - 1 }]);
    expect(await c.store.series.variants('pinned-1')).toEqual([]);
    const created = await apiJson<{ id: string; password: string }>(c.httpPort, tok.admin, '/api/v1/edges', { method: 'POST', body: JSON.stringify({ id: 'edge-new' }) });
    expect(created.status).toBe(201);
    const e2 = await TestEdge.connect(c.mqttPort!, 'edge-new', created.body.password);
    await e2.close();
    expect((await apiJson(c.httpPort, tok.admin, '/api/v1/edges', { method: 'POST', body: JSON.stringify({ id: 'edge-new' }) })).status).toBe(409);
    expect((await apiJson(c.httpPort, tok.water, '/api/v1/edges')).status).toBe(403);
    const edges = await apiJson<{ edges: { id: string; committedThrough: number }[] }>(c.httpPort, tok.admin, '/api/v1/edges');
    expect(edges.body.edges.find((e) => e.id === 'edge-api')?.committedThrough).toBe(seq - 1);
    const t = await apiJson<{ token: string }>(c.httpPort, tok.admin, '/api/v1/tokens', { method: 'POST', body: JSON.stringify({ name: 'env2', bureau: 'environment' }) });
    expect((await apiJson(c.httpPort, t.body.token, '/api/v1/devices/imp-1')).status).toBe(200);
    // Tokens are stored hashed: the plaintext is nowhere in the database.
    const stored = await sqlOf(c.store).all<{ hash: string }>('SELECT hash FROM tokens');
    expect(stored.some((s) => s.hash.includes(t.body.token))).toBe(false);
    expect(stored.every((s) => /^[0-9a-f]{64}$/.test(s.hash))).toBe(true);
  });
});

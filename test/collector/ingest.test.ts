// Ingest over real MQTT, on both stores: auth, topic ACLs, validation, dedup by (edge, seq) only, every distinct
// reading kept, aggregates apart, per-item quarantine, registrar ownership, gaps, restart without loss.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, encodeEdgeStatus } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import { Aggregate, EventKind, Severity, type Batch, type Reading } from '../../schema/types.js';
import type { Collector } from '../../collector/index.js';
import { apiJson, countRows, readingsBatch, sleep, sqlOf, startTestCollector, STORES, tempDir, testStore, TestEdge } from './helpers.js';

describe.each(STORES)('collector ingest (%s store)', (kind) => {
  const tmp = tempDir();
  let c: Collector;
  let cleanup: () => Promise<void>;
  let admin: string;
  const passwords = new Map<string, string>();
  const edges: TestEdge[] = [];
  const countPoints = (where = '') => countRows(c.store, 'points', where);

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, (cfg) => (cfg.ingest.maxPayloadBytes = 64 * 1024), s.url);
    admin = await c.createToken({ name: 'ops', admin: true });
    for (const id of ['edge-a', 'edge-b', 'edge-gap', 'edge-burst', 'edge-hj', 'edge-clock', 'edge-reg', ...Array.from({ length: 20 }, (_, i) => `many-${i}`)]) {
      passwords.set(id, await c.addEdge(id));
    }
  });
  afterEach(async () => {
    await Promise.all(edges.splice(0).map((e) => e.close()));
  });
  afterAll(async () => {
    await c.stop();
    await cleanup();
    tmp.remove();
  });
  const connect = async (id: string, opts?: Parameters<typeof TestEdge.connect>[3]) => {
    const e = await TestEdge.connect(c.mqttPort!, id, passwords.get(id)!, opts);
    edges.push(e);
    return e;
  };

  it('ingests from many edges at once and acks with committed_through', async () => {
    const before = await countPoints();
    const list = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(`many-${i}`)));
    await Promise.all(
      list.map(async (e) => {
        for (let b = 0; b < 5; b++) await e.publish(readingsBatch(e.id, b + 1, b * 100 + 1, 100));
        const last = await e.waitAck(5);
        expect(last.committedThrough).toBe(500);
        expect(last.committed).toEqual([{ first: 401, last: 500 }]);
      }),
    );
    expect((await countPoints()) - before).toBe(20 * 500);
    expect(await c.store.edges.ranges('many-7')).toEqual([{ first: 1, last: 500 }]);
    expect((await c.store.registry.get('many-7-dev1'))?.edgeId).toBe('many-7');
  });

  it('recognises redelivered sequences, stores them once and acks again', async () => {
    const e = await connect('edge-a');
    const b1 = readingsBatch('edge-a', 1, 1, 10, { device: 'a-dev' });
    const first = await e.send(b1);
    expect(first.committed).toEqual([{ first: 1, last: 10 }]);
    const n = await countPoints();
    const dedupBefore = c.metrics.dedupHits.total();
    e.acks.length = 0;
    const again = await e.send(b1); // redelivery: same batch
    expect(again.committed).toEqual([{ first: 1, last: 10 }]);
    expect(again.committedThrough).toBe(10);
    expect(await countPoints()).toBe(n);
    expect(c.metrics.dedupHits.total() - dedupBefore).toBe(10);
    // An overlapping batch (edge re-chunked after a restart): only the new part is stored.
    const overlap = readingsBatch('edge-a', 2, 6, 10, { device: 'a-dev' });
    const ack = await e.send(overlap);
    expect(ack.committed).toEqual([{ first: 6, last: 15 }]);
    expect(ack.committedThrough).toBe(15);
    expect((await countPoints()) - n).toBe(5);
    expect(c.metrics.batchesIn.get({ outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('keeps every distinct reading of a burst that shares one millisecond (dedup is by edge and seq only)', async () => {
    const e = await connect('edge-burst');
    const dedupBefore = c.metrics.dedupHits.total();
    const ts = Date.now() - 1000;
    // 100 QoS 1 messages of one device stamped with the same receive millisecond, as a burst looks at an edge.
    const batch = readingsBatch('edge-burst', 1, 1, 100, { device: 'burst-dev', metric: 'pipe_pressure', ts0: ts, stepMs: 0, value: (i) => i / 100 });
    for (const r of batch.readings!) r.ts = ts;
    const ack = await e.send(batch);
    expect(ack.committed).toEqual([{ first: 1, last: 100 }]);
    const sid = (await sqlOf(c.store).get<{ sid: number }>("SELECT sid FROM series WHERE device_id = 'burst-dev'"))!.sid;
    expect(await countPoints(`sid = ${sid}`)).toBe(100);
    // The rollup counts every reading; the series API returns all of them in (ts, seq) order; latest is the last seq.
    const r1m = await sqlOf(c.store).get<{ n: number; s: number }>(`SELECT sum(count) AS n, sum(sum) AS s FROM rollup_1m WHERE sid = ${sid}`);
    expect(Number(r1m!.n)).toBe(100);
    expect(r1m!.s).toBeCloseTo((100 * 101) / 2 / 100, 6);
    const series = await apiJson<{ points: { value: number }[] }>(c.httpPort, admin, `/api/v1/devices/burst-dev/series/pipe_pressure?from=${ts}&to=${ts + 1}`);
    expect(series.body.points.map((p) => p.value)).toEqual(Array.from({ length: 100 }, (_, i) => (i + 1) / 100));
    const latest = await apiJson<{ latest: { value: number }[] }>(c.httpPort, admin, '/api/v1/latest?device=burst-dev');
    expect(latest.body.latest[0]!.value).toBe(1);
    expect(c.metrics.dedupHits.total() - dedupBefore).toBe(0); // nothing counted as a duplicate
  });

  it('stores HJ 212 avg, min and max of one period as distinct series and serves each', async () => {
    const e = await connect('edge-hj');
    const hour = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000;
    const mk = (seq: number, aggregate: number, number: number, ts = hour): Reading => ({ deviceId: 'hj-station', metric: 'cod', unit: 'mg/L', ts, number, quality: 0, seq, aggregate: aggregate as Reading['aggregate'], periodS: 3600 });
    const readings = [mk(1, Aggregate.AVG, 18.2), mk(2, Aggregate.MIN, 15.1), mk(3, Aggregate.MAX, 22.7), mk(4, Aggregate.AVG, 19.0, hour + 3_600_000), mk(5, Aggregate.MIN, 16.0, hour + 3_600_000), mk(6, Aggregate.MAX, 23.5, hour + 3_600_000)];
    await e.send({ edgeId: 'edge-hj', batchId: 1, firstSeq: 1, lastSeq: 6, readings });
    const dev = await apiJson<{ metrics: { metric: string; aggregate: string; periodS: number }[] }>(c.httpPort, admin, '/api/v1/devices/hj-station');
    expect(dev.body.metrics.map((m) => `${m.metric}/${m.aggregate}/${m.periodS}`).sort()).toEqual(['cod/avg/3600', 'cod/max/3600', 'cod/min/3600']);
    const get = async (aggregate: string) =>
      (await apiJson<{ aggregate: string; points: { ts: number; value: number }[] }>(c.httpPort, admin, `/api/v1/devices/hj-station/series/cod?from=${hour}&to=${hour + 7_200_000}&aggregate=${aggregate}&period=3600`)).body;
    expect((await get('avg')).points.map((p) => p.value)).toEqual([18.2, 19.0]);
    expect((await get('min')).points.map((p) => p.value)).toEqual([15.1, 16.0]);
    expect((await get('max')).points.map((p) => p.value)).toEqual([22.7, 23.5]);
    // Without a selector the averages are served (no samples exist), labelled as such.
    const def = await apiJson<{ aggregate: string; periodS: number }>(c.httpPort, admin, `/api/v1/devices/hj-station/series/cod?from=${hour}&to=${hour + 7_200_000}`);
    expect(def.body).toMatchObject({ aggregate: 'avg', periodS: 3600 });
    const latest = await apiJson<{ latest: { aggregate: string; value: number }[] }>(c.httpPort, admin, '/api/v1/latest?device=hj-station');
    expect(Object.fromEntries(latest.body.latest.map((r) => [r.aggregate, r.value]))).toEqual({ avg: 19.0, min: 16.0, max: 23.5 });
    const csv = await (await fetch(`http://127.0.0.1:${c.httpPort}/api/v1/devices/hj-station/series/cod?from=${hour}&to=${hour + 7_200_000}&aggregate=max&format=csv`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(csv.split('\n')[1]).toMatch(/,22\.7,mg\/L,good,max,3600/);
    expect((await apiJson(c.httpPort, admin, '/api/v1/devices/hj-station/series/cod?aggregate=median')).status).toBe(400);
  });

  it('quarantines a reading from a device with a bad clock, stores the rest and acks the batch by its own id', async () => {
    const e = await connect('edge-clock');
    const now = Date.now();
    const batch = readingsBatch('edge-clock', 77, 1, 5, { device: 'clock-dev' });
    batch.readings![1]!.ts = now + 365 * 86_400_000; // a year ahead
    batch.readings![3]!.ts = Date.UTC(1970, 0, 2); // a clock reset to 1970
    const before = await countPoints();
    const ack = await e.send(batch);
    expect(ack.batchId).toBe(77);
    expect(ack.rejected).toBeFalsy();
    expect(ack.committed).toEqual([{ first: 1, last: 5 }]); // the bad items' seqs are done with too: never resent
    expect((await countPoints()) - before).toBe(3);
    expect(c.metrics.quarantined.get({ reason: 'bad_timestamp' })).toBe(2);
    const q = await apiJson<{ items: { device: string; reason: string; seq: number; item: { ts: number } }[]; summary: { reason: string; items: number }[] }>(c.httpPort, admin, '/api/v1/admin/quarantine?edge=edge-clock');
    expect(q.body.items.map((i) => [i.device, i.reason, i.seq]).sort()).toEqual([['clock-dev', 'bad_timestamp', 2], ['clock-dev', 'bad_timestamp', 4]]);
    expect(q.body.summary).toContainEqual(expect.objectContaining({ reason: 'bad_timestamp', items: 2 }));
    // One notice event for the device (not one per item), visible to its bureaus like any event.
    const ev = await apiJson<{ events: { kind: string; code: string; device: string }[] }>(c.httpPort, admin, '/api/v1/events?device=clock-dev');
    expect(ev.body.events.filter((x) => x.kind === 'data_quarantined')).toEqual([expect.objectContaining({ code: 'quarantine.bad_timestamp', device: 'clock-dev' })]);
    // The next batch with a bad item does not raise another notice within the hour.
    const next = readingsBatch('edge-clock', 78, 6, 2, { device: 'clock-dev' });
    next.readings![0]!.ts = now + 400 * 86_400_000;
    await e.send(next);
    const ev2 = await apiJson<{ events: { kind: string }[] }>(c.httpPort, admin, '/api/v1/events?device=clock-dev');
    expect(ev2.body.events.filter((x) => x.kind === 'data_quarantined')).toHaveLength(1);
    // A bureau token cannot list the quarantine.
    const water = await c.createToken({ name: 'water-q', bureau: 'water' });
    expect((await apiJson(c.httpPort, water, '/api/v1/admin/quarantine')).status).toBe(403);
  });

  it('rejects unusable batches with their own batch id and a reason; the connection survives', async () => {
    const e = await connect('edge-b');
    const rejected = () => e.waitAck((a) => a.rejected === true);
    await e.publishRaw(Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]));
    expect((await rejected()).error).toMatch(/^decode:/);
    e.acks.length = 0;
    const big = Buffer.from(encodeBatch(readingsBatch('edge-b', 4242, 1, 3000, { device: 'b-dev' })));
    expect(big.length).toBeGreaterThan(64 * 1024);
    await e.publishRaw(big);
    const over = await rejected();
    expect(over.error).toMatch(/^oversized:/);
    expect(over.batchId).toBe(4242); // read from the payload although it was not decoded
    e.acks.length = 0;
    await e.publish(readingsBatch('edge-a', 9, 1, 1)); // another edge's id inside the payload
    const mismatch = await rejected();
    expect(mismatch.error).toMatch(/edge_mismatch/);
    expect(mismatch.batchId).toBe(9);
    expect(c.metrics.rejected.get({ reason: 'decode' })).toBe(1);
    expect(c.metrics.rejected.get({ reason: 'oversized' })).toBe(1);
    expect(c.metrics.rejected.get({ reason: 'edge_mismatch' })).toBe(1);
    // An item with a seq outside its batch's range is quarantined; the batch is not rejected.
    e.acks.length = 0;
    const bad = readingsBatch('edge-b', 10, 1, 3, { device: 'b-dev' });
    bad.readings![2]!.seq = 99;
    const ack = await e.send(bad);
    expect(ack.committed).toEqual([{ first: 1, last: 2 }]);
    expect(c.metrics.quarantined.get({ reason: 'bad_seq' })).toBe(1);
    expect(await c.store.edges.ranges('edge-b')).toEqual([{ first: 1, last: 2 }]);
    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(metrics).toMatch(/yiwang_collector_rejected_payloads_total\{reason="decode"\} 1/);
    expect(metrics).toMatch(/yiwang_collector_quarantined_items_total\{reason="bad_seq"\} 1/);
  });

  it('refuses unknown edges and wrong passwords', async () => {
    const before = c.metrics.authFailures.total();
    await expect(TestEdge.connect(c.mqttPort!, 'nobody', 'x')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(TestEdge.connect(c.mqttPort!, 'edge-a', 'wrong-password')).rejects.toThrow(/Bad username or password|Not authorized/i);
    expect(c.metrics.authFailures.get({ reason: 'unknown_edge' })).toBeGreaterThanOrEqual(1);
    expect(c.metrics.authFailures.get({ reason: 'bad_password' })).toBeGreaterThanOrEqual(1);
    expect(c.metrics.authFailures.total() - before).toBe(2);
  });

  it('closes an edge\'s open connection soon after the edge is removed (revocation reaches open connections)', async () => {
    const pw = await c.addEdge('edge-gone');
    const e = await TestEdge.connect(c.mqttPort!, 'edge-gone', pw);
    let closed = false;
    e.client.on('close', () => (closed = true));
    await e.send(readingsBatch('edge-gone', 1, 1, 1, { device: 'gone-dev' }));
    expect((await apiJson(c.httpPort, admin, '/api/v1/admin/edges/edge-gone', { method: 'DELETE' })).status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (!closed && Date.now() < deadline) await sleep(100);
    await e.close();
    expect(closed).toBe(true);
    expect(c.metrics.authFailures.get({ reason: 'revoked' })).toBe(1);
    await expect(TestEdge.connect(c.mqttPort!, 'edge-gone', pw)).rejects.toThrow(/Bad username or password|Not authorized/i);
  });

  it('lets an edge publish and subscribe only on its own topics', async () => {
    const e = await connect('edge-a');
    // The broker answers SUBACK 128 (failure); mqtt.js surfaces that as an error.
    await expect(e.client.subscribeAsync(topics.ack('edge-b'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(e.client.connected).toBe(true);
    expect(c.metrics.authFailures.get({ reason: 'subscribe_denied' })).toBe(1);
    const n = await countPoints();
    // Publishing as another edge is refused: the broker drops the connection and stores nothing.
    const closed = new Promise<void>((resolve) => e.client.once('close', () => resolve()));
    e.client.publish(topics.batch('edge-b'), Buffer.from(encodeBatch(readingsBatch('edge-b', 50, 500, 2, { device: 'b-dev' }))), { qos: 1 });
    await closed;
    await sleep(50);
    expect(c.metrics.authFailures.get({ reason: 'publish_denied' })).toBe(1);
    expect(await countPoints()).toBe(n);
    expect((await c.store.edges.ranges('edge-b')).some((r) => r.last >= 500)).toBe(false);
  });

  it('quarantines items for devices registered to another edge', async () => {
    const a = await connect('edge-a');
    const b = await connect('edge-b');
    await a.send({ edgeId: 'edge-a', batchId: 100, firstSeq: 100, lastSeq: 100, records: [{ id: 'owned-by-a', name: 'A 水位计', sharingScope: ['water'], seq: 100 }] });
    expect((await c.store.registry.get('owned-by-a'))?.edgeId).toBe('edge-a');
    const before = c.metrics.quarantined.get({ reason: 'foreign_device' });
    const batch = readingsBatch('edge-b', 200, 200, 4, { device: (i) => (i < 2 ? 'owned-by-a' : 'b-dev') });
    batch.records = [{ id: 'owned-by-a', name: 'hijacked', seq: 200 }];
    batch.events = [{ deviceId: 'owned-by-a', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'fake', ts: Date.now(), seq: 203 }];
    const ack = await b.send(batch);
    expect(ack.rejected).toBeFalsy();
    expect(c.metrics.quarantined.get({ reason: 'foreign_device' }) - before).toBe(4); // 2 readings, 1 record, 1 event
    expect((await c.store.registry.get('owned-by-a'))?.name).toBe('A 水位计');
    expect((await c.store.series.variants('owned-by-a'))).toEqual([]);
    expect((await c.store.series.latest({ device: 'b-dev' })).length).toBe(1);
  });

  it('never lets an edge claim a device the registrar imported, nor widen the scope the registrar set', async () => {
    const e = await connect('edge-reg');
    const csv = '\uFEFF设备编码,设备名称,共享范围\nREG-WL-01,登记的水位计,水务\n';
    const imp = await apiJson(c.httpPort, admin, '/api/v1/records/import', { method: 'POST', body: csv });
    expect(imp.body).toMatchObject({ created: 1 });
    // Unassigned: the edge's record and readings are quarantined, not claimed.
    const b1 = readingsBatch('edge-reg', 1, 2, 2, { device: 'REG-WL-01' });
    b1.firstSeq = 1;
    b1.records = [{ id: 'REG-WL-01', name: '偷换的名字', sharingScope: ['water', 'public_security'], seq: 1 }];
    await e.send(b1);
    expect((await c.store.registry.row('REG-WL-01'))?.edge_id).toBeNull();
    expect(c.metrics.quarantined.get({ reason: 'unassigned_device' })).toBe(3);
    // The admin assigns it to the edge; now its data flows, but the edge's scope claim does not widen the scope.
    expect((await apiJson(c.httpPort, admin, '/api/v1/devices/REG-WL-01', { method: 'POST', body: JSON.stringify({ edgeId: 'edge-reg' }) })).status).toBe(200);
    const b2 = readingsBatch('edge-reg', 2, 11, 2, { device: 'REG-WL-01' });
    b2.firstSeq = 10;
    b2.records = [{ id: 'REG-WL-01', name: '现场名称', sharingScope: ['water', 'public_security'], seq: 10 }];
    await e.send(b2);
    const rec = (await c.store.registry.get('REG-WL-01'))!;
    expect(rec.sharingScope).toEqual(['water']);
    expect(rec.name).toBe('现场名称'); // other fields still come from the site
    expect((await c.store.series.latest({ device: 'REG-WL-01' })).length).toBe(1);
    const security = await c.createToken({ name: 'ps', bureau: 'public_security' });
    expect((await apiJson(c.httpPort, security, '/api/v1/devices/REG-WL-01')).status).toBe(404);
    // The conflict is logged once as an event (the edge repeats its claim at every restart).
    const b3 = { edgeId: 'edge-reg', batchId: 3, firstSeq: 20, lastSeq: 20, records: [{ id: 'REG-WL-01', sharingScope: ['water', 'public_security'], seq: 20 }] };
    await e.send(b3);
    const ev = await apiJson<{ events: { code?: string }[] }>(c.httpPort, admin, '/api/v1/events?device=REG-WL-01');
    expect(ev.body.events.filter((x) => x.code === 'sharing_scope.conflict')).toHaveLength(1);
  });

  it('tracks gaps per edge and device/edge status', async () => {
    const e = await connect('edge-gap');
    await e.send(readingsBatch('edge-gap', 1, 1, 10, { device: 'gap-dev' }));
    const ack = await e.send({
      ...readingsBatch('edge-gap', 2, 21, 10, { device: 'gap-dev' }),
      events: [{ deviceId: 'gap-dev', kind: EventKind.DEVICE_OFFLINE, severity: Severity.WARNING, message: 'no answer', code: 'timeout', ts: Date.now(), seq: 30 }],
      stats: { bufferRows: 5, oldestBufferedTs: Date.now() - 30_000 },
    });
    expect(ack.committedThrough).toBe(10);
    const info = (await c.store.edges.list()).find((x) => x.id === 'edge-gap')!;
    expect(info.gaps).toEqual([{ first: 11, last: 20 }]);
    expect(info.missing).toBe(10);
    expect(info.connected).toBe(true);
    expect(info.lagMs).toBeGreaterThanOrEqual(30_000);
    const dev = (await c.store.registry.get('gap-dev'))!;
    expect(dev.runtimeStatus).toBe('offline');
    expect(dev.statusReason).toBe('timeout');
    // Filling the gap makes the committed prefix contiguous.
    const fill = await e.send(readingsBatch('edge-gap', 3, 11, 10, { device: 'gap-dev' }));
    expect(fill.committedThrough).toBe(30);
    // The edge's status topic (and its last will) drives the connected flag.
    await e.client.publishAsync(topics.status('edge-gap'), Buffer.from(encodeEdgeStatus({ edgeId: 'edge-gap', online: false, ts: Date.now() })), { qos: 1 });
    await sleep(200);
    expect((await c.store.edges.list()).find((x) => x.id === 'edge-gap')!.connected).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(metrics).toMatch(/yiwang_collector_edge_lag_seconds\{edge="edge-gap"\} \d+/);
  });
});

describe.each(STORES)('collector restart mid-stream (%s store)', (kind) => {
  it('loses nothing and stores nothing twice when the edge redelivers unacked batches', async () => {
    const tmp = tempDir();
    const s = await testStore(kind);
    let c = await startTestCollector(tmp.dir, undefined, s.url);
    try {
      const password = await c.addEdge('edge-r');
      const N = 600; // enough batches that the collector is certainly stopped mid-stream
      const batches = Array.from({ length: N }, (_, i) => readingsBatch('edge-r', i + 1, i * 50 + 1, 50, { device: 'r-dev' }));
      let e = await TestEdge.connect(c.mqttPort!, 'edge-r', password);
      // Fire everything, stop the collector while batches are in flight.
      for (const b of batches) e.client.publish(topics.batch('edge-r'), Buffer.from(encodeBatch(b)), { qos: 1 }, () => undefined);
      await e.waitAck(3);
      await c.stop();
      await e.close();
      const acked = new Set(e.acks.map((a) => a.batchId));
      expect(acked.size).toBeLessThan(N); // really stopped mid-stream
      c = await startTestCollector(tmp.dir, undefined, s.url);
      e = await TestEdge.connect(c.mqttPort!, 'edge-r', password);
      // The edge resends every batch it has no ack for (and, to be strict, the last acked one too).
      const resend = batches.filter((b) => !acked.has(b.batchId) || b.batchId === Math.max(...acked));
      for (const b of resend) await e.publish(b);
      for (const b of resend) await e.waitAck(b.batchId);
      const last = e.acks.find((a) => a.batchId === N)!;
      expect(last.committedThrough).toBe(N * 50);
      expect(await countRows(c.store, 'points')).toBe(N * 50);
      const r = (await sqlOf(c.store).get<{ s: number; n: number }>('SELECT sum(count) AS n, sum(sum) AS s FROM rollup_1m'))!;
      expect(Number(r.n)).toBe(N * 50); // rollups counted each reading exactly once
      expect(r.s).toBe((N * 50 * (N * 50 + 1)) / 2);
      await e.close();
    } finally {
      await c.stop();
      await s.cleanup();
      tmp.remove();
    }
  });
});

describe.each(STORES)('batches whose seq ranges interleave (%s store)', (kind) => {
  it('stores an event whose seq lies inside another batch\'s [first_seq, last_seq] (edges chunk telemetry and events apart)', async () => {
    const tmp = tempDir();
    const s = await testStore(kind);
    const c = await startTestCollector(tmp.dir, undefined, s.url);
    try {
      const password = await c.addEdge('edge-i');
      const e = await TestEdge.connect(c.mqttPort!, 'edge-i', password);
      // Telemetry chunk: seqs 1, 2, 4, 5 (3 went to an event chunk), so first=1, last=5.
      const telemetry = readingsBatch('edge-i', 1, 1, 5, { device: 'i-dev' });
      telemetry.readings = telemetry.readings!.filter((r) => r.seq !== 3);
      const a1 = await e.send(telemetry);
      expect(a1.committed).toEqual([{ first: 1, last: 2 }, { first: 4, last: 5 }]);
      expect(a1.committedThrough).toBe(2);
      const ev: Batch = { edgeId: 'edge-i', batchId: 2, firstSeq: 3, lastSeq: 3, events: [{ deviceId: 'i-dev', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'above warning', ts: Date.now(), seq: 3, code: 'water_level.warning' }] };
      const a2 = await e.send(ev);
      expect(a2.committedThrough).toBe(5);
      expect(await countRows(c.store, 'events')).toBe(1);
      // Redelivering either batch stores nothing twice.
      await e.send(ev);
      await e.send(telemetry);
      expect(await countRows(c.store, 'events')).toBe(1);
      expect(await countRows(c.store, 'points')).toBe(4);
      expect(await c.store.edges.ranges('edge-i')).toEqual([{ first: 1, last: 5 }]);
      await e.close();
    } finally {
      await c.stop();
      await s.cleanup();
      tmp.remove();
    }
  });
});

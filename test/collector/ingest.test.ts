// Ingest over real MQTT: auth, topic ACLs, validation, dedup, restart without loss, ownership, gaps, backpressure.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { encodeBatch, encodeEdgeStatus } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import { EventKind, Severity } from '../../schema/types.js';
import type { Collector } from '../../collector/index.js';
import { readingsBatch, sleep, startTestCollector, tempDir, TestEdge } from './helpers.js';

const countPoints = (c: Collector) => c.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM points').get()!.n;

describe('collector ingest', () => {
  const tmp = tempDir();
  let c: Collector;
  const passwords = new Map<string, string>();
  const edges: TestEdge[] = [];

  beforeAll(async () => {
    c = await startTestCollector(tmp.dir, (cfg) => (cfg.ingest.maxPayloadBytes = 64 * 1024));
    for (const id of ['edge-a', 'edge-b', 'edge-gap', ...Array.from({ length: 20 }, (_, i) => `many-${i}`)]) passwords.set(id, await c.addEdge(id));
  });
  afterEach(async () => {
    await Promise.all(edges.splice(0).map((e) => e.close()));
  });
  afterAll(async () => {
    await c.stop();
    tmp.remove();
  });
  const connect = async (id: string, opts?: Parameters<typeof TestEdge.connect>[3]) => {
    const e = await TestEdge.connect(c.mqttPort!, id, passwords.get(id)!, opts);
    edges.push(e);
    return e;
  };

  it('ingests from many edges at once and acks with committed_through', async () => {
    const before = countPoints(c);
    const list = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(`many-${i}`)));
    await Promise.all(
      list.map(async (e) => {
        for (let b = 0; b < 5; b++) await e.publish(readingsBatch(e.id, b + 1, b * 100 + 1, 100));
        const last = await e.waitAck(5);
        expect(last.committedThrough).toBe(500);
        expect(last.committed).toEqual([{ first: 401, last: 500 }]);
      }),
    );
    expect(countPoints(c) - before).toBe(20 * 500);
    const ranges = c.store.edges.ranges('many-7');
    expect(ranges).toEqual([{ first: 1, last: 500 }]);
    expect(c.store.registry.get('many-7-dev1')?.edgeId).toBe('many-7');
  });

  it('recognises redelivered sequences, stores them once and acks again', async () => {
    const e = await connect('edge-a');
    const b1 = readingsBatch('edge-a', 1, 1, 10, { device: 'a-dev' });
    const first = await e.send(b1);
    expect(first.committed).toEqual([{ first: 1, last: 10 }]);
    const n = countPoints(c);
    const dedupBefore = c.metrics.dedupHits.total();
    e.acks.length = 0;
    const again = await e.send(b1); // redelivery: same batch
    expect(again.committed).toEqual([{ first: 1, last: 10 }]);
    expect(again.committedThrough).toBe(10);
    expect(countPoints(c)).toBe(n);
    expect(c.metrics.dedupHits.total() - dedupBefore).toBe(10);
    // An overlapping batch (edge re-chunked after a restart): only the new part is stored.
    const overlap = readingsBatch('edge-a', 2, 6, 10, { device: 'a-dev' });
    const ack = await e.send(overlap);
    expect(ack.committed).toEqual([{ first: 6, last: 15 }]);
    expect(ack.committedThrough).toBe(15);
    expect(countPoints(c) - n).toBe(5);
    expect(c.metrics.batchesIn.get({ outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('rejects malformed, oversized and wrong-schema batches with a reason; the connection survives', async () => {
    const e = await connect('edge-b');
    const rejected = () => e.waitAck((a) => a.rejected === true);
    await e.publishRaw(Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]));
    expect((await rejected()).error).toMatch(/^decode:/);
    e.acks.length = 0;
    await e.publishRaw(Buffer.alloc(70 * 1024, 1));
    expect((await rejected()).error).toMatch(/^oversized:/);
    e.acks.length = 0;
    await e.publish(readingsBatch('edge-a', 9, 1, 1)); // another edge's id inside the payload
    expect((await rejected()).error).toMatch(/edge_mismatch/);
    e.acks.length = 0;
    const bad = readingsBatch('edge-b', 10, 1, 3, { device: 'b-dev' });
    bad.readings![2]!.seq = 99;
    await e.publish(bad);
    expect((await rejected()).error).toMatch(/item_seq/);
    expect(c.metrics.rejected.get({ reason: 'decode' })).toBe(1);
    expect(c.metrics.rejected.get({ reason: 'oversized' })).toBe(1);
    expect(c.metrics.rejected.get({ reason: 'edge_mismatch' })).toBe(1);
    expect(c.metrics.rejected.get({ reason: 'item_seq' })).toBe(1);
    // Nothing of the rejected batches was committed, and the same connection still delivers.
    expect(c.store.edges.ranges('edge-b')).toEqual([]);
    const ok = await e.send(readingsBatch('edge-b', 11, 1, 3, { device: 'b-dev' }));
    expect(ok.committedThrough).toBe(3);
    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`, { headers: { authorization: `Bearer ${c.createToken({ name: `ops-${Math.random()}`, admin: true })}` } })).text();
    expect(metrics).toMatch(/yiwang_collector_rejected_payloads_total\{reason="decode"\} 1/);
  });

  it('refuses unknown edges and wrong passwords', async () => {
    const before = c.metrics.authFailures.total();
    await expect(TestEdge.connect(c.mqttPort!, 'nobody', 'x')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(TestEdge.connect(c.mqttPort!, 'edge-a', 'wrong-password')).rejects.toThrow(/Bad username or password|Not authorized/i);
    expect(c.metrics.authFailures.get({ reason: 'unknown_edge' })).toBeGreaterThanOrEqual(1);
    expect(c.metrics.authFailures.get({ reason: 'bad_password' })).toBeGreaterThanOrEqual(1);
    expect(c.metrics.authFailures.total() - before).toBe(2);
  });

  it('lets an edge publish and subscribe only on its own topics', async () => {
    const e = await connect('edge-a');
    // The broker answers SUBACK 128 (failure); mqtt.js surfaces that as an error.
    await expect(e.client.subscribeAsync(topics.ack('edge-b'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(e.client.connected).toBe(true);
    expect(c.metrics.authFailures.get({ reason: 'subscribe_denied' })).toBe(1);
    const n = countPoints(c);
    // Publishing as another edge is refused: the broker drops the connection and stores nothing.
    const closed = new Promise<void>((resolve) => e.client.once('close', () => resolve()));
    e.client.publish(topics.batch('edge-b'), Buffer.from(encodeBatch(readingsBatch('edge-b', 50, 500, 2, { device: 'b-dev' }))), { qos: 1 });
    await closed;
    await sleep(50);
    expect(c.metrics.authFailures.get({ reason: 'publish_denied' })).toBe(1);
    expect(countPoints(c)).toBe(n);
    expect(c.store.edges.ranges('edge-b').some((r) => r.last >= 500)).toBe(false);
  });

  it('refuses items for devices registered to another edge', async () => {
    const a = await connect('edge-a');
    const b = await connect('edge-b');
    await a.send({ edgeId: 'edge-a', batchId: 100, firstSeq: 100, lastSeq: 100, records: [{ id: 'owned-by-a', name: 'A 水位计', sharingScope: ['water'], seq: 100 }] });
    expect(c.store.registry.get('owned-by-a')?.edgeId).toBe('edge-a');
    const refusedBefore = c.metrics.refusedItems.get({ reason: 'foreign_device' });
    const batch = readingsBatch('edge-b', 200, 200, 4, { device: (i) => (i < 2 ? 'owned-by-a' : 'b-dev') });
    batch.records = [{ id: 'owned-by-a', name: 'hijacked', seq: 200 }];
    batch.events = [{ deviceId: 'owned-by-a', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'fake', ts: Date.now(), seq: 203 }];
    const ack = await b.send(batch);
    expect(ack.rejected).toBeFalsy();
    expect(c.metrics.refusedItems.get({ reason: 'foreign_device' }) - refusedBefore).toBe(4); // 2 readings, 1 record, 1 event
    expect(c.store.registry.get('owned-by-a')?.name).toBe('A 水位计');
    expect(c.store.series.seriesOf('owned-by-a', 'water_level')).toBeUndefined();
    expect(c.store.series.latest({ devices: ['b-dev'] }).length).toBe(1);
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
    const info = c.store.edges.list().find((x) => x.id === 'edge-gap')!;
    expect(info.gaps).toEqual([{ first: 11, last: 20 }]);
    expect(info.missing).toBe(10);
    expect(info.connected).toBe(true);
    expect(info.lagMs).toBeGreaterThanOrEqual(30_000);
    const dev = c.store.registry.get('gap-dev')!;
    expect(dev.runtimeStatus).toBe('offline');
    expect(dev.statusReason).toBe('timeout');
    // Filling the gap makes the committed prefix contiguous.
    const fill = await e.send(readingsBatch('edge-gap', 3, 11, 10, { device: 'gap-dev' }));
    expect(fill.committedThrough).toBe(30);
    // The edge's status topic (and its last will) drives the connected flag.
    await e.client.publishAsync(topics.status('edge-gap'), Buffer.from(encodeEdgeStatus({ edgeId: 'edge-gap', online: false, ts: Date.now() })), { qos: 1 });
    await sleep(100);
    expect(c.store.edges.list().find((x) => x.id === 'edge-gap')!.connected).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`, { headers: { authorization: `Bearer ${c.createToken({ name: `ops-${Math.random()}`, admin: true })}` } })).text();
    expect(metrics).toMatch(/yiwang_collector_edge_lag_seconds\{edge="edge-gap"\} \d+/);
  });
});

describe('collector restart mid-stream', () => {
  it('loses nothing and stores nothing twice when the edge redelivers unacked batches', async () => {
    const tmp = tempDir();
    let c = await startTestCollector(tmp.dir);
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
      c = await startTestCollector(tmp.dir);
      e = await TestEdge.connect(c.mqttPort!, 'edge-r', password);
      // The edge resends every batch it has no ack for (and, to be strict, the last acked one too).
      const resend = batches.filter((b) => !acked.has(b.batchId) || b.batchId === Math.max(...acked));
      for (const b of resend) await e.publish(b);
      for (const b of resend) await e.waitAck(b.batchId);
      const last = e.acks.find((a) => a.batchId === N)!;
      expect(last.committedThrough).toBe(N * 50);
      expect(c.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM points').get()!.n).toBe(N * 50);
      const r = c.store.db.prepare<[], { s: number; n: number }>('SELECT sum(count) AS n, sum(sum) AS s FROM rollup_1m').get()!;
      expect(r.n).toBe(N * 50); // rollups counted each reading exactly once
      expect(r.s).toBe((N * 50 * (N * 50 + 1)) / 2);
      await e.close();
    } finally {
      await c.stop();
      tmp.remove();
    }
  });
});

describe('batches whose seq ranges interleave', () => {
  it('stores an event whose seq lies inside another batch\'s [first_seq, last_seq] (edges chunk telemetry and events apart)', async () => {
    const tmp = tempDir();
    const c = await startTestCollector(tmp.dir);
    try {
      const password = await c.addEdge('edge-i');
      const e = await TestEdge.connect(c.mqttPort!, 'edge-i', password);
      // Telemetry chunk: seqs 1, 2, 4, 5 (3 went to an event chunk), so first=1, last=5.
      const telemetry = readingsBatch('edge-i', 1, 1, 5, { device: 'i-dev' });
      telemetry.readings = telemetry.readings!.filter((r) => r.seq !== 3);
      const a1 = await e.send(telemetry);
      expect(a1.committed).toEqual([{ first: 1, last: 2 }, { first: 4, last: 5 }]);
      expect(a1.committedThrough).toBe(2);
      const ev = { edgeId: 'edge-i', batchId: 2, firstSeq: 3, lastSeq: 3, events: [{ deviceId: 'i-dev', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'above warning', ts: Date.now(), seq: 3, code: 'water_level.warning' }] };
      const a2 = await e.send(ev);
      expect(a2.committedThrough).toBe(5);
      expect(c.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()!.n).toBe(1);
      // Redelivering either batch stores nothing twice.
      await e.send(ev);
      await e.send(telemetry);
      expect(c.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()!.n).toBe(1);
      expect(c.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM points').get()!.n).toBe(4);
      expect(c.store.edges.ranges('edge-i')).toEqual([{ first: 1, last: 5 }]);
      await e.close();
    } finally {
      await c.stop();
      tmp.remove();
    }
  });
});

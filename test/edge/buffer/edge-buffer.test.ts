import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { EdgeBuffer, Priority, decodeChunk, type EdgeBufferOptions, type UnsequencedReading } from '../../../edge/buffer/index.js';
import { Aggregate, EventKind, Quality, Severity, Verdict, type Batch } from '../../../schema/types.js';

const dirs: string[] = [];
const open: EdgeBuffer[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-buffer-'));
  dirs.push(d);
  return d;
}
function openBuffer(opts: Partial<EdgeBufferOptions> & { dir: string }): EdgeBuffer {
  const b = EdgeBuffer.open({ maxBytes: 1e9, ...opts });
  open.push(b);
  return b;
}
afterEach(() => {
  for (const b of open.splice(0)) b.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const reading = (deviceId: string, n: number): UnsequencedReading => ({ deviceId, metric: 'water_level', number: n, unit: 'm', ts: 1_700_000_000_000 + n });

/** Every item of every stored chunk, decoded. */
function storedBatches(b: EdgeBuffer): { priority: number; batch: Batch }[] {
  return b.listChunks(0, 1_000_000).map((c) => ({ priority: c.priority, batch: decodeChunk(c.payload) }));
}
function storedReadingSeqs(b: EdgeBuffer): number[] {
  return storedBatches(b).flatMap((x) => (x.batch.readings ?? []).map((r) => r.seq)).sort((a, b) => a - b);
}

describe('EdgeBuffer', () => {
  it('assigns increasing sequence numbers that never repeat across reopen', () => {
    const dir = tmpDir();
    const b1 = EdgeBuffer.open({ dir, maxBytes: 1e9 });
    const first = Array.from({ length: 10 }, (_, i) => b1.addReading(reading('d1', i)));
    expect(first).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    b1.close();
    const b2 = openBuffer({ dir });
    const next = b2.addReading(reading('d1', 99));
    expect(next).toBeGreaterThan(10);
    expect(b2.addEvent({ deviceId: 'd1', kind: EventKind.DEVICE_ONLINE, severity: Severity.INFO, message: 'up', ts: 1 })).toBe(next + 1);
    b2.flush();
    expect(storedReadingSeqs(b2)).toEqual([...first, next]);
  });

  it('roundtrips every item kind through a chunk, critical items in their own chunks', () => {
    const b = openBuffer({ dir: tmpDir() });
    const readings: UnsequencedReading[] = [
      { deviceId: 'pump-1', metric: 'flow', number: 0, unit: 'm3/h', ts: 1_735_000_000_123 },
      { deviceId: 'pump-1', metric: 'running', boolean: false, unit: '1', ts: 5 },
      { deviceId: '泵站-2', metric: 'state', text: '运行中', unit: '1', ts: 1, quality: Quality.BAD, qualityReason: 'modbus timeout' },
      { deviceId: 'aq-3', metric: 'pm25', number: -12.75, unit: 'ug/m3', ts: 1_735_000_000_000, aggregate: Aggregate.AVG, periodS: 3600 },
      { deviceId: 'old', metric: 'x', number: 1e300, unit: 'm', ts: -5 }, // negative ts takes the generic encoder
    ];
    const seqs = readings.map((r) => b.addReading(r));
    const evSeq = b.addEvent({ deviceId: 'pump-1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'high', ts: 7, code: 'flow.high', metric: 'flow', value: 9, threshold: 8 });
    const recSeq = b.addRecord({ id: 'cam-1', name: '东门', kind: 'camera', camera: { cameraType: 'dome', ptz: true } });
    const vqSeq = b.addVideoQuality({ deviceId: 'cam-1', ts: 9, verdict: Verdict.FAULT, checks: [{ name: 'black', score: 0.99, verdict: Verdict.FAULT }] });
    const snapSeq = b.addSnapshot({ deviceId: 'cam-1', ts: 10, jpeg: new Uint8Array([0xff, 0xd8, 1, 2]), width: 2, height: 1 });
    expect(b.stats().pendingInMemory).toBe(9);
    expect(b.flush()).toBe(true);
    expect(b.stats().pendingInMemory).toBe(0);

    const all = storedBatches(b);
    const critical = all.filter((x) => x.priority === Priority.CRITICAL);
    expect(critical).toHaveLength(1);
    expect(critical[0]!.batch.events).toEqual([
      { deviceId: 'pump-1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'high', ts: 7, seq: evSeq, code: 'flow.high', metric: 'flow', value: 9, threshold: 8 },
    ]);
    expect(critical[0]!.batch.records).toEqual([
      // decodeBatch sets repeated fields to [] (arrays: true)
      { id: 'cam-1', name: '东门', kind: 'camera', camera: { cameraType: 'dome', ptz: true, streamUris: [] }, sharingScope: [], customMetrics: [], thresholds: [], schedules: [], seq: recSeq },
    ]);
    expect(critical[0]!.batch.readings ?? []).toEqual([]);

    const telemetry = all.filter((x) => x.priority === Priority.TELEMETRY).map((x) => x.batch);
    const gotReadings = telemetry.flatMap((t) => t.readings ?? []);
    expect(gotReadings).toEqual(readings.map((r, i) => ({ ...r, seq: seqs[i] })));
    const vq = telemetry.flatMap((t) => t.videoQuality ?? []);
    expect(vq).toEqual([{ deviceId: 'cam-1', ts: 9, verdict: Verdict.FAULT, checks: [{ name: 'black', score: 0.99, verdict: Verdict.FAULT }], seq: vqSeq }]);
    const snaps = telemetry.flatMap((t) => t.snapshots ?? []);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.seq).toBe(snapSeq);
    expect([...snaps[0]!.jpeg]).toEqual([0xff, 0xd8, 1, 2]);

    const chunks = b.listChunks(0, 100);
    for (const c of chunks) {
      const batch = decodeChunk(c.payload);
      const itemSeqs = [...(batch.readings ?? []), ...(batch.events ?? []), ...(batch.videoQuality ?? []), ...(batch.snapshots ?? [])].map((x) => x.seq);
      expect(Math.min(...itemSeqs, ...(batch.records ?? []).map((r) => r.seq!))).toBe(c.firstSeq);
      expect(Math.max(...itemSeqs, ...(batch.records ?? []).map((r) => r.seq!))).toBe(c.lastSeq);
    }
  });

  it('splits chunks by the item cap', () => {
    const b = openBuffer({ dir: tmpDir(), maxChunkItems: 100 });
    for (let i = 0; i < 1050; i++) b.addReading(reading('d', i));
    b.flush();
    const chunks = b.listChunks(0, 100);
    expect(chunks.map((c) => c.items)).toEqual([...Array(10).fill(100), 50]);
    expect(storedReadingSeqs(b)).toEqual(Array.from({ length: 1050 }, (_, i) => i + 1));
  });

  it('when full drops the oldest telemetry first, counts it per device and keeps events and records', () => {
    const b = openBuffer({ dir: tmpDir(), maxBytes: 60_000, maxChunkItems: 200 });
    const ev = { deviceId: 'a', kind: EventKind.ALARM_RAISED, severity: Severity.CRITICAL, message: 'x', ts: 1 };
    const critical = [b.addEvent(ev), b.addRecord({ id: 'a', name: 'A' })];
    b.flush();
    const seqsByDevice: Record<string, number[]> = { a: [], b: [] };
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 200; i++) {
        const dev = i % 3 === 0 ? 'b' : 'a';
        seqsByDevice[dev]!.push(b.addReading(reading(dev, round * 1000 + i)));
      }
      b.flush();
    }
    critical.push(b.addEvent(ev));
    b.flush();
    const s = b.stats();
    expect(s.bytes).toBeLessThanOrEqual(60_000);
    expect(s.droppedReadings).toBeGreaterThan(0);

    const stored = new Set(storedReadingSeqs(b));
    const all = [...seqsByDevice.a!, ...seqsByDevice.b!].sort((x, y) => x - y);
    const missing = all.filter((q) => !stored.has(q));
    expect(missing.length).toBe(s.droppedReadings);
    // Oldest first: everything missing is older than everything kept.
    expect(Math.max(...missing)).toBeLessThan(Math.min(...stored));
    expect(s.droppedByDevice).toEqual({
      a: seqsByDevice.a!.filter((q) => !stored.has(q)).length,
      b: seqsByDevice.b!.filter((q) => !stored.has(q)).length,
    });
    const criticalStored = storedBatches(b)
      .filter((x) => x.priority === Priority.CRITICAL)
      .flatMap((x) => [...(x.batch.events ?? []).map((e) => e.seq), ...(x.batch.records ?? []).map((r) => r.seq!)]);
    expect(criticalStored.sort((x, y) => x - y)).toEqual(critical);
    expect(s.fillRatio).toBeGreaterThan(0.5);
    expect(s.fillRatio).toBeLessThanOrEqual(1);
  });

  it('drop counters survive a reopen', () => {
    const dir = tmpDir();
    const b1 = EdgeBuffer.open({ dir, maxBytes: 20_000, maxChunkItems: 100 });
    for (let i = 0; i < 2000; i++) b1.addReading(reading('z', i));
    b1.flush();
    const dropped = b1.stats().droppedReadings;
    expect(dropped).toBeGreaterThan(0);
    b1.close();
    const b2 = openBuffer({ dir, maxBytes: 20_000 });
    expect(b2.stats().droppedReadings).toBe(dropped);
    expect(b2.stats().droppedByDevice).toEqual({ z: dropped });
  });

  it('retention drops telemetry older than the limit, counted, and keeps events', async () => {
    const b = openBuffer({ dir: tmpDir(), retentionMs: 150 });
    for (let i = 0; i < 30; i++) b.addReading(reading(i % 2 ? 'x' : 'y', i));
    const ev = b.addEvent({ deviceId: 'x', kind: EventKind.DEVICE_OFFLINE, severity: Severity.WARNING, message: 'gone', ts: 2 });
    b.flush();
    await new Promise((r) => setTimeout(r, 250));
    const fresh = b.addReading(reading('x', 100));
    b.flush();
    expect(storedReadingSeqs(b)).toEqual([fresh]);
    expect(b.stats().droppedReadings).toBe(30);
    expect(b.stats().droppedByDevice).toEqual({ x: 15, y: 15 });
    const events = storedBatches(b).flatMap((x) => x.batch.events ?? []);
    expect(events.map((e) => e.seq)).toEqual([ev]);
  });

  it('reports stats: rows, bytes, oldest, fill level and time to full while filling', async () => {
    const b = openBuffer({ dir: tmpDir(), maxBytes: 10_000_000 });
    expect(b.stats()).toMatchObject({ rows: 0, bytes: 0, oldestTs: null, nextSeq: 1, pendingInMemory: 0, estimatedSecondsToFull: null });
    const before = Date.now();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 500; i++) b.addReading(reading('s', i));
      expect(b.stats().pendingInMemory).toBe(500);
      b.flush();
      await new Promise((r) => setTimeout(r, 80));
    }
    const s = b.stats();
    expect(s.rows).toBe(4);
    expect(s.items).toBe(2000);
    expect(s.nextSeq).toBe(2001);
    expect(s.committedSeq).toBe(2000);
    expect(s.oldestTs).toBeGreaterThanOrEqual(before);
    expect(s.fillRatio).toBeCloseTo(s.bytes / 10_000_000, 10);
    expect(s.estimatedSecondsToFull).toBeGreaterThan(0);
    expect(s.estimatedSecondsToFull).toBeLessThan(1e6);
  });

  it('commits within the commit interval and resolves whenCommitted', async () => {
    const b = openBuffer({ dir: tmpDir(), commitIntervalMs: 50 });
    const seq = b.addReading(reading('w', 1));
    expect(b.committedSeq).toBe(0);
    const t0 = Date.now();
    await b.whenCommitted(seq);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(b.committedSeq).toBe(seq);
    expect(storedReadingSeqs(b)).toEqual([seq]);
  });

  it('notifies commit listeners with the new chunks', () => {
    const b = openBuffer({ dir: tmpDir() });
    const seen: number[][] = [];
    b.onCommit((info) => seen.push(info.chunks.map((c) => c.items)));
    b.addReading(reading('l', 1));
    b.addEvent({ deviceId: 'l', kind: EventKind.DATA_GAP, severity: Severity.INFO, message: '', ts: 1 });
    b.flush();
    b.flush(); // nothing new: no notification
    expect(seen).toEqual([[1, 1]]);
  });

  it('acks delete chunks, unknown acks are refused, parked chunks are not listed', () => {
    const b = openBuffer({ dir: tmpDir(), maxChunkItems: 1 });
    for (let i = 0; i < 3; i++) b.addReading(reading('k', i));
    b.flush();
    const [c1, c2, c3] = b.listChunks(0, 10);
    expect(b.ack(c1!.id)).toBe(true);
    expect(b.ack(c1!.id)).toBe(false);
    expect(b.ack(9999)).toBe(false);
    expect(b.stats().rows).toBe(2);
    expect(b.listChunks(0, 10).map((c) => c.id)).toEqual([c2!.id, c3!.id]);
    expect(b.park(c2!.id, 'rejected: bad')).toBe(true);
    expect(b.park(c2!.id, 'again')).toBe(false); // already parked: the first reason stays
    expect(b.listChunks(0, 10).map((c) => c.id)).toEqual([c3!.id]);
    b.flush();
    expect(b.getChunk(c1!.id)).toBeUndefined();
    expect(b.getChunk(c2!.id)?.id).toBe(c2!.id);
  });

  it('keeps parked chunks indefinitely, lists and counts them, and makes them sendable again on request', async () => {
    const dir = tmpDir();
    const b = EdgeBuffer.open({ dir, maxBytes: 1e9, maxChunkItems: 2 });
    for (let i = 0; i < 6; i++) b.addReading(reading('r', i));
    b.flush();
    const [c1, c2, c3] = b.listChunks(0, 10);
    b.park(c1!.id, 'invalid: ts in the future');
    b.park(c3!.id, 'invalid: ts in the future');
    b.park(c2!.id, 'schema');
    expect(b.listChunks(0, 10)).toEqual([]);
    expect(b.countChunks(0, Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(b.parkedSummary()).toEqual({ chunks: 3, items: 6, bytes: expect.any(Number), byReason: { 'invalid: ts in the future': 2, schema: 1 } });
    expect(b.parkedChunks().map((c) => [c.id, c.reason, c.items])).toEqual([
      [c1!.id, 'invalid: ts in the future', 2],
      [c2!.id, 'schema', 2],
      [c3!.id, 'invalid: ts in the future', 2],
    ]);
    // Parking is on disk: a restart does not make them sendable.
    b.close();
    const again = openBuffer({ dir, maxChunkItems: 2 });
    expect(again.listChunks(0, 10)).toEqual([]);
    expect(again.parkedSummary().chunks).toBe(3);
    expect(again.unpark([c2!.id, 99_999])).toBe(1);
    expect(again.listChunks(0, 10).map((c) => c.id)).toEqual([c2!.id]);
    expect(again.unpark('all')).toBe(2);
    expect(again.listChunks(0, 10).map((c) => c.id)).toEqual([c1!.id, c2!.id, c3!.id]);
    expect(again.parkedSummary()).toEqual({ chunks: 0, items: 0, bytes: 0, byReason: {} });
  });

  it('migrates a version-1 database: a chunk parked until some time stays parked until an operator retries it', () => {
    const dir = tmpDir();
    const b = EdgeBuffer.open({ dir, maxBytes: 1e9, maxChunkItems: 1 });
    for (let i = 0; i < 2; i++) b.addReading(reading('m', i));
    b.close();
    // Turn the file back into schema 1 as an older edge wrote it.
    const db = new Database(path.join(dir, 'buffer.db'));
    db.exec(`ALTER TABLE chunks ADD COLUMN parked_until INTEGER NOT NULL DEFAULT 0;
             DROP INDEX chunks_parked; ALTER TABLE chunks DROP COLUMN parked_at;
             UPDATE chunks SET parked_until = 9999999999999, park_reason = 'old rejection' WHERE id = (SELECT MIN(id) FROM chunks);
             UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
    db.close();
    const m = openBuffer({ dir, maxChunkItems: 1 });
    expect(m.parkedChunks().map((c) => c.reason)).toEqual(['old rejection']);
    expect(m.listChunks(0, 10)).toHaveLength(1);
    expect(m.stats().nextSeq).toBe(3);
  });

  it('group commit: waiting for durability commits soon, once for everything pending, and resolves every waiter', async () => {
    const b = openBuffer({ dir: tmpDir(), commitIntervalMs: 1000, groupCommitDelayMs: 2 });
    let commits = 0;
    b.onCommit(() => commits++);
    const t0 = Date.now();
    const waits = Array.from({ length: 200 }, (_, i) => b.whenDurable(b.addReading(reading('g', i))));
    const first = b.addReading(reading('g', 1000));
    const last = b.addReading(reading('g', 1001));
    waits.push(b.whenDurable(first, last));
    expect(await Promise.all(waits)).toEqual(waits.map(() => true));
    expect(commits).toBe(1);
    expect(Date.now() - t0).toBeLessThan(900); // well before the 1 s commit interval
    expect(storedReadingSeqs(b)).toHaveLength(202);
    // Already committed: answers at once.
    expect(await b.whenDurable(1, 202)).toBe(true);
  });

  it('durability is false for items that never reach the disk: dropped while commits fail, or the buffer closed first', async () => {
    const b = EdgeBuffer.open({ dir: tmpDir(), maxBytes: 1e9, sqliteMaxPageCount: 40, maxPendingItems: 3000, commitIntervalMs: 1000 });
    let ok = true;
    const waits: Promise<boolean>[] = [];
    for (let round = 0; round < 60 && ok; round++) {
      const first = b.addReading(reading('z', 0));
      let last = first;
      for (let i = 1; i < 1000; i++) last = b.addReading(reading('z', i));
      waits.push(b.whenDurable(first, last));
      ok = b.flush();
    }
    expect(ok).toBe(false);
    for (let i = 0; i < 5; i++) {
      const first = b.addReading(reading('z', 0));
      for (let j = 1; j < 1000; j++) b.addReading(reading('z', j));
      waits.push(b.whenDurable(first, first + 999));
      b.flush();
    }
    expect(b.stats().droppedReadings).toBeGreaterThan(0);
    const pendingSeq = b.addReading(reading('z', 1));
    const pending = b.whenDurable(pendingSeq);
    b.close();
    const results = await Promise.all(waits);
    expect(results).toContain(true); // the rounds that fitted on disk
    expect(results).toContain(false); // the rounds dropped from memory
    expect(await pending).toBe(false);
    await expect(b.whenCommitted(pendingSeq)).rejects.toThrow(/not committed/);
  });

  it('on disk full logs, counts, keeps items in memory up to the cap, then drops the oldest pending readings', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    // 40 pages of 4 KiB: the schema fits, a few chunks fit, then SQLITE_FULL.
    const b = openBuffer({ dir: tmpDir(), sqliteMaxPageCount: 40, maxPendingItems: 3000, logger });
    let ok = true;
    let rounds = 0;
    for (; rounds < 50 && ok; rounds++) {
      for (let i = 0; i < 1000; i++) b.addReading(reading(i % 2 ? 'p' : 'q', i));
      ok = b.flush();
    }
    expect(ok).toBe(false);
    const s = b.stats();
    expect(s.commitErrors).toBeGreaterThan(0);
    expect(s.lastCommitError).toMatch(/SQLITE_FULL/);
    expect(lines.join('\n')).toMatch(/DISK FULL/);
    // Keep going: more failures fill memory to the cap, then the oldest pending readings are dropped and counted.
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 1000; j++) b.addReading(reading('p', j));
      expect(b.flush()).toBe(false);
    }
    const s2 = b.stats();
    expect(s2.pendingInMemory).toBeLessThanOrEqual(3000);
    expect(s2.droppedReadings).toBeGreaterThan(0);
    expect((s2.droppedByDevice.p ?? 0) + (s2.droppedByDevice.q ?? 0)).toBe(s2.droppedReadings);
  });

  it('rejects a commit interval above one second', () => {
    expect(() => EdgeBuffer.open({ dir: tmpDir(), maxBytes: 1, commitIntervalMs: 5000 })).toThrow(/commitIntervalMs/);
  });
});

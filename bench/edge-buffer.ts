// Edge buffer + uplink benchmarks. Run: npx tsx bench/edge-buffer.ts [backlogReadings]
// (a) readings/s accepted durably by the buffer, (c) readings/s drained from a backlog to an acking test
// collector, and the raw one-row-per-reading better-sqlite3 insert rate as a yardstick.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeBuffer, type SynchronousMode } from '../edge/buffer/index.js';
import { Uplink } from '../edge/uplink/index.js';
import { TestCollector } from '../test/fixtures/test-collector.js';

const DEVICES = Array.from({ length: 1000 }, (_, i) => `dev-${i}`);
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
}

/** Adds `n` readings, yielding every 16k like a real ingest loop; resolves when all are committed. */
async function fill(buffer: EdgeBuffer, n: number): Promise<void> {
  const ts = Date.now();
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = buffer.addReading({ deviceId: DEVICES[i % DEVICES.length]!, metric: 'water_level', number: i * 0.01, unit: 'm', ts: ts + i });
    if ((i & 16383) === 16383) await yieldToLoop();
  }
  buffer.flush();
  await buffer.whenCommitted(last);
}

export interface IngestResult {
  readings: number;
  synchronous: SynchronousMode;
  seconds: number;
  readingsPerSecond: number;
  bytesPerReading: number;
}

/** (a) Readings/s accepted and committed (whenCommitted resolved) by the buffer alone. */
export async function benchBufferIngest(readings = 3_000_000, synchronous: SynchronousMode = 'FULL'): Promise<IngestResult> {
  const dir = tmp('ingest');
  const buffer = EdgeBuffer.open({ dir, maxBytes: 8e9, synchronous });
  try {
    const t0 = performance.now();
    await fill(buffer, readings);
    const seconds = (performance.now() - t0) / 1000;
    return { readings, synchronous, seconds, readingsPerSecond: readings / seconds, bytesPerReading: buffer.stats().bytes / readings };
  } finally {
    buffer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Yardstick: one SQLite row per reading, prepared INSERT, 50k rows per transaction, WAL + FULL. */
export function benchRawSqliteRows(rows = 1_000_000): { rows: number; rowsPerSecond: number } {
  const dir = tmp('raw');
  const db = new Database(path.join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE readings (seq INTEGER PRIMARY KEY, device_id TEXT, metric TEXT, value REAL, unit TEXT, ts INTEGER)');
    const insert = db.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?)');
    const batch = db.transaction((from: number, to: number, ts: number) => {
      for (let i = from; i < to; i++) insert.run(i + 1, DEVICES[i % DEVICES.length], 'water_level', i * 0.01, 'm', ts + i);
    });
    const t0 = performance.now();
    const ts = Date.now();
    for (let i = 0; i < rows; i += 50_000) batch(i, Math.min(rows, i + 50_000), ts);
    return { rows, rowsPerSecond: rows / ((performance.now() - t0) / 1000) };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface DrainResult {
  backlogReadings: number;
  fillSeconds: number;
  drainSeconds: number;
  readingsPerSecond: number;
  batches: number;
}

/** (c) Builds a backlog while no collector is up, then drains it to an acking, deduplicating test collector. */
export async function benchDrain(backlogReadings = 5_000_000): Promise<DrainResult> {
  const dir = tmp('drain');
  const buffer = EdgeBuffer.open({ dir: path.join(dir, 'edge'), maxBytes: 8e9 });
  const collector = new TestCollector(path.join(dir, 'collector.db'));
  let uplink: Uplink | undefined;
  try {
    const tf = performance.now();
    await fill(buffer, backlogReadings);
    const fillSeconds = (performance.now() - tf) / 1000;
    await collector.start();
    uplink = new Uplink({ edgeId: 'bench-edge', url: collector.url, buffer, backlogRateLimit: 1e9, maxInFlight: 8, ackTimeoutMs: 60_000 });
    const t0 = performance.now();
    uplink.start();
    while (buffer.stats().rows > 0) await new Promise((r) => setTimeout(r, 20));
    const drainSeconds = (performance.now() - t0) / 1000;
    const stored = collector.count('bench-edge');
    if (stored !== backlogReadings) throw new Error(`collector holds ${stored} of ${backlogReadings} readings`);
    return { backlogReadings, fillSeconds, drainSeconds, readingsPerSecond: backlogReadings / drainSeconds, batches: collector.batches.length };
  } finally {
    await uplink?.stop();
    buffer.close();
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const backlog = Number(process.argv[2] ?? 5_000_000);
  for (const sync of ['FULL', 'NORMAL'] as const) {
    const r = await benchBufferIngest(3_000_000, sync);
    console.log(`(a) buffer ingest, synchronous=${sync}: ${fmt(r.readingsPerSecond)} readings/s committed (${r.readings} in ${r.seconds.toFixed(2)} s, ${r.bytesPerReading.toFixed(1)} B/reading)`);
  }
  const raw = benchRawSqliteRows();
  console.log(`    yardstick, one row per reading (better-sqlite3, 50k-row transactions): ${fmt(raw.rowsPerSecond)} rows/s`);
  const d = await benchDrain(backlog);
  console.log(
    `(c) drain ${fmt(d.backlogReadings)}-reading backlog to acking test collector: ${fmt(d.readingsPerSecond)} readings/s (${d.drainSeconds.toFixed(2)} s, ${d.batches} batches; backlog built in ${d.fillSeconds.toFixed(2)} s)`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

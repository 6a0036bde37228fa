// Alarm benchmark (npm run bench:alarms), on SQLite and PostgreSQL:
// 1. What the alarm lifecycle costs ingest: readings/s through store.ingest with no open alarm (the yardstick,
//    same run) and with an open threshold alarm on every loaded series (each commit then updates their values).
// 2. Alarm transitions/s: batches of raise/clear events, each applied in the ingest transaction.
// 3. Notifications/s through the durable queue (fan-out, claim, send, record) to a local webhook receiver, beside
//    the yardstick of plain sequential HTTP POSTs to the same receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../core/log.js';
import { EventKind, Severity, type Batch, type DeviceRecord, type Reading, type SensingEvent } from '../schema/types.js';
import { DEFAULT_ALARMS_CONFIG } from '../collector/alarms/config.js';
import { Notifier } from '../collector/alarms/notifier.js';
import { createChannels } from '../collector/notify/index.js';
import { openStore, type CollectorStore } from '../collector/store/index.js';
import { startPostgres } from '../demo/services/postgres.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEVICES = 100;
const BATCH = 500;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 400); // per ingest phase
const TRANSITIONS = Number(process.env.BENCH_TRANSITIONS ?? 2000);
const EDGE = 'bench-edge';
const log = createLogger('bench-alarms', 'error');

let seq = 1;
let batchId = 1;
const job = (b: Omit<Batch, 'edgeId' | 'batchId'>) => ({ edgeId: EDGE, batch: { edgeId: EDGE, batchId: batchId++, ...b }, receivedAt: Date.now() });

function readingsBatch(t0: number): ReturnType<typeof job> {
  const readings: Reading[] = [];
  const first = seq;
  for (let i = 0; i < BATCH; i++) readings.push({ deviceId: `d${i % DEVICES}`, metric: 'water_level', number: 3 + (i % 17) / 10, unit: 'm', ts: t0 + i, quality: 0, seq: seq++ });
  return job({ firstSeq: first, lastSeq: seq - 1, readings });
}

function eventsBatch(kind: number, t: number): ReturnType<typeof job> {
  const first = seq;
  const events: SensingEvent[] = [];
  for (let i = 0; i < DEVICES; i++) {
    events.push({ deviceId: `d${i}`, kind: kind as SensingEvent['kind'], severity: kind === EventKind.ALARM_RAISED ? Severity.WARNING : Severity.INFO, code: 'water_level.warning', metric: 'water_level', value: 3.6, threshold: 3.5, message: '', ts: t, seq: seq++ });
  }
  return job({ firstSeq: first, lastSeq: seq - 1, events });
}

async function ingestRate(store: CollectorStore, batches: number): Promise<number> {
  const start = performance.now();
  let t = Date.now() - 86_400_000;
  for (let i = 0; i < batches; i++) {
    await store.ingest([readingsBatch(t)], { unknownDevices: 'claim', influx: false });
    t += BATCH;
  }
  return (batches * BATCH) / ((performance.now() - start) / 1000);
}

async function startReceiver(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, count: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

async function run(kind: string, url: string, dataDir: string): Promise<void> {
  const store = await openStore({ url, dataDir });
  try {
    const records: DeviceRecord[] = Array.from({ length: DEVICES }, (_, i) => ({ id: `d${i}`, name: `gauge ${i}`, sharingScope: ['water'], seq: seq++ }));
    await store.ingest([job({ firstSeq: records[0]!.seq!, lastSeq: records.at(-1)!.seq!, records })], { unknownDevices: 'claim', influx: false });
    await ingestRate(store, 20); // warm-up
    const without = await ingestRate(store, BATCHES);
    await store.ingest([eventsBatch(EventKind.ALARM_RAISED, Date.now() - 3_600_000)], { unknownDevices: 'claim', influx: false });
    const open = (await store.alarms.list({ states: ['active'] })).length;
    const withAlarms = await ingestRate(store, BATCHES);

    const rounds = Math.max(2, Math.round(TRANSITIONS / DEVICES));
    let t = Date.now() - 3_000_000;
    const tStart = performance.now();
    for (let r = 0; r < rounds; r++) await store.ingest([eventsBatch(r % 2 === 0 ? EventKind.ALARM_CLEARED : EventKind.ALARM_RAISED, (t += 1000))], { unknownDevices: 'claim', influx: false });
    const transitions = (rounds * DEVICES) / ((performance.now() - tStart) / 1000);

    // Notifications: one webhook channel, a rule for the water bureau, a digest threshold no burst reaches.
    const rx = await startReceiver();
    const notify = { digest: { threshold: 1_000_000, windowS: 60 }, channels: [{ id: 'hook', type: 'webhook' as const, url: rx.url }], rules: [{ id: 'all', bureau: 'water', channels: ['hook'] }] };
    await store.notify.seedRules(notify.rules, 'bench');
    // Start from every alarm cleared, with every transition so far fanned out (not to be delivered); then raise and
    // clear in turns: exactly `want` transitions to deliver.
    if ((await store.alarms.list({ states: ['active'] })).length) await store.ingest([eventsBatch(EventKind.ALARM_CLEARED, (t += 1000))], { unknownDevices: 'claim', influx: false });
    await store.notify.fanOut(() => [], 1_000_000);
    const rounds2 = Math.max(1, Math.floor(TRANSITIONS / DEVICES));
    for (let i = 0; i < rounds2; i++) await store.ingest([eventsBatch(i % 2 ? EventKind.ALARM_CLEARED : EventKind.ALARM_RAISED, (t += 1000))], { unknownDevices: 'claim', influx: false });
    const want = rounds2 * DEVICES;
    const notifier = new Notifier(store, notify, createChannels(notify), { ...DEFAULT_ALARMS_CONFIG, deliveryPollMs: 10 }, log);
    const nStart = performance.now();
    while (rx.count() < want) await notifier.runOnce();
    const notifications = want / ((performance.now() - nStart) / 1000);
    await notifier.stop();
    const yStart = performance.now();
    for (let i = 0; i < 1000; i++) await (await fetch(rx.url, { method: 'POST', body: '{}' })).text();
    const posts = 1000 / ((performance.now() - yStart) / 1000);
    await rx.close();

    const k = (x: number) => `${(x / 1000).toFixed(1)} k/s`;
    process.stdout.write(
      `\n${kind}\n` +
        `  ingest, no open alarm (yardstick)        ${k(without)} readings\n` +
        `  ingest, ${open} open threshold alarms       ${k(withAlarms)} readings (${((withAlarms / without) * 100).toFixed(0)} % of the yardstick)\n` +
        `  alarm transitions in ingest               ${k(transitions)} (raise/clear events, ${DEVICES} per batch)\n` +
        `  notifications through the queue           ${notifications.toFixed(0)}/s (fan-out, claim, HTTP POST, record; one channel)\n` +
        `  yardstick: plain sequential HTTP POSTs    ${posts.toFixed(0)}/s to the same receiver\n`,
    );
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'yiwang-bench-alarms-'));
try {
  await run('SQLite (embedded)', 'sqlite', join(dir, 'sqlite'));
  const pg = await startPostgres();
  try {
    await run('PostgreSQL', pg.url(), join(dir, 'pg'));
  } finally {
    pg.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

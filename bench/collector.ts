// Collector benchmark (npm run bench:collector): end-to-end readings/s (MQTT in -> durable -> ack) with
// 1, 10 and 100 concurrent edges, p50/p99 ack latency, series query latency over 1 and 30 days of
// 10-second data, and the collector's peak RSS. The collector runs in a child process so the load
// generator does not share its event loop.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createLogger } from '../core/log.js';
import { decodeAck, encodeBatch } from '../schema/codec.js';
import { topics } from '../schema/topics.js';
import type { Reading } from '../schema/types.js';
import { pct, runEdges } from './lib/load.js';
import { sqliteYardstick } from './lib/yardsticks.js';
import { defaultConfig } from '../collector/config.js';
import { createEdge, startCollector } from '../collector/index.js';
import { openStore } from '../collector/store/index.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 500); // readings per batch
// Unacked batches per edge. Ack latency is (readings in flight) / throughput, so with many edges each keeps
// fewer batches in flight, as a real fleet of edges sending one chunk at a time would.
const windowFor = (edges: number) => Number(process.env.BENCH_WINDOW ?? (edges === 1 ? 8 : edges <= 10 ? 4 : 1));
const TOTAL = Number(process.env.BENCH_READINGS ?? 600_000); // readings per scenario
const EDGE_COUNTS = [1, 10, 100];
const DAY = 86_400_000;


async function serve(dataDir: string): Promise<void> {
  const cfg = defaultConfig();
  cfg.dataDir = dataDir;
  cfg.http = { host: '127.0.0.1', port: 0 };
  cfg.mqtt = { embedded: { host: '127.0.0.1', port: 0 } };
  cfg.retention = { rawDays: 60, minuteDays: 365, hourDays: 3650 };
  const c = await startCollector({ config: cfg, log: createLogger('bench-collector', 'warn') });
  const token = await c.createToken({ name: 'bench', admin: true });
  process.stdout.write(JSON.stringify({ httpPort: c.httpPort, mqttPort: c.mqttPort, token }) + '\n');
  process.on('SIGTERM', () => void c.stop().then(() => process.exit(0)));
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function loadQuerySeries(mqttPort: number, password: string): Promise<void> {
  // 30 days of 10-second data for one device: 259,200 readings.
  const id = 'bench-q';
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'bench-q', username: id, password, reconnectPeriod: 0 });
  await client.subscribeAsync(topics.ack(id), { qos: 1 });
  const n = 30 * 8640;
  const per = 5000;
  const ts0 = Date.now() - 30 * DAY;
  let seq = 1;
  let batchId = 1;
  const acked = new Set<number>();
  client.on('message', (_t, p) => acked.add(decodeAck(p).batchId));
  while (seq <= n) {
    const count = Math.min(per, n - seq + 1);
    const readings: Reading[] = [];
    for (let i = 0; i < count; i++) readings.push({ deviceId: 'q-dev', metric: 'water_level', number: Math.sin((seq + i) / 500), unit: 'm', ts: ts0 + (seq + i - 1) * 10_000, seq: seq + i });
    const bid = batchId++;
    await client.publishAsync(topics.batch(id), Buffer.from(encodeBatch({ edgeId: id, batchId: bid, firstSeq: seq, lastSeq: seq + count - 1, readings })), { qos: 1 });
    seq += count;
    while (acked.size < bid - 8) await new Promise((r) => setTimeout(r, 5));
  }
  while (acked.size < batchId - 1) await new Promise((r) => setTimeout(r, 10));
  await client.endAsync();
}

async function timeQuery(httpPort: number, token: string, path: string, runs = 15): Promise<{ p50: number; points: number; resolution: string }> {
  const times: number[] = [];
  let points = 0;
  let resolution = '';
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { points: unknown[]; resolution: string };
    times.push(performance.now() - t);
    points = body.points.length;
    resolution = body.resolution;
  }
  return { p50: pct(times, 0.5), points, resolution };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-bench-collector-'));
  const password = 'bench-password';
  const store = await openStore({ dataDir: dir });
  const allIds = [...EDGE_COUNTS.flatMap((n) => Array.from({ length: n }, (_, i) => `e${n}-${i}`)), 'bench-q'];
  await Promise.all(allIds.map((id) => createEdge(store, id, password)));
  await store.close();

  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<{ httpPort: number; mqttPort: number; token: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
  });
  const out: string[] = [];
  const log = (s: string) => {
    out.push(s);
    process.stdout.write(s + '\n');
  };
  try {
    log(`yiwang collector benchmark — ${BATCH} readings/batch, ${TOTAL} readings per run`);
    log(`yardstick: raw SQLite, one row per reading (WAL, synchronous NORMAL, 5,000-row transactions): ${Math.round(sqliteYardstick(dir)).toLocaleString('en')} rows/s`);
    for (const n of EDGE_COUNTS) {
      const ids = Array.from({ length: n }, (_, i) => `e${n}-${i}`);
      const perEdge = Math.max(1, Math.ceil(TOTAL / (n * BATCH)));
      const r = await runEdges({ mqttPort: info.mqttPort, ids, password: () => password, batchesPerEdge: perEdge, readingsPerBatch: BATCH, window: windowFor(n) });
      log(
        `${String(n).padStart(3)} edge(s), window ${windowFor(n)}: ${Math.round(r.readings / r.seconds).toLocaleString('en')} readings/s durable+acked ` +
          `(${r.readings.toLocaleString('en')} in ${r.seconds.toFixed(2)} s), ack latency p50 ${pct(r.lat, 0.5).toFixed(1)} ms, p99 ${pct(r.lat, 0.99).toFixed(1)} ms`,
      );
    }
    const t = performance.now();
    await loadQuerySeries(info.mqttPort, password);
    log(`loaded 30 days of 10-second data (259,200 readings) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const now = Date.now();
    const base = `/api/v1/devices/q-dev/series/water_level`;
    const q1h = await timeQuery(info.httpPort, info.token, `${base}?from=${now - 3_600_000}&to=${now}`);
    const q1 = await timeQuery(info.httpPort, info.token, `${base}?from=${now - DAY}&to=${now}`);
    const q30 = await timeQuery(info.httpPort, info.token, `${base}?from=${now - 30 * DAY}&to=${now}`);
    const q30h = await timeQuery(info.httpPort, info.token, `${base}?from=${now - 30 * DAY}&to=${now}&step=1h`);
    log(`query 1 hour  (${q1h.resolution}, ${q1h.points} points): p50 ${q1h.p50.toFixed(1)} ms`);
    log(`query 1 day   (${q1.resolution}, ${q1.points} points): p50 ${q1.p50.toFixed(1)} ms`);
    log(`query 30 days (${q30.resolution}, ${q30.points} points): p50 ${q30.p50.toFixed(1)} ms`);
    log(`query 30 days step=1h (${q30h.resolution}, ${q30h.points} points): p50 ${q30h.p50.toFixed(1)} ms`);
    log(`collector peak RSS: ${peakRss(child.pid!).toFixed(0)} MB`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) await serve(process.argv[process.argv.indexOf('--serve') + 1]!);
else await main();

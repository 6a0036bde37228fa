// Cluster benchmark (npm run bench:cluster): readings/s stored durably and acked with 100 edges, for 1, 2 and 3
// collector processes on one PostgreSQL behind one Mosquitto (shared subscription, password file and ACL — as
// production would run it), with p50/p99 ack latency. Beside it, from the same run: the embedded collector
// (SQLite + its own broker) under the same load, and two yardsticks — PostgreSQL inserting the same point rows
// with nothing else going on (one connection, multi-row INSERT … unnest), and raw SQLite rows/s.
// Everything shares this machine's cores: the load generator, the broker, PostgreSQL and the collectors.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { freePort } from '../core/net.js';
import { Mosquitto } from '../demo/services/mosquitto.js';
import { startPostgres, type PgServer } from '../demo/services/postgres.js';
import { pct, runEdges, type LoadResult } from './lib/load.js';
import { sqliteYardstick } from './lib/yardsticks.js';

const EDGES = Number(process.env.BENCH_EDGES ?? 100);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const TOTAL = Number(process.env.BENCH_READINGS ?? 600_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1); // a real edge sends its next chunk when the previous is acked
const NODE_COUNTS = (process.env.BENCH_NODES ?? '1,2,3').split(',').map(Number).filter((n) => n > 0);

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function waitPort(port: number, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await portOpen(port))) {
    if (Date.now() > end) throw new Error(`${what} did not open port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Extra node flags for the collector processes, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean)); // yardsticks, embedded

function collectorProcess(configFile: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, 'bin/yiwang.js', 'collector', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, YIWANG_LOG_LEVEL: 'warn', ...env },
  });
}

const stop = (p: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });

const fmt = (r: LoadResult) =>
  `${Math.round(r.readings / r.seconds).toLocaleString('en')} readings/s durable+acked (${r.readings.toLocaleString('en')} in ${r.seconds.toFixed(1)} s), ` +
  `ack p50 ${pct(r.lat, 0.5).toFixed(0)} ms, p99 ${pct(r.lat, 0.99).toFixed(0)} ms`;

async function clusterRun(pgServer: PgServer, broker: Mosquitto, dir: string, nodes: number, passwords: Map<string, string>, ids: string[]): Promise<LoadResult> {
  const db = `bench_${nodes}`;
  const admin = new pg.Client({ connectionString: pgServer.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const procs: ChildProcess[] = [];
  try {
    for (let n = 1; n <= nodes; n++) {
      const httpPort = await freePort();
      const file = join(dir, `node-${nodes}-${n}.yaml`);
      writeFileSync(
        file,
        YAML.stringify({
          dataDir: join(dir, `node-${nodes}-${n}`),
          store: pgServer.url(db),
          http: { host: '127.0.0.1', port: httpPort },
          mqtt: { external: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'collector', passwordEnv: 'YIWANG_BROKER_PASSWORD', sharedGroup: 'bench', clientId: `bench-${nodes}-${n}` } },
        }),
      );
      const p = collectorProcess(file, { YIWANG_BROKER_PASSWORD: passwords.get('collector')! });
      procs.push(p);
      await waitPort(httpPort, `collector node ${n}`);
    }
    await new Promise((r) => setTimeout(r, 1000)); // subscriptions settle
    const perEdge = Math.max(1, Math.ceil(TOTAL / (ids.length * BATCH)));
    const r = await runEdges({ mqttPort: broker.port, ids, password: (id) => passwords.get(id)!, batchesPerEdge: perEdge, readingsPerBatch: BATCH, window: WINDOW });
    if (nodes === NODE_COUNTS[0]) await storageFootprint(pgServer.url(db), r.readings);
    return r;
  } finally {
    for (const p of procs) await stop(p);
  }
}

/** Bytes per stored reading on disk (tables + indexes), for the scale plan. */
async function storageFootprint(url: string, readings: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CHECKPOINT');
    const size = async (parent: string) =>
      Number((await c.query(`SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) AS b FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1`, [parent])).rows[0].b);
    const points = await size('points');
    const r1m = await size('rollup_1m');
    const r1h = Number((await c.query("SELECT pg_total_relation_size('rollup_1h') AS b")).rows[0].b);
    const rows1m = Number((await c.query('SELECT count(*) AS n FROM rollup_1m')).rows[0].n);
    process.stdout.write(
      `storage: ${(points / readings).toFixed(0)} bytes per raw reading (table + primary key), ${(r1m / Math.max(1, rows1m)).toFixed(0)} bytes per 1-minute rollup row, ` +
        `1-hour rollups ${(r1h / 1e6).toFixed(1)} MB for ${readings.toLocaleString('en')} readings\n`,
    );
  } finally {
    await c.end();
  }
}

async function embeddedRun(dir: string, ids: string[]): Promise<LoadResult> {
  const dataDir = join(dir, 'embedded');
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const file = join(dir, 'embedded.yaml');
  writeFileSync(file, YAML.stringify({ dataDir, http: { host: '127.0.0.1', port: httpPort }, mqtt: { embedded: { host: '127.0.0.1', port: mqttPort } } }));
  const password = 'bench-password';
  // Register the edges with the store before the collector starts (same as `yiwang collector edge add`).
  const { openStore } = await import('../collector/store/index.js');
  const { createEdge } = await import('../collector/index.js');
  const store = await openStore({ dataDir });
  await Promise.all(ids.map((id) => createEdge(store, id, password)));
  await store.close();
  const p = collectorProcess(file);
  try {
    await waitPort(mqttPort, 'embedded collector');
    const perEdge = Math.max(1, Math.ceil(TOTAL / (ids.length * BATCH)));
    return await runEdges({ mqttPort, ids, password: () => password, batchesPerEdge: perEdge, readingsPerBatch: BATCH, window: WINDOW });
  } finally {
    await stop(p);
  }
}

/** PostgreSQL alone: the same point rows inserted with multi-row INSERT … unnest, 5,000 per statement, one connection. */
async function pgYardstick(pgServer: PgServer): Promise<number> {
  const c = new pg.Client({ connectionString: pgServer.url() });
  await c.connect();
  try {
    await c.query('CREATE TABLE yardstick (sid BIGINT NOT NULL, ts BIGINT NOT NULL, src INTEGER NOT NULL, seq BIGINT NOT NULL, value DOUBLE PRECISION, text TEXT, quality SMALLINT NOT NULL, PRIMARY KEY (sid, ts, src, seq))');
    const n = 300_000;
    const per = 5000;
    const t = performance.now();
    for (let i = 0; i < n; i += per) {
      const sid: number[] = [];
      const ts: number[] = [];
      const seq: number[] = [];
      const value: number[] = [];
      for (let k = 0; k < per; k++) {
        sid.push((i + k) % 50);
        ts.push(1_700_000_000_000 + (i + k) * 10);
        seq.push(i + k);
        value.push(Math.sin(i + k));
      }
      await c.query('INSERT INTO yardstick SELECT s, t, 1, q, v, NULL, 0 FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::float8[]) AS u(s, t, q, v)', [sid, ts, seq, value]);
    }
    return n / ((performance.now() - t) / 1000);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-bench-cluster-'));
  chmodSync(dir, 0o755);
  const ids = Array.from({ length: EDGES }, (_, i) => `edge-${i}`);
  const passwords = new Map<string, string>([['collector', 'bench-collector'], ...ids.map((id) => [id, `pw-${id}`] as [string, string])]);
  const pgServer = await startPostgres();
  const broker = new Mosquitto(await freePort(), join(dir, 'mosquitto'), passwords);
  await broker.start();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  try {
    say(`yiwang cluster benchmark — ${EDGES} edges, ${BATCH} readings/batch, window ${WINDOW}, ${TOTAL.toLocaleString('en')} readings per run, ${cpus().length} cores shared by everything`);
    if (!SKIP.has('yardsticks')) {
      say(`yardstick: PostgreSQL alone, multi-row INSERT … unnest of the same rows: ${Math.round(await pgYardstick(pgServer)).toLocaleString('en')} rows/s`);
      say(`yardstick: raw SQLite, one row per reading: ${Math.round(sqliteYardstick(dir)).toLocaleString('en')} rows/s`);
    }
    if (!SKIP.has('embedded')) say(`embedded collector (SQLite + its own broker): ${fmt(await embeddedRun(dir, ids))}`);
    for (const n of NODE_COUNTS) say(`cluster, ${n} collector process(es) on PostgreSQL + Mosquitto: ${fmt(await clusterRun(pgServer, broker, dir, n, passwords, ids))}`);
  } finally {
    await broker.stop();
    pgServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// Cluster mode end to end with real processes: 3 collector processes on one PostgreSQL and one Mosquitto (shared
// subscription, password file and per-edge ACL), 20 edges running the real buffer + uplink code and streaming
// counters. Mid-stream one collector is killed with SIGKILL and restarted, PostgreSQL is stopped for 10 s, and the
// broker is restarted. Then: every counter value is stored exactly once, no seq gap, every batch eventually acked
// (edge buffers empty), the API answers on every node, and node 1's live feed carried what every node committed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../core/net.js';
import { EdgeBuffer } from '../../edge/buffer/index.js';
import { Uplink } from '../../edge/uplink/index.js';
import { Mosquitto, MOSQUITTO } from '../../demo/services/mosquitto.js';
import { startPostgres, type PgServer } from '../../demo/services/postgres.js';
import { apiJson, openFeed, portOpen, requireBinary, sleep, stopProcess, tempDir, waitFor } from './helpers.js';
import { POSTGRES_MIGRATIONS } from '../../collector/store/postgres/schema.js';

const EDGES = 20;
const NODES = 3;

class Node {
  proc: ChildProcess | undefined;
  constructor(readonly n: number, readonly httpPort: number, readonly configFile: string) {}
  async start(): Promise<void> {
    this.proc = spawn(process.execPath, ['bin/yiwang.js', 'collector', '--config', this.configFile], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, YIWANG_BROKER_PASSWORD: 'collector-secret', YIWANG_LOG_LEVEL: 'error' },
    });
    await waitFor(`collector node ${this.n} serving`, () => portOpen(this.httpPort), 60_000);
  }
  kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
  stop(): Promise<void> {
    return stopProcess(this.proc);
  }
}

interface Edge {
  id: string;
  buffer: EdgeBuffer;
  uplink: Uplink;
  counter: number;
}

describe('collector cluster on PostgreSQL and Mosquitto', () => {
  const tmp = tempDir('yiwang-cluster-');
  let pgServer: PgServer;
  let broker: Mosquitto;
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  let producer: NodeJS.Timeout | undefined;
  let url = '';

  beforeAll(async () => {
    requireBinary(MOSQUITTO, 'mosquitto');
    pgServer = await startPostgres();
    const admin = new pg.Client({ connectionString: pgServer.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE yiwang_cluster');
    await admin.end();
    url = pgServer.url('yiwang_cluster');

    const users = new Map<string, string>([['collector', 'collector-secret']]);
    for (let i = 0; i < EDGES; i++) users.set(`edge-${i}`, `pw-edge-${i}`);
    const mqPort = await freePort();
    chmodSync(tmp.dir, 0o755); // mosquitto (dropped to its own user) must reach its files
    broker = new Mosquitto(mqPort, join(tmp.dir, 'mosquitto'), users);
    await broker.start();

    for (let n = 1; n <= NODES; n++) {
      const httpPort = await freePort();
      const file = join(tmp.dir, `node-${n}.yaml`);
      writeFileSync(
        file,
        YAML.stringify({
          dataDir: join(tmp.dir, `node-${n}`),
          store: url,
          http: { host: '127.0.0.1', port: httpPort },
          mqtt: { external: { url: `mqtt://127.0.0.1:${mqPort}`, username: 'collector', passwordEnv: 'YIWANG_BROKER_PASSWORD', sharedGroup: 'collectors', clientId: `collector-node-${n}` } },
        }),
      );
      nodes.push(new Node(n, httpPort, file));
    }
    // Nodes start together: the schema migration must still run exactly once.
    await Promise.all(nodes.map((n) => n.start()));

    for (let i = 0; i < EDGES; i++) {
      const id = `edge-${i}`;
      const buffer = EdgeBuffer.open({ dir: join(tmp.dir, 'edges', id), maxBytes: 256 * 1024 * 1024, commitIntervalMs: 100 });
      const uplink = new Uplink({ edgeId: id, url: `mqtt://127.0.0.1:${mqPort}`, username: id, password: `pw-edge-${i}`, buffer, ackTimeoutMs: 3000, reconnect: { minMs: 200, maxMs: 2000 } });
      uplink.start();
      edges.push({ id, buffer, uplink, counter: 0 });
    }
  }, 120_000);

  afterAll(async () => {
    clearInterval(producer);
    for (const e of edges) {
      await e.uplink.stop();
      e.buffer.close();
    }
    for (const n of nodes) await n.stop();
    await broker?.stop();
    pgServer?.stop();
    tmp.remove();
  });

  it('stores every counter value exactly once through node kill, database outage and broker restart', async () => {
    const token = execFileSync(process.execPath, ['bin/yiwang.js', 'collector', 'token', 'create', '--admin', '--name', 'cluster-ops', '--store', url], { encoding: 'utf8' }).trim();
    const feed = openFeed(nodes[0]!.httpPort, token);
    expect(await feed.ready).toBe(200);
    await sleep(4000); // every node learns within a few seconds that someone listens (feed_listeners) and ships readings

    // Each edge counts 1, 2, 3, … as a flow totaliser would, 100 readings/s per edge.
    producer = setInterval(() => {
      for (const e of edges) {
        for (let k = 0; k < 2; k++) e.buffer.addReading({ deviceId: `${e.id}-meter`, metric: 'flow_total', number: ++e.counter, unit: 'count', ts: Date.now(), quality: 0 });
      }
    }, 20);
    const stored = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return Number((await c.query('SELECT count(*) AS n FROM points')).rows[0].n);
      } catch {
        return 0;
      } finally {
        await c.end().catch(() => undefined);
      }
    };
    await waitFor('data flowing', async () => (await stored()) > 2000, 30_000);

    await nodes[1]!.kill(); // kill -9 mid-stream
    await sleep(2000);
    await nodes[1]!.start();
    await sleep(1000);

    pgServer.stopTemporarily(); // the database goes away for 10 s
    const health = async () => {
      const r = await fetch(`http://127.0.0.1:${nodes[0]!.httpPort}/healthz`);
      return { status: r.status, ...((await r.json()) as { db: boolean; broker: boolean }) };
    };
    await waitFor('healthz reports the database down', async () => (await health()).db === false, 8_000);
    expect((await health()).status).toBe(503);
    await sleep(8_000);
    pgServer.startAgain();
    await waitFor('ingest resumes after the database outage', async () => (await stored()) > 0, 30_000);

    expect(await health()).toMatchObject({ status: 200, db: true, broker: true });
    await broker.stop(); // broker restart: every connection drops
    await waitFor('healthz reports the broker down', async () => (await health()).broker === false, 8_000);
    await broker.start();
    await sleep(3000);

    clearInterval(producer);
    producer = undefined;
    const deadline = Date.now() + 90_000;
    await waitFor(
      'every edge buffer drained (all batches acked)',
      () => {
        for (const e of edges) e.buffer.flush();
        return edges.every((e) => e.buffer.stats().rows === 0 && e.buffer.stats().pendingInMemory === 0);
      },
      Math.max(1000, deadline - Date.now()),
    );

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // Every version applied exactly once, whichever node got there first.
      expect(Number((await db.query('SELECT count(*) AS n FROM schema_migrations')).rows[0].n)).toBe(POSTGRES_MIGRATIONS.length);
      for (const e of edges) {
        const n = e.counter;
        const r = (
          await db.query(
            `SELECT count(*) AS n, count(DISTINCT p.value) AS d, min(p.value) AS lo, max(p.value) AS hi, sum(p.value) AS s
             FROM points p JOIN series s ON s.sid = p.sid WHERE s.device_id = $1`,
            [`${e.id}-meter`],
          )
        ).rows[0];
        expect({ edge: e.id, n: Number(r.n), d: Number(r.d), lo: r.lo, hi: r.hi, s: Number(r.s) }).toEqual({ edge: e.id, n, d: n, lo: 1, hi: n, s: (n * (n + 1)) / 2 });
        const ranges = (await db.query('SELECT first, last FROM edge_ranges WHERE edge_id = $1 ORDER BY first', [e.id])).rows;
        expect(ranges.map((x) => [Number(x.first), Number(x.last)])).toEqual([[1, e.buffer.stats().committedSeq]]);
      }
    } finally {
      await db.end();
    }

    // Any node serves the API: each sees all 20 edges' devices.
    for (const n of nodes) {
      const r = await apiJson<{ count: number }>(n.httpPort, token, '/api/v1/devices');
      expect(r.status).toBe(200);
      expect(r.body.count).toBe(EDGES);
    }
    // Every node stored some of the load (the shared subscription split it), and node 1's feed carried everything
    // committed while it was open — including what nodes 2 and 3 committed — with no holes per device.
    const readingsOf = async (n: Node) => Number(/yiwang_collector_readings_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${n.httpPort}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text())![1]);
    expect(await readingsOf(nodes[2]!)).toBeGreaterThan(0);
    await sleep(3000); // the feed catches up from the table after the outage
    feed.close();
    const byDevice = new Map<string, number[]>();
    for (const ev of feed.events) {
      if (ev.event !== 'reading') continue;
      const d = String(ev.data.device);
      byDevice.set(d, [...(byDevice.get(d) ?? []), Number(ev.data.value)]);
    }
    expect(byDevice.size).toBe(EDGES);
    for (const e of edges) {
      const values = [...new Set(byDevice.get(`${e.id}-meter`)!)].sort((a, b) => a - b);
      expect(values.at(-1)).toBe(e.counter);
      expect(values.length).toBe(values.at(-1)! - values[0]! + 1); // contiguous: nothing committed was missed
    }
    // Resuming on another node: node 3 replays, from the shared feed table, exactly what node 1 sent after that id.
    const mid = Math.floor(feed.events.length / 2);
    const resumed = openFeed(nodes[2]!.httpPort, token, '', feed.events[mid]!.id);
    expect(await resumed.ready).toBe(200);
    const want = feed.events.slice(mid + 1, mid + 501);
    await waitFor('replay on node 3', () => resumed.events.length >= want.length, 20_000);
    resumed.close();
    expect(resumed.events.slice(0, want.length).map((x) => [x.id, x.event, x.data.device, x.data.value])).toEqual(want.map((x) => [x.id, x.event, x.data.device, x.data.value]));
  }, 240_000);
});

// Edge benchmark (npm run bench:edge): in one run on the same disk —
//   (a) readings/s committed by the durable buffer alone,
//   (b) readings/s from MQTT JSON publishers through the edge's embedded broker, adapter and normalizer into
//       the durable buffer (the real EdgeAgent in a child process; publishers in another),
//   (c) readings/s drained from a pre-built backlog to the real collector (child process) while live readings
//       keep flowing, with the live readings' delivery latency at the collector,
//   (d) peak RSS of the edge agent with 1, 100 and 1,000 devices (MQTT JSON + Modbus TCP) on a 10 M-reading backlog,
// plus two yardsticks: one better-sqlite3 row per reading, and vmagent taking the same readings as line protocol.
//
// Flags: --quick (smaller, ~1.5 min), --only a,raw,vm,b,c,d, --qos 0|1 (part b, default 1), --backlog N (part c),
//        --rss-backlog N (part d), --prof (CPU profile of the edge child in part b, written to a temp dir),
//        --window N (part b, QoS 1 publishes in flight per connection, default 500),
//        --edge-env K=V,K2=V2 (extra environment of the edge child), --edge-node-args '--flag ...' (its node flags), --edge-js DIR (run the edge child from a
//        tsc-compiled copy of the repo with plain node: `npx tsc -p . --noEmit false --outDir DIR`, then
//        link DIR/node_modules and DIR/device-profiles and copy the .proto files).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeBuffer } from '../edge/buffer/index.js';
import { DEVICE_ACCOUNT_COST, hashSecret } from '../core/secrets.js';
import { benchBufferIngest, benchRawSqliteRows } from './edge-buffer.js';
import { procMemory } from './edge-roles.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROLES = fileURLToPath(new URL('./edge-roles.ts', import.meta.url));
const VMAGENT = '/usr/bin/vmagent';

// ---------- options ----------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('quick');
const ONLY = new Set((opt('only') ?? 'a,raw,vm,b,c,d').split(',').map((s) => s.trim()));
const QOS = (Number(opt('qos') ?? 1) === 0 ? 0 : 1) as 0 | 1;
const EDGE_JS = opt('edge-js');
// --edge-node-args '--a --b': V8/Node flags for the edge child (some, like --optimize-for-size, are refused in NODE_OPTIONS).
const EDGE_NODE_ARGS = (opt('edge-node-args') ?? '').split(/\s+/).filter(Boolean);
const EDGE_ENV = Object.fromEntries((opt('edge-env') ?? '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
// Part (c) runs twice: with the agent's default backlogRateLimit (50,000/s) and with this cap (default:
// effectively uncapped, to see what the path can do).
const DRAIN_CAP = Number(opt('drain-cap') ?? 10_000_000);
const SIZES = {
  ingest: QUICK ? 1_000_000 : 3_000_000,
  raw: QUICK ? 300_000 : 1_000_000,
  loadSeconds: QUICK ? 5 : 10,
  drainBacklog: Number(opt('backlog') ?? (QUICK ? 1_000_000 : 3_000_000)),
  drainBacklogUncapped: Number(opt('backlog') ?? (QUICK ? 1_000_000 : 2_000_000)),
  rssBacklog: Number(opt('rss-backlog') ?? (QUICK ? 2_000_000 : 10_000_000)),
  rssSeconds: QUICK ? 15 : 25,
};

// ---------- small helpers ----------

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bench-edge-${name}-`));
const summary: string[] = [];

function verdict(label: string, ok: boolean, text: string): void {
  const line = `${ok ? 'PASS' : 'MISS'}  ${label}: ${text}`;
  summary.push(line);
  console.log(`    -> ${line}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime (fields 14, 15) in clock ticks
  } catch {
    return NaN;
  }
}

/** A bench/edge-roles.ts child driven over IPC. */
class Child {
  readonly proc: ChildProcess;
  ready!: Record<string, unknown> & { pid: number };
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly readyP: Promise<void>;
  private exited = false;

  constructor(readonly role: string, args: object, nodeArgs: string[] = []) {
    // Diagnostics for the edge child only: --edge-js runs it from a tsc-compiled tree with plain node (no tsx
    // loader thread), --edge-env adds environment variables (e.g. glibc malloc tuning).
    const edge = role === 'edge';
    if (edge) nodeArgs = [...EDGE_NODE_ARGS, ...nodeArgs];
    const entry = edge && EDGE_JS ? [path.join(EDGE_JS, 'bench', 'edge-roles.js')] : ['--import', 'tsx', ROLES];
    const env = edge ? { ...process.env, ...EDGE_ENV } : process.env;
    this.proc = spawn(process.execPath, [...nodeArgs, ...entry, role, JSON.stringify(args)], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.readyP = new Promise((resolve, reject) => {
      this.proc.on('message', (m: { type?: string; id?: number; result?: unknown; error?: string; pid?: number }) => {
        if (m.type === 'ready') {
          this.ready = m as Child['ready'];
          resolve();
        } else if (m.id !== undefined) {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.error) p?.reject(new Error(m.error));
          else p?.resolve(m.result);
        }
      });
      this.proc.on('exit', (code, sig) => {
        this.exited = true;
        const err = new Error(`bench child ${role} exited (${code ?? sig})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async start(timeoutMs = 120_000): Promise<this> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.readyP, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${this.role} not ready in ${timeoutMs} ms`)), timeoutMs)))]).finally(() => clearTimeout(t));
    return this;
  }

  call<T>(cmd: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd });
    });
  }

  /** Graceful stop (the role's own stop), SIGKILL if it takes longer than `ms`. */
  async stop(ms = 20_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      this.proc.send({ id: this.nextId++, cmd: 'stop' });
    } catch {
      /* channel already closed: the kill below ends it */
    }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await gone;
    clearTimeout(t);
  }
}

interface EdgeStats {
  committedSeq: number;
  nextSeq: number;
  rows: number;
  bytes: number;
  pendingInMemory: number;
  health: Record<string, number>;
  protocols: string[];
  uplink: { connected: boolean; ackedBatches: number; sentBatches: number };
  heapMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  hwmMB: number;
  rssMB: number;
}

interface EdgeDevices {
  mqtt: number;
  modbus: { port: number; unitId: number }[];
}

const MQTT_USER = 'field';
const MQTT_PASSWORD = 'bench-field-secret';
let mqttHash: string | undefined;

/** Writes an edge config (JSON is YAML) with `mqtt` air-quality devices and the given Modbus radar gauges. */
function writeEdgeConfig(dir: string, o: { bufferDir: string; uplinkUrl: string; uplinkPassword?: string; backlogRateLimit?: number; devices: EdgeDevices; mqttPrefix?: string }): string {
  mqttHash ??= hashSecret(MQTT_PASSWORD, DEVICE_ACCOUNT_COST); // as `yiwang edge mqtt-user add` writes it
  const devices: object[] = [];
  for (let i = 0; i < o.devices.mqtt; i++) {
    devices.push({ id: `${o.mqttPrefix ?? 'AQ-'}${i}`, profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: `aq${i}` } });
  }
  o.devices.modbus.forEach((m, j) => {
    devices.push({ id: `RL-${j}`, profile: 'radar-level-modbus', connection: { host: '127.0.0.1', port: m.port, unitId: m.unitId, pollIntervalMs: 10_000 } });
  });
  const cfg = {
    edge: { id: 'bench-edge' },
    site: { id: 'BENCH', name: 'bench site', type: 'street' },
    uplink: { url: o.uplinkUrl, password: o.uplinkPassword ?? 'none', ...(o.backlogRateLimit ? { backlogRateLimit: o.backlogRateLimit } : {}) },
    buffer: { dir: o.bufferDir, maxBytes: 8_000_000_000, commitIntervalMs: 500 },
    admin: { host: '127.0.0.1', port: 0 },
    protocols: o.devices.mqtt ? { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: 0, users: [{ username: MQTT_USER, passwordHash: mqttHash }] } } } : {},
    devices,
  };
  const file = path.join(dir, 'edge.yaml');
  fs.writeFileSync(file, JSON.stringify(cfg, null, 1));
  return file;
}

/** Adds `n` readings straight into a buffer (past timestamps, unique per device+metric), committed. */
async function fillBacklog(dir: string, n: number, devices = 1000): Promise<number> {
  const buffer = EdgeBuffer.open({ dir, maxBytes: 8e9 });
  const t0 = performance.now();
  try {
    const ids = Array.from({ length: devices }, (_, i) => `BL-${i}`);
    const ts = Date.now() - n - 60_000;
    let last = 0;
    for (let i = 0; i < n; i++) {
      last = buffer.addReading({ deviceId: ids[i % devices]!, metric: 'water_level', number: (i % 1000) * 0.01, unit: 'm', ts: ts + i });
      if ((i & 16383) === 16383) await new Promise((r) => setImmediate(r));
    }
    buffer.flush();
    await buffer.whenCommitted(last);
  } finally {
    buffer.close();
  }
  return (performance.now() - t0) / 1000;
}

// ---------- (a) and the SQLite yardstick ----------

async function partA(): Promise<void> {
  const r = await benchBufferIngest(SIZES.ingest, 'FULL');
  console.log(`(a) buffer alone, synchronous=FULL: ${fmt(r.readingsPerSecond)} readings/s committed (${fmt(r.readings)} in ${r.seconds.toFixed(2)} s, ${r.bytesPerReading.toFixed(1)} B/reading on disk)`);
  verdict('(a) buffer ingest ≥ 1,000,000/s', r.readingsPerSecond >= 1_000_000, `${fmt(r.readingsPerSecond)} readings/s`);
}

function partRaw(): void {
  const raw = benchRawSqliteRows(SIZES.raw);
  console.log(`[yardstick] raw better-sqlite3, one row per reading (prepared INSERT, 50k-row transactions, WAL+FULL): ${fmt(raw.rowsPerSecond)} rows/s`);
  summary.push(`      yardstick: one SQLite row per reading ${fmt(raw.rowsPerSecond)} rows/s`);
}

// ---------- vmagent yardstick ----------

async function vmMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function partVm(): Promise<void> {
  if (!fs.existsSync(VMAGENT)) {
    console.log('[yardstick] vmagent not installed (apt-get install victoria-metrics)');
    summary.push('      yardstick: vmagent not installed (apt-get install victoria-metrics)');
    return;
  }
  const dir = tmp('vmagent');
  const port = await freePort();
  const closed = await freePort();
  const vm = spawn(VMAGENT, [`-httpListenAddr=127.0.0.1:${port}`, `-remoteWrite.url=http://127.0.0.1:${closed}/api/v1/write`, `-remoteWrite.tmpDataPath=${dir}`, '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let load: Child | undefined;
  try {
    for (let i = 0; ; i++) {
      if (i > 100) throw new Error('vmagent did not come up');
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break;
      await sleep(100);
    }
    load = await new Child('vmload', { port, linesPerBody: 20_000, concurrency: 4, devices: 1000 }).start();
    await sleep(1500);
    const metric = 'vmagent_rows_inserted_total{type="influx"}';
    const r0 = await vmMetric(port, metric);
    const t0 = performance.now();
    await sleep(SIZES.loadSeconds * 1000);
    const r1 = await vmMetric(port, metric);
    const secs = (performance.now() - t0) / 1000;
    const l = await load.call<{ errors: number; lastError: string }>('stats');
    const mem = procMemory(vm.pid!);
    const rate = (r1 - r0) / secs;
    console.log(
      `[yardstick] vmagent 1.79, InfluxDB line protocol over HTTP (4 concurrent 20k-line POSTs), remote down: ${fmt(rate)} points/s accepted; vmagent peak RSS ${mem.hwmMB.toFixed(0)} MB${l.errors ? `; ${l.errors} failed posts (${l.lastError})` : ''}` +
        ' (it queues in RAM first: a kill -9 loses that part)',
    );
    summary.push(`      yardstick: vmagent ${fmt(rate)} points/s accepted (remote down), peak RSS ${mem.hwmMB.toFixed(0)} MB`);
  } finally {
    await load?.stop();
    const gone = new Promise((r) => vm.once('exit', r));
    vm.kill('SIGTERM');
    const t = setTimeout(() => vm.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- (b) MQTT JSON in -> durable buffer ----------

async function partB(): Promise<void> {
  const dir = tmp('mqtt-in');
  const devices = 100;
  const file = writeEdgeConfig(dir, { bufferDir: path.join(dir, 'buffer'), uplinkUrl: `mqtt://127.0.0.1:${await freePort()}`, devices: { mqtt: devices, modbus: [] } });
  const profDir = flag('prof') ? tmp('prof') : undefined;
  const edge = new Child('edge', { configFile: file }, profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
  let pub: Child | undefined;
  try {
    await edge.start();
    const url = `mqtt://127.0.0.1:${edge.ready.mqttPort as number}`;
    const topicIds = Array.from({ length: devices }, (_, i) => `aq${i}`);
    pub = await new Child('publisher', { url, username: MQTT_USER, password: MQTT_PASSWORD, topicIds, mode: 'flood', qos: QOS, connections: 4, window: Number(opt('window') ?? 500) }).start();
    await sleep(2000); // warm-up: JIT, first commits
    const s0 = await edge.call<EdgeStats>('stats');
    const p0 = await pub.call<{ sent: number }>('stats');
    const c0 = cpuSeconds(edge.pid);
    const cp0 = cpuSeconds(pub.pid);
    const t0 = performance.now();
    await sleep(SIZES.loadSeconds * 1000);
    const s1 = await edge.call<EdgeStats>('stats');
    const p1 = await pub.call<{ sent: number }>('stats');
    const secs = (performance.now() - t0) / 1000;
    const edgeCpu = (cpuSeconds(edge.pid) - c0) / secs;
    const pubCpu = (cpuSeconds(pub.pid) - cp0) / secs;
    const rate = (s1.committedSeq - s0.committedSeq) / secs;
    const msgRate = (p1.sent - p0.sent) / secs;
    console.log(
      `(b) MQTT JSON -> embedded aedes -> MQTT adapter -> normalizer -> buffer (QoS ${QOS}, ${devices} air-quality devices on 4 connections, 10 readings/message): ` +
        `${fmt(rate)} readings/s committed (${fmt(msgRate)} messages/s published; edge process ${(edgeCpu * 100).toFixed(0)}% CPU, publisher ${(pubCpu * 100).toFixed(0)}% CPU; edge peak RSS ${s1.hwmMB.toFixed(0)} MB, pending in memory ${fmt(s1.pendingInMemory)})`,
    );
    verdict(`(b) MQTT JSON in ≥ 75,000/s (QoS ${QOS})`, rate >= 75_000, `${fmt(rate)} readings/s`);
  } finally {
    await pub?.stop();
    await edge.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    if (profDir) console.log(`    CPU profile of the edge process: ${profDir}`);
  }
}

// ---------- (c) backlog drain to the real collector with live readings ----------

interface CollectorStats {
  readings: number;
  live: number;
  backlog: number;
  firstAt: number;
  backlogDoneAt: number;
  latDuring: { n: number; p50: number; p99: number; max: number };
  latAfter: { n: number; p50: number; p99: number; max: number };
  hwmMB: number;
}

async function partC(): Promise<void> {
  await drainRun(50_000, SIZES.drainBacklog); // the agent's default backlogRateLimit
  if (DRAIN_CAP !== 50_000) await drainRun(DRAIN_CAP, SIZES.drainBacklogUncapped);
}

async function drainRun(cap: number, n: number): Promise<void> {
  const dir = tmp('drain');
  const collector = new Child('collector', { dataDir: path.join(dir, 'collector'), edgeId: 'bench-edge', livePrefix: 'LIVE-', backlog: n });
  let edge: Child | undefined;
  let pub: Child | undefined;
  try {
    await collector.start();
    const bufferDir = path.join(dir, 'buffer');
    const fillS = await fillBacklog(bufferDir, n);
    const liveDevices = 100;
    const file = writeEdgeConfig(dir, {
      bufferDir,
      uplinkUrl: `mqtt://127.0.0.1:${collector.ready.mqttPort as number}`,
      uplinkPassword: collector.ready.password as string,
      backlogRateLimit: cap,
      devices: { mqtt: liveDevices, modbus: [] },
      mqttPrefix: 'LIVE-',
    });
    // Live publishers first so live data flows from the start of the drain.
    const cc0 = cpuSeconds(collector.pid);
    const tStart = performance.now();
    edge = await new Child('edge', { configFile: file }).start();
    const url = `mqtt://127.0.0.1:${edge.ready.mqttPort as number}`;
    const topicIds = Array.from({ length: liveDevices }, (_, i) => `aq${i}`);
    pub = await new Child('publisher', { url, username: MQTT_USER, password: MQTT_PASSWORD, topicIds, mode: 'interval', intervalMs: 1000, qos: 1, connections: 10 }).start();
    const deadline = Date.now() + (QUICK ? 120_000 : 240_000);
    let s: CollectorStats;
    for (;;) {
      await sleep(250);
      s = await collector.call<CollectorStats>('stats');
      if (s.backlogDoneAt || Date.now() > deadline) break;
    }
    const wall = (performance.now() - tStart) / 1000;
    const collectorCpu = (cpuSeconds(collector.pid) - cc0) / wall;
    const edgeCpu = cpuSeconds(edge.pid) / wall;
    await sleep(3000); // live readings after the drain, for comparison
    s = await collector.call<CollectorStats>('stats');
    const e = await edge.call<EdgeStats>('stats');
    const done = s.backlogDoneAt > 0;
    const secs = ((done ? s.backlogDoneAt : Date.now()) - s.firstAt) / 1000;
    const rate = s.backlog / secs;
    const d = s.latDuring;
    const a = s.latAfter;
    console.log(
      `(c) drain ${fmt(n)}-reading backlog (built in ${fillS.toFixed(1)} s) to the real collector (child process, acks after its commit), backlogRateLimit ${cap >= 10_000_000 ? 'uncapped' : fmt(cap)}: ` +
        `${fmt(rate)} readings/s${done ? '' : ` — NOT finished: ${fmt(s.backlog)} of ${fmt(n)} stored`}; ` +
        `live readings (100 MQTT devices x 10 readings/s) source ts -> committed at collector during the drain: p50 ${fmt(d.p50)} ms, p99 ${fmt(d.p99)} ms, max ${fmt(d.max)} ms (n=${fmt(d.n)}); ` +
        `after it: p50 ${fmt(a.p50)} ms, max ${fmt(a.max)} ms; collector ${(collectorCpu * 100).toFixed(0)}% CPU, peak RSS ${s.hwmMB.toFixed(0)} MB; edge ${(edgeCpu * 100).toFixed(0)}% CPU, peak RSS ${e.hwmMB.toFixed(0)} MB`,
    );
    const capNote = cap < 10_000_000 ? ` (backlogRateLimit ${fmt(cap)}/s, the default)` : ' (uncapped)';
    verdict(`(c) drain ≥ 50,000/s${capNote}`, done && rate >= 50_000, `${fmt(rate)} readings/s`);
    verdict(`(c) live < 2 s during drain (max)${capNote}`, d.n > 0 && d.max < 2000, `max ${fmt(d.max)} ms, p99 ${fmt(d.p99)} ms over ${fmt(d.n)} live readings`);
  } finally {
    await pub?.stop();
    await edge?.stop();
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- (d) edge RSS with 1, 100, 1000 devices on a large backlog ----------

async function partD(): Promise<void> {
  const dir = tmp('rss');
  const bufferDir = path.join(dir, 'buffer');
  let sim: Child | undefined;
  try {
    const fillS = await fillBacklog(bufferDir, SIZES.rssBacklog);
    const dbBytes = fs.readdirSync(bufferDir).reduce((s, f) => s + fs.statSync(path.join(bufferDir, f)).size, 0);
    console.log(`(d) backlog of ${fmt(SIZES.rssBacklog)} readings written in ${fillS.toFixed(1)} s (${fmt(SIZES.rssBacklog / fillS)} readings/s), ${(dbBytes / 2 ** 20).toFixed(0)} MB on disk; uplink points at a closed port`);
    const ports = 5;
    sim = await new Child('modbus-sim', { ports, unitsPerPort: 100 }).start();
    const simPorts = sim.ready.ports as number[];
    for (const total of [1, 100, 1000]) {
      const mqtt = Math.ceil(total / 2);
      const modbus = Array.from({ length: total - mqtt }, (_, j) => ({ port: simPorts[j % ports]!, unitId: 1 + Math.floor(j / ports) }));
      const runDir = fs.mkdtempSync(path.join(dir, 'cfg-'));
      const file = writeEdgeConfig(runDir, { bufferDir, uplinkUrl: `mqtt://127.0.0.1:${await freePort()}`, devices: { mqtt, modbus } });
      const edge = new Child('edge', { configFile: file });
      let pub: Child | undefined;
      try {
        await edge.start();
        const started = await edge.call<EdgeStats>('stats');
        const url = `mqtt://127.0.0.1:${edge.ready.mqttPort as number}`;
        const topicIds = Array.from({ length: mqtt }, (_, i) => `aq${i}`);
        pub = await new Child('publisher', { url, username: MQTT_USER, password: MQTT_PASSWORD, topicIds, mode: 'interval', intervalMs: 5000, qos: 1 }).start();
        const s0 = await edge.call<EdgeStats>('stats');
        let peakRss = 0;
        for (let t = 0; t < SIZES.rssSeconds; t++) {
          await sleep(1000);
          peakRss = Math.max(peakRss, procMemory(edge.pid).rssMB);
        }
        const s1 = await edge.call<EdgeStats>('stats');
        const hwm = procMemory(edge.pid).hwmMB;
        const health = Object.entries(s1.health).map(([k, v]) => `${v} ${k}`).join(', ');
        console.log(
          `(d) ${fmt(total)} device(s) (${mqtt} MQTT JSON, 1 connection each, every 5 s; ${total - mqtt} Modbus TCP polled every 10 s)${EDGE_JS ? ' [compiled JS]' : ''}${Object.keys(EDGE_ENV).length ? ` [env ${Object.entries(EDGE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}]` : ''}: ` +
            `peak RSS (VmHWM) ${hwm.toFixed(0)} MB (${started.hwmMB.toFixed(0)} MB after startEdge, ${s0.hwmMB.toFixed(0)} MB once all MQTT devices connected), RSS at end ${s1.rssMB.toFixed(0)} MB (heap ${s1.heapMB.toFixed(0)} MB, external ${s1.externalMB.toFixed(0)} MB); ` +
            `${fmt(s1.committedSeq - s0.committedSeq)} items committed in ${SIZES.rssSeconds} s; health: ${health}; buffer ${fmt(s1.rows)} chunks, ${(s1.bytes / 2 ** 20).toFixed(0)} MB`,
        );
        if (total === 1000) verdict(`(d) RSS ≤ 100 MB, 1,000 devices + ${fmt(SIZES.rssBacklog)}-reading backlog`, hwm <= 100, `peak ${hwm.toFixed(0)} MB`);
        else summary.push(`      (d) ${total} device(s): peak RSS ${hwm.toFixed(0)} MB`);
      } finally {
        await pub?.stop();
        await edge.stop();
      }
    }
  } finally {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- main ----------

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(`bench:edge on ${os.cpus().length} cores, temp dirs under ${os.tmpdir()}${QUICK ? ' (--quick)' : ''}; parts: ${[...ONLY].join(',')}`);
  const parts: [string, () => Promise<void> | void][] = [
    ['a', partA],
    ['raw', partRaw],
    ['vm', partVm],
    ['b', partB],
    ['c', partC],
    ['d', partD],
  ];
  for (const [name, run] of parts) {
    if (!ONLY.has(name)) continue;
    try {
      await run();
    } catch (err) {
      console.error(`part ${name} failed:`, err);
      summary.push(`FAIL  part ${name}: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
  console.log(`\nSummary (targets for a 2-core box), ${((performance.now() - t0) / 1000).toFixed(0)} s:`);
  for (const l of summary) console.log(`  ${l}`);
}

await main();

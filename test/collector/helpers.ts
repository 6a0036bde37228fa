// Test helpers: a collector on ephemeral ports in a temp dir, a minimal edge uplink client (real mqtt),
// and the plumbing for tests against real external servers (Mosquitto, VictoriaMetrics).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../core/log.js';
import { decodeAck, encodeBatch } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import type { Ack, Batch, Reading } from '../../schema/types.js';
import { defaultConfig, type CollectorConfig } from '../../collector/config.js';
import { startCollector, type Collector } from '../../collector/index.js';
import type { CollectorStore } from '../../collector/store/index.js';
import type { SqlDb } from '../../collector/store/sql/driver.js';
import { freshDatabase } from '../helpers/postgres.js';

/** Every collector test that touches the store runs against both engines (one suite, two stores). */
export const STORES = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

/** A store for one test file: the embedded default, or a fresh PostgreSQL database on the test cluster. */
export async function testStore(kind: StoreKind): Promise<{ url: string; cleanup: () => Promise<void> }> {
  if (kind === 'sqlite') return { url: 'sqlite', cleanup: async () => undefined };
  const db = await freshDatabase();
  return { url: db.url, cleanup: db.drop };
}

/** The store's SQL connection, for assertions on stored rows. */
export const sqlOf = (store: CollectorStore): SqlDb => (store as unknown as { db: SqlDb }).db;

export async function countRows(store: CollectorStore, table: string, where = ''): Promise<number> {
  const r = await sqlOf(store).get<{ n: number }>(`SELECT count(*) AS n FROM ${table} ${where ? `WHERE ${where}` : ''}`);
  return Number(r?.n ?? 0);
}

export function tempDir(prefix = 'yiwang-collector-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, patch: (c: CollectorConfig) => void = () => undefined): CollectorConfig {
  const c = defaultConfig();
  c.dataDir = dataDir;
  c.http = { host: '127.0.0.1', port: 0 };
  c.mqtt = { embedded: { host: '127.0.0.1', port: 0 } };
  patch(c);
  return c;
}

export async function startTestCollector(dataDir: string, patch?: (c: CollectorConfig) => void, store = 'sqlite'): Promise<Collector> {
  return startCollector({
    config: testConfig(dataDir, (c) => {
      c.store = store;
      patch?.(c);
    }),
    log: silentLogger,
  });
}

/** A bare edge uplink: connects with credentials, subscribes to its ack topic, publishes batches. */
export class TestEdge {
  readonly acks: Ack[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly id: string, readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic !== topics.ack(id)) return;
      this.acks.push(decodeAck(payload));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(port: number, id: string, password: string, opts: { subscribe?: boolean; username?: string } = {}): Promise<TestEdge> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: `${id}-${Math.random().toString(16).slice(2, 8)}`,
      username: opts.username ?? id,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const edge = new TestEdge(id, client);
    if (opts.subscribe !== false) await client.subscribeAsync(topics.ack(id), { qos: 1 });
    return edge;
  }

  async publish(b: Batch): Promise<void> {
    await this.client.publishAsync(topics.batch(this.id), Buffer.from(encodeBatch(b)), { qos: 1 });
  }

  async publishRaw(payload: Buffer, topic = topics.batch(this.id)): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Waits for an ack matching `pred` (default: the given batch id). */
  async waitAck(pred: number | ((a: Ack) => boolean), timeoutMs = 10_000): Promise<Ack> {
    const match = typeof pred === 'number' ? (a: Ack) => a.batchId === pred && !a.rejected : pred;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.acks.find(match);
      if (a) return a;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`edge ${this.id}: no matching ack within ${timeoutMs} ms (got ${JSON.stringify(this.acks.slice(-3))})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async send(b: Batch): Promise<Ack> {
    await this.publish(b);
    return this.waitAck(b.batchId);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** A batch of `n` readings with consecutive seqs starting at `firstSeq`. */
export function readingsBatch(
  edgeId: string,
  batchId: number,
  firstSeq: number,
  n: number,
  opts: { device?: string | ((i: number) => string); metric?: string; ts0?: number; stepMs?: number; value?: (i: number) => number } = {},
): Batch {
  const ts0 = opts.ts0 ?? Date.now() - 60_000;
  const readings: Reading[] = [];
  for (let i = 0; i < n; i++) {
    const device = typeof opts.device === 'function' ? opts.device(i) : (opts.device ?? `${edgeId}-dev1`);
    readings.push({
      deviceId: device,
      metric: opts.metric ?? 'water_level',
      number: opts.value ? opts.value(firstSeq + i) : firstSeq + i,
      unit: 'm',
      ts: ts0 + (firstSeq + i) * (opts.stepMs ?? 1000),
      quality: 0,
      seq: firstSeq + i,
    });
  }
  return { edgeId, batchId, firstSeq, lastSeq: firstSeq + n - 1, readings, sentAt: Date.now() };
}

export async function api(port: number, token: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
}

export async function apiJson<T = Record<string, unknown>>(port: number, token: string | undefined, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await api(port, token, path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails (never skips) when a server binary the test needs is not installed. */
export function requireBinary(path: string, debianPackage: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install Debian's ${debianPackage} package (apt-get install ${debianPackage}) to run this test`);
}

/** Polls `fn` every 100 ms until it is true; throws after `timeoutMs`. */
export async function waitFor(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** SIGTERM and wait until the process has exited (no-op if it never started or already exited). */
export async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** A real SSE client over fetch: collects events until closed. */
export function openFeed(port: number, token: string, query = '', lastEventId?: string) {
  const ctrl = new AbortController();
  const events: SseEvent[] = [];
  let markEnded!: () => void;
  const ended = new Promise<void>((r) => (markEnded = r));
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const ready = fetch(`http://127.0.0.1:${port}/api/v1/feed${query}`, { headers, signal: ctrl.signal }).then(async (res) => {
    const status = res.status;
    if (status !== 200 || !res.body) return status;
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    void (async () => {
      try {
        for (;;) {
          const { value: chunk, done } = await reader.read();
          if (done) return markEnded();
          buf += dec.decode(chunk, { stream: true });
          let idx;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            const f: Record<string, string> = {};
            for (const line of block.split('\n')) {
              const m = /^(\w+): (.*)$/.exec(line);
              if (m) f[m[1]!] = m[2]!;
            }
            if (f.data) events.push({ id: f.id ?? '', event: f.event ?? '', data: JSON.parse(f.data) });
          }
        }
      } catch {
        /* aborted */
      }
      markEnded();
    })();
    return status;
  });
  return { ready, events, ended, close: () => ctrl.abort() };
}


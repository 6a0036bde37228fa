// A real collector (either store) with one edge and bureau tokens, for the analytics tests: records and readings
// go in through MQTT like an edge's, answers come from the HTTP API.
import type { Collector } from '../../../collector/index.js';
import type { Batch, DeviceRecord, Reading, SensingEvent } from '../../../schema/types.js';
import { apiJson, startTestCollector, tempDir, testStore, TestEdge, type StoreKind } from '../helpers.js';
import type { CollectorConfig } from '../../../collector/config.js';

export interface AnalyticsFixture {
  c: Collector;
  edge: TestEdge;
  tok: Record<string, string>;
  /** Sends records, readings and events as one batch with fresh seqs. */
  send(items: { records?: DeviceRecord[]; readings?: Omit<Reading, 'seq'>[]; events?: Omit<SensingEvent, 'seq'>[] }): Promise<void>;
  get<T = Record<string, unknown>>(path: string, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function analyticsFixture(kind: StoreKind, patch?: (c: CollectorConfig) => void): Promise<AnalyticsFixture> {
  const s = await testStore(kind);
  const tmp = tempDir();
  const c = await startTestCollector(tmp.dir, patch, s.url);
  const pw = await c.addEdge('edge-a');
  const tok: Record<string, string> = {};
  for (const b of ['water', 'environment', 'fire']) tok[b] = await c.createToken({ name: `${b}-bureau`, bureau: b });
  tok.admin = await c.createToken({ name: 'ops', admin: true });
  const edge = await TestEdge.connect(c.mqttPort!, 'edge-a', pw);
  let seq = 1;
  let batchId = 1;
  return {
    c,
    edge,
    tok,
    async send(items) {
      const first = seq;
      const b: Batch = { edgeId: 'edge-a', batchId: batchId++, firstSeq: first, lastSeq: first, sentAt: Date.now() };
      b.records = (items.records ?? []).map((r) => ({ ...r, seq: seq++ }));
      b.readings = (items.readings ?? []).map((r) => ({ ...r, seq: seq++ }) as Reading);
      b.events = (items.events ?? []).map((e) => ({ ...e, seq: seq++ }) as SensingEvent);
      b.lastSeq = seq - 1;
      const ack = await edge.send(b);
      if (ack.rejected) throw new Error(`batch rejected: ${ack.error}`);
    },
    get: (path, token = tok.water) => apiJson(c.httpPort, token, path),
    async stop() {
      await edge.close();
      await c.stop();
      await s.cleanup();
      tmp.remove();
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** 08:00 Beijing time (= 00:00 UTC) `days` hydrological days ago. */
export const hydroDayStart = (days: number) => Math.floor(Date.now() / DAY) * DAY - days * DAY;

// Uplink against a real MQTT broker (aedes) with an acking, deduplicating test collector.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { EdgeBuffer, type EdgeBufferOptions } from '../../../edge/buffer/index.js';
import { Uplink, type UplinkOptions } from '../../../edge/uplink/index.js';
import { decodeEdgeStatus } from '../../../schema/codec.js';
import { topics } from '../../../schema/topics.js';
import { EventKind, Severity, type EdgeStatus } from '../../../schema/types.js';
import { TestCollector } from '../../fixtures/test-collector.js';
import { TcpProxy } from '../../fixtures/tcp-proxy.js';
import { runAndKill } from '../../fixtures/edge-writer-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'uplink-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
async function startCollector(): Promise<TestCollector> {
  const c = new TestCollector(path.join(tmpDir(), 'collector.db'));
  await c.start();
  cleanups.push(() => c.stop());
  return c;
}
function openBuffer(opts: Partial<EdgeBufferOptions> = {}): EdgeBuffer {
  const b = EdgeBuffer.open({ dir: tmpDir(), maxBytes: 1e9, commitIntervalMs: 50, ...opts });
  cleanups.push(() => b.close());
  return b;
}
function startUplink(opts: Partial<UplinkOptions> & Pick<UplinkOptions, 'url' | 'buffer' | 'edgeId'>): Uplink {
  const u = new Uplink({ reconnect: { minMs: 50, maxMs: 250 }, ackTimeoutMs: 2000, ...opts });
  u.start();
  cleanups.push(() => u.stop());
  return u;
}
async function waitFor(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const addReadings = (b: EdgeBuffer, n: number, dev = 'd'): number[] =>
  Array.from({ length: n }, (_, i) => b.addReading({ deviceId: `${dev}${i % 5}`, metric: 'flow', number: i, unit: 'm3/h', ts: Date.now() }));

/** The retained status of an edge as a fresh subscriber sees it. */
async function retainedStatus(url: string, edgeId: string): Promise<EdgeStatus> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    return await new Promise<EdgeStatus>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no retained status')), 3000);
      client.on('message', (_t, payload) => {
        clearTimeout(t);
        resolve(decodeEdgeStatus(payload));
      });
      client.subscribe(topics.status(edgeId), { qos: 1 });
    });
  } finally {
    await client.endAsync();
  }
}

describe('Uplink', () => {
  it('delivers every seq exactly once, deletes acked chunks and publishes a retained online status', async () => {
    const collector = await startCollector();
    const buffer = openBuffer({ maxChunkItems: 500 });
    const uplink = startUplink({ edgeId: 'edge-a', url: collector.url, buffer, version: '0.1.0' });
    await waitFor(() => uplink.state().connected, 'connected');
    const seqs = addReadings(buffer, 4000);
    seqs.push(buffer.addEvent({ deviceId: 'd1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'x', ts: 1 }));
    seqs.push(buffer.addRecord({ id: 'd1', name: 'D1' }));
    seqs.push(...addReadings(buffer, 1000));
    await waitFor(() => collector.count('edge-a') === seqs.length && buffer.stats().rows === 0, 'all items acked');
    expect(collector.seqs('edge-a')).toEqual(range(1, seqs.length));
    expect(collector.duplicateItems).toBe(0);
    const st = uplink.state();
    expect(st.connected).toBe(true);
    expect(st.ackedBatches).toBe(st.sentBatches);
    expect(st.lastAckAt).not.toBeNull();
    expect(collector.batches.every((b) => !b.historical)).toBe(true);
    const status = await retainedStatus(collector.url, 'edge-a');
    expect(status).toMatchObject({ edgeId: 'edge-a', online: true, version: '0.1.0' });
    await uplink.stop();
    expect((await retainedStatus(collector.url, 'edge-a')).online).toBe(false);
  });

  it('after a collector outage drains the backlog as historical, live first, every seq exactly once', async () => {
    const collector = await startCollector();
    const buffer = openBuffer({ maxChunkItems: 1000 });
    const uplink = startUplink({ edgeId: 'edge-b', url: collector.url, buffer, backlogRateLimit: 20_000 });
    addReadings(buffer, 2000);
    await waitFor(() => collector.count('edge-b') === 2000, 'first items');
    await collector.stop();
    await waitFor(() => !uplink.state().connected, 'disconnect noticed');
    const outageSeqs = addReadings(buffer, 30_000);
    buffer.flush();
    const batchesBefore = collector.batches.length;
    await collector.start();
    await waitFor(() => uplink.state().connected, 'reconnect');
    // Live data keeps coming during the drain.
    let last = outageSeqs[outageSeqs.length - 1]!;
    const producer = setInterval(() => (last = addReadings(buffer, 200).pop()!), 50);
    try {
      await waitFor(() => uplink.state().backlogChunks === 0 && uplink.state().inFlight === 0, 'backlog drained', 20_000);
    } finally {
      clearInterval(producer);
    }
    buffer.flush();
    await waitFor(() => collector.count('edge-b') === last && buffer.stats().rows === 0, 'everything acked');
    expect(collector.seqs('edge-b')).toEqual(range(1, last));

    const after = collector.batches.slice(batchesBefore);
    const historical = after.filter((b) => b.historical);
    expect(historical.length).toBeGreaterThanOrEqual(30);
    // The backlog is sent oldest-first.
    const hFirst = historical.map((b) => b.firstSeq);
    expect(hFirst).toEqual([...hFirst].sort((a, b) => a - b));
    // Live batches did not wait for the backlog: one arrived before the last historical one.
    const lastHistoricalIdx = after.map((b) => b.historical).lastIndexOf(true);
    const firstLiveIdx = after.findIndex((b) => !b.historical);
    expect(firstLiveIdx).toBeGreaterThanOrEqual(0);
    expect(firstLiveIdx).toBeLessThan(lastHistoricalIdx);
    // The rate cap held: 30000 backlog items at 20000/s need more than a second.
    const drainMs = historical[historical.length - 1]!.at - historical[0]!.at;
    expect(drainMs).toBeGreaterThan(1000);
  });

  it('redelivers when an ack is lost; the collector deduplicates', async () => {
    const collector = await startCollector();
    collector.dropAcks = 2;
    const buffer = openBuffer({ maxChunkItems: 300 });
    const uplink = startUplink({ edgeId: 'edge-c', url: collector.url, buffer, ackTimeoutMs: 300 });
    addReadings(buffer, 1500);
    await waitFor(() => buffer.stats().rows === 0 && buffer.stats().pendingInMemory === 0 && uplink.state().inFlight === 0, 'all acked');
    expect(collector.droppedAcks).toBe(2);
    expect(uplink.state().resentBatches).toBeGreaterThanOrEqual(2);
    expect(collector.duplicateItems).toBeGreaterThan(0);
    expect(collector.seqs('edge-c')).toEqual(range(1, 1500));
  });

  /** Chunks of `per` readings each from device `dev` (one flush per chunk). */
  const chunksOf = (b: EdgeBuffer, dev: string, chunks: number, per = 10): void => {
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < per; i++) b.addReading({ deviceId: dev, metric: 'flow', number: i, unit: 'm3/h', ts: Date.now() });
      b.flush();
    }
  };
  const hasDevice = (dev: string) => (batch: { readings?: { deviceId: string }[] }) => (batch.readings ?? []).some((r) => r.deviceId === dev);

  it('parks every rejected batch (kept, counted, never resent on its own) while good ones keep flowing past a full window of bad ones', async () => {
    const collector = await startCollector();
    collector.rejectWhen = (b) => (hasDevice('bad')(b) ? 'invalid: ts far in the future' : undefined);
    const buffer = openBuffer({ maxChunkItems: 10, commitIntervalMs: 1000 });
    const uplink = startUplink({ edgeId: 'edge-d', url: collector.url, buffer, maxInFlight: 8, ackTimeoutMs: 300 });
    await waitFor(() => uplink.state().connected, 'connected');
    chunksOf(buffer, 'bad', 12); // more than the in-flight window
    chunksOf(buffer, 'good', 10);
    await waitFor(() => collector.count('edge-d') === 100 && uplink.state().rejectedBatches === 12, 'good delivered, bad rejected');
    // Several ack timeouts later nothing was resent and the bad chunks are all still on disk.
    await new Promise((r) => setTimeout(r, 1200));
    const sentBad = collector.batches.filter((b) => b.items === 0);
    expect(sentBad).toHaveLength(12);
    expect(new Set(sentBad.map((b) => b.batchId)).size).toBe(12);
    expect(buffer.stats().rows).toBe(12);
    expect(buffer.parkedSummary()).toMatchObject({ chunks: 12, items: 120, byReason: { 'invalid: ts far in the future': 12 } });
    expect(uplink.state()).toMatchObject({ rejectedBatches: 12, inFlight: 0, resentBatches: 0 });
    // Later data is not held up either.
    chunksOf(buffer, 'good', 3);
    await waitFor(() => collector.count('edge-d') === 130, 'later good data');
    // The operator fixed the cause at the collector and asks for a retry of one, then of all.
    collector.rejectWhen = undefined;
    const [one] = buffer.parkedChunks(1);
    expect(uplink.retryParked([one!.id])).toBe(1);
    await waitFor(() => collector.count('edge-d') === 140, 'one retried chunk delivered');
    expect(buffer.parkedSummary().chunks).toBe(11);
    expect(uplink.retryParked('all')).toBe(11);
    await waitFor(() => buffer.stats().rows === 0, 'all parked chunks delivered');
    expect(collector.seqs('edge-d')).toEqual(range(1, 250));
  });

  it('a rejection the collector cannot attribute (batch_id 0) is counted; a batch that keeps going unanswered is parked', async () => {
    const collector = await startCollector();
    collector.rejectUnidentified = hasDevice('bad');
    const buffer = openBuffer({ maxChunkItems: 10, commitIntervalMs: 1000 });
    const uplink = startUplink({ edgeId: 'edge-z', url: collector.url, buffer, maxInFlight: 4, ackTimeoutMs: 200, maxUnansweredSends: 2 });
    await waitFor(() => uplink.state().connected, 'connected');
    chunksOf(buffer, 'bad', 6); // fills the whole window
    chunksOf(buffer, 'good', 5);
    await waitFor(() => collector.count('edge-z') === 50, 'good data past a window full of unattributable rejections', 20_000);
    await waitFor(() => buffer.parkedSummary().chunks === 6, 'the six bad chunks parked');
    const st = uplink.state();
    expect(st.unattributedRejections).toBeGreaterThanOrEqual(12); // each bad chunk was sent and refused at least twice
    expect(st.unansweredParked).toBe(6);
    expect(Object.keys(buffer.parkedSummary().byReason)).toEqual(['no answer from the collector after 2 sends while it answered other batches']);
    expect(buffer.stats().rows).toBe(6);
  });

  it('stop() finishes within its bound when the collector link black-holes, with the buffer intact', async () => {
    const collector = await startCollector();
    const proxy = await new TcpProxy(collector.port).start();
    cleanups.push(() => proxy.stop());
    const buffer = openBuffer({ maxChunkItems: 100 });
    const uplink = new Uplink({ edgeId: 'edge-s', url: proxy.url, buffer, reconnect: { minMs: 50, maxMs: 250 }, ackTimeoutMs: 5000, stopTimeoutMs: 1000 });
    uplink.start();
    await waitFor(() => uplink.state().connected, 'connected');
    addReadings(buffer, 300);
    await waitFor(() => collector.count('edge-s') === 300 && buffer.stats().items === 0, 'first readings delivered and acked');
    proxy.blackhole();
    addReadings(buffer, 500); // in flight into the hole
    buffer.flush();
    await waitFor(() => uplink.state().inFlight > 0, 'batches in flight');
    const t0 = Date.now();
    await uplink.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(buffer.stats().items).toBe(500); // nothing acked, nothing lost
  });

  it('refuses a batch limit below the chunk size', () => {
    const buffer = openBuffer({ maxChunkItems: 1000 });
    expect(() => new Uplink({ edgeId: 'e', url: 'mqtt://127.0.0.1:1', buffer, maxBatchItems: 10 })).toThrow(/maxChunkItems/);
    expect(() => new Uplink({ edgeId: 'bad/id', url: 'mqtt://127.0.0.1:1', buffer })).toThrow(/edge id/);
  });

  it('an edge killed mid-stream and restarted leaves no gap and no duplicate at the collector', async () => {
    const collector = await startCollector();
    const dir = tmpDir();
    const env = { UPLINK_URL: collector.url, EDGE_ID: 'edge-k' };
    const run1 = await runAndKill(dir, 10, env);
    // The broker publishes the last will once it notices the dead socket: the edge shows offline.
    let status = await retainedStatus(collector.url, 'edge-k');
    for (let i = 0; i < 50 && status.online; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await retainedStatus(collector.url, 'edge-k');
    }
    expect(status.online).toBe(false);
    const run2 = await runAndKill(dir, 10, env);
    expect(run2.first).toBeGreaterThan(run1.lastCommitted);
    // A third start drains what the killed runs left un-acked.
    const buffer = EdgeBuffer.open({ dir, maxBytes: 1e9, commitIntervalMs: 50 });
    cleanups.push(() => buffer.close());
    startUplink({ edgeId: 'edge-k', url: collector.url, buffer });
    await waitFor(() => buffer.stats().rows === 0, 'leftovers drained');
    const got = collector.seqs('edge-k');
    expect(new Set(got).size).toBe(got.length);
    const run1Got = got.filter((s) => s < run2.first);
    const run2Got = got.filter((s) => s >= run2.first);
    // Each run's seqs are contiguous from its first seq through at least its last printed commit.
    expect(run1Got).toEqual(range(1, run1Got.length));
    expect(run1Got.length).toBeGreaterThanOrEqual(run1.lastCommitted);
    expect(run2Got).toEqual(range(run2.first, run2.first + run2Got.length - 1));
    expect(run2Got[run2Got.length - 1]).toBeGreaterThanOrEqual(run2.lastCommitted);
  });
});

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

  it('keeps a rejected batch aside, counts it, and offers it again later', async () => {
    const collector = await startCollector();
    collector.rejectWith = 'unsupported schema';
    const buffer = openBuffer();
    const uplink = startUplink({ edgeId: 'edge-d', url: collector.url, buffer, rejectedRetryMs: 600 });
    addReadings(buffer, 10);
    await waitFor(() => uplink.state().rejectedBatches === 1, 'rejection');
    collector.rejectWith = undefined;
    addReadings(buffer, 10); // later data is not blocked by the rejected chunk
    await waitFor(() => uplink.state().ackedBatches >= 1, 'live batch acked');
    expect(buffer.stats().rows).toBe(1);
    await waitFor(() => buffer.stats().rows === 0, 'rejected chunk retried and acked', 5000);
    expect(uplink.state().rejectedBatches).toBe(1);
    expect(collector.seqs('edge-d')).toEqual(range(1, 20));
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

// InfluxDB v2 write path against a real server speaking the protocol (VictoriaMetrics), stopped and restarted
// mid-test: the durable outbox must deliver every reading exactly once in the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../collector/index.js';
import { lineFor, nanoTimestamp } from '../../collector/store/influx-line.js';
import { freePort } from '../../core/net.js';
import { readingsBatch, requireBinary, startTestCollector, stopProcess, tempDir, testStore, TestEdge, waitFor } from './helpers.js';

const VM = '/usr/bin/victoria-metrics';

class VictoriaMetrics {
  proc: ChildProcess | undefined;
  constructor(readonly port: number, readonly dataDir: string) {}
  async start(): Promise<void> {
    this.proc = spawn(VM, ['-retentionPeriod=100y', `-httpListenAddr=127.0.0.1:${this.port}`, `-storageDataPath=${this.dataDir}`, '-loggerLevel=ERROR'], { stdio: 'ignore' });
    await waitFor('victoria-metrics /health', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${this.port}/health`)).ok;
      } catch {
        return false;
      }
    });
  }
  stop(): Promise<void> {
    return stopProcess(this.proc);
  }
  async export(metric: string): Promise<{ values: number[]; timestamps: number[]; metric: Record<string, string> }[]> {
    await fetch(`http://127.0.0.1:${this.port}/internal/force_flush`);
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/export?match[]=${encodeURIComponent(`{__name__="${metric}"}`)}`);
    const text = await res.text();
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }
}

describe('line protocol mapping', () => {
  const r = { deviceId: 'dev 1', metric: 'water_level', unit: 'm', aggregate: 0, periodS: 0, ts: 1700000000000, seq: 1, value: 1.25, isBool: false, text: null, quality: 1, edgeId: 'e1', site: 's,1' };
  it('uses one measurement per metric, ids/site/unit as tags, value and quality as fields, ns timestamps', () => {
    expect(lineFor(r)).toBe('water_level,device_id=dev\\ 1,edge_id=e1,site=s\\,1,unit=m value=1.25,quality=1i 1700000000000000001');
    expect(lineFor({ ...r, metric: 'smoke_alarm', unit: 'bool', value: 1, isBool: true, quality: 0, site: null, ts: 5, seq: 1_000_002 })).toBe('smoke_alarm,device_id=dev\\ 1,edge_id=e1,unit=bool value=true,quality=0i 5000002');
  });
  it('keeps readings that share a millisecond apart (sub-ms digits from the seq) and aggregates as their own series', () => {
    const a = lineFor({ ...r, seq: 41 });
    const b = lineFor({ ...r, seq: 42 });
    const tsOf = (line: string) => BigInt(line.split(' ').at(-1)!);
    expect(tsOf(b) - tsOf(a)).toBe(1n);
    expect(tsOf(a) / 1_000_000n).toBe(BigInt(r.ts)); // never moved by a whole millisecond
    expect(nanoTimestamp(1700000000123, 7_000_123)).toBe('1700000000123000123');
    expect(lineFor({ ...r, aggregate: 3, periodS: 3600 })).toMatch(/^water_level,device_id=dev\\ 1,edge_id=e1,site=s\\,1,unit=m,aggregate=max,period_s=3600 /);
  });
});

describe('InfluxDB export with the database restarted', () => {
  const tmp = tempDir();
  let vm: VictoriaMetrics;
  let c: Collector;
  let edge: TestEdge;

  beforeAll(async () => {
    requireBinary(VM, 'victoria-metrics');
    vm = new VictoriaMetrics(await freePort(), join(tmp.dir, 'vm'));
    await vm.start();
    c = await startTestCollector(join(tmp.dir, 'collector'), (cfg) => {
      cfg.influx = { url: `http://127.0.0.1:${vm.port}`, token: 'unused', org: 'yiwang', bucket: 'yiwang', flushIntervalMs: 100, batchLines: 5000 };
    });
    edge = await TestEdge.connect(c.mqttPort!, 'edge-i', await c.addEdge('edge-i'));
  });
  afterAll(async () => {
    await edge?.close();
    await c?.stop();
    await vm?.stop();
    tmp.remove();
  });

  it('delivers everything written while the server was down once it is back', async () => {
    const ts0 = Date.now() - 3_600_000;
    await edge.send(readingsBatch('edge-i', 1, 1, 150, { device: 'i-dev', ts0 }));
    await waitFor('first flush', async () => (await c.influx!.pending()).lines === 0);
    expect(c.metrics.influxWritten.total()).toBe(150);
    await vm.stop();
    await edge.send(readingsBatch('edge-i', 2, 151, 150, { device: 'i-dev', ts0 }));
    await waitFor('a failed flush', () => c.metrics.influxFailures.total() > 0);
    expect((await c.influx!.pending()).lines).toBe(150); // kept in the outbox, not lost
    await vm.start();
    await waitFor('outbox drained after restart', async () => (await c.influx!.pending()).lines === 0, 40_000);
    expect(c.metrics.influxWritten.total()).toBe(300);
    const series = await vm.export('water_level_value');
    expect(series.length).toBe(1);
    expect(series[0]!.metric).toMatchObject({ device_id: 'i-dev', edge_id: 'edge-i', unit: 'm' });
    const ts = series[0]!.timestamps;
    expect(ts.length).toBe(300);
    expect(new Set(ts).size).toBe(300);
    expect(series[0]!.values.reduce((a, b) => a + b, 0)).toBe((300 * 301) / 2);
    const quality = await vm.export('water_level_quality');
    expect(quality[0]!.values.every((v) => v === 0)).toBe(true);
    // Three readings of one series in one millisecond all arrive: VictoriaMetrics keeps ms timestamps and, without
    // its -dedup.minScrapeInterval option, every sample (README: do not enable dedup for yiwang data); InfluxDB keeps
    // them apart by the sub-millisecond digits.
    const t = Date.now() - 1000;
    const burst = readingsBatch('edge-i', 3, 301, 3, { device: 'burst', metric: 'pipe_pressure', ts0: t, stepMs: 0, value: (i) => i });
    for (const r of burst.readings!) r.ts = t;
    await edge.send(burst);
    await waitFor('burst flushed', async () => (await c.influx!.pending()).lines === 0);
    const b = await vm.export('pipe_pressure_value');
    expect(b[0]!.timestamps).toEqual([t, t, t]);
    expect([...b[0]!.values].sort()).toEqual([301, 302, 303]);
  }, 90_000);
});

describe('InfluxDB export from two nodes on one PostgreSQL store', () => {
  const tmp = tempDir();
  let vm: VictoriaMetrics;
  const nodes: Collector[] = [];
  let cleanup: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    requireBinary(VM, 'victoria-metrics');
    vm = new VictoriaMetrics(await freePort(), join(tmp.dir, 'vm'));
    await vm.start();
    const s = await testStore('postgres');
    cleanup = s.cleanup;
    for (const n of [1, 2]) {
      nodes.push(
        await startTestCollector(
          join(tmp.dir, `node-${n}`),
          (cfg) => (cfg.influx = { url: `http://127.0.0.1:${vm.port}`, token: 'unused', org: 'yiwang', bucket: 'yiwang', flushIntervalMs: 20, batchLines: 50 }),
          s.url,
        ),
      );
    }
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await vm?.stop();
    await cleanup();
    tmp.remove();
  });

  it('sends every outbox line once: the nodes share the outbox without sending the same rows', async () => {
    const edge = await TestEdge.connect(nodes[0]!.mqttPort!, 'edge-x2', await nodes[0]!.addEdge('edge-x2'));
    const ts0 = Date.now() - 3_600_000;
    for (let b = 0; b < 20; b++) await edge.send(readingsBatch('edge-x2', b + 1, b * 50 + 1, 50, { device: 'x2-dev', metric: 'flow_rate', ts0 }));
    await edge.close();
    await waitFor('outbox drained by both nodes', async () => (await nodes[0]!.influx!.pending()).lines === 0, 30_000);
    const sent = nodes.map((n) => n.metrics.influxWritten.total());
    expect(sent[0]! + sent[1]!).toBe(1000); // each line sent by exactly one node
    const series = await vm.export('flow_rate_value');
    expect(series[0]!.timestamps.length).toBe(1000);
    expect(new Set(series[0]!.timestamps).size).toBe(1000);
  }, 60_000);
});

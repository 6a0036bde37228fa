// Config parsing, secrets, CLI token/edge management, and admission control of the ingest queue.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { encodeBatch } from '../../schema/codec.js';
import { hashSecret, verifySecret } from '../../core/secrets.js';
import { resolveToken } from '../../collector/auth/tokens.js';
import { collectorCli } from '../../collector/cli.js';
import { ConfigError, loadConfig, parseConfig } from '../../collector/config.js';
import { IngestPipeline } from '../../collector/ingest/pipeline.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { openStore } from '../../collector/store/index.js';
import { gapsOf, normalize, subtract } from '../../collector/store/ranges.js';
import { chooseResolution } from '../../collector/store/sql/series.js';
import { readingsBatch, sleep, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('collector config', () => {
  it('loads the shipped sample, and expands ${VAR} from collector.env next to the file', () => {
    expect(loadConfig('collector/collector.sample.yaml').store).toBe('sqlite');
    const dir = join(tmp.dir, 'envcfg');
    mkdirSync(dir);
    writeFileSync(join(dir, 'collector.yaml'), 'store: postgres://yiwang:${YW_TEST_PG_SECRET}@db.local/yiwang\n');
    writeFileSync(join(dir, 'collector.env'), 'YW_TEST_PG_SECRET=s3cret\n', { mode: 0o600 });
    expect(loadConfig(join(dir, 'collector.yaml')).store).toBe('postgres://yiwang:s3cret@db.local/yiwang');
    writeFileSync(join(dir, 'collector.yaml'), 'http: {prot: 1}\nstore: ${YW_TEST_UNSET_VAR}\n');
    expect(() => loadConfig(join(dir, 'collector.yaml'))).toThrow(/YW_TEST_UNSET_VAR is not set[\s\S]*|http\.prot: unknown key \(did you mean "port"\?\)/);
  });

  it('takes the alarms block over its defaults and names its mistakes', () => {
    const c = parseConfig({ alarms: { sweepIntervalS: 5, quarantineClearAfterS: 600 } });
    expect(c.alarms).toMatchObject({ sweepIntervalS: 5, quarantineClearAfterS: 600, edgeOfflineAfterS: 120, retryAttempts: 6 });
    expect(() => parseConfig({ alarms: { sweepIntervalS: 0 } })).toThrow(/alarms\.sweepIntervalS: must be >= 1/);
    expect(() => parseConfig({ alarms: { edgeOfflinAfterS: 3 } })).toThrow(/alarms\.edgeOfflinAfterS: unknown key \(did you mean "edgeOfflineAfterS"\?\)/);
  });

  it('needs no file: defaults for everything', () => {
    const c = loadConfig(undefined);
    expect(c.dataDir).toBe('./data/collector');
    expect(c.http.port).toBe(8080);
    expect(c.mqtt.embedded?.port).toBe(1883);
    expect(c.influx).toBeUndefined();
  });

  it('reads YAML and applies --data-dir/--http-port/--mqtt-port overrides', () => {
    const f = join(tmp.dir, 'c.yaml');
    writeFileSync(f, 'dataDir: /var/lib/yiwang\nhttp: {port: 9000}\nmqtt: {embedded: {port: 1884}}\nretention: {rawDays: 7}\ningest: {maxQueue: 10}\n');
    const c = loadConfig(f, { httpPort: 0, mqttPort: 0, dataDir: '/tmp/x' });
    expect([c.dataDir, c.http.port, c.mqtt.embedded?.port, c.retention.rawDays, c.retention.hourDays, c.ingest.maxQueue]).toEqual(['/tmp/x', 0, 0, 7, 3650, 10]);
  });

  it('names the path of every unknown key and bad value', () => {
    const bad = () =>
      parseConfig({
        http: { port: 70000, colour: 'red' },
        mqtt: { external: { url: 'http://x' } },
        edges: [{ id: 'e 1', passwordHash: 'plain' }],
        retention: { rawDays: -1 },
        influx: { url: 'x' },
        extra: 1,
      });
    expect(bad).toThrow(ConfigError);
    let msg = '';
    try {
      bad();
    } catch (err) {
      msg = (err as Error).message;
    }
    for (const part of ['http.port', 'http.colour: unknown key', 'mqtt.external.url', 'edges[0].id', 'edges[0].passwordHash', 'retention.rawDays', 'influx.url', 'extra: unknown key']) {
      expect(msg).toContain(part);
    }
  });

  it('refuses --mqtt-port with an external broker', () => {
    const f = join(tmp.dir, 'ext.yaml');
    writeFileSync(f, 'mqtt:\n  external: {url: "mqtt://broker:1883", sharedGroup: collectors}\n');
    expect(loadConfig(f).mqtt.external?.sharedGroup).toBe('collectors');
    expect(() => loadConfig(f, { mqttPort: 1 })).toThrow(/--mqtt-port/);
  });
});

describe('secrets and sequence ranges', () => {
  it('hashes with scrypt and verifies in constant time', async () => {
    const h = await hashSecret('s3cret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(h).not.toContain('s3cret');
    expect(await verifySecret('s3cret', h)).toBe(true);
    expect(await verifySecret('s3creT', h)).toBe(false);
    expect(await verifySecret('s3cret', 'scrypt$garbage')).toBe(false);
  });

  it('merges, subtracts and finds gaps', () => {
    expect(normalize([{ first: 5, last: 9 }, { first: 1, last: 3 }, { first: 4, last: 4 }, { first: 20, last: 25 }])).toEqual([{ first: 1, last: 9 }, { first: 20, last: 25 }]);
    expect(subtract(1, 30, [{ first: 5, last: 9 }, { first: 20, last: 25 }])).toEqual([{ first: 1, last: 4 }, { first: 10, last: 19 }, { first: 26, last: 30 }]);
    expect(subtract(5, 9, [{ first: 1, last: 10 }])).toEqual([]);
    expect(gapsOf([{ first: 1, last: 9 }, { first: 20, last: 25 }])).toEqual([{ first: 10, last: 19 }]);
  });

  it('chooses raw points for short ranges and rollups for long ones', () => {
    const base = { agg: 'avg' as const, rawDays: 30, minuteDays: 365, now: 100 * 86_400_000 };
    const to = base.now;
    expect(chooseResolution({ ...base, from: to - 3_600_000, to })).toEqual({ resolution: 'raw', step: null });
    expect(chooseResolution({ ...base, from: to - 86_400_000, to })).toEqual({ resolution: '1m', step: 120_000 });
    expect(chooseResolution({ ...base, from: to - 30 * 86_400_000, to })).toEqual({ resolution: '1h', step: 3_600_000 });
    expect(chooseResolution({ ...base, from: to - 3_600_000, to, step: 10_000 })).toEqual({ resolution: 'raw', step: 10_000 });
    expect(chooseResolution({ ...base, from: to - 40 * 86_400_000, to, step: 10_000 }).resolution).toBe('1m'); // raw expired
  });
});

describe('collector CLI', () => {
  it('creates bureau tokens and edges in the data directory, printing secrets once', async () => {
    const dir = join(tmp.dir, 'cli');
    let out = '';
    const write = (s: string) => void (out += s);
    expect(await collectorCli(['token', 'create', '--bureau', 'water', '--data-dir', dir], write)).toBe(0);
    const token = out.trim();
    out = '';
    expect(await collectorCli(['edge', 'add', '--id', 'edge-cli', '--data-dir', dir], write)).toBe(0);
    const password = out.trim();
    out = '';
    expect(await collectorCli(['token', 'create', '--bureau', 'water', '--role', 'operator', '--name', 'water-duty', '--data-dir', dir], write)).toBe(0);
    const operator = out.trim();
    out = '';
    await expect(collectorCli(['token', 'create', '--bureau', 'water', '--role', 'boss', '--data-dir', dir], write)).rejects.toThrow('role "boss" must be viewer or operator');
    const store = await openStore({ dataDir: dir });
    try {
      expect(await resolveToken(store, token)).toEqual({ name: 'water-bureau', admin: false, bureau: 'water', role: 'viewer' });
      expect(await resolveToken(store, operator)).toEqual({ name: 'water-duty', admin: false, bureau: 'water', role: 'operator' });
      expect(await verifySecret(password, (await store.edges.get('edge-cli'))!.password_hash)).toBe(true);
    } finally {
      await store.close();
    }
    out = '';
    expect(await collectorCli(['--help'], write)).toBe(0);
    expect(out).toContain('token create');
    expect(await collectorCli(['token', 'frobnicate', '--data-dir', dir], write)).toBe(2);
  });
});

describe('ingest admission control', () => {
  it('holds the transport back while the queue is full and releases it after the commit', async () => {
    const store = await openStore({ dataDir: join(tmp.dir, 'bp') });
    const cfg = { maxQueue: 2, maxPayloadBytes: 1 << 20, maxItemsPerBatch: 1000, unknownDevices: 'claim' as const, commitIntervalMs: 150 };
    const p = new IngestPipeline(store, cfg, new CollectorMetrics(), silentLogger, false);
    const acks: number[] = [];
    p.publishAck = (_e, a) => acks.push(a.batchId);
    try {
      const pay = (i: number) => Buffer.from(encodeBatch(readingsBatch('bp', i, i * 10, 10)));
      let released = 0;
      void p.offer('bp', pay(1)).then(() => released++);
      void p.offer('bp', pay(2)).then(() => released++);
      const third = p.offer('bp', pay(3)).then(() => released++);
      await sleep(20);
      expect(released).toBe(1); // the second filled the queue; it and the third wait
      expect(acks).toEqual([]);
      await third;
      expect(acks).toEqual([1, 2, 3]);
      expect(released).toBe(3);
    } finally {
      p.stop();
      await store.close();
    }
  });
});

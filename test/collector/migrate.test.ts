// `yiwang collector migrate --from DATA_DIR --to postgres://…` as an operator runs it: an embedded collector's
// registry, series, events, quarantine, edges and tokens arrive in PostgreSQL, and a collector started on
// PostgreSQL carries on: same API answers, tokens and edge passwords still work, redeliveries still recognised.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EventKind, Severity } from '../../schema/types.js';
import { apiJson, readingsBatch, startTestCollector, tempDir, testStore, TestEdge } from './helpers.js';

describe('migrating an embedded collector to PostgreSQL', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('moves everything and the PostgreSQL collector continues where the embedded one stopped', async () => {
    const embedded = await startTestCollector(tmp.dir);
    const password = await embedded.addEdge('edge-m');
    const token = await embedded.createToken({ name: 'water-m', bureau: 'water' });
    const e = await TestEdge.connect(embedded.mqttPort!, 'edge-m', password);
    await e.send({ edgeId: 'edge-m', batchId: 1, firstSeq: 1, lastSeq: 1, records: [{ id: 'M-WL-1', name: '迁移水位计', sharingScope: ['water'], seq: 1 }] });
    const b = readingsBatch('edge-m', 2, 2, 300, { device: 'M-WL-1', ts0: Date.now() - 3_600_000, stepMs: 10_000 });
    b.events = [{ deviceId: 'M-WL-1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'above alarm line', ts: Date.now() - 1000, seq: 302, code: 'water_level.alarm' }];
    b.lastSeq = 302;
    b.readings![10]!.ts = Date.now() + 400 * 86_400_000; // one bad clock reading: quarantined
    await e.send(b);
    await e.close();
    const before = {
      series: (await apiJson(embedded.httpPort, token, '/api/v1/devices/M-WL-1/series/water_level?from=0')).body,
      latest: (await apiJson(embedded.httpPort, token, '/api/v1/latest')).body,
      events: (await apiJson<{ events: { code?: string }[] }>(embedded.httpPort, token, '/api/v1/events?from=0')).body.events.map((x) => x.code),
      history: (await apiJson<{ history: unknown[] }>(embedded.httpPort, token, '/api/v1/devices/M-WL-1/history')).body.history.length,
    };
    await embedded.stop();

    const pg = await testStore('postgres');
    try {
      const out = execFileSync(process.execPath, ['bin/yiwang.js', 'collector', 'migrate', '--from', tmp.dir, '--to', pg.url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toMatch(/migrated .*points 299/);
      // A second run refuses to mix data into a non-empty database.
      expect(() => execFileSync(process.execPath, ['bin/yiwang.js', 'collector', 'migrate', '--from', tmp.dir, '--to', pg.url], { stdio: 'pipe' })).toThrow(/already holds data/);

      const c = await startTestCollector(tempDir().dir, undefined, pg.url);
      try {
        expect((await apiJson(c.httpPort, token, '/api/v1/devices/M-WL-1/series/water_level?from=0')).body).toEqual(before.series);
        expect((await apiJson(c.httpPort, token, '/api/v1/latest')).body).toEqual(before.latest);
        expect((await apiJson<{ events: { code?: string }[] }>(c.httpPort, token, '/api/v1/events?from=0')).body.events.map((x) => x.code)).toEqual(before.events);
        expect((await apiJson<{ history: unknown[] }>(c.httpPort, token, '/api/v1/devices/M-WL-1/history')).body.history.length).toBe(before.history);
        expect((await c.store.quarantine.list({ device: 'M-WL-1' })).map((q) => q.reason)).toEqual(['bad_timestamp']);
        // The edge logs in with its old password; a redelivered batch is recognised, new seqs continue.
        const e2 = await TestEdge.connect(c.mqttPort!, 'edge-m', password);
        const again = await e2.send(b);
        expect(again.committedThrough).toBe(302);
        const next = await e2.send(readingsBatch('edge-m', 3, 303, 5, { device: 'M-WL-1' }));
        expect(next.committedThrough).toBe(307);
        expect(c.metrics.dedupHits.total()).toBe(301);
        await e2.close();
      } finally {
        await c.stop();
      }
    } finally {
      await pg.cleanup();
    }
  }, 120_000);
});

// Retention on both stores: raw points older than rawDays go (PostgreSQL drops whole day partitions), rollups
// follow their own retention, newer data stays; backlog that arrives for an old day gets its partition on demand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../collector/index.js';
import { countRows, readingsBatch, sqlOf, startTestCollector, STORES, tempDir, testStore, TestEdge } from './helpers.js';

const DAY = 86_400_000;

describe.each(STORES)('retention (%s store)', (kind) => {
  const tmp = tempDir();
  let c: Collector;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, (cfg) => (cfg.retention = { rawDays: 30, minuteDays: 60, hourDays: 3650 }), s.url);
  });
  afterAll(async () => {
    await c.stop();
    await cleanup();
    tmp.remove();
  });

  it('removes raw points and minute rollups past their retention and keeps the rest', async () => {
    const e = await TestEdge.connect(c.mqttPort!, 'edge-ret', await c.addEdge('edge-ret'));
    const now = Date.now();
    // Backlog from 45 days ago (an edge that was offline for weeks), and fresh data.
    await e.send(readingsBatch('edge-ret', 1, 1, 100, { device: 'ret-dev', ts0: now - 45 * DAY, stepMs: 60_000 }));
    await e.send(readingsBatch('edge-ret', 2, 101, 100, { device: 'ret-dev', ts0: now - 2 * DAY, stepMs: 60_000 }));
    await e.close();
    expect(await countRows(c.store, 'points')).toBe(200);
    if (kind === 'postgres') {
      // The old day got its own partition on demand: nothing went to the default partition.
      expect(await countRows(c.store, 'points_default')).toBe(0);
    }
    const removed = await c.store.applyRetention(c.config.retention);
    expect(removed.raw).toBeGreaterThanOrEqual(kind === 'postgres' ? 0 : 100); // PostgreSQL reports an estimate
    expect(await countRows(c.store, 'points')).toBe(100);
    const left = await sqlOf(c.store).get<{ lo: number }>('SELECT min(ts) AS lo FROM points');
    expect(Number(left!.lo)).toBeGreaterThan(now - 30 * DAY);
    // Minute rollups of the old day are within minuteDays (60): kept; hour rollups always.
    expect(await countRows(c.store, 'rollup_1m', `bucket < ${now - 30 * DAY}`)).toBeGreaterThan(0);
    expect(await countRows(c.store, 'rollup_1h', `bucket < ${now - 30 * DAY}`)).toBeGreaterThan(0);
    if (kind === 'postgres') {
      const parts = await sqlOf(c.store).all<{ name: string }>(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'points'",
      );
      const day = new Date(now - 45 * DAY);
      const oldName = `points_p${day.getUTCFullYear()}${String(day.getUTCMonth() + 1).padStart(2, '0')}${String(day.getUTCDate()).padStart(2, '0')}`;
      expect(parts.map((p) => p.name)).not.toContain(oldName); // dropped whole, not emptied row by row
      expect(parts.length).toBeGreaterThanOrEqual(2); // today's and tomorrow's partitions exist ahead of time
    }
  });
});

// The embedded store: one SQLite database (WAL) in the data directory. The default; `npm run demo` and a
// single-process collector need nothing else.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFeed } from '../feed.js';
import type { CommitOptions, CommitResult, IngestJob } from '../plan.js';
import { SqlAlarms } from '../sql/alarms.js';
import { chooseOutboxRows, SqlFacets } from '../sql/facets.js';
import { ingestInTx } from '../sql/ingest.js';
import { migrate, MIGRATIONS_DDL, type MigrationTarget } from '../sql/migrate.js';
import { HOUR, MINUTE } from '../sql/series.js';
import type { CollectorStore, OutboxStore, RetentionDays } from '../types.js';
import { SqliteDb } from './driver.js';
import { SQLITE_MIGRATIONS } from './schema.js';

function migrationTarget(db: SqliteDb): MigrationTarget {
  const w = db.writer.db;
  return {
    // BEGIN IMMEDIATE in apply() already excludes other processes; one process migrates at a time anyway.
    exclusive: (fn) => fn(),
    applied: async () => {
      w.exec(MIGRATIONS_DDL);
      return new Set(w.prepare('SELECT version FROM schema_migrations').all().map((r) => (r as { version: number }).version));
    },
    apply: async (m, now) => {
      w.transaction(() => {
        if (w.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)) return; // another process was first
        w.exec(m.sql);
        w.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(m.version, m.description, now);
      }).immediate();
    },
  };
}

export interface SqliteStoreOptions {
  /** Live-feed items kept for resumption (feed.ringSize). */
  feedRingSize?: number;
}

export class SqliteStore extends SqlFacets implements CollectorStore {
  readonly kind = 'sqlite' as const;
  readonly feed: LocalFeed;
  readonly outbox: OutboxStore;
  readonly alarms: SqlAlarms;
  private readonly edgeNos = new Map<string, number>();

  private constructor(readonly db: SqliteDb, readonly location: string, opts: SqliteStoreOptions) {
    super(db);
    this.feed = new LocalFeed(opts.feedRingSize ?? 10_000);
    this.analytics.useFeed({ afterCommit: (items) => this.feed.publish(items) });
    // One process: alarm feed items are published once their transaction committed.
    this.alarms = new SqlAlarms(db, { inTx: async () => undefined, committed: (items) => this.feed.publish(items) });
    this.outbox = {
      pending: async () => {
        const r = await db.get<{ rows: number; lines: number | null }>('SELECT count(*) AS rows, sum(n) AS lines FROM influx_outbox');
        return { rows: r?.rows ?? 0, lines: r?.lines ?? 0 };
      },
      process: async (maxLines, send) => {
        const rows = await db.all<{ id: number; lines: string; n: number }>('SELECT id, lines, n FROM influx_outbox ORDER BY id LIMIT 1000');
        const { chosen, lines } = chooseOutboxRows(rows, maxLines);
        if (!chosen.length) return { lines: 0, more: false };
        await send(chosen.flatMap((r) => r.lines.split('\n')));
        await db.tx(async (tx) => {
          for (const r of chosen) await tx.run('DELETE FROM influx_outbox WHERE id = $1', [r.id]);
        });
        return { lines, more: rows.length > chosen.length };
      },
    };
  }

  static async open(dataDir: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'collector.db');
    const db = new SqliteDb(file);
    try {
      await migrate(migrationTarget(db), SQLITE_MIGRATIONS);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new SqliteStore(db, file, opts);
  }

  async ingest(jobs: IngestJob[], opts: CommitOptions): Promise<CommitResult> {
    const r = await this.db.tx((tx) => ingestInTx(tx, jobs, opts, this.edgeNos));
    for (const [e, n] of r.edgeNos) this.edgeNos.set(e, n);
    this.feed.publish(r.feed);
    return { outcomes: r.outcomes, pointsWritten: r.pointsWritten, influxLines: r.influxLines };
  }

  async applyRetention(r: RetentionDays, now = Date.now()): Promise<{ raw: number; minute: number; hour: number }> {
    const day = 86_400_000;
    return {
      raw: (await this.db.run('DELETE FROM points WHERE ts < $1', [now - r.rawDays * day])).changes,
      minute: (await this.db.run('DELETE FROM rollup_1m WHERE bucket < $1', [now - r.minuteDays * day - MINUTE])).changes,
      hour: (await this.db.run('DELETE FROM rollup_1h WHERE bucket < $1', [now - r.hourDays * day - HOUR])).changes,
    };
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

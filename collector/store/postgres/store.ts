// The cluster store: PostgreSQL as the system of record for any number of collector processes. The same SQL as
// the embedded store (collector/store/sql), plus: advisory locks per edge around each ingest transaction (dedup
// across nodes), time partitions with retention by DROP, the InfluxDB outbox shared with SKIP LOCKED, and a
// feed table with LISTEN/NOTIFY for the live feed.
import type { CommitOptions, CommitResult, IngestJob } from '../plan.js';
import { SqlAlarms } from '../sql/alarms.js';
import { chooseOutboxRows, SqlFacets } from '../sql/facets.js';
import { ingestInTx } from '../sql/ingest.js';
import { migrate, MIGRATIONS_DDL, type MigrationTarget } from '../sql/migrate.js';
import { HOUR, MINUTE } from '../sql/series.js';
import type { CollectorStore, OutboxStore, RetentionDays } from '../types.js';
import { PgDb } from './driver.js';
import { PgFeed } from './feed.js';
import { DAILY_POINTS, MONTHLY_ROLLUPS, Partitions } from './partitions.js';
import { POSTGRES_MIGRATIONS } from './schema.js';

const MIGRATION_LOCK = 7_311_932_001; // pg_advisory_lock key of schema migrations (any constant unique to yiwang)

function migrationTarget(db: PgDb): MigrationTarget {
  return {
    exclusive: async (fn) => {
      const client = await db.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        }
      } finally {
        client.release();
      }
    },
    applied: async () => {
      await db.run(MIGRATIONS_DDL);
      return new Set((await db.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    },
    apply: (m, now) =>
      db.tx(async (tx) => {
        await tx.run(m.sql);
        await tx.run('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [m.version, m.description, now]);
      }),
  };
}

/** postgres://user:secret@host/db → postgres://user@host/db (for logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export interface PgStoreOptions {
  feedRingSize?: number;
  /** Feed rows kept for Last-Event-ID resumption from any node (default 60 minutes). */
  feedKeepMinutes?: number;
  poolSize?: number;
  onProblem?: (msg: string, detail: Record<string, unknown>) => void;
}

export class PgStore extends SqlFacets implements CollectorStore {
  readonly kind = 'postgres' as const;
  readonly outbox: OutboxStore;
  readonly alarms: SqlAlarms;
  private readonly edgeNos = new Map<string, number>();

  private constructor(
    readonly db: PgDb,
    readonly location: string,
    readonly feed: PgFeed,
    private readonly partitions: Partitions,
    private readonly opts: PgStoreOptions,
  ) {
    super(db);
    this.analytics.useFeed({ inTx: (tx, items) => feed.writeInTx(tx, items) });
    // Alarm feed items go into the shared feed table with their transaction, so every node shows them.
    this.alarms = new SqlAlarms(db, { inTx: (tx, items) => feed.writeInTx(tx, items), committed: () => undefined });
    this.outbox = {
      pending: async () => {
        const r = await db.get<{ rows: number; lines: number | null }>('SELECT count(*) AS rows, sum(n) AS lines FROM influx_outbox');
        return { rows: r?.rows ?? 0, lines: r?.lines ?? 0 };
      },
      // Rows stay locked (FOR UPDATE SKIP LOCKED) while they are sent: other nodes take the next rows. A node that
      // dies mid-send releases them; another node resends them, and the lines overwrite themselves (influx-line.ts).
      process: (maxLines, send) =>
        db.tx(async (tx) => {
          const rows = await tx.all<{ id: number; lines: string; n: number }>('SELECT id, lines, n FROM influx_outbox ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED');
          const { chosen, lines } = chooseOutboxRows(rows, maxLines);
          if (!chosen.length) return { lines: 0, more: false };
          await send(chosen.flatMap((r) => r.lines.split('\n')));
          await tx.runForRows([{ name: 'id', type: 'bigint' }], chosen.map((r) => [r.id]), 'DELETE FROM influx_outbox WHERE id IN (SELECT id FROM u)');
          return { lines, more: rows.length > chosen.length };
        }),
    };
  }

  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const db = new PgDb({ connectionString: url, poolSize: opts.poolSize });
    try {
      await migrate(migrationTarget(db), POSTGRES_MIGRATIONS);
      const partitions = new Partitions(db, opts.onProblem);
      await partitions.load();
      const now = Date.now();
      await partitions.ensure([now, now + 86_400_000]);
      const feed = await PgFeed.start(db, opts.feedRingSize ?? 10_000, (err) => opts.onProblem?.('live feed: database problem', { err: err.message }));
      return new PgStore(db, redactUrl(url), feed, partitions, opts);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  async ingest(jobs: IngestJob[], opts: CommitOptions): Promise<CommitResult> {
    const tss = new Set<number>();
    for (const j of jobs) for (const r of j.batch.readings ?? []) if (Number.isSafeInteger(r.ts)) tss.add(DAILY_POINTS.start(r.ts));
    await this.partitions.ensure(tss);
    const edges = [...new Set(jobs.map((j) => `edge:${j.edgeId}`))];
    const r = await this.db.tx(
      async (tx) => {
        const out = await ingestInTx(tx, jobs, opts, this.edgeNos);
        await this.feed.writeInTx(tx, out.feed);
        return out;
      },
      { lockKeys: edges },
    );
    for (const [e, n] of r.edgeNos) this.edgeNos.set(e, n);
    return { outcomes: r.outcomes, pointsWritten: r.pointsWritten, influxLines: r.influxLines };
  }

  /** Creates the time partitions for these timestamps ahead of a bulk load (migrate). */
  preparePartitions(tss: Iterable<number>): Promise<void> {
    return this.partitions.ensure(tss);
  }

  async applyRetention(r: RetentionDays, now = Date.now()): Promise<{ raw: number; minute: number; hour: number }> {
    const day = 86_400_000;
    const rawCut = now - r.rawDays * day;
    const minuteCut = now - r.minuteDays * day - MINUTE;
    const raw = (await this.partitions.dropOlderThan(DAILY_POINTS, rawCut)) + (await this.db.run('DELETE FROM points_default WHERE ts < $1', [rawCut])).changes;
    const minute = (await this.partitions.dropOlderThan(MONTHLY_ROLLUPS, minuteCut)) + (await this.db.run('DELETE FROM rollup_1m_default WHERE bucket < $1', [minuteCut])).changes;
    const hour = (await this.db.run('DELETE FROM rollup_1h WHERE bucket < $1', [now - r.hourDays * day - HOUR])).changes;
    await this.feed.prune((this.opts.feedKeepMinutes ?? 60) * 60_000);
    const soon = Date.now();
    await this.partitions.ensure([soon, soon + day]);
    return { raw, minute, hour };
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.feed.stop();
    await this.db.close();
  }
}


// Time partitions of the PostgreSQL store: raw points by UTC day (points_pYYYYMMDD), minute rollups by UTC month
// (rollup_1m_pYYYYMM). Partitions are created ahead of time and on demand before an ingest transaction writes
// into a range that has none (history drained from an edge's backlog), and retention drops whole partitions.
// Creating a partition is serialised across nodes by an advisory lock; a row outside every partition lands in
// the DEFAULT partition and is removed by row deletes instead.
import type { PgDb } from './driver.js';

const DAY = 86_400_000;

export interface PartitionSpec {
  parent: 'points' | 'rollup_1m';
  /** Start of the partition containing `ts` (ms, UTC). */
  start(ts: number): number;
  next(start: number): number;
  name(start: number): string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export const DAILY_POINTS: PartitionSpec = {
  parent: 'points',
  start: (ts) => ts - (((ts % DAY) + DAY) % DAY),
  next: (s) => s + DAY,
  name: (s) => {
    const d = new Date(s);
    return `points_p${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  },
};

export const MONTHLY_ROLLUPS: PartitionSpec = {
  parent: 'rollup_1m',
  start: (ts) => {
    const d = new Date(ts);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  },
  next: (s) => {
    const d = new Date(s);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  },
  name: (s) => {
    const d = new Date(s);
    return `rollup_1m_p${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}`;
  },
};

export class Partitions {
  private readonly known = new Set<string>();
  /** Ranges that could not get a partition (the DEFAULT one already holds rows there): not retried every commit. */
  private readonly failedUntil = new Map<string, number>();

  constructor(
    private readonly db: PgDb,
    private readonly onProblem: (msg: string, detail: Record<string, unknown>) => void = () => undefined,
  ) {}

  async load(): Promise<void> {
    const rows = await this.db.all<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname IN ('points', 'rollup_1m')`,
    );
    for (const r of rows) this.known.add(r.name);
  }

  /** Makes sure partitions exist for every timestamp in `tss` (points by day, rollups by month). */
  async ensure(tss: Iterable<number>): Promise<void> {
    const wanted = new Map<string, { spec: PartitionSpec; start: number }>();
    for (const ts of tss) {
      for (const spec of [DAILY_POINTS, MONTHLY_ROLLUPS]) {
        const start = spec.start(ts);
        const name = spec.name(start);
        if (!this.known.has(name) && !wanted.has(name)) wanted.set(name, { spec, start });
      }
    }
    for (const [name, { spec, start }] of wanted) await this.create(name, spec, start);
  }

  private async create(name: string, spec: PartitionSpec, start: number): Promise<void> {
    if ((this.failedUntil.get(name) ?? 0) > Date.now()) return;
    try {
      await this.db.tx(
        async (tx) => {
          await tx.run(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${spec.parent} FOR VALUES FROM (${start}) TO (${spec.next(start)})`);
        },
        { lockKeys: ['yiwang:partitions'] },
      );
      this.known.add(name);
    } catch (err) {
      this.failedUntil.set(name, Date.now() + 3_600_000);
      this.onProblem('cannot create partition; rows of that range stay in the default partition', { partition: name, err: (err as Error).message });
    }
  }

  /** Drops partitions entirely older than `cutoff` (ms); returns their estimated row counts. */
  async dropOlderThan(spec: PartitionSpec, cutoff: number): Promise<number> {
    const rows = await this.db.all<{ name: string; tuples: number }>(
      `SELECT c.relname AS name, c.reltuples AS tuples FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 AND c.relname LIKE $2`,
      [spec.parent, `${spec.parent}_p%`],
    );
    let dropped = 0;
    for (const r of rows) {
      const start = startOf(spec, r.name);
      if (start === undefined || spec.next(start) > cutoff) continue;
      await this.db.tx(async (tx) => {
        await tx.run(`DROP TABLE IF EXISTS ${r.name}`);
      }, { lockKeys: ['yiwang:partitions'] });
      this.known.delete(r.name);
      dropped += Math.max(0, Number(r.tuples));
    }
    return dropped;
  }
}

/** The start of a partition from its name, or undefined for names we did not make. */
export function startOf(spec: PartitionSpec, name: string): number | undefined {
  const m = /_p(\d{4})(\d{2})(\d{2})?$/.exec(name);
  if (!m) return undefined;
  const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, m[3] ? Number(m[3]) : 1);
  return spec.name(start) === name ? start : undefined;
}

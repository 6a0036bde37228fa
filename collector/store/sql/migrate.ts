// Versioned schema migrations: each version applies once, in order, inside its own transaction, and is recorded
// in schema_migrations. The engine supplies how to run a DDL script transactionally and how to keep two
// processes from migrating at the same time (several collector nodes starting together).

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export interface MigrationTarget {
  /** Serialises migrations across processes for the duration of `fn`. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Versions already applied (creating the bookkeeping table when missing). */
  applied(): Promise<Set<number>>;
  /** Runs the script and records the version, in one transaction. */
  apply(m: Migration, now: number): Promise<void>;
}

export const MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL
)`;

/** Applies what is missing; returns the versions applied now. Refuses a database newer than this software. */
export async function migrate(target: MigrationTarget, migrations: Migration[]): Promise<number[]> {
  return target.exclusive(async () => {
    const done = await target.applied();
    const known = new Set(migrations.map((m) => m.version));
    const newer = [...done].filter((v) => !known.has(v) && v > Math.max(...known));
    if (newer.length) {
      throw new Error(`the database has schema version ${Math.max(...newer)}, newer than this collector knows (${Math.max(...known)}): upgrade the collector`);
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await target.apply(m, Date.now());
      applied.push(m.version);
    }
    return applied;
  });
}

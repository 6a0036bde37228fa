// SqlDb over node-postgres (`pg`, the maintained driver every Node PostgreSQL tool builds on). A pool of
// connections; a transaction holds one client from BEGIN to COMMIT. Bulk inserts bind one array per column
// and insert with `SELECT * FROM unnest(…)`: one statement and one round trip for any number of rows.
// Advisory transaction locks serialise work on the same key across every collector node.
import pg from 'pg';
import { columnList, postgresDialect, toColumns, type Column, type ColumnType, type RunResult, type Sql, type SqlDb, type SqlValue, type TxOptions } from '../sql/driver.js';

// int8 (count(*), BIGINT columns) and numeric arrive as strings by default; our values stay below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

const PG_TYPE: Record<ColumnType, string> = { bigint: 'int8', int: 'int4', real: 'float8', text: 'text', bytea: 'bytea' };

function unnestInsert(table: string, columns: readonly Column[], tail: string): string {
  const arrays = columns.map((c, i) => `$${i + 1}::${PG_TYPE[c.type]}[]`).join(', ');
  return `INSERT INTO ${table} ${columnList(columns)} SELECT * FROM unnest(${arrays}) ${tail}`;
}

/** `WITH u(a, b) AS (SELECT * FROM unnest($1::text[], $2::int8[])) <body>` */
function unnestCte(columns: readonly Column[], body: string): string {
  const arrays = columns.map((c, i) => `$${i + 1}::${PG_TYPE[c.type]}[]`).join(', ');
  return `WITH u(${columns.map((c) => c.name).join(', ')}) AS (SELECT * FROM unnest(${arrays})) ${body}`;
}

type Queryable = pg.Pool | pg.PoolClient;

class QuerySql implements Sql {
  readonly dialect = postgresDialect;
  constructor(protected readonly q: Queryable) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.q.query(sql, params as unknown[])).rows as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.q.query(sql, params as unknown[])).rows[0] as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return { changes: (await this.q.query(sql, params as unknown[])).rowCount ?? 0 };
  }
  async insertMany(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail = ''): Promise<RunResult> {
    if (!rows.length) return { changes: 0 };
    const res = await this.q.query(unnestInsert(table, columns, tail), toColumns(columns, rows));
    return { changes: res.rowCount ?? 0 };
  }
  async insertManyReturning<T>(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail: string): Promise<T[]> {
    if (!rows.length) return [];
    return (await this.q.query(unnestInsert(table, columns, tail), toColumns(columns, rows))).rows as T[];
  }
  async runForRows(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<RunResult> {
    if (!rows.length) return { changes: 0 };
    return { changes: (await this.q.query(unnestCte(columns, body), toColumns(columns, rows))).rowCount ?? 0 };
  }
  async allForRows<T>(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<T[]> {
    if (!rows.length) return [];
    return (await this.q.query(unnestCte(columns, body), toColumns(columns, rows))).rows as T[];
  }
}

export interface PgOptions {
  connectionString: string;
  /** Connections per collector process (default 8). */
  poolSize?: number;
  /** Give up a query after this long (default 30 s): a hung database must not hang ingest forever. */
  statementTimeoutMs?: number;
  /** Reported to PostgreSQL as application_name (pg_stat_activity). */
  applicationName?: string;
}

export class PgDb extends QuerySql implements SqlDb {
  readonly pool: pg.Pool;

  constructor(readonly opts: PgOptions) {
    const pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? 8,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      application_name: opts.applicationName ?? 'yiwang-collector',
    });
    super(pool);
    this.pool = pool;
    // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
  }

  async tx<T>(fn: (tx: Sql) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      try {
        for (const key of [...new Set(opts.lockKeys ?? [])].sort()) {
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        }
        const out = await fn(new QuerySql(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * A dedicated connection (a transaction, LISTEN); the caller releases it. While checked out a client has no
   * pool listener for 'error' (e.g. the server shutting down), and an unheard 'error' event would end the process:
   * this one is always heard; the query in progress fails on its own.
   */
  async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!client.listenerCount('error')) client.on('error', () => undefined);
    return client;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

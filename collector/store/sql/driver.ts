// The seam between the collector's store logic and a SQL engine. The store is written once, in SQL both
// engines accept (SQLite 3.4x and PostgreSQL 15 share upserts, RETURNING and most functions); the few
// differences are the Dialect's job, and bulk writes go through insertMany so each engine uses its fast path
// (a prepared statement in a loop for SQLite, one `INSERT … SELECT FROM unnest(…)` for PostgreSQL).
// Statements use $1, $2, … placeholders; the SQLite driver translates them.

export type SqlValue = string | number | boolean | null | Buffer;

export interface RunResult {
  changes: number;
}

/** Column types for bulk inserts (PostgreSQL needs them to type the unnest arrays). */
export type ColumnType = 'bigint' | 'int' | 'real' | 'text' | 'bytea';

export interface Column {
  name: string;
  type: ColumnType;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Scalar maximum / minimum of expressions (SQLite max(a,b), PostgreSQL GREATEST(a,b)). */
  greatest(...exprs: string[]): string;
  least(...exprs: string[]): string;
  /** True when `haystack` contains `needle` (both SQL expressions). */
  contains(haystack: string, needle: string): string;
  /** `expr` rounded down to a multiple of `step` (both integer expressions). */
  floorTo(expr: string, step: string): string;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  greatest: (...e) => `max(${e.join(', ')})`,
  least: (...e) => `min(${e.join(', ')})`,
  contains: (h, n) => `instr(${h}, ${n}) > 0`,
  floorTo: (e, s) => `(${e} - ((${e} % ${s}) + ${s}) % ${s})`,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  greatest: (...e) => `GREATEST(${e.join(', ')})`,
  least: (...e) => `LEAST(${e.join(', ')})`,
  contains: (h, n) => `strpos(${h}, ${n}) > 0`,
  floorTo: (e, s) => `(${e} - ((${e} % ${s}) + ${s}) % ${s})`,
};

/** What store code runs statements on: a connection outside a transaction, or inside one. */
export interface Sql {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /**
   * Inserts rows (row-major) into `table`. `tail` is appended verbatim (e.g. an ON CONFLICT clause or
   * RETURNING); with RETURNING use insertManyReturning.
   */
  insertMany(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail?: string): Promise<RunResult>;
  insertManyReturning<T>(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail: string): Promise<T[]>;
  /**
   * Runs `body` once for all `rows`, which it reads through a CTE named `u` with the given columns
   * (`UPDATE devices AS t SET … FROM u WHERE t.id = u.id`). PostgreSQL binds one array per column and runs
   * one statement; SQLite runs the statement once per row. Keys in `rows` must be unique.
   */
  runForRows(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<RunResult>;
  /** Like runForRows for a SELECT: the rows of every execution, concatenated. */
  allForRows<T>(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<T[]>;
}

export interface TxOptions {
  /**
   * Keys serialised across every process sharing the database for the transaction's duration (PostgreSQL
   * advisory transaction locks; SQLite serialises all writers anyway). Taken in sorted order: no deadlocks.
   */
  lockKeys?: readonly string[];
}

export interface SqlDb extends Sql {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: (tx: Sql) => Promise<T>, opts?: TxOptions): Promise<T>;
  close(): Promise<void>;
}

/** Rows (row-major) to columns (column-major), for engines that bind one array per column. */
export function toColumns(columns: readonly Column[], rows: readonly SqlValue[][]): SqlValue[][] {
  const out: SqlValue[][] = columns.map(() => new Array<SqlValue>(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < columns.length; c++) out[c]![r] = row[c] ?? null;
  }
  return out;
}

/** `(a, b, c)` */
export const columnList = (columns: readonly Column[]) => `(${columns.map((c) => c.name).join(', ')})`;

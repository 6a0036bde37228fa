// SqlDb over better-sqlite3. Two connections to one WAL database: writes (and everything inside a
// transaction) go through the write connection, serialised by an in-process mutex so an awaiting
// transaction never interleaves with another writer; reads outside transactions use the read connection, so
// the API never sees another transaction's uncommitted rows. Statements are prepared once and cached.
import Database from 'better-sqlite3';
import { columnList, sqliteDialect, type Column, type RunResult, type Sql, type SqlDb, type SqlValue, type TxOptions } from '../sql/driver.js';

type Statement = Database.Statement<unknown[], unknown>;

interface Translated {
  sql: string;
  order: number[] | undefined; // parameter index per `?`, when the SQL used $n out of order or repeatedly
}

const translations = new Map<string, Translated>();

/** `$1 … $n` → `?` with the parameter order remembered (SQLite binds `?` positionally). */
function translate(sql: string): Translated {
  let t = translations.get(sql);
  if (t) return t;
  const order: number[] = [];
  const out = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  const identity = order.every((v, i) => v === i);
  t = { sql: out, order: identity ? undefined : order };
  if (translations.size > 2000) translations.clear();
  translations.set(sql, t);
  return t;
}

const bindable = (v: SqlValue | undefined): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : (v ?? null));

/** A row as better-sqlite3 binds it: the row itself unless it holds a boolean or undefined (no copy per row on the hot path). */
function bindRow(r: readonly SqlValue[]): readonly unknown[] {
  for (const v of r) if (typeof v === 'boolean' || v === undefined) return r.map(bindable);
  return r;
}

function bind(t: Translated, params: readonly SqlValue[]): unknown[] {
  if (!t.order) return params.map(bindable);
  return t.order.map((i) => bindable(params[i]));
}

class StatementCache {
  private readonly cache = new Map<string, Statement>();
  constructor(private readonly db: Database.Database) {}
  get(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.cache.size > 500) this.cache.clear(); // dynamic filters make many variants; keep it bounded
      this.cache.set(sql, s);
    }
    return s;
  }
}

/** Runs statements on one connection (synchronously; the async signature is the Sql contract). */
class ConnectionSql implements Sql {
  readonly dialect = sqliteDialect;
  private readonly stmts: StatementCache;
  constructor(readonly db: Database.Database) {
    this.stmts = new StatementCache(db);
  }

  allSync<T>(sql: string, params: readonly SqlValue[] = []): T[] {
    const t = translate(sql);
    return this.stmts.get(t.sql).all(...bind(t, params)) as T[];
  }
  getSync<T>(sql: string, params: readonly SqlValue[] = []): T | undefined {
    const t = translate(sql);
    return this.stmts.get(t.sql).get(...bind(t, params)) as T | undefined;
  }
  runSync(sql: string, params: readonly SqlValue[] = []): RunResult {
    const t = translate(sql);
    return { changes: this.stmts.get(t.sql).run(...bind(t, params)).changes };
  }
  insertManySync(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail = ''): RunResult {
    if (!rows.length) return { changes: 0 };
    const stmt = this.stmts.get(`INSERT INTO ${table} ${columnList(columns)} VALUES (${columns.map(() => '?').join(', ')}) ${tail}`);
    let changes = 0;
    for (const r of rows) changes += stmt.run(bindRow(r)).changes;
    return { changes };
  }
  insertManyReturningSync<T>(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail: string): T[] {
    if (!rows.length) return [];
    const stmt = this.stmts.get(`INSERT INTO ${table} ${columnList(columns)} VALUES (${columns.map(() => '?').join(', ')}) ${tail}`);
    const out: T[] = [];
    for (const r of rows) {
      const got = stmt.get(bindRow(r)) as T | undefined;
      if (got) out.push(got);
    }
    return out;
  }

  /** `WITH u(a, b) AS (VALUES (?, ?)) <body>`, executed once per row with that row's values. */
  private rowStatement(columns: readonly Column[], body: string): Statement {
    return this.stmts.get(`WITH u(${columns.map((c) => c.name).join(', ')}) AS (VALUES (${columns.map(() => '?').join(', ')})) ${body}`);
  }
  runForRowsSync(columns: readonly Column[], rows: readonly SqlValue[][], body: string): RunResult {
    if (!rows.length) return { changes: 0 };
    const stmt = this.rowStatement(columns, body);
    let changes = 0;
    for (const r of rows) changes += stmt.run(bindRow(r)).changes;
    return { changes };
  }
  allForRowsSync<T>(columns: readonly Column[], rows: readonly SqlValue[][], body: string): T[] {
    if (!rows.length) return [];
    const stmt = this.rowStatement(columns, body);
    const out: T[] = [];
    for (const r of rows) for (const x of stmt.all(bindRow(r))) out.push(x as T);
    return out;
  }
  runForRows(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<RunResult> {
    return Promise.resolve(this.runForRowsSync(columns, rows, body));
  }
  allForRows<T>(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<T[]> {
    return Promise.resolve(this.allForRowsSync<T>(columns, rows, body));
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return Promise.resolve(this.allSync<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return Promise.resolve(this.getSync<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return Promise.resolve(this.runSync(sql, params));
  }
  insertMany(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail?: string): Promise<RunResult> {
    return Promise.resolve(this.insertManySync(table, columns, rows, tail));
  }
  insertManyReturning<T>(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail: string): Promise<T[]> {
    return Promise.resolve(this.insertManyReturningSync<T>(table, columns, rows, tail));
  }
}

/** A FIFO async mutex. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    return release;
  }
}

export interface SqliteOptions {
  /** `synchronous` pragma. NORMAL in WAL mode survives process crashes (what acks promise); FULL also power loss. */
  synchronous?: 'NORMAL' | 'FULL';
}

export class SqliteDb implements SqlDb {
  readonly dialect = sqliteDialect;
  readonly writer: ConnectionSql;
  private readonly reader: ConnectionSql;
  private readonly mutex = new Mutex();
  private closed = false;

  constructor(readonly file: string, opts: SqliteOptions = {}) {
    const open = (readonly: boolean) => {
      const db = new Database(file, { readonly: false });
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      db.pragma('busy_timeout = 5000');
      db.pragma('cache_size = -65536');
      if (readonly) db.pragma('query_only = ON');
      return db;
    };
    this.writer = new ConnectionSql(open(false));
    this.reader = new ConnectionSql(open(true));
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.reader.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.reader.get<T>(sql, params);
  }
  /** A single write statement (autocommit), serialised with transactions. */
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    const release = await this.mutex.lock();
    try {
      return this.writer.runSync(sql, params);
    } finally {
      release();
    }
  }
  insertMany(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail?: string): Promise<RunResult> {
    return this.tx((t) => t.insertMany(table, columns, rows, tail));
  }
  insertManyReturning<T>(table: string, columns: readonly Column[], rows: readonly SqlValue[][], tail: string): Promise<T[]> {
    return this.tx((t) => t.insertManyReturning<T>(table, columns, rows, tail));
  }

  runForRows(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<RunResult> {
    return this.tx((t) => t.runForRows(columns, rows, body));
  }
  allForRows<T>(columns: readonly Column[], rows: readonly SqlValue[][], body: string): Promise<T[]> {
    return this.reader.allForRows<T>(columns, rows, body);
  }

  async tx<T>(fn: (tx: Sql) => Promise<T>, _opts?: TxOptions): Promise<T> {
    const release = await this.mutex.lock();
    const db = this.writer.db;
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.writer);
        db.exec('COMMIT');
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const release = await this.mutex.lock();
    try {
      this.reader.db.close();
      this.writer.db.close();
    } finally {
      release();
    }
  }
}

export type { ConnectionSql };

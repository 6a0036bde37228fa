// Tables of the edge buffer database. One row per chunk: a protobuf Batch body holding many items.
import type Database from 'better-sqlite3';

export const Priority = {
  /** Readings, video-quality results, snapshots: dropped oldest-first when the buffer is full or too old. */
  TELEMETRY: 0,
  /** Events and device records: never dropped by the byte limit or retention. */
  CRITICAL: 1,
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/**
 * 1: chunks parked until a time (`parked_until`), offered again automatically.
 * 2: chunks parked indefinitely (`parked_at`, 0 = not parked) until an operator asks for a retry.
 */
export const SCHEMA_VERSION = 2;

export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS chunks (
      id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: ids (= batch ids) are never reused after deletes
      first_seq INTEGER NOT NULL,
      last_seq INTEGER NOT NULL,
      created_at INTEGER NOT NULL,            -- ms, when the chunk was committed
      priority INTEGER NOT NULL,              -- 0 telemetry (droppable), 1 critical (kept)
      items INTEGER NOT NULL,
      readings INTEGER NOT NULL,
      bytes INTEGER NOT NULL,                 -- payload length + per-row estimate, counted against maxBytes
      parked_at INTEGER NOT NULL DEFAULT 0,   -- ms; non-zero: the collector rejected it, not sent until an operator retries
      park_reason TEXT,
      payload BLOB NOT NULL                   -- protobuf Batch body (repeated item fields only)
    );
    CREATE INDEX IF NOT EXISTS chunks_priority ON chunks(priority, id);
  `);
  const v = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
  if (!v) {
    db.prepare(`INSERT INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
  } else if (Number(v.value) > SCHEMA_VERSION) {
    throw new Error(`edge buffer: database schema version ${v.value} is newer than this software (${SCHEMA_VERSION})`);
  } else if (Number(v.value) < 2) {
    migrateToParkedAt(db);
  }
  // Parked chunks are few; the partial index keeps listing and counting them cheap however large the buffer.
  db.exec('CREATE INDEX IF NOT EXISTS chunks_parked ON chunks(parked_at) WHERE parked_at != 0');
}

/** Version 1 → 2: a chunk parked until some time becomes parked for good (since it was stored). */
function migrateToParkedAt(db: Database.Database): void {
  db.transaction(() => {
    const cols = (db.prepare('PRAGMA table_info(chunks)').all() as { name: string }[]).map((c) => c.name);
    if (cols.includes('parked_until')) {
      if (!cols.includes('parked_at')) db.exec('ALTER TABLE chunks ADD COLUMN parked_at INTEGER NOT NULL DEFAULT 0');
      db.exec('UPDATE chunks SET parked_at = created_at WHERE parked_until != 0');
      db.exec('ALTER TABLE chunks DROP COLUMN parked_until');
    }
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
  })();
}

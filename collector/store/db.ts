// Opens the collector's SQLite database (WAL) and creates its tables.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

const DDL = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  edge_id TEXT,                 -- edge allowed to report for this device (NULL: not yet claimed)
  pinned INTEGER NOT NULL DEFAULT 0, -- set by an admin: edges can never re-home it
  record TEXT NOT NULL,         -- the 一机一档 record (JSON, without runtime fields)
  name TEXT, kind TEXT, site_id TEXT, site_type TEXT, lon REAL, lat REAL,
  scope TEXT NOT NULL DEFAULT ',', -- sharing scope as ",water,fire," for exact-token matching
  runtime_status TEXT NOT NULL DEFAULT 'unknown',
  status_ts INTEGER, status_reason TEXT, last_seen INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_site ON devices(site_id);
CREATE TABLE IF NOT EXISTS record_history (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL, ts INTEGER NOT NULL,
  actor TEXT NOT NULL,          -- edge:<id> | admin:<token name> | import:<token name>
  changes TEXT NOT NULL         -- JSON {path: [before, after]}
);
CREATE INDEX IF NOT EXISTS record_history_device ON record_history(device_id, ts);
CREATE TABLE IF NOT EXISTS series (
  sid INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '',
  last_ts INTEGER, last_value REAL, last_text TEXT, last_quality INTEGER,
  UNIQUE(device_id, metric)
);
CREATE TABLE IF NOT EXISTS points (
  sid INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, text TEXT, quality INTEGER NOT NULL,
  PRIMARY KEY (sid, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
  sid INTEGER NOT NULL, bucket INTEGER NOT NULL,
  min REAL, max REAL, sum REAL, count INTEGER, last REAL, last_ts INTEGER, worst INTEGER,
  PRIMARY KEY (sid, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
  sid INTEGER NOT NULL, bucket INTEGER NOT NULL,
  min REAL, max REAL, sum REAL, count INTEGER, last REAL, last_ts INTEGER, worst INTEGER,
  PRIMARY KEY (sid, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL, edge_id TEXT, ts INTEGER NOT NULL, kind INTEGER NOT NULL, severity INTEGER NOT NULL,
  message TEXT, code TEXT, metric TEXT, value REAL, threshold REAL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS video_quality (
  device_id TEXT NOT NULL, ts INTEGER NOT NULL, verdict INTEGER NOT NULL, checks TEXT NOT NULL,
  PRIMARY KEY (device_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  device_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, jpeg BLOB NOT NULL, width INTEGER, height INTEGER
);
CREATE TABLE IF NOT EXISTS edges (
  id TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  source TEXT NOT NULL,         -- config | admin
  created_at INTEGER NOT NULL,
  connected INTEGER NOT NULL DEFAULT 0, status_ts INTEGER, version TEXT,
  last_batch_at INTEGER, transport_lag_ms INTEGER,
  buffer_rows INTEGER, buffer_bytes INTEGER, oldest_buffered_ts INTEGER, dropped_readings INTEGER, backlog_items INTEGER
);
-- Per-edge committed sequence ranges (an interval set): the dedup state, durable across restarts.
CREATE TABLE IF NOT EXISTS edge_ranges (
  edge_id TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
  PRIMARY KEY (edge_id, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, bureau TEXT, admin INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
);
-- Line-protocol chunks waiting for InfluxDB; deleted only after a successful flush.
CREATE TABLE IF NOT EXISTS influx_outbox (
  id INTEGER PRIMARY KEY, lines TEXT NOT NULL, n INTEGER NOT NULL, created_at INTEGER NOT NULL
);
`;

export function openDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'collector.db'));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against process crashes (what acks promise); a power loss may drop the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.exec(DDL);
  return db;
}

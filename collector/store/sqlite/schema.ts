// Versioned schema of the embedded (SQLite) store. Version 1 is the first release's schema, so an existing
// collector.db upgrades in place; a new database goes through the same steps (cheap on empty tables), which
// keeps the upgrade path tested by every test run.
import type { Migration } from '../sql/migrate.js';

const V1 = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, edge_id TEXT, pinned INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL,
  name TEXT, kind TEXT, site_id TEXT, site_type TEXT, lon REAL, lat REAL, scope TEXT NOT NULL DEFAULT ',',
  runtime_status TEXT NOT NULL DEFAULT 'unknown', status_ts INTEGER, status_reason TEXT, last_seen INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_site ON devices(site_id);
CREATE TABLE IF NOT EXISTS record_history (
  id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, ts INTEGER NOT NULL, actor TEXT NOT NULL, changes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_history_device ON record_history(device_id, ts);
CREATE TABLE IF NOT EXISTS series (
  sid INTEGER PRIMARY KEY, device_id TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '',
  last_ts INTEGER, last_value REAL, last_text TEXT, last_quality INTEGER, UNIQUE(device_id, metric)
);
CREATE TABLE IF NOT EXISTS points (
  sid INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, text TEXT, quality INTEGER NOT NULL, PRIMARY KEY (sid, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
  sid INTEGER NOT NULL, bucket INTEGER NOT NULL, min REAL, max REAL, sum REAL, count INTEGER, last REAL, last_ts INTEGER,
  worst INTEGER, PRIMARY KEY (sid, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
  sid INTEGER NOT NULL, bucket INTEGER NOT NULL, min REAL, max REAL, sum REAL, count INTEGER, last REAL, last_ts INTEGER,
  worst INTEGER, PRIMARY KEY (sid, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, edge_id TEXT, ts INTEGER NOT NULL, kind INTEGER NOT NULL,
  severity INTEGER NOT NULL, message TEXT, code TEXT, metric TEXT, value REAL, threshold REAL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS video_quality (
  device_id TEXT NOT NULL, ts INTEGER NOT NULL, verdict INTEGER NOT NULL, checks TEXT NOT NULL, PRIMARY KEY (device_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  device_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, jpeg BLOB NOT NULL, width INTEGER, height INTEGER
);
CREATE TABLE IF NOT EXISTS edges (
  id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL,
  connected INTEGER NOT NULL DEFAULT 0, status_ts INTEGER, version TEXT, last_batch_at INTEGER, transport_lag_ms INTEGER,
  buffer_rows INTEGER, buffer_bytes INTEGER, oldest_buffered_ts INTEGER, dropped_readings INTEGER, backlog_items INTEGER
);
CREATE TABLE IF NOT EXISTS edge_ranges (
  edge_id TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (edge_id, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, bureau TEXT, admin INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS influx_outbox (
  id INTEGER PRIMARY KEY, lines TEXT NOT NULL, n INTEGER NOT NULL, created_at INTEGER NOT NULL
);
`;

// Version 2: every accepted reading is kept (points keyed by series, time, edge and seq), aggregates are
// series of their own, registrar ownership of devices, edge runtime state apart from credentials, quarantine.
const V2 = `
ALTER TABLE devices ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN scope_source TEXT NOT NULL DEFAULT 'edge';
ALTER TABLE devices ADD COLUMN edge_scope_claim TEXT;
UPDATE devices SET registered = 1 WHERE pinned = 1 OR edge_id IS NULL;
UPDATE devices SET scope_source = 'registrar' WHERE registered = 1 OR EXISTS (
  SELECT 1 FROM record_history h WHERE h.device_id = devices.id AND (h.actor LIKE 'admin:%' OR h.actor LIKE 'import:%'));
ALTER TABLE devices DROP COLUMN pinned;
CREATE INDEX devices_edge ON devices(edge_id);

CREATE TABLE series_v2 (
  sid INTEGER PRIMARY KEY, device_id TEXT NOT NULL, metric TEXT NOT NULL,
  aggregate INTEGER NOT NULL DEFAULT 0, period_s INTEGER NOT NULL DEFAULT 0, unit TEXT NOT NULL DEFAULT '',
  last_ts INTEGER, last_seq INTEGER, last_value REAL, last_text TEXT, last_quality INTEGER,
  UNIQUE (device_id, metric, aggregate, period_s)
);
INSERT INTO series_v2 (sid, device_id, metric, unit, last_ts, last_seq, last_value, last_text, last_quality)
  SELECT sid, device_id, metric, unit, last_ts, 0, last_value, last_text, last_quality FROM series;
DROP TABLE series;
ALTER TABLE series_v2 RENAME TO series;

CREATE TABLE points_v2 (
  sid INTEGER NOT NULL, ts INTEGER NOT NULL, src INTEGER NOT NULL, seq INTEGER NOT NULL,
  value REAL, text TEXT, quality INTEGER NOT NULL, PRIMARY KEY (sid, ts, src, seq)
) WITHOUT ROWID;
INSERT INTO points_v2 SELECT sid, ts, 0, 0, value, text, quality FROM points;
DROP TABLE points;
ALTER TABLE points_v2 RENAME TO points;

ALTER TABLE events ADD COLUMN seq INTEGER;
CREATE INDEX events_device ON events(device_id, ts);

CREATE TABLE video_quality_v2 (
  id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, ts INTEGER NOT NULL, verdict INTEGER NOT NULL, checks TEXT NOT NULL
);
INSERT INTO video_quality_v2 (device_id, ts, verdict, checks) SELECT device_id, ts, verdict, checks FROM video_quality ORDER BY ts;
DROP TABLE video_quality;
ALTER TABLE video_quality_v2 RENAME TO video_quality;
CREATE INDEX video_quality_device ON video_quality(device_id, ts);

CREATE TABLE edge_state (
  no INTEGER PRIMARY KEY, edge_id TEXT NOT NULL UNIQUE, connected INTEGER NOT NULL DEFAULT 0, status_ts INTEGER,
  version TEXT, last_batch_at INTEGER, transport_lag_ms INTEGER, buffer_rows INTEGER, buffer_bytes INTEGER,
  oldest_buffered_ts INTEGER, dropped_readings INTEGER, backlog_items INTEGER
);
INSERT INTO edge_state (edge_id, connected, status_ts, version, last_batch_at, transport_lag_ms, buffer_rows, buffer_bytes,
  oldest_buffered_ts, dropped_readings, backlog_items)
  SELECT id, connected, status_ts, version, last_batch_at, transport_lag_ms, buffer_rows, buffer_bytes, oldest_buffered_ts,
  dropped_readings, backlog_items FROM edges;
CREATE TABLE edges_v2 (id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL);
INSERT INTO edges_v2 SELECT id, password_hash, source, created_at FROM edges;
DROP TABLE edges;
ALTER TABLE edges_v2 RENAME TO edges;

ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer';

CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY, edge_id TEXT NOT NULL, batch_id INTEGER NOT NULL, seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL, item_kind TEXT NOT NULL, device_id TEXT, reason TEXT NOT NULL, detail TEXT NOT NULL,
  item TEXT NOT NULL
);
CREATE INDEX quarantine_received ON quarantine(received_at);
CREATE INDEX quarantine_device ON quarantine(device_id, reason, received_at);
`;

// Version 3: edge–cloud coordination — each edge's desired configuration and its versions, which edge a configured
// device is on, what edges report about themselves, and the audit log of admin actions.
const V3 = `
CREATE TABLE edge_config (
  edge_id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL, updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL
);
CREATE TABLE edge_config_history (
  edge_id TEXT NOT NULL, version INTEGER NOT NULL, ts INTEGER NOT NULL, actor TEXT NOT NULL, changes TEXT NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (edge_id, version)
);
CREATE TABLE edge_config_devices (device_id TEXT PRIMARY KEY, edge_id TEXT NOT NULL);
CREATE INDEX edge_config_devices_edge ON edge_config_devices(edge_id);
CREATE TABLE edge_control_state (
  edge_id TEXT PRIMARY KEY, config_key TEXT, managed INTEGER, applied_version INTEGER, software_version TEXT, report TEXT,
  local_config TEXT, report_at INTEGER, clock_offset_ms INTEGER
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, status INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log(ts);
`;

// Version 5 (bureau analytics): runs of missed reports, one row per open run (raised once per run).
const V5 = `
CREATE TABLE missed_runs (
  device_id TEXT NOT NULL, schedule TEXT NOT NULL, since INTEGER NOT NULL, raised_at INTEGER NOT NULL, PRIMARY KEY (device_id, schedule)
) WITHOUT ROWID;
`;

// Version 4: alarms (stateful, one open per kind + device + subject), their history of transitions, notification
// rules managed per bureau, and the durable delivery queue with its log of attempts.
const V4 = `
CREATE TABLE alarms (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, subject TEXT NOT NULL, edge_id TEXT, site_id TEXT,
  state TEXT NOT NULL, severity INTEGER NOT NULL, peak_severity INTEGER NOT NULL, code TEXT, metric TEXT, unit TEXT,
  direction TEXT, threshold REAL, thresholds TEXT, first_value REAL, last_value REAL, last_value_ts INTEGER, peak_value REAL,
  message TEXT, raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, cleared_at INTEGER, acked_at INTEGER, acked_by TEXT,
  ack_comment TEXT, last_event_ts INTEGER NOT NULL, last_event_seq INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL
);
CREATE UNIQUE INDEX alarms_open ON alarms(kind, device_id, subject) WHERE state <> 'cleared';
CREATE INDEX alarms_key ON alarms(kind, device_id, subject, raised_at);
CREATE INDEX alarms_device ON alarms(device_id, raised_at);
CREATE INDEX alarms_raised ON alarms(raised_at);
CREATE TABLE alarm_history (
  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, ts INTEGER NOT NULL, at INTEGER NOT NULL, transition TEXT NOT NULL,
  severity INTEGER NOT NULL, value REAL, code TEXT, actor TEXT, comment TEXT, late INTEGER NOT NULL DEFAULT 0,
  notify INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX alarm_history_alarm ON alarm_history(alarm_id, id);
CREATE INDEX alarm_history_pending ON alarm_history(id) WHERE notify = 0;
CREATE TABLE notify_rules (
  id TEXT PRIMARY KEY, bureau TEXT NOT NULL, rule TEXT NOT NULL, source TEXT NOT NULL, updated_at INTEGER NOT NULL, updated_by TEXT
);
CREATE TABLE notify_deliveries (
  id INTEGER PRIMARY KEY, history_id INTEGER NOT NULL, alarm_id INTEGER NOT NULL, bureau TEXT NOT NULL, channel TEXT NOT NULL,
  lang TEXT NOT NULL, rules TEXT NOT NULL, transition TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, lease_until INTEGER, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, sent_at INTEGER, attempt_id INTEGER, UNIQUE (history_id, channel)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries(channel, next_at) WHERE status IN ('queued', 'retrying', 'sending');
CREATE INDEX notify_deliveries_created ON notify_deliveries(created_at);
CREATE INDEX notify_deliveries_alarm ON notify_deliveries(alarm_id);
CREATE TABLE notify_attempts (
  id INTEGER PRIMARY KEY, channel TEXT NOT NULL, bureau TEXT NOT NULL, at INTEGER NOT NULL, items INTEGER NOT NULL,
  digest INTEGER NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, target TEXT, http_status INTEGER, errcode INTEGER,
  error TEXT, duration_ms INTEGER, message_id TEXT
);
CREATE INDEX notify_attempts_channel ON notify_attempts(channel, at);
`;

export const SQLITE_MIGRATIONS: Migration[] = [
  { version: 1, description: 'first release schema', sql: V1 },
  { version: 2, description: 'every reading kept (series, ts, edge, seq), aggregate series, registrar ownership, quarantine', sql: V2 },
  { version: 3, description: 'edge–cloud coordination: desired edge configurations, edge reports, audit log', sql: V3 },
  { version: 4, description: 'alarms, alarm history, notification rules, delivery queue and log', sql: V4 },
  { version: 5, description: 'bureau analytics: missed-report runs', sql: V5 },
];

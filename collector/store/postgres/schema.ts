// Versioned schema of the PostgreSQL store (cluster mode). Same tables and columns as the embedded store's
// current version, with PostgreSQL types; raw points are partitioned by day and minute rollups by month so that
// retention drops whole partitions (see partitions.ts). Each partitioned table has a DEFAULT partition as a
// safety net for rows outside every created range.
import type { Migration } from '../sql/migrate.js';

const V1 = `
CREATE TABLE devices (
  id TEXT PRIMARY KEY, edge_id TEXT, registered SMALLINT NOT NULL DEFAULT 0, scope_source TEXT NOT NULL DEFAULT 'edge',
  edge_scope_claim TEXT, record TEXT NOT NULL, name TEXT, kind TEXT, site_id TEXT, site_type TEXT,
  lon DOUBLE PRECISION, lat DOUBLE PRECISION, scope TEXT NOT NULL DEFAULT ',', runtime_status TEXT NOT NULL DEFAULT 'unknown',
  status_ts BIGINT, status_reason TEXT, last_seen BIGINT, updated_at BIGINT NOT NULL
);
CREATE INDEX devices_site ON devices(site_id);
CREATE INDEX devices_edge ON devices(edge_id);
CREATE TABLE record_history (
  id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, ts BIGINT NOT NULL, actor TEXT NOT NULL, changes TEXT NOT NULL
);
CREATE INDEX record_history_device ON record_history(device_id, ts);

CREATE TABLE series (
  sid BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, metric TEXT NOT NULL, aggregate SMALLINT NOT NULL DEFAULT 0,
  period_s INTEGER NOT NULL DEFAULT 0, unit TEXT NOT NULL DEFAULT '', last_ts BIGINT, last_seq BIGINT,
  last_value DOUBLE PRECISION, last_text TEXT, last_quality SMALLINT, UNIQUE (device_id, metric, aggregate, period_s)
);
CREATE TABLE points (
  sid BIGINT NOT NULL, ts BIGINT NOT NULL, src INTEGER NOT NULL, seq BIGINT NOT NULL, value DOUBLE PRECISION, text TEXT,
  quality SMALLINT NOT NULL, PRIMARY KEY (sid, ts, src, seq)
) PARTITION BY RANGE (ts);
CREATE TABLE points_default PARTITION OF points DEFAULT;
CREATE TABLE rollup_1m (
  sid BIGINT NOT NULL, bucket BIGINT NOT NULL, min DOUBLE PRECISION, max DOUBLE PRECISION, sum DOUBLE PRECISION,
  count BIGINT, last DOUBLE PRECISION, last_ts BIGINT, worst SMALLINT, PRIMARY KEY (sid, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE rollup_1m_default PARTITION OF rollup_1m DEFAULT;
CREATE TABLE rollup_1h (
  sid BIGINT NOT NULL, bucket BIGINT NOT NULL, min DOUBLE PRECISION, max DOUBLE PRECISION, sum DOUBLE PRECISION,
  count BIGINT, last DOUBLE PRECISION, last_ts BIGINT, worst SMALLINT, PRIMARY KEY (sid, bucket)
);

CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, edge_id TEXT, seq BIGINT, ts BIGINT NOT NULL, kind SMALLINT NOT NULL,
  severity SMALLINT NOT NULL, message TEXT, code TEXT, metric TEXT, value DOUBLE PRECISION, threshold DOUBLE PRECISION
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_device ON events(device_id, ts);
CREATE TABLE video_quality (
  id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, ts BIGINT NOT NULL, verdict SMALLINT NOT NULL, checks TEXT NOT NULL
);
CREATE INDEX video_quality_device ON video_quality(device_id, ts);
CREATE TABLE snapshots (device_id TEXT PRIMARY KEY, ts BIGINT NOT NULL, jpeg BYTEA NOT NULL, width INTEGER, height INTEGER);

CREATE TABLE edges (id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, source TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE edge_state (
  no SERIAL PRIMARY KEY, edge_id TEXT NOT NULL UNIQUE, connected SMALLINT NOT NULL DEFAULT 0, status_ts BIGINT, version TEXT,
  last_batch_at BIGINT, transport_lag_ms BIGINT, buffer_rows BIGINT, buffer_bytes BIGINT, oldest_buffered_ts BIGINT,
  dropped_readings BIGINT, backlog_items BIGINT
);
CREATE TABLE edge_ranges (edge_id TEXT NOT NULL, first BIGINT NOT NULL, last BIGINT NOT NULL, PRIMARY KEY (edge_id, first));
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, bureau TEXT, admin SMALLINT NOT NULL DEFAULT 0, role TEXT NOT NULL DEFAULT 'viewer',
  created_at BIGINT NOT NULL
);
CREATE TABLE influx_outbox (id BIGSERIAL PRIMARY KEY, lines TEXT NOT NULL, n INTEGER NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE quarantine (
  id BIGSERIAL PRIMARY KEY, edge_id TEXT NOT NULL, batch_id BIGINT NOT NULL, seq BIGINT NOT NULL, received_at BIGINT NOT NULL,
  item_kind TEXT NOT NULL, device_id TEXT, reason TEXT NOT NULL, detail TEXT NOT NULL, item TEXT NOT NULL
);
CREATE INDEX quarantine_received ON quarantine(received_at);
CREATE INDEX quarantine_device ON quarantine(device_id, reason, received_at);
-- The live feed shared by every node: one row per ingest commit, written in commit order (see feed.ts): events
-- and device scopes as JSON, readings protobuf-encoded (only while some node has feed listeners).
CREATE TABLE feed (fid BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, items TEXT NOT NULL, readings BYTEA);
CREATE TABLE feed_listeners (node TEXT PRIMARY KEY, listeners INTEGER NOT NULL, at BIGINT NOT NULL);
`;

// Version 2: edge–cloud coordination (same tables as SQLite version 3).
const V2 = `
CREATE TABLE edge_config (
  edge_id TEXT PRIMARY KEY, version BIGINT NOT NULL, doc TEXT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL
);
CREATE TABLE edge_config_history (
  edge_id TEXT NOT NULL, version BIGINT NOT NULL, ts BIGINT NOT NULL, actor TEXT NOT NULL, changes TEXT NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (edge_id, version)
);
CREATE TABLE edge_config_devices (device_id TEXT PRIMARY KEY, edge_id TEXT NOT NULL);
CREATE INDEX edge_config_devices_edge ON edge_config_devices(edge_id);
CREATE TABLE edge_control_state (
  edge_id TEXT PRIMARY KEY, config_key TEXT, managed SMALLINT, applied_version BIGINT, software_version TEXT, report TEXT,
  local_config TEXT, report_at BIGINT, clock_offset_ms BIGINT
);
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, status INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log(ts);
`;

// Version 4 (bureau analytics): runs of missed reports, one row per open run (raised once per run).
const V4 = `
CREATE TABLE missed_runs (
  device_id TEXT NOT NULL, schedule TEXT NOT NULL, since BIGINT NOT NULL, raised_at BIGINT NOT NULL, PRIMARY KEY (device_id, schedule)
);
`;

// Version 3: alarms, their history, notification rules per bureau, the delivery queue and its attempts (see the
// SQLite version 4 for the meaning of each column).
const V3 = `
CREATE TABLE alarms (
  id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, subject TEXT NOT NULL, edge_id TEXT, site_id TEXT,
  state TEXT NOT NULL, severity SMALLINT NOT NULL, peak_severity SMALLINT NOT NULL, code TEXT, metric TEXT, unit TEXT,
  direction TEXT, threshold DOUBLE PRECISION, thresholds TEXT, first_value DOUBLE PRECISION, last_value DOUBLE PRECISION,
  last_value_ts BIGINT, peak_value DOUBLE PRECISION, message TEXT, raised_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  cleared_at BIGINT, acked_at BIGINT, acked_by TEXT, ack_comment TEXT, last_event_ts BIGINT NOT NULL,
  last_event_seq BIGINT NOT NULL DEFAULT 0, source TEXT NOT NULL
);
CREATE UNIQUE INDEX alarms_open ON alarms(kind, device_id, subject) WHERE state <> 'cleared';
CREATE INDEX alarms_key ON alarms(kind, device_id, subject, raised_at);
CREATE INDEX alarms_device ON alarms(device_id, raised_at);
CREATE INDEX alarms_raised ON alarms(raised_at);
CREATE TABLE alarm_history (
  id BIGSERIAL PRIMARY KEY, alarm_id BIGINT NOT NULL, ts BIGINT NOT NULL, at BIGINT NOT NULL, transition TEXT NOT NULL,
  severity SMALLINT NOT NULL, value DOUBLE PRECISION, code TEXT, actor TEXT, comment TEXT, late SMALLINT NOT NULL DEFAULT 0,
  notify SMALLINT NOT NULL DEFAULT 1
);
CREATE INDEX alarm_history_alarm ON alarm_history(alarm_id, id);
CREATE INDEX alarm_history_pending ON alarm_history(id) WHERE notify = 0;
CREATE TABLE notify_rules (
  id TEXT PRIMARY KEY, bureau TEXT NOT NULL, rule TEXT NOT NULL, source TEXT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT
);
CREATE TABLE notify_deliveries (
  id BIGSERIAL PRIMARY KEY, history_id BIGINT NOT NULL, alarm_id BIGINT NOT NULL, bureau TEXT NOT NULL, channel TEXT NOT NULL,
  lang TEXT NOT NULL, rules TEXT NOT NULL, transition TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, lease_until BIGINT, created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL, sent_at BIGINT, attempt_id BIGINT, UNIQUE (history_id, channel)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries(channel, next_at) WHERE status IN ('queued', 'retrying', 'sending');
CREATE INDEX notify_deliveries_created ON notify_deliveries(created_at);
CREATE INDEX notify_deliveries_alarm ON notify_deliveries(alarm_id);
CREATE TABLE notify_attempts (
  id BIGSERIAL PRIMARY KEY, channel TEXT NOT NULL, bureau TEXT NOT NULL, at BIGINT NOT NULL, items INTEGER NOT NULL,
  digest SMALLINT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, target TEXT, http_status INTEGER, errcode INTEGER,
  error TEXT, duration_ms BIGINT, message_id TEXT
);
CREATE INDEX notify_attempts_channel ON notify_attempts(channel, at);
`;

export const POSTGRES_MIGRATIONS: Migration[] = [
  { version: 1, description: 'cluster schema', sql: V1 },
  { version: 2, description: 'edge–cloud coordination: desired edge configurations, edge reports, audit log', sql: V2 },
  { version: 3, description: 'alarms, alarm history, notification rules, delivery queue and log', sql: V3 },
  { version: 4, description: 'bureau analytics: missed-report runs', sql: V4 },
];

// The collector's store contract. Everything above the store (ingest, API, CLI, exporters) talks to this
// interface; two engines implement it from one SQL code base (collector/store/sql): SQLite for the embedded
// default, PostgreSQL for a cluster of collectors. One test suite runs against both.
import type { ConfigProblem, DeviceRecord, EdgeReport, SensingEvent, SeqRange } from '../../schema/types.js';
import type { QualityName } from '../../schema/types.js';
import type { FeedBus } from './feed.js';
import type { CommitOptions, CommitResult, IngestJob } from './plan.js';
import type { AlarmStore, NotifyStore } from './alarm-types.js';

export type { CommitOptions, CommitResult, IngestJob, JobOutcome } from './plan.js';
export type * from './alarm-types.js';

export type StoreKind = 'sqlite' | 'postgres';

// ---- registry (一机一档) ----

export interface DeviceRow {
  id: string;
  edge_id: string | null;
  /** Created or edited at the collector (admin API, CSV import): only an admin assigns its edge. */
  registered: number;
  /** Who set the sharing scope last: 'edge' (from the edge's record) or 'registrar' (collector side). */
  scope_source: string;
  /** The last sharing scope an edge claimed that conflicted with the registrar's (conflicts are reported once). */
  edge_scope_claim: string | null;
  record: string;
  site_id: string | null;
  scope: string;
  runtime_status: string;
  status_ts: number | null;
  status_reason: string | null;
  last_seen: number | null;
  updated_at: number;
}

export interface DeviceFilter {
  site?: string;
  siteType?: string;
  kind?: string;
  metric?: string;
  status?: string;
  bbox?: [number, number, number, number]; // minLon, minLat, maxLon, maxLat
  q?: string;
  bureau?: string; // restrict to devices shared with this bureau (undefined: admin, all)
  edge?: string;
}

export interface HistoryEntry {
  ts: number;
  actor: string;
  changes: Record<string, [unknown, unknown]>;
}

export interface UpsertOptions {
  /** Owning edge; null unassigns; undefined keeps the current one. */
  edgeId?: string | null;
  /** PUT semantics: the body replaces the record instead of being merged into it. */
  replace?: boolean;
  ts?: number;
}

export interface RegistryStore {
  row(id: string): Promise<DeviceRow | undefined>;
  /** Rows of the given devices (missing ones are simply absent). */
  rows(ids: string[]): Promise<DeviceRow[]>;
  /** The record with its runtime fields, as the API shows it. */
  get(id: string): Promise<DeviceRecord | undefined>;
  list(f: DeviceFilter): Promise<DeviceRecord[]>;
  /**
   * Creates or changes a record at the collector (admin, import): the device becomes registrar-managed — an edge
   * can no longer claim it, and a sharing scope given here is the registrar's.
   */
  upsert(record: DeviceRecord, actor: string, opts?: UpsertOptions): Promise<{ created: boolean; changed: boolean }>;
  /** Upserts many records in one transaction (CSV import). */
  upsertMany(records: DeviceRecord[], actor: string, opts?: UpsertOptions): Promise<{ created: number; updated: number }>;
  history(id: string, limit?: number): Promise<HistoryEntry[]>;
}

// ---- edges ----

export interface EdgeRow {
  id: string;
  password_hash: string;
  source: string;
  created_at: number;
}

export interface EdgeInfo {
  id: string;
  /** config | admin | unregistered (known only from its traffic, e.g. behind an external broker) */
  source: string;
  createdAt?: number;
  connected: boolean;
  statusTs?: number;
  version?: string;
  lastBatchAt?: number;
  transportLagMs?: number;
  /** How far behind the edge is: age of its oldest buffered item (0 with an empty buffer). */
  lagMs: number;
  bufferRows?: number;
  bufferBytes?: number;
  droppedReadings?: number;
  backlogItems?: number;
  committedThrough: number;
  ranges: SeqRange[];
  gaps: SeqRange[];
  missing: number;
}

export interface EdgeStore {
  get(id: string): Promise<EdgeRow | undefined>;
  /** Adds an edge or replaces its password hash. */
  put(id: string, passwordHash: string, source: 'config' | 'admin'): Promise<void>;
  remove(id: string): Promise<boolean>;
  setConnected(id: string, connected: boolean, ts: number, version?: string): Promise<void>;
  list(): Promise<EdgeInfo[]>;
  ranges(id: string): Promise<SeqRange[]>;
  committedThrough(id: string): Promise<number>;
}

// ---- events ----

export interface StoredEvent {
  id: number;
  device: string;
  edge?: string;
  ts: number;
  kind: string;
  severity: string;
  message?: string;
  code?: string;
  metric?: string;
  value?: number;
  threshold?: number;
}

export interface EventQuery {
  from: number;
  to: number;
  minSeverity?: number;
  bureau?: string;
  device?: string;
  limit?: number;
}

export interface EventStore {
  query(q: EventQuery): Promise<StoredEvent[]>;
}

// ---- series ----

export const AGGS = ['avg', 'min', 'max', 'last', 'count', 'sum'] as const;
export type Agg = (typeof AGGS)[number];
export type Resolution = 'raw' | '1m' | '1h';

/** How a series' values were derived at the source (Reading.aggregate): instantaneous samples or period aggregates. */
export const AGGREGATE_NAMES = ['sample', 'avg', 'min', 'max', 'total'] as const;
export type AggregateName = (typeof AGGREGATE_NAMES)[number];

/** One stored series of a device's metric: samples, or one kind of period aggregate (HJ 212 minute/hour/day data). */
export interface SeriesVariant {
  metric: string;
  unit: string;
  aggregate: AggregateName;
  periodS: number;
}

export interface SeriesPoint {
  ts: number;
  value: number | string | null;
  quality: QualityName;
  /** Period totals (rainfall `agg=sum`): end of the period (exclusive); `ts` is its start. */
  end?: number;
}

export interface SeriesResult extends SeriesVariant {
  device: string;
  resolution: Resolution;
  step: number | null;
  points: SeriesPoint[];
}

export interface SeriesQuery {
  from: number;
  to: number;
  step?: number; // ms; undefined: chosen from the range
  agg: Agg;
  rawDays: number;
  minuteDays: number;
  now?: number;
  maxRawPoints?: number;
  /** Which variant; default: samples when the device has them, else the shortest-period average, else any. */
  aggregate?: AggregateName;
  periodS?: number;
  /**
   * Buckets start where (ts + alignOffsetMs) is a multiple of the step. Default 8 h (China time): 1-day buckets are
   * Beijing calendar days; 0 makes them UTC days (= hydrological days, 08:00 Beijing).
   */
  alignOffsetMs?: number;
}

export interface LatestRow extends SeriesVariant {
  device: string;
  ts: number;
  value: number | string | null;
  quality: QualityName;
}

export interface SeriesStore {
  /** The series a device has (one per metric and aggregate variant). */
  variants(deviceId: string): Promise<SeriesVariant[]>;
  query(deviceId: string, metric: string, q: SeriesQuery): Promise<SeriesResult | undefined>;
  /** Latest value per series, restricted to a bureau's devices (undefined: all) and optionally a site/device/metric. */
  latest(filter: { bureau?: string; site?: string; device?: string; metric?: string; aggregate?: AggregateName }): Promise<LatestRow[]>;
}

// ---- video ----

export const VERDICT_NAMES = ['ok', 'warn', 'fault', 'unknown'] as const;

export interface QualityResultRow {
  ts: number;
  verdict: (typeof VERDICT_NAMES)[number];
  checks: { name: string; score: number; verdict: (typeof VERDICT_NAMES)[number]; detail?: string }[];
}

export interface VideoStore {
  latestSnapshot(deviceId: string): Promise<{ ts: number; jpeg: Buffer; width: number | null; height: number | null } | undefined>;
  quality(deviceId: string, opts: { from: number; to: number; limit: number }): Promise<QualityResultRow[]>;
}

// ---- tokens ----

/** What a bureau token may do: read (viewer, the default) or also acknowledge alarms and manage its bureau's notification rules (operator). */
export const TOKEN_ROLES = ['viewer', 'operator'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface Principal {
  name: string;
  admin: boolean;
  bureau?: string; // undefined for admins: they see every device
  /** Bureau tokens: viewer or operator (admins may do everything). */
  role?: TokenRole;
}

export interface TokenInfo {
  name: string;
  bureau: string | null;
  admin: boolean;
  role: TokenRole;
  createdAt: number;
}

export interface TokenStore {
  /** Stores a token's hash. */
  add(hash: string, info: { name: string; bureau?: string; admin?: boolean; role?: TokenRole }): Promise<void>;
  resolve(hash: string): Promise<Principal | undefined>;
  list(): Promise<TokenInfo[]>;
  revoke(name: string): Promise<number>;
}

// ---- quarantine ----

export interface QuarantinedItem {
  id: number;
  edge: string;
  batchId: number;
  seq: number;
  receivedAt: number;
  /** reading | event | record | video_quality | snapshot */
  itemKind: string;
  device: string | null;
  reason: string;
  detail: string;
  /** The item as received (JSON; snapshots without their JPEG). */
  item: unknown;
}

export interface QuarantineQuery {
  edge?: string;
  device?: string;
  reason?: string;
  from?: number;
  to?: number;
  limit?: number;
}

export interface QuarantineStore {
  list(q: QuarantineQuery): Promise<QuarantinedItem[]>;
  /** Counts by reason (and edge), for the admin overview and /metrics. */
  summary(): Promise<{ edge: string; reason: string; items: number; lastAt: number }[]>;
}

// ---- the InfluxDB outbox ----

export interface OutboxStore {
  pending(): Promise<{ rows: number; lines: number }>;
  /**
   * Hands up to `maxLines` of the oldest waiting lines to `send`; they are deleted only after it resolves. In a
   * cluster, rows being sent by one node are skipped by the others.
   */
  process(maxLines: number, send: (lines: string[]) => Promise<void>): Promise<{ lines: number; more: boolean }>;
}

// ---- bureau analytics (completeness / 到报率, missed-report runs) ----

export interface ArrivalQuery {
  devices: string[];
  from: number;
  to: number;
  /** Which series count: 0 samples, else aggregates of this period (HJ 212 minute/hourly/daily data). */
  periodS: number;
  /** Rollup the cells are built from: 1-minute or 1-hour buckets. */
  resolution: '1m' | '1h';
  /** Cell width (a multiple of the rollup bucket) and where cells start: (cell + offsetMs) is a multiple of it. */
  cellMs: number;
  offsetMs: number;
}

export interface Arrival {
  device: string;
  /** Cell start (ms). */
  cell: number;
  /** Largest reading count of any one of the device's matching series in the cell. */
  count: number;
}

/** A device that has missed a schedule's reports several times in a row (raised once per run). */
export interface MissedRun {
  device: string;
  schedule: string;
  /** Start of the first missed interval. */
  since: number;
  raisedAt: number;
}

export interface AnalyticsStore {
  arrivals(q: ArrivalQuery): Promise<Arrival[]>;
  /** Each device's oldest hour with data (any series); devices without data are absent. */
  firstData(devices: string[]): Promise<Map<string, number>>;
  openMissedRuns(): Promise<MissedRun[]>;
  /** Opens the run and stores its event; undefined when the run was already open (another node raised it). */
  raiseMissedRun(run: MissedRun, event: Omit<SensingEvent, 'seq'>): Promise<StoredEvent | undefined>;
  /** Closes the run and stores its event; undefined when no run was open. */
  clearMissedRun(device: string, schedule: string, event: Omit<SensingEvent, 'seq'>): Promise<StoredEvent | undefined>;
}

// ---- edge configuration (edge–cloud coordination) ----

/** An edge's desired configuration: the JSON document (device passwords encrypted, see collector/control). */
export interface DesiredConfig {
  edgeId: string;
  version: number;
  /** JSON of the central configuration; secret values are `enc:v1:…` envelopes. */
  doc: string;
  updatedAt: number;
  updatedBy: string;
}

export interface ConfigVersion {
  edgeId: string;
  version: number;
  ts: number;
  actor: string;
  /** What changed, in words ("devices.WL-02: added", "thresholds.sites.QC01.water_level.warning: 3.5 → 2.8"). */
  changes: string[];
}

/** What a change of an edge's desired configuration writes, decided from the current one inside the transaction. */
export interface ConfigChange {
  doc: string;
  changes: string[];
  /** Device ids the new document places on this edge (kept unique across edges). */
  devices: string[];
  /** Records to register at the same time (registrar-managed, assigned to this edge). */
  register?: DeviceRecord[];
}

/**
 * What an edge last told the collector about its configuration and itself (EdgeStatus + EdgeReport; localConfig:
 * an unmanaged edge's own configuration, JSON, secrets masked, read-only here).
 */
export interface EdgeControlState extends Omit<EdgeReport, 'ts' | 'version' | 'errors'> {
  edgeId: string;
  /** X25519 public key (base64) the configuration is sealed to. */
  configKey?: string;
  errors: ConfigProblem[];
  softwareVersion?: string;
  /** Edge clock minus collector clock when its last report arrived (± the network's one-way delay). */
  clockOffsetMs?: number;
  reportAt?: number;
}

export interface EdgeConfigStore {
  get(edgeId: string): Promise<DesiredConfig | undefined>;
  /**
   * Changes an edge's desired configuration in one transaction (serialised per edge across collector nodes):
   * `change` sees the current one and returns the next, or undefined for no change. The version goes up by one,
   * the history keeps who changed what, and the records in `register` are registered to the edge alongside.
   * Throws when a device of the new document is placed on another edge.
   */
  update(edgeId: string, actor: string, change: (current: DesiredConfig | undefined) => ConfigChange | undefined, now?: number): Promise<DesiredConfig | undefined>;
  /** Every edge's desired version (for publishing what changed on another node or from the CLI). */
  versions(): Promise<{ edgeId: string; version: number }[]>;
  history(edgeId: string, limit?: number): Promise<ConfigVersion[]>;
  /** The edge whose desired configuration holds this device, if any. */
  edgeOfDevice(deviceId: string): Promise<string | undefined>;
  /** From an EdgeStatus: the edge's key, mode and applied version. */
  noteStatus(edgeId: string, s: { configKey?: string; managed?: boolean; appliedVersion?: number; softwareVersion?: string }): Promise<void>;
  /** From an EdgeReport; an empty localConfig keeps the one reported before. */
  noteReport(edgeId: string, r: Omit<EdgeControlState, 'edgeId' | 'configKey'>): Promise<void>;
  state(edgeId: string): Promise<EdgeControlState | undefined>;
  states(): Promise<EdgeControlState[]>;
}

// ---- audit log ----

export interface AuditEntry {
  id: number;
  ts: number;
  /** Token name (API) or cli:<user>. */
  actor: string;
  /** "PUT /api/v1/admin/edges/{edgeId}/devices/{deviceId}", "cli device add", … */
  action: string;
  /** The concrete thing acted on (a path, an edge, a device). */
  target?: string;
  /** HTTP status of the answer (API), 0 for the CLI. */
  status: number;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  from?: number;
  to?: number;
  actor?: string;
  /** Substring of the action or target. */
  q?: string;
  limit?: number;
}

export interface AuditStore {
  add(e: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  list(q: AuditQuery): Promise<AuditEntry[]>;
}

export interface RetentionDays {
  rawDays: number;
  minuteDays: number;
  hourDays: number;
}

export interface CollectorStore {
  readonly kind: StoreKind;
  /** Where it lives, for logs (a file path or a redacted URL). */
  readonly location: string;
  readonly registry: RegistryStore;
  readonly edges: EdgeStore;
  readonly events: EventStore;
  readonly series: SeriesStore;
  readonly video: VideoStore;
  readonly tokens: TokenStore;
  readonly quarantine: QuarantineStore;
  readonly edgeConfigs: EdgeConfigStore;
  readonly audit: AuditStore;
  readonly outbox: OutboxStore;
  /** Bureau analytics: report arrivals, first data, missed-report runs. */
  readonly analytics: AnalyticsStore;
  /** Alarms (lifecycle, acknowledgement, queries). */
  readonly alarms: AlarmStore;
  /** Notification rules per bureau and the durable delivery queue with its log. */
  readonly notify: NotifyStore;
  /** Live readings and events committed by this store (any node, in a cluster). */
  readonly feed: FeedBus;
  /** The ingest transaction: dedup by (edge, seq), ownership, persistence, committed ranges; feed published after commit. */
  ingest(jobs: IngestJob[], opts: CommitOptions): Promise<CommitResult>;
  /** Deletes (or drops partitions of) data older than each resolution's retention. */
  applyRetention(r: RetentionDays, now?: number): Promise<{ raw: number; minute: number; hour: number }>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

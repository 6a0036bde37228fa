// TypeScript shapes of the messages in yiwang.proto (camelCase, as protobufjs exposes them).
// int64/uint64 fields are plain numbers: ms timestamps and sequence numbers stay far below 2^53.

export const Quality = { GOOD: 0, UNCERTAIN: 1, BAD: 2 } as const;
export type Quality = (typeof Quality)[keyof typeof Quality];
export const QUALITY_NAMES = ['good', 'uncertain', 'bad'] as const;
export type QualityName = (typeof QUALITY_NAMES)[number];

export const Aggregate = { SAMPLE: 0, AVG: 1, MIN: 2, MAX: 3, TOTAL: 4 } as const;
export type Aggregate = (typeof Aggregate)[keyof typeof Aggregate];

export const EventKind = {
  EVENT_UNKNOWN: 0,
  ALARM_RAISED: 1,
  ALARM_CLEARED: 2,
  DEVICE_ONLINE: 3,
  DEVICE_OFFLINE: 4,
  DEVICE_DEGRADED: 5,
  THRESHOLD_CROSSED: 6,
  VIDEO_FAULT_RAISED: 7,
  VIDEO_FAULT_CLEARED: 8,
  RECORD_CHANGED: 9,
  DATA_GAP: 10,
  DATA_QUARANTINED: 11,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export const Severity = { INFO: 0, WARNING: 1, MAJOR: 2, CRITICAL: 3 } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

export const Verdict = { OK: 0, WARN: 1, FAULT: 2, UNKNOWN_VERDICT: 3 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export type ReadingValue = number | boolean | string;

export interface Reading {
  deviceId: string;
  metric: string;
  number?: number;
  boolean?: boolean;
  text?: string;
  unit: string;
  ts: number;
  quality?: Quality;
  qualityReason?: string;
  seq: number;
  aggregate?: Aggregate;
  periodS?: number;
}

export interface SensingEvent {
  deviceId: string;
  kind: EventKind;
  severity: Severity;
  message: string;
  ts: number;
  seq: number;
  code?: string;
  metric?: string;
  value?: number;
  threshold?: number;
}

export interface Location {
  longitude?: number;
  latitude?: number;
  address?: string;
  divisionCode?: string;
}

export const SITE_TYPES = ['village', 'street', 'water_station', 'other'] as const;
export type SiteType = (typeof SITE_TYPES)[number];

export interface Site {
  id: string;
  name?: string;
  type?: SiteType | string;
}

export interface CameraInfo {
  cameraType?: string;
  fillLight?: string;
  direction?: string;
  encoding?: string;
  resolution?: string;
  streamUris?: string[];
  snapshotUri?: string;
  ptz?: boolean;
  recordRetentionDays?: number;
  frameRate?: number;
  bitrateKbps?: number;
  hardwareId?: string;
  clockOffsetMs?: number;
}

export interface DeviceRecord {
  id: string;
  name?: string;
  kind?: string;
  profileId?: string;
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  firmware?: string;
  address?: string;
  location?: Location;
  site?: Site;
  scenario?: string;
  industry?: string;
  sharingScope?: string[];
  installedDate?: string;
  maintainer?: string;
  maintainerContact?: string;
  lifecycle?: string;
  runtimeStatus?: string;
  lastSeen?: number;
  statusReason?: string;
  camera?: CameraInfo;
  seq?: number;
  updatedAt?: number;
  edgeId?: string;
  customMetrics?: MetricDefinition[];
  /** Alarm levels the edge applies (profile levels overridden per site and device). */
  thresholds?: MetricThreshold[];
  /** What data the device is expected to send, and how often (completeness / 到报率). */
  schedules?: DataSchedule[];
  /** river | lake | reservoir (GB 3838 classes: TP limits, TN counted only for lakes and reservoirs). */
  waterBody?: string;
}

/** One kind of data a device is expected to send on a schedule (see yiwang.proto DataSchedule). */
export interface DataSchedule {
  name: string;
  intervalMs: number;
  /** 0: samples; else aggregates of this period. */
  periodS?: number;
  primary?: boolean;
}

/** The levels in effect for one metric of a device (wire MetricThreshold). */
export interface MetricThreshold {
  metric: string;
  warning?: number;
  alarm?: number;
  direction?: 'above' | 'below' | string;
  hysteresis?: number;
  when?: boolean;
  /** profile | site | device: the most specific level that set a value. */
  source?: string;
}

/** A metric outside the catalog carried with the record that uses it (see CustomMetricDecl). */
export interface MetricDefinition {
  name: string;
  unit: string;
  zh: string;
  en: string;
  type?: string;
  rangeMin?: number;
  rangeMax?: number;
}

export interface QualityCheck {
  name: string;
  score: number;
  verdict: Verdict;
  detail?: string;
}

export interface VideoQuality {
  deviceId: string;
  ts: number;
  seq: number;
  verdict: Verdict;
  checks: QualityCheck[];
  sampleSeconds?: number;
  cpuSeconds?: number;
}

export interface Snapshot {
  deviceId: string;
  ts: number;
  seq: number;
  jpeg: Uint8Array;
  width?: number;
  height?: number;
}

export interface EdgeStats {
  bufferRows?: number;
  bufferBytes?: number;
  oldestBufferedTs?: number;
  droppedReadings?: number;
  backlogItems?: number;
}

export interface Batch {
  edgeId: string;
  batchId: number;
  firstSeq: number;
  lastSeq: number;
  readings?: Reading[];
  events?: SensingEvent[];
  records?: DeviceRecord[];
  videoQuality?: VideoQuality[];
  snapshots?: Snapshot[];
  historical?: boolean;
  sentAt?: number;
  stats?: EdgeStats;
}

export interface SeqRange {
  first: number;
  last: number;
}

export interface Ack {
  edgeId: string;
  batchId: number;
  committed?: SeqRange[];
  committedThrough?: number;
  error?: string;
  rejected?: boolean;
}

export interface EdgeStatus {
  edgeId: string;
  online: boolean;
  ts: number;
  version?: string;
  /** X25519 public key (32 bytes) the collector seals configurations to. */
  configKey?: Uint8Array;
  managed?: boolean;
  appliedConfigVersion?: number;
}

// ---- edge–cloud coordination (topics config, report, request, response) ----

export interface ConfigPush {
  edgeId: string;
  version: number;
  issuedAt?: number;
  issuedBy?: string;
  senderKey: Uint8Array;
  edgeKey: Uint8Array;
  nonce: Uint8Array;
  sealed: Uint8Array;
}

export interface ConfigProblem {
  path: string;
  message: string;
}

export interface DeviceHealthCounts {
  online?: number;
  degraded?: number;
  offline?: number;
  unknown?: number;
}

export interface EdgeReport {
  edgeId: string;
  ts: number;
  version?: string;
  managed?: boolean;
  appliedVersion?: number;
  appliedAt?: number;
  failedVersion?: number;
  errors?: ConfigProblem[];
  /** Unmanaged edges: their own devices/profiles/thresholds (JSON, secrets removed); empty: unchanged. */
  localConfig?: string;
  devices?: DeviceHealthCounts;
  bufferFill?: number;
  bufferMaxBytes?: number;
  bufferBytes?: number;
  backlogItems?: number;
  droppedReadings?: number;
}

export const DIAGNOSTIC_KINDS = ['device_test', 'doctor', 'logs'] as const;
export type DiagnosticKind = (typeof DIAGNOSTIC_KINDS)[number];

export interface DiagnosticRequest {
  edgeId: string;
  requestId: string;
  kind: DiagnosticKind | string;
  deviceId?: string;
  timeoutMs?: number;
  limit?: number;
  sentAt?: number;
}

export interface DiagnosticResponse {
  edgeId: string;
  requestId: string;
  ok: boolean;
  error?: string;
  /** JSON of the diagnostic's result. */
  result?: string;
  ts?: number;
}

/** The value of a reading, whichever oneof member is set. */
export function readingValue(r: Reading): ReadingValue | undefined {
  if (r.number !== undefined && r.number !== null) return r.number;
  if (r.boolean !== undefined && r.boolean !== null) return r.boolean;
  if (r.text !== undefined && r.text !== null) return r.text;
  return undefined;
}

/** Sets the oneof member matching the JS type of `value`. */
export function withValue<T extends Omit<Reading, 'number' | 'boolean' | 'text'>>(r: T, value: ReadingValue): Reading {
  if (typeof value === 'number') return { ...r, number: value };
  if (typeof value === 'boolean') return { ...r, boolean: value };
  return { ...r, text: value };
}

// The ingest decision, as a pure function: given a group of batches and what the database holds for them (the
// edges' committed seq ranges around the batches, the devices they mention), decide what to store, what to
// quarantine, what is a redelivery, and what to ack. Both store engines run this same code inside their
// transaction, so dedup, ownership and quarantine behave identically on SQLite and PostgreSQL.
//
// Rules (README "Ingest guarantees"):
// - Duplicates are decided by (edge, seq) and nothing else: an item whose seq the edge already committed is a
//   redelivery; every other item is stored, even when another reading of the series has the same timestamp.
// - A bad item never blocks good ones: an item that fails validation or ownership is quarantined (kept with its
//   reason), counted, and its seq is committed like a stored one, so the batch is acked and never resent.
// - The ack always carries the batch's own id and the runs of seqs the batch carried.
import { validateRecord } from '../../core/records.js';
import { EventKind, type Batch, type DeviceRecord, type EdgeStats, type Reading, type SensingEvent, type SeqRange, type Snapshot, type VideoQuality, type Ack } from '../../schema/types.js';
import { edgeRecordChange, ownershipRefusal, REFUSAL_TEXT, type DeviceValues } from './records.js';
import { runsOf, SeqSet } from './ranges.js';
import type { DeviceRow } from './types.js';

export interface IngestJob {
  edgeId: string;
  batch: Batch;
  receivedAt: number;
}

export interface CommitOptions {
  unknownDevices: 'claim' | 'refuse';
  /** Also queue InfluxDB lines (the outbox) for stored readings. */
  influx: boolean;
  /** Source timestamps further ahead of arrival than this are quarantined (default 1 day). */
  maxFutureMs?: number;
}

export interface JobOutcome {
  job: IngestJob;
  ack: Ack;
  duplicate: boolean; // every item of the batch was already committed
  stored: { readings: number; events: number; records: number; other: number };
  dedupItems: number;
  quarantined: Map<string, number>; // reason -> items
  quarantineDetail: string[]; // first few reasons, for the log
}

export interface CommitResult {
  outcomes: JobOutcome[];
  /** Readings actually written (for the write-rate metric). */
  pointsWritten: number;
  influxLines: number;
}

/** Earliest source timestamp accepted: 2000-01-01T00:00:00Z (a device clock reset to 1970 is not data). */
export const MIN_TS = 946_684_800_000;
const DEFAULT_MAX_FUTURE_MS = 86_400_000;
const METRIC_RE = /^[a-z][a-z0-9_]{0,63}$/;

export interface PlanState {
  /** Per edge: committed ranges overlapping (or adjacent to) the seqs of its jobs. */
  held: Map<string, SeqRange[]>;
  devices: Map<string, DeviceRow | undefined>;
}

export interface PlannedReading {
  edgeId: string;
  seq: number;
  deviceId: string;
  metric: string;
  unit: string;
  aggregate: number;
  periodS: number;
  ts: number;
  value: number | null;
  /** The edge sent a boolean (stored as 1/0; exported as a boolean field). */
  isBool: boolean;
  text: string | null;
  quality: number;
  site: string | null;
}

export interface PlannedEvent {
  edgeId: string;
  seq: number | null; // null: raised by the collector itself (quarantine notice, scope conflict)
  event: Omit<SensingEvent, 'seq'>;
  site: string | null;
  scope: string;
}

export interface QuarantineWrite {
  edgeId: string;
  batchId: number;
  seq: number;
  receivedAt: number;
  itemKind: 'reading' | 'event' | 'record' | 'video_quality' | 'snapshot';
  deviceId: string | null;
  reason: string;
  detail: string;
  item: string; // JSON
}

export interface HistoryWrite {
  deviceId: string;
  ts: number;
  actor: string;
  changes: string; // JSON
}

export interface StatusWrite {
  deviceId: string;
  status: string;
  ts: number;
  reason: string | null;
}

export interface IngestPlan {
  deviceWrites: Map<string, DeviceValues>;
  history: HistoryWrite[];
  statuses: Map<string, StatusWrite>;
  touches: Map<string, number>;
  readings: PlannedReading[];
  events: PlannedEvent[];
  videoQuality: { edgeId: string; seq: number; v: VideoQuality }[];
  /** Newest snapshot per camera only: older ones in the same commit would be overwritten anyway. */
  snapshots: Map<string, { edgeId: string; seq: number; s: Snapshot }>;
  quarantine: QuarantineWrite[];
  /** Per edge: seq runs to add to its committed ranges. */
  commit: Map<string, SeqRange[]>;
  edgeStats: { edgeId: string; at: number; sentAt: number | undefined; stats: EdgeStats | undefined }[];
  outcomes: JobOutcome[];
}

const STATUS_BY_EVENT: Partial<Record<number, string>> = {
  [EventKind.DEVICE_ONLINE]: 'online',
  [EventKind.DEVICE_OFFLINE]: 'offline',
  [EventKind.DEVICE_DEGRADED]: 'degraded',
};

/** The device ids a group of batches mentions (what PlanState.devices must hold). */
export function mentionedDevices(jobs: IngestJob[]): Set<string> {
  const ids = new Set<string>();
  for (const { batch: b } of jobs) {
    for (const r of b.records ?? []) if (r.id) ids.add(r.id);
    for (const list of [b.readings, b.events, b.videoQuality, b.snapshots]) for (const x of list ?? []) if (x.deviceId) ids.add(x.deviceId);
  }
  return ids;
}

/** Per edge, the seq window of its jobs widened by one on each side (adjacent committed ranges merge). */
export function seqWindows(jobs: IngestJob[]): Map<string, { lo: number; hi: number }> {
  const w = new Map<string, { lo: number; hi: number }>();
  for (const { edgeId, batch: b } of jobs) {
    const cur = w.get(edgeId);
    const lo = Math.max(0, b.firstSeq - 1);
    const hi = b.lastSeq + 1;
    if (!cur) w.set(edgeId, { lo, hi });
    else (cur.lo = Math.min(cur.lo, lo)), (cur.hi = Math.max(cur.hi, hi));
  }
  return w;
}

const INT32 = 2_147_483_647;
const isSmall = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const badItem = (detail: string): [string, string] => ['bad_item', detail];

const seqOk = (s: unknown): s is number => typeof s === 'number' && Number.isSafeInteger(s) && s >= 0;

class JobPlanner {
  readonly o: JobOutcome;
  /** Seqs of this batch's items that are now committed (new ones to add to the ranges). */
  private readonly carried: number[] = [];
  /** Every in-range seq the batch carries, new or already committed: what the ack reports as committed. */
  private readonly acked: number[] = [];
  private readonly held: SeqSet;
  private readonly maxFuture: number;

  constructor(
    private readonly job: IngestJob,
    private readonly plan: IngestPlan,
    private readonly state: PlanState,
    heldForEdge: SeqSet,
    private readonly opts: CommitOptions,
  ) {
    this.held = heldForEdge;
    this.maxFuture = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
    this.o = {
      job,
      ack: { edgeId: job.edgeId, batchId: job.batch.batchId },
      duplicate: false,
      stored: { readings: 0, events: 0, records: 0, other: 0 },
      dedupItems: 0,
      quarantined: new Map(),
      quarantineDetail: [],
    };
  }

  /** True when the item is new: its seq is in the batch's range and not yet committed by this edge. */
  private fresh(seq: unknown, kind: QuarantineWrite['itemKind'], deviceId: string | null, item: unknown): seq is number {
    const b = this.job.batch;
    if (!seqOk(seq) || seq < b.firstSeq || seq > b.lastSeq) {
      // Not committed: a seq outside the batch's range might belong to another batch of the edge.
      this.quarantine(kind, Number.isSafeInteger(seq) ? (seq as number) : -1, deviceId, 'bad_seq', `seq ${String(seq)} outside [${b.firstSeq}, ${b.lastSeq}]`, item);
      return false;
    }
    this.acked.push(seq);
    if (this.held.has(seq)) {
      this.o.dedupItems++;
      return false;
    }
    this.carried.push(seq);
    return true;
  }

  private quarantine(kind: QuarantineWrite['itemKind'], seq: number, deviceId: string | null, reason: string, detail: string, item: unknown): void {
    const o = this.o;
    o.quarantined.set(reason, (o.quarantined.get(reason) ?? 0) + 1);
    if (o.quarantineDetail.length < 5) o.quarantineDetail.push(`${kind} ${deviceId ?? '?'} seq ${seq}: ${reason}: ${detail}`);
    this.plan.quarantine.push({
      edgeId: this.job.edgeId,
      batchId: this.job.batch.batchId,
      seq,
      receivedAt: this.job.receivedAt,
      itemKind: kind,
      deviceId,
      reason,
      detail,
      item: JSON.stringify(item, (k, v: unknown) => (k === 'jpeg' ? undefined : v)),
    });
  }

  private tsProblem(ts: unknown): string | undefined {
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return `timestamp ${String(ts)} is not an integer (ms)`;
    if (ts < MIN_TS) return `timestamp ${ts} is before 2000-01-01: the device clock is probably wrong`;
    if (ts > this.job.receivedAt + this.maxFuture) {
      return `timestamp ${new Date(ts).toISOString()} is ${Math.round((ts - this.job.receivedAt) / 3_600_000)} h ahead of arrival: the device clock is probably wrong`;
    }
    return undefined;
  }

  /** Ownership check; claims a device nobody registered for this edge (a minimal record). */
  private owner(deviceId: string, kind: QuarantineWrite['itemKind'], seq: number, item: unknown): DeviceRow | undefined | false {
    const row = this.state.devices.get(deviceId);
    const refusal = ownershipRefusal(row, this.job.edgeId, this.opts.unknownDevices);
    if (refusal) {
      this.quarantine(kind, seq, deviceId, refusal, REFUSAL_TEXT[refusal](row), item);
      return false;
    }
    if (row) return row;
    this.applyRecord({ id: deviceId }, this.job.receivedAt);
    return this.state.devices.get(deviceId);
  }

  private applyRecord(r: DeviceRecord, ts: number): boolean {
    const row = this.state.devices.get(r.id);
    const change = edgeRecordChange(row, r, this.job.edgeId, ts);
    if (!change) return false;
    this.state.devices.set(r.id, change.row);
    this.plan.deviceWrites.set(r.id, change.values);
    if (Object.keys(change.changes).length) {
      this.plan.history.push({ deviceId: r.id, ts, actor: `edge:${this.job.edgeId}`, changes: JSON.stringify(change.changes) });
    }
    if (change.scopeConflict) {
      const { claimed, kept } = change.scopeConflict;
      this.plan.events.push({
        edgeId: this.job.edgeId,
        seq: null,
        site: change.row.site_id,
        scope: change.row.scope,
        event: {
          deviceId: r.id,
          kind: EventKind.RECORD_CHANGED,
          severity: 1,
          ts,
          code: 'sharing_scope.conflict',
          message: `edge ${this.job.edgeId} sent sharing scope [${claimed.join(', ')}]; the registrar's [${kept.join(', ')}] was kept`,
        },
      });
    }
    return true;
  }

  private status(deviceId: string, status: string, ts: number, reason: string | null): void {
    const cur = this.plan.statuses.get(deviceId);
    if (!cur || ts >= cur.ts) this.plan.statuses.set(deviceId, { deviceId, status, ts, reason });
  }

  run(): void {
    const { batch: b, edgeId, receivedAt: now } = this.job;
    // Records first: a device announced in this batch is registered before its readings are checked.
    for (const r of b.records ?? []) {
      if (!this.fresh(r.seq, 'record', r.id || null, r)) continue;
      const issues = r.id ? validateRecord(r) : [{ path: 'id', message: 'is required' }];
      if (JSON.stringify(r).includes('\\u0000')) issues.push({ path: '(record)', message: 'NUL character in a text field' });
      if (issues.length) {
        this.quarantine('record', r.seq!, r.id || null, 'invalid_record', issues.map((i) => `${i.path} ${i.message}`).join('; '), r);
        continue;
      }
      const row = this.state.devices.get(r.id);
      const refusal = ownershipRefusal(row, edgeId, this.opts.unknownDevices);
      if (refusal) {
        this.quarantine('record', r.seq!, r.id, refusal, REFUSAL_TEXT[refusal](row), r);
        continue;
      }
      this.applyRecord(r, r.updatedAt || now);
      if (r.runtimeStatus && r.runtimeStatus !== 'unknown') this.status(r.id, r.runtimeStatus, r.lastSeen || now, r.statusReason || null);
      this.o.stored.records++;
    }
    for (const r of b.readings ?? []) this.reading(r);
    for (const e of b.events ?? []) {
      if (!this.fresh(e.seq, 'event', e.deviceId || null, e)) continue;
      if (this.rejectItem('event', e.seq, e.deviceId, e, this.eventProblem(e))) continue;
      const row = this.owner(e.deviceId, 'event', e.seq, e);
      if (row === false) continue;
      const { seq: _seq, ...event } = e;
      this.plan.events.push({ edgeId, seq: e.seq, event, site: row?.site_id ?? null, scope: row?.scope ?? ',' });
      const status = STATUS_BY_EVENT[e.kind ?? 0];
      if (status) this.status(e.deviceId, status, e.ts, status === 'online' ? null : e.code || e.message || null);
      this.o.stored.events++;
    }
    for (const v of b.videoQuality ?? []) {
      if (!this.fresh(v.seq, 'video_quality', v.deviceId || null, v)) continue;
      const problem = this.common(v.deviceId, v.ts, [v.deviceId, JSON.stringify(v.checks ?? [])]) ?? (isSmall(v.verdict ?? 0, 3) ? undefined : badItem(`unknown verdict ${v.verdict}`));
      if (this.rejectItem('video_quality', v.seq, v.deviceId, v, problem)) continue;
      if (this.owner(v.deviceId, 'video_quality', v.seq, v) === false) continue;
      this.plan.videoQuality.push({ edgeId, seq: v.seq, v });
      this.o.stored.other++;
    }
    for (const s of b.snapshots ?? []) {
      if (!this.fresh(s.seq, 'snapshot', s.deviceId || null, s)) continue;
      const problem = this.common(s.deviceId, s.ts, [s.deviceId]) ?? (isSmall(s.width ?? 0, INT32) && isSmall(s.height ?? 0, INT32) ? undefined : badItem('bad width/height'));
      if (this.rejectItem('snapshot', s.seq, s.deviceId, s, problem)) continue;
      if (this.owner(s.deviceId, 'snapshot', s.seq, s) === false) continue;
      const cur = this.plan.snapshots.get(s.deviceId);
      if (!cur || s.ts >= cur.s.ts) this.plan.snapshots.set(s.deviceId, { edgeId, seq: s.seq, s });
      this.o.stored.other++;
    }
    const runs = runsOf(this.carried);
    const total = (b.readings?.length ?? 0) + (b.events?.length ?? 0) + (b.records?.length ?? 0) + (b.videoQuality?.length ?? 0) + (b.snapshots?.length ?? 0);
    this.o.duplicate = total > 0 && this.o.dedupItems === total;
    for (const r of runs) this.held.add(r); // a redelivery later in the same group is recognised
    const c = this.plan.commit.get(edgeId) ?? [];
    c.push(...runs);
    this.plan.commit.set(edgeId, c);
    this.plan.edgeStats.push({ edgeId, at: now, sentAt: b.sentAt, stats: b.stats });
    this.o.ack.committed = runsOf(this.acked);
    this.plan.outcomes.push(this.o);
  }

  private reading(r: Reading): void {
    if (!this.fresh(r.seq, 'reading', r.deviceId || null, r)) return;
    const problem = this.readingProblem(r);
    if (problem) {
      this.quarantine('reading', r.seq, r.deviceId || null, problem[0], problem[1], r);
      return;
    }
    const row = this.owner(r.deviceId, 'reading', r.seq, r);
    if (row === false) return;
    const value = r.number ?? (r.boolean != null ? (r.boolean ? 1 : 0) : null);
    this.plan.readings.push({
      edgeId: this.job.edgeId,
      seq: r.seq,
      deviceId: r.deviceId,
      metric: r.metric,
      unit: r.unit ?? '',
      aggregate: r.aggregate ?? 0,
      periodS: r.aggregate ? (r.periodS ?? 0) : 0,
      ts: r.ts,
      value,
      isBool: r.boolean != null,
      text: r.text ?? null,
      quality: r.quality ?? 0,
      site: row?.site_id ?? null,
    });
    const t = this.plan.touches.get(r.deviceId) ?? 0;
    if (r.ts > t) this.plan.touches.set(r.deviceId, r.ts);
    this.o.stored.readings++;
  }

  /** Quarantines the item when `problem` is set; true when it did. */
  private rejectItem(kind: QuarantineWrite['itemKind'], seq: number, deviceId: string | undefined, item: unknown, problem: [string, string] | undefined): boolean {
    if (!problem) return false;
    this.quarantine(kind, seq, deviceId || null, problem[0], problem[1], item);
    return true;
  }

  /** Checks every item kind shares: a device id, a sane timestamp, no NUL characters in its text. */
  private common(deviceId: string | undefined, ts: unknown, texts: (string | undefined | null)[]): [string, string] | undefined {
    if (!deviceId || deviceId.length > 128) return badItem('missing or too long device_id');
    // PostgreSQL text cannot hold NUL; no field of ours has a use for it either.
    if (texts.some((t) => t?.includes('\u0000'))) return badItem('NUL character in a text field');
    const bad = this.tsProblem(ts);
    return bad ? ['bad_timestamp', bad] : undefined;
  }

  private eventProblem(e: SensingEvent): [string, string] | undefined {
    return (
      this.common(e.deviceId, e.ts, [e.deviceId, e.message, e.code, e.metric]) ??
      (isSmall(e.kind ?? 0, 32767) && isSmall(e.severity ?? 0, 3) ? undefined : badItem(`unknown kind ${e.kind} or severity ${e.severity}`))
    );
  }

  private readingProblem(r: Reading): [string, string] | undefined {
    const common = this.common(r.deviceId, r.ts, [r.deviceId, r.unit, r.text]);
    if (common) return common;
    if (!METRIC_RE.test(r.metric ?? '')) return badItem(`bad metric name "${String(r.metric ?? '').slice(0, 80)}"`);
    if (r.number != null && !Number.isFinite(r.number)) return ['bad_value', 'non-finite value'];
    if (!isSmall(r.aggregate ?? 0, 4)) return badItem(`unknown aggregate ${r.aggregate}`);
    if (!isSmall(r.quality ?? 0, 2)) return badItem(`unknown quality ${r.quality}`);
    if (!isSmall(r.periodS ?? 0, INT32)) return badItem(`period_s ${r.periodS} out of range`);
    const hasValue = r.number != null || r.boolean != null || r.text != null;
    if (!hasValue && (r.quality ?? 0) === 0) return ['bad_value', 'good-quality reading without a value'];
    return undefined;
  }
}

/** Decides a group of batches against the database state read for them. Mutates `state.devices` as records apply. */
export function planIngest(jobs: IngestJob[], state: PlanState, opts: CommitOptions): IngestPlan {
  const plan: IngestPlan = {
    deviceWrites: new Map(),
    history: [],
    statuses: new Map(),
    touches: new Map(),
    readings: [],
    events: [],
    videoQuality: [],
    snapshots: new Map(),
    quarantine: [],
    commit: new Map(),
    edgeStats: [],
    outcomes: [],
  };
  const heldSets = new Map<string, SeqSet>();
  for (const job of jobs) {
    let held = heldSets.get(job.edgeId);
    if (!held) heldSets.set(job.edgeId, (held = new SeqSet(state.held.get(job.edgeId) ?? [])));
    new JobPlanner(job, plan, state, held, opts).run();
  }
  return plan;
}

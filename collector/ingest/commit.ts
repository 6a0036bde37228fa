// The ingest transaction: dedup by (edge, seq), ownership checks, persistence of every item kind, committed
// ranges — all in ONE SQLite transaction per group of batches. Acks are built from what was committed.
import { validateRecord } from '../../core/records.js';
import { EventKind, type Ack, type Batch, type DeviceRecord, type SeqRange } from '../../schema/types.js';
import type { DeviceRow } from '../store/registry.js';
import { recordBody } from '../store/registry.js';
import type { Store } from '../store/index.js';
import { contains, runsOf, subtract } from '../store/ranges.js';
import { lineFor } from '../store/influx.js';
import type { FeedItem } from '../feed.js';

export interface IngestJob {
  edgeId: string;
  batch: Batch;
  receivedAt: number;
}

export interface JobOutcome {
  job: IngestJob;
  ack: Ack;
  duplicate: boolean;          // every sequence of the batch was already committed
  stored: { readings: number; events: number; records: number; other: number };
  dedupItems: number;
  refused: Map<string, number>; // reason -> items
  refusedDetail: string[];      // first few reasons, for the log
}

export interface CommitResult {
  outcomes: JobOutcome[];
  feed: Omit<FeedItem, 'id'>[];
  influxLines: number;
}

export interface CommitOptions {
  unknownDevices: 'claim' | 'refuse';
  influx: boolean;
  feed: boolean;
}

const STATUS_BY_EVENT: Partial<Record<number, string>> = {
  [EventKind.DEVICE_ONLINE]: 'online',
  [EventKind.DEVICE_OFFLINE]: 'offline',
  [EventKind.DEVICE_DEGRADED]: 'degraded',
};

/** Per-transaction view of device ownership (read from the DB, so several collector processes agree). */
class Ownership {
  private readonly rows = new Map<string, DeviceRow | undefined>();
  constructor(private readonly store: Store, private readonly opts: CommitOptions) {}

  row(id: string): DeviceRow | undefined {
    if (!this.rows.has(id)) this.rows.set(id, this.store.registry.row(id));
    return this.rows.get(id);
  }

  /** undefined when the edge may report for the device (claiming it if allowed), else the refusal reason. */
  check(deviceId: string, edgeId: string, ts: number): string | undefined {
    const row = this.row(deviceId);
    if (row?.edge_id === edgeId) return undefined;
    if (row && row.edge_id !== null) return 'foreign_device';
    if (!row && this.opts.unknownDevices === 'refuse') return 'unknown_device';
    this.store.registry.claim(deviceId, edgeId, ts);
    this.rows.delete(deviceId);
    return undefined;
  }

  forget(id: string): void {
    this.rows.delete(id);
  }
}

function refuse(o: JobOutcome, reason: string, detail: string): void {
  o.refused.set(reason, (o.refused.get(reason) ?? 0) + 1);
  if (o.refusedDetail.length < 5) o.refusedDetail.push(detail);
}

function applyJob(store: Store, job: IngestJob, own: Ownership, opts: CommitOptions, feed: Omit<FeedItem, 'id'>[], lines: string[]): JobOutcome {
  const { batch: b, edgeId } = job;
  const o: JobOutcome = {
    job,
    ack: { edgeId, batchId: b.batchId },
    duplicate: false,
    stored: { readings: 0, events: 0, records: 0, other: 0 },
    dedupItems: 0,
    refused: new Map(),
    refusedDetail: [],
  };
  const held = store.edges.heldWithin(edgeId, b.firstSeq, b.lastSeq);
  const fresh = subtract(b.firstSeq, b.lastSeq, held);
  const isNew = (seq: number | undefined) => {
    if (contains(fresh, seq ?? 0)) return true;
    o.dedupItems++;
    return false;
  };
  if (fresh.length === 0) {
    o.duplicate = true;
    o.dedupItems = (b.readings?.length ?? 0) + (b.events?.length ?? 0) + (b.records?.length ?? 0) + (b.videoQuality?.length ?? 0) + (b.snapshots?.length ?? 0);
  } else {
    const now = job.receivedAt;
    // Records first: a device announced in this batch is registered before its readings are checked.
    for (const r of b.records ?? []) {
      if (!isNew(r.seq)) continue;
      const issues = validateRecord(r as DeviceRecord);
      if (issues.length) {
        refuse(o, 'invalid_record', `record ${r.id}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
        continue;
      }
      const row = own.row(r.id);
      if (row && row.edge_id !== null && row.edge_id !== edgeId) {
        refuse(o, 'foreign_device', `record ${r.id} belongs to edge ${row.edge_id}`);
        continue;
      }
      if (!row && opts.unknownDevices === 'refuse') {
        refuse(o, 'unknown_device', `record ${r.id} is not registered`);
        continue;
      }
      store.registry.upsert(recordBody(r), `edge:${edgeId}`, { edgeId, ts: r.updatedAt || now });
      if (r.runtimeStatus && r.runtimeStatus !== 'unknown') store.registry.setStatus(r.id, r.runtimeStatus, r.lastSeen || now, r.statusReason || null);
      own.forget(r.id);
      o.stored.records++;
    }
    const touched = new Map<string, number>();
    for (const r of b.readings ?? []) {
      if (!isNew(r.seq)) continue;
      const why = own.check(r.deviceId, edgeId, now);
      if (why) {
        refuse(o, why, `reading ${r.deviceId}/${r.metric}: ${why === 'foreign_device' ? `device belongs to edge ${own.row(r.deviceId)?.edge_id}` : 'device not registered'}`);
        continue;
      }
      const sid = store.writer.sid(r.deviceId, r.metric, r.unit ?? '');
      const value = r.number ?? (r.boolean != null ? (r.boolean ? 1 : 0) : null);
      const text = r.text ?? null;
      const quality = r.quality ?? 0;
      if (!store.writer.add(sid, r.ts, value, text, quality)) {
        o.dedupItems++; // same device, metric and timestamp already stored
        continue;
      }
      o.stored.readings++;
      if ((touched.get(r.deviceId) ?? 0) < r.ts) touched.set(r.deviceId, r.ts);
      const row = own.row(r.deviceId);
      if (opts.feed) {
        feed.push({
          type: 'reading', device: r.deviceId, metric: r.metric, site: row?.site_id ?? undefined, scope: row?.scope ?? ',',
          data: { device: r.deviceId, metric: r.metric, ts: r.ts, value: value ?? text, unit: r.unit ?? '', quality: ['good', 'uncertain', 'bad'][quality] ?? 'bad' },
        });
      }
      if (opts.influx) lines.push(lineFor(r, { edgeId, site: row?.site_id ?? undefined }));
    }
    for (const [id, ts] of touched) store.registry.touch(id, ts);
    for (const e of b.events ?? []) {
      if (!isNew(e.seq)) continue;
      const why = own.check(e.deviceId, edgeId, now);
      if (why) {
        refuse(o, why, `event for ${e.deviceId}: ${why}`);
        continue;
      }
      const stored = store.events.add(e, edgeId);
      const status = STATUS_BY_EVENT[e.kind ?? 0];
      if (status) store.registry.setStatus(e.deviceId, status, e.ts, status === 'online' ? null : e.code || e.message || null);
      o.stored.events++;
      const row = own.row(e.deviceId);
      if (opts.feed) feed.push({ type: 'event', device: e.deviceId, metric: e.metric || undefined, site: row?.site_id ?? undefined, scope: row?.scope ?? ',', data: stored });
    }
    for (const v of b.videoQuality ?? []) {
      if (!isNew(v.seq)) continue;
      const why = own.check(v.deviceId, edgeId, now);
      if (why) {
        refuse(o, why, `video quality for ${v.deviceId}: ${why}`);
        continue;
      }
      store.db
        .prepare('INSERT OR REPLACE INTO video_quality (device_id, ts, verdict, checks) VALUES (?, ?, ?, ?)')
        .run(v.deviceId, v.ts, v.verdict ?? 0, JSON.stringify(v.checks ?? []));
      o.stored.other++;
    }
    for (const s of b.snapshots ?? []) {
      if (!isNew(s.seq)) continue;
      const why = own.check(s.deviceId, edgeId, now);
      if (why) {
        refuse(o, why, `snapshot for ${s.deviceId}: ${why}`);
        continue;
      }
      store.db
        .prepare('INSERT INTO snapshots (device_id, ts, jpeg, width, height) VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET ts = excluded.ts, jpeg = excluded.jpeg, width = excluded.width, height = excluded.height WHERE excluded.ts >= snapshots.ts')
        .run(s.deviceId, s.ts, Buffer.from(s.jpeg ?? []), s.width ?? null, s.height ?? null);
      o.stored.other++;
    }
  }
  const carried = runsOf(itemSeqs(b));
  if (!o.duplicate) for (const r of carried) store.edges.commit(edgeId, r.first, r.last);
  store.edges.recordBatch(edgeId, job.receivedAt, b.sentAt, b.stats);
  const committed: SeqRange[] = carried;
  o.ack.committed = committed;
  return o;
}

function* itemSeqs(b: Batch): Iterable<number> {
  for (const list of [b.readings, b.events, b.records, b.videoQuality, b.snapshots]) for (const x of list ?? []) yield x.seq ?? 0;
}

/** Applies a group of batches in one transaction; acks carry committed_through read after the writes. */
export function commitJobs(store: Store, jobs: IngestJob[], opts: CommitOptions): CommitResult {
  const feed: Omit<FeedItem, 'id'>[] = [];
  const lines: string[] = [];
  const run = store.db.transaction(() => {
    const own = new Ownership(store, opts);
    const outcomes = jobs.map((j) => applyJob(store, j, own, opts, feed, lines));
    store.writer.finish();
    const through = new Map<string, number>();
    for (const o of outcomes) {
      const e = o.job.edgeId;
      if (!through.has(e)) through.set(e, store.edges.committedThrough(e));
      o.ack.committedThrough = through.get(e)!;
    }
    if (lines.length) {
      store.db.prepare('INSERT INTO influx_outbox (lines, n, created_at) VALUES (?, ?, ?)').run(lines.join('\n'), lines.length, Date.now());
    }
    return outcomes;
  });
  try {
    const outcomes = run.immediate();
    return { outcomes, feed, influxLines: lines.length };
  } catch (err) {
    store.writer.resetCache(); // series created inside the rolled-back transaction no longer exist
    throw err;
  }
}

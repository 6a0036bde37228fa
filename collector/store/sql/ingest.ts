// The ingest transaction on SQL, shared by both engines: read the state the plan needs (committed ranges around
// the batches, the devices they mention), decide with planIngest (pure, collector/store/plan.ts), write the
// plan with bulk statements, and compute the acks. Runs inside the engine's transaction, which for PostgreSQL
// holds an advisory lock per edge, so two nodes never decide on the same edge's seqs at once.
import { EventKind, Severity, type SeqRange } from '../../../schema/types.js';
import type { FeedItem, NewFeedItem } from '../feed.js';
import { lineFor } from '../influx-line.js';
import { planIngest, mentionedDevices, seqWindows, type CommitOptions, type IngestJob, type IngestPlan, type JobOutcome, type PlannedEvent } from '../plan.js';
import { mergeRanges } from '../ranges.js';
import type { DeviceRow } from '../types.js';
import type { Column, Sql, SqlValue } from './driver.js';
import { ingestAlarmsInTx } from './alarms.js';
import { EVENT_COLUMNS, eventRow, toStoredEvent, type EventRow } from './events.js';
import { QUARANTINE_COLUMNS } from './quarantine.js';
import { HISTORY_COLUMNS, writeDevices } from './registry.js';
import { aggregateName, foldRollup, HOUR, MINUTE, rollupOf, type Rollup } from './series.js';

/** A quarantine notice is raised per device and reason at most once in this window. */
const QUARANTINE_NOTICE_MS = 3_600_000;

export interface IngestTxResult {
  outcomes: JobOutcome[];
  feed: NewFeedItem[];
  pointsWritten: number;
  influxLines: number;
  /** Edge numbers learned in this transaction (cache them only after it commits). */
  edgeNos: Map<string, number>;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function readState(tx: Sql, jobs: IngestJob[]): Promise<{ held: Map<string, SeqRange[]>; devices: Map<string, DeviceRow | undefined> }> {
  const windows = [...seqWindows(jobs)].sort(([a], [b]) => cmp(a, b));
  const ranges = await tx.allForRows<{ edge_id: string; first: number; last: number }>(
    [{ name: 'edge_id', type: 'text' }, { name: 'lo', type: 'bigint' }, { name: 'hi', type: 'bigint' }],
    windows.map(([edge, w]) => [edge, w.lo, w.hi]),
    'SELECT r.edge_id, r.first, r.last FROM edge_ranges r JOIN u ON r.edge_id = u.edge_id AND r.first <= u.hi AND r.last >= u.lo',
  );
  const held = new Map<string, SeqRange[]>();
  for (const r of ranges) {
    let l = held.get(r.edge_id);
    if (!l) held.set(r.edge_id, (l = []));
    l.push({ first: r.first, last: r.last });
  }
  const ids = [...mentionedDevices(jobs)].sort(cmp);
  const rows = await tx.allForRows<DeviceRow>([{ name: 'id', type: 'text' }], ids.map((id) => [id]), 'SELECT d.* FROM devices d JOIN u ON d.id = u.id');
  const devices = new Map<string, DeviceRow | undefined>(ids.map((id) => [id, undefined]));
  for (const r of rows) devices.set(r.id, r);
  return { held, devices };
}

/** Edge numbers (edge_state.no) tag an edge's points compactly; created on first sight of the edge. */
async function edgeNumbers(tx: Sql, edges: string[], cache: Map<string, number>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const missing = edges.filter((e) => {
    const n = cache.get(e);
    if (n !== undefined) out.set(e, n);
    return n === undefined;
  });
  if (!missing.length) return out;
  const cols: Column[] = [{ name: 'edge_id', type: 'text' }];
  const rows = missing.sort(cmp).map((e) => [e]);
  await tx.insertMany('edge_state', cols, rows, 'ON CONFLICT (edge_id) DO NOTHING');
  for (const r of await tx.allForRows<{ edge_id: string; no: number }>(cols, rows, 'SELECT s.edge_id, s.no FROM edge_state s JOIN u ON s.edge_id = u.edge_id')) {
    out.set(r.edge_id, r.no);
  }
  return out;
}

const SERIES_COLUMNS: Column[] = [
  { name: 'device_id', type: 'text' },
  { name: 'metric', type: 'text' },
  { name: 'aggregate', type: 'int' },
  { name: 'period_s', type: 'int' },
  { name: 'unit', type: 'text' },
  { name: 'last_ts', type: 'bigint' },
  { name: 'last_seq', type: 'bigint' },
  { name: 'last_value', type: 'real' },
  { name: 'last_text', type: 'text' },
  { name: 'last_quality', type: 'int' },
];
// Latest value per series, newest by (ts, seq): a redelivered or late reading never replaces a newer one.
const NEWER = '(series.last_ts IS NULL OR excluded.last_ts > series.last_ts OR (excluded.last_ts = series.last_ts AND excluded.last_seq >= series.last_seq))';
const SERIES_UPSERT = `ON CONFLICT (device_id, metric, aggregate, period_s) DO UPDATE SET ${['last_ts', 'last_seq', 'last_value', 'last_text', 'last_quality']
  .map((c) => `${c} = CASE WHEN ${NEWER} THEN excluded.${c} ELSE series.${c} END`)
  .join(', ')} RETURNING sid, device_id, metric, aggregate, period_s`;

const POINT_COLUMNS: Column[] = [
  { name: 'sid', type: 'bigint' },
  { name: 'ts', type: 'bigint' },
  { name: 'src', type: 'int' },
  { name: 'seq', type: 'bigint' },
  { name: 'value', type: 'real' },
  { name: 'text', type: 'text' },
  { name: 'quality', type: 'int' },
];

const ROLLUP_COLUMNS: Column[] = [
  { name: 'sid', type: 'bigint' },
  { name: 'bucket', type: 'bigint' },
  { name: 'min', type: 'real' },
  { name: 'max', type: 'real' },
  { name: 'sum', type: 'real' },
  { name: 'count', type: 'bigint' },
  { name: 'last', type: 'real' },
  { name: 'last_ts', type: 'bigint' },
  { name: 'worst', type: 'int' },
];

type RollupAcc = Rollup & { sid: number; bucket: number };

function rollupUpsert(sql: Sql, table: string): string {
  const d = sql.dialect;
  return `ON CONFLICT (sid, bucket) DO UPDATE SET min = ${d.least(`${table}.min`, 'excluded.min')}, max = ${d.greatest(`${table}.max`, 'excluded.max')},
    sum = ${table}.sum + excluded.sum, count = ${table}.count + excluded.count,
    last = CASE WHEN excluded.last_ts >= ${table}.last_ts THEN excluded.last ELSE ${table}.last END,
    last_ts = ${d.greatest(`${table}.last_ts`, 'excluded.last_ts')}, worst = ${d.greatest(`${table}.worst`, 'excluded.worst')}`;
}

function fold(map: Map<string, RollupAcc>, sid: number, bucket: number, a: Rollup): void {
  const key = `${sid}:${bucket}`;
  const cur = map.get(key);
  if (!cur) map.set(key, { sid, bucket, min: a.min, max: a.max, sum: a.sum, count: a.count, last: a.last, lastTs: a.lastTs, worst: a.worst });
  else foldRollup(cur, a);
}

const rollupRows = (m: Map<string, RollupAcc>) =>
  [...m.values()].sort((x, y) => x.sid - y.sid || x.bucket - y.bucket).map((a) => [a.sid, a.bucket, a.min, a.max, a.sum, a.count, a.last, a.lastTs, a.worst]);

/** Stores the plan's readings: series (with latest values), raw points, minute and hour rollups. */
async function writeReadings(tx: Sql, plan: IngestPlan, nos: Map<string, number>): Promise<number> {
  if (!plan.readings.length) return 0;
  const seriesKey = (device: string, metric: string, aggregate: number, periodS: number) => `${device}\u0000${metric}\u0000${aggregate}\u0000${periodS}`;
  const newest = new Map<string, (typeof plan.readings)[number]>();
  for (const r of plan.readings) {
    const k = seriesKey(r.deviceId, r.metric, r.aggregate, r.periodS);
    const cur = newest.get(k);
    if (!cur || r.ts > cur.ts || (r.ts === cur.ts && r.seq >= cur.seq)) newest.set(k, r);
  }
  const seriesRows = [...newest.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([, r]) => [r.deviceId, r.metric, r.aggregate, r.periodS, r.unit, r.ts, r.seq, r.value, r.text, r.quality]);
  const sids = new Map<string, number>();
  for (const s of await tx.insertManyReturning<{ sid: number; device_id: string; metric: string; aggregate: number; period_s: number }>('series', SERIES_COLUMNS, seriesRows, SERIES_UPSERT)) {
    sids.set(seriesKey(s.device_id, s.metric, s.aggregate, s.period_s), s.sid);
  }
  const points: SqlValue[][] = [];
  const minute = new Map<string, RollupAcc>();
  for (const r of plan.readings) {
    const sid = sids.get(seriesKey(r.deviceId, r.metric, r.aggregate, r.periodS))!;
    points.push([sid, r.ts, nos.get(r.edgeId)!, r.seq, r.value, r.text, r.quality]);
    if (r.value === null) continue;
    const bucket = r.ts - (((r.ts % MINUTE) + MINUTE) % MINUTE);
    fold(minute, sid, bucket, rollupOf(r.value, r.ts, r.quality));
  }
  const written = (await tx.insertMany('points', POINT_COLUMNS, points, 'ON CONFLICT DO NOTHING')).changes;
  const hour = new Map<string, RollupAcc>();
  for (const a of minute.values()) fold(hour, a.sid, a.bucket - (((a.bucket % HOUR) + HOUR) % HOUR), a);
  await tx.insertMany('rollup_1m', ROLLUP_COLUMNS, rollupRows(minute), rollupUpsert(tx, 'rollup_1m'));
  await tx.insertMany('rollup_1h', ROLLUP_COLUMNS, rollupRows(hour), rollupUpsert(tx, 'rollup_1h'));
  return written;
}

/** Adds the collector's own notices: one per device and quarantine reason per hour (not one per item). */
async function quarantineNotices(tx: Sql, plan: IngestPlan, devices: Map<string, DeviceRow | undefined>): Promise<void> {
  const byKey = new Map<string, { device: string; reason: string; edge: string; count: number; detail: string; at: number }>();
  for (const q of plan.quarantine) {
    if (!q.deviceId) continue;
    const k = `${q.deviceId}\u0000${q.reason}`;
    const cur = byKey.get(k);
    if (cur) cur.count++;
    else byKey.set(k, { device: q.deviceId, reason: q.reason, edge: q.edgeId, count: 1, detail: q.detail, at: q.receivedAt });
  }
  if (!byKey.size) return;
  const keys = [...byKey.values()].sort((a, b) => cmp(a.device, b.device) || cmp(a.reason, b.reason));
  const recent = await tx.allForRows<{ device_id: string; reason: string; last: number }>(
    [{ name: 'device_id', type: 'text' }, { name: 'reason', type: 'text' }],
    keys.map((k) => [k.device, k.reason]),
    'SELECT q.device_id, q.reason, max(q.received_at) AS last FROM quarantine q JOIN u ON q.device_id = u.device_id AND q.reason = u.reason GROUP BY q.device_id, q.reason',
  );
  const lastAt = new Map(recent.map((r) => [`${r.device_id}\u0000${r.reason}`, Number(r.last)]));
  for (const k of keys) {
    const last = lastAt.get(`${k.device}\u0000${k.reason}`);
    if (last !== undefined && k.at - last < QUARANTINE_NOTICE_MS) continue;
    const row = devices.get(k.device);
    plan.events.push({
      edgeId: k.edge,
      seq: null,
      site: row?.site_id ?? null,
      scope: row?.scope ?? ',',
      event: {
        deviceId: k.device,
        kind: EventKind.DATA_QUARANTINED,
        severity: Severity.WARNING,
        ts: k.at,
        code: `quarantine.${k.reason}`,
        message: `${k.count} item(s) from edge ${k.edge} quarantined (${k.reason}): ${k.detail}`,
      },
    });
  }
}

async function writeEvents(tx: Sql, events: PlannedEvent[]): Promise<{ planned: PlannedEvent; row: EventRow }[]> {
  const out: { planned: PlannedEvent; row: EventRow }[] = [];
  const returning = 'RETURNING id, device_id, edge_id, seq, ts, kind, severity, message, code, metric, value, threshold';
  const fromEdges = events.filter((e) => e.seq !== null);
  const rows = await tx.insertManyReturning<EventRow & { seq: number }>('events', EVENT_COLUMNS, fromEdges.map((e) => eventRow(e.event, e.edgeId, e.seq)), returning);
  const byKey = new Map(rows.map((r) => [`${r.edge_id}\u0000${r.seq}`, r]));
  for (const e of fromEdges) out.push({ planned: e, row: byKey.get(`${e.edgeId}\u0000${e.seq}`)! });
  for (const e of events.filter((x) => x.seq === null)) {
    const [row] = await tx.insertManyReturning<EventRow>('events', EVENT_COLUMNS, [eventRow(e.event, null, null)], returning);
    out.push({ planned: e, row: row! });
  }
  return out;
}

async function writeVideo(tx: Sql, plan: IngestPlan): Promise<void> {
  await tx.insertMany(
    'video_quality',
    [{ name: 'device_id', type: 'text' }, { name: 'ts', type: 'bigint' }, { name: 'verdict', type: 'int' }, { name: 'checks', type: 'text' }],
    plan.videoQuality.map(({ v }) => [v.deviceId, v.ts, v.verdict ?? 0, JSON.stringify(v.checks ?? [])]),
  );
  await tx.insertMany(
    'snapshots',
    [{ name: 'device_id', type: 'text' }, { name: 'ts', type: 'bigint' }, { name: 'jpeg', type: 'bytea' }, { name: 'width', type: 'int' }, { name: 'height', type: 'int' }],
    [...plan.snapshots.values()].sort((a, b) => cmp(a.s.deviceId, b.s.deviceId)).map(({ s }) => [s.deviceId, s.ts, Buffer.from(s.jpeg ?? []), s.width ?? null, s.height ?? null]),
    `ON CONFLICT (device_id) DO UPDATE SET ts = excluded.ts, jpeg = excluded.jpeg, width = excluded.width, height = excluded.height
     WHERE excluded.ts >= snapshots.ts`,
  );
}

async function writeRanges(tx: Sql, plan: IngestPlan, held: Map<string, SeqRange[]>): Promise<void> {
  const remove: SqlValue[][] = [];
  const insert: SqlValue[][] = [];
  for (const [edge, runs] of [...plan.commit].sort(([a], [b]) => cmp(a, b))) {
    const m = mergeRanges(held.get(edge) ?? [], runs);
    for (const r of m.remove) remove.push([edge, r.first]);
    for (const r of m.insert) insert.push([edge, r.first, r.last]);
  }
  await tx.runForRows(
    [{ name: 'edge_id', type: 'text' }, { name: 'first', type: 'bigint' }],
    remove,
    'DELETE FROM edge_ranges WHERE EXISTS (SELECT 1 FROM u WHERE u.edge_id = edge_ranges.edge_id AND u.first = edge_ranges.first)',
  );
  await tx.insertMany('edge_ranges', [{ name: 'edge_id', type: 'text' }, { name: 'first', type: 'bigint' }, { name: 'last', type: 'bigint' }], insert);
}

async function writeDeviceState(tx: Sql, plan: IngestPlan): Promise<void> {
  const d = tx.dialect;
  await tx.runForRows(
    [{ name: 'id', type: 'text' }, { name: 'ts', type: 'bigint' }],
    [...plan.touches].sort(([a], [b]) => cmp(a, b)),
    `UPDATE devices AS t SET last_seen = ${d.greatest('coalesce(t.last_seen, 0)', 'u.ts')},
       runtime_status = CASE WHEN t.runtime_status = 'unknown' THEN 'online' ELSE t.runtime_status END
     FROM u WHERE t.id = u.id`,
  );
  await tx.runForRows(
    [{ name: 'id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'ts', type: 'bigint' }, { name: 'reason', type: 'text' }],
    [...plan.statuses.values()].sort((a, b) => cmp(a.deviceId, b.deviceId)).map((s) => [s.deviceId, s.status, s.ts, s.reason]),
    `UPDATE devices AS t SET runtime_status = u.status, status_reason = u.reason, status_ts = u.ts
     FROM u WHERE t.id = u.id AND coalesce(t.status_ts, 0) <= u.ts`,
  );
}

async function writeEdgeStats(tx: Sql, plan: IngestPlan): Promise<void> {
  const last = new Map(plan.edgeStats.map((s) => [s.edgeId, s]));
  await tx.runForRows(
    [
      { name: 'edge_id', type: 'text' }, { name: 'at', type: 'bigint' }, { name: 'lag', type: 'bigint' }, { name: 'brows', type: 'bigint' },
      { name: 'bbytes', type: 'bigint' }, { name: 'oldest', type: 'bigint' }, { name: 'dropped', type: 'bigint' }, { name: 'backlog', type: 'bigint' },
    ],
    [...last.values()].sort((a, b) => cmp(a.edgeId, b.edgeId)).map((s) => [
      s.edgeId, s.at, s.sentAt ? Math.max(0, s.at - s.sentAt) : null, s.stats?.bufferRows ?? null, s.stats?.bufferBytes ?? null,
      s.stats?.oldestBufferedTs || null, s.stats?.droppedReadings ?? null, s.stats?.backlogItems ?? null,
    ]),
    `UPDATE edge_state AS t SET last_batch_at = u.at, transport_lag_ms = u.lag, buffer_rows = coalesce(u.brows, t.buffer_rows),
       buffer_bytes = coalesce(u.bbytes, t.buffer_bytes), oldest_buffered_ts = u.oldest,
       dropped_readings = coalesce(u.dropped, t.dropped_readings), backlog_items = coalesce(u.backlog, t.backlog_items)
     FROM u WHERE t.edge_id = u.edge_id`,
  );
}

/** The whole ingest of a group of batches, inside the caller's transaction. */
export async function ingestInTx(tx: Sql, jobs: IngestJob[], opts: CommitOptions, edgeNoCache: Map<string, number>): Promise<IngestTxResult> {
  const state = await readState(tx, jobs);
  const heldFromDb = new Map(state.held);
  const plan = planIngest(jobs, state, opts);
  await quarantineNotices(tx, plan, state.devices);

  await writeDevices(tx, plan.deviceWrites.values());
  await tx.insertMany('record_history', HISTORY_COLUMNS, plan.history.map((h) => [h.deviceId, h.ts, h.actor, h.changes]));
  const edges = [...new Set(jobs.map((j) => j.edgeId))];
  const nos = await edgeNumbers(tx, edges, edgeNoCache);
  const pointsWritten = await writeReadings(tx, plan, nos);
  await writeDeviceState(tx, plan);
  const events = await writeEvents(tx, plan.events);
  const alarmFeed = await ingestAlarmsInTx(tx, events, plan.readings, Date.now());
  await writeVideo(tx, plan);
  await tx.insertMany('quarantine', QUARANTINE_COLUMNS, plan.quarantine.map((q) => [q.edgeId, q.batchId, q.seq, q.receivedAt, q.itemKind, q.deviceId, q.reason, q.detail, q.item]));
  await writeRanges(tx, plan, heldFromDb);
  await writeEdgeStats(tx, plan);

  const through = await tx.allForRows<{ edge_id: string; through: number | null }>(
    [{ name: 'edge_id', type: 'text' }],
    edges.sort(cmp).map((e) => [e]),
    'SELECT u.edge_id, (SELECT r.last FROM edge_ranges r WHERE r.edge_id = u.edge_id ORDER BY r.first LIMIT 1) AS through FROM u',
  );
  const throughOf = new Map(through.map((t) => [t.edge_id, Number(t.through ?? 0)]));
  for (const o of plan.outcomes) o.ack.committedThrough = throughOf.get(o.job.edgeId) ?? 0;

  let influxLines = 0;
  if (opts.influx && plan.readings.length) {
    const lines = plan.readings.map(lineFor);
    influxLines = lines.length;
    await tx.run('INSERT INTO influx_outbox (lines, n, created_at) VALUES ($1, $2, $3)', [lines.join('\n'), lines.length, Date.now()]);
  }

  const feed: NewFeedItem[] = [];
  for (const r of plan.readings) {
    const data: Record<string, unknown> = { device: r.deviceId, metric: r.metric, ts: r.ts, value: r.isBool ? r.value === 1 : (r.value ?? r.text), unit: r.unit, quality: ['good', 'uncertain', 'bad'][r.quality] ?? 'bad' };
    if (r.aggregate) (data.aggregate = aggregateName(r.aggregate)), (data.periodS = r.periodS);
    feed.push({ type: 'reading', device: r.deviceId, metric: r.metric, site: r.site ?? undefined, scope: state.devices.get(r.deviceId)?.scope ?? ',', data });
  }
  for (const { planned, row } of events) {
    feed.push({ type: 'event', device: planned.event.deviceId, metric: planned.event.metric || undefined, site: planned.site ?? undefined, scope: planned.scope, data: toStoredEvent(row) });
  }
  feed.push(...alarmFeed);
  const learned = new Map([...nos].filter(([e]) => !edgeNoCache.has(e)));
  return { outcomes: plan.outcomes, feed, pointsWritten, influxLines, edgeNos: learned };
}

export type { FeedItem };

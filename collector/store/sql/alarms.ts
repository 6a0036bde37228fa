// Alarms on SQL, shared by both engines. applyAlarmsInTx runs inside the ingest transaction (the events that
// raise and clear alarms commit with their alarm transitions, history and feed items) and inside the sweeper's
// transactions; the facet answers the API (lists scoped per bureau, one alarm with its history, acknowledgement).
import { findMetric } from '../../../schema/metrics.js';
import type { DeviceRecord } from '../../../schema/types.js';
import type { AlarmKind } from '../../notify/types.js';
import { AlarmPlanner, keyOf, peakOf, signalFromEvent, type AlarmRow, type AlarmSignal, type HistoryWrite } from '../alarm-plan.js';
import type { AckOutcome, Alarm, AlarmDetail, AlarmHistoryEntry, AlarmQuery, AlarmRecheck, AlarmStore } from '../alarm-types.js';
import type { NewFeedItem } from '../feed.js';
import type { PlannedReading } from '../plan.js';
import type { Column, Sql, SqlDb, SqlValue } from './driver.js';
import { SEVERITY_NAMES } from './events.js';

const sev = (n: number) => SEVERITY_NAMES[n] ?? 'info';
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Publishes alarm feed items: PostgreSQL writes them in the transaction, SQLite after it committed. */
export interface AlarmFeedSink {
  inTx(tx: Sql, items: NewFeedItem[]): Promise<void>;
  committed(items: NewFeedItem[]): void;
}

const ALARM_COLUMNS: Column[] = [
  { name: 'kind', type: 'text' }, { name: 'device_id', type: 'text' }, { name: 'subject', type: 'text' }, { name: 'edge_id', type: 'text' },
  { name: 'site_id', type: 'text' }, { name: 'state', type: 'text' }, { name: 'severity', type: 'int' }, { name: 'peak_severity', type: 'int' },
  { name: 'code', type: 'text' }, { name: 'metric', type: 'text' }, { name: 'unit', type: 'text' }, { name: 'direction', type: 'text' },
  { name: 'threshold', type: 'real' }, { name: 'thresholds', type: 'text' }, { name: 'first_value', type: 'real' }, { name: 'last_value', type: 'real' },
  { name: 'last_value_ts', type: 'bigint' }, { name: 'peak_value', type: 'real' }, { name: 'message', type: 'text' }, { name: 'raised_at', type: 'bigint' },
  { name: 'updated_at', type: 'bigint' }, { name: 'cleared_at', type: 'bigint' }, { name: 'acked_at', type: 'bigint' }, { name: 'acked_by', type: 'text' },
  { name: 'ack_comment', type: 'text' }, { name: 'last_event_ts', type: 'bigint' }, { name: 'last_event_seq', type: 'bigint' }, { name: 'source', type: 'text' },
];
// What a transition may change (the key and the origin never change).
const MUTABLE = ALARM_COLUMNS.filter((c) => !['kind', 'device_id', 'subject', 'source'].includes(c.name));
const values = (r: AlarmRow, cols: Column[]) => cols.map((c) => (r as unknown as Record<string, SqlValue>)[c.name] ?? null);

const HISTORY_COLUMNS: Column[] = [
  { name: 'alarm_id', type: 'bigint' }, { name: 'ts', type: 'bigint' }, { name: 'at', type: 'bigint' }, { name: 'transition', type: 'text' },
  { name: 'severity', type: 'int' }, { name: 'value', type: 'real' }, { name: 'code', type: 'text' }, { name: 'actor', type: 'text' },
  { name: 'comment', type: 'text' }, { name: 'late', type: 'int' }, { name: 'notify', type: 'int' },
];

/** Names the API shows next to ids (from the device row). */
export interface DeviceNames {
  deviceName?: string;
  siteName?: string;
}

export function namesOf(row: { name: string | null; record: string } | undefined): DeviceNames {
  if (!row) return {};
  let siteName: string | undefined;
  try {
    siteName = (JSON.parse(row.record) as DeviceRecord).site?.name || undefined;
  } catch {
    /* a broken record only loses its label */
  }
  return { deviceName: row.name || undefined, siteName };
}

export function toAlarm(r: AlarmRow, names: DeviceNames = {}, now = Date.now()): Alarm {
  const a: Alarm = {
    id: Number(r.id),
    kind: r.kind,
    severity: sev(r.severity),
    peakSeverity: sev(r.peak_severity),
    state: r.state,
    subject: r.subject,
    raisedAt: Number(r.raised_at),
    updatedAt: Number(r.updated_at),
    durationMs: Math.max(0, (r.cleared_at ?? (r.state === 'cleared' ? r.raised_at : now)) - r.raised_at),
    source: r.source,
  };
  if (r.code) a.code = r.code;
  if (r.device_id) a.device = r.device_id;
  if (names.deviceName) a.deviceName = names.deviceName;
  if (r.edge_id) a.edge = r.edge_id;
  if (r.site_id) a.site = r.site_id;
  if (names.siteName) a.siteName = names.siteName;
  if (r.metric) a.metric = r.metric;
  if (r.unit) a.unit = r.unit;
  if (r.direction === 'above' || r.direction === 'below') a.direction = r.direction;
  if (r.threshold !== null) a.threshold = r.threshold;
  if (r.thresholds) {
    try {
      a.thresholds = JSON.parse(r.thresholds) as Alarm['thresholds'];
    } catch {
      /* ignore */
    }
  }
  if (r.first_value !== null) a.firstValue = r.first_value;
  if (r.last_value !== null) a.value = r.last_value;
  if (r.last_value_ts !== null) a.valueTs = Number(r.last_value_ts);
  if (r.peak_value !== null) a.peak = r.peak_value;
  if (r.message) a.message = r.message;
  if (r.cleared_at !== null) a.clearedAt = Number(r.cleared_at);
  if (r.acked_at !== null) a.acknowledgedAt = Number(r.acked_at);
  if (r.acked_by) a.acknowledgedBy = r.acked_by;
  if (r.ack_comment) a.ackComment = r.ack_comment;
  return a;
}

/** The rows of each key that may matter for new signals: the open one and the few latest episodes. */
async function loadKeys(tx: Sql, signals: AlarmSignal[]): Promise<Map<string, AlarmRow[]>> {
  const keys = [...new Map(signals.map((s) => [keyOf(s.kind, s.deviceId, s.subject), [s.kind, s.deviceId, s.subject] as SqlValue[]])).entries()].sort(([a], [b]) => cmp(a, b));
  const out = new Map<string, AlarmRow[]>(keys.map(([k]) => [k, []]));
  const rows = await tx.allForRows<AlarmRow & { rn: number }>(
    [{ name: 'kind', type: 'text' }, { name: 'device_id', type: 'text' }, { name: 'subject', type: 'text' }],
    keys.map(([, v]) => v),
    `SELECT * FROM (SELECT a.*, row_number() OVER (PARTITION BY a.kind, a.device_id, a.subject ORDER BY a.raised_at DESC, a.id DESC) AS rn
       FROM alarms a JOIN u ON a.kind = u.kind AND a.device_id = u.device_id AND a.subject = u.subject) x
     WHERE rn <= 5 OR state <> 'cleared' OR cleared_at IS NULL ORDER BY raised_at DESC, id DESC`,
  );
  for (const { rn: _rn, ...r } of rows) out.get(keyOf(r.kind, r.device_id, r.subject))?.push(normalizeRow(r));
  return out;
}

/** PostgreSQL returns numbers for BIGINT columns (driver parsers) but keep `id` numeric on both. */
const normalizeRow = (r: AlarmRow): AlarmRow => ({ ...r, id: Number(r.id) });

/** The device rows and edge scopes needed for feed items and names. */
async function scopesFor(tx: Sql, rows: AlarmRow[]): Promise<{ devices: Map<string, { scope: string; name: string | null; record: string }>; edges: Map<string, string> }> {
  const deviceIds = [...new Set(rows.map((r) => r.device_id).filter(Boolean))].sort(cmp);
  const edgeIds = [...new Set(rows.filter((r) => !r.device_id && r.edge_id).map((r) => r.edge_id!))].sort(cmp);
  const devices = new Map<string, { scope: string; name: string | null; record: string }>();
  for (const d of await tx.allForRows<{ id: string; scope: string; name: string | null; record: string }>([{ name: 'id', type: 'text' }], deviceIds.map((id) => [id]), 'SELECT d.id, d.scope, d.name, d.record FROM devices d JOIN u ON d.id = u.id')) {
    devices.set(d.id, d);
  }
  const edges = new Map<string, string>();
  for (const e of await tx.allForRows<{ edge_id: string; scope: string }>([{ name: 'edge_id', type: 'text' }], edgeIds.map((id) => [id]), 'SELECT d.edge_id, d.scope FROM devices d JOIN u ON d.edge_id = u.edge_id')) {
    edges.set(e.edge_id, unionScope(edges.get(e.edge_id) ?? ',', e.scope));
  }
  return { devices, edges };
}

/** ",water," ∪ ",fire,water," → ",water,fire," */
export function unionScope(a: string, b: string): string {
  const set = new Set([...a.split(','), ...b.split(',')].filter(Boolean));
  return set.size ? `,${[...set].join(',')},` : ',';
}

export interface AppliedAlarms {
  feed: NewFeedItem[];
  changed: number;
}

/** Inserts and updates what the planner decided, writes the history, and returns the feed items. */
async function writePlanner(tx: Sql, p: AlarmPlanner, deviceScopes?: Map<string, string>): Promise<AppliedAlarms> {
  for (const r of p.inserted) {
    const [row] = await tx.insertManyReturning<{ id: number }>('alarms', ALARM_COLUMNS, [values(r, ALARM_COLUMNS)], 'RETURNING id');
    r.id = Number(row!.id);
  }
  const inserted = new Set(p.inserted);
  for (const r of [...p.updated].filter((x) => !inserted.has(x)).sort((a, b) => a.id - b.id)) {
    await tx.run(`UPDATE alarms SET ${MUTABLE.map((c, i) => `${c.name} = $${i + 2}`).join(', ')} WHERE id = $1`, [r.id, ...values(r, MUTABLE)]);
  }
  await writeHistory(tx, p.history);
  const touched = p.touched();
  if (!touched.length) return { feed: [], changed: 0 };
  const { devices, edges } = await scopesFor(tx, touched);
  const lastTransition = new Map<AlarmRow, string>();
  for (const h of p.history) lastTransition.set(h.alarm, h.transition);
  const now = Date.now();
  const feed: NewFeedItem[] = touched
    .filter((r) => lastTransition.has(r))
    .map((r) => {
      const d = r.device_id ? devices.get(r.device_id) : undefined;
      const scope = r.device_id ? (deviceScopes?.get(r.device_id) ?? d?.scope ?? ',') : (edges.get(r.edge_id ?? '') ?? ',');
      return {
        type: 'alarm',
        device: r.device_id,
        metric: r.metric ?? undefined,
        site: r.site_id ?? undefined,
        scope,
        data: { ...toAlarm(r, namesOf(d), now), transition: lastTransition.get(r) },
      };
    });
  return { feed, changed: touched.length };
}

async function writeHistory(tx: Sql, history: HistoryWrite[]): Promise<void> {
  if (!history.length) return;
  await tx.insertMany(
    'alarm_history',
    HISTORY_COLUMNS,
    history.map((h) => [h.alarm.id, h.ts, h.at, h.transition, h.severity, h.value, h.code, h.actor, h.comment, h.late ? 1 : 0, h.notify ? 0 : 1]),
  );
}

/** Applies alarm signals inside the caller's transaction. */
export async function applyAlarmsInTx(tx: Sql, signals: AlarmSignal[], now: number, deviceScopes?: Map<string, string>): Promise<AppliedAlarms> {
  if (!signals.length) return { feed: [], changed: 0 };
  const withUnits = signals.map((s) => (s.kind === 'threshold' && !s.unit && s.metric ? { ...s, unit: findMetric(s.metric)?.unit } : s));
  const planner = new AlarmPlanner(await loadKeys(tx, withUnits), now);
  planner.applyAll(withUnits);
  return writePlanner(tx, planner, deviceScopes);
}

/**
 * Carries the worst value of open threshold alarms from the readings of this commit (the edge only sends events
 * when a line is crossed). Their latest value needs no write: it is the series' latest value, joined when alarms are
 * read. One small query per commit with readings (open threshold alarms are few); an update only where the peak moved.
 */
export async function updateOpenPeaksInTx(tx: Sql, readings: PlannedReading[]): Promise<void> {
  if (!readings.length) return;
  const open = await tx.all<{ id: number; device_id: string; subject: string; direction: string | null; raised_at: number; peak_value: number | null }>(
    "SELECT id, device_id, subject, direction, raised_at, peak_value FROM alarms WHERE kind = 'threshold' AND state <> 'cleared'",
  );
  if (!open.length) return;
  const byKey = new Map(open.map((a) => [`${a.device_id}\u0000${a.subject}`, { ...a, changed: false }]));
  for (const r of readings) {
    if (r.aggregate || r.value === null || r.quality === 2) continue; // only live, usable samples (like the edge's alarms)
    const a = byKey.get(`${r.deviceId}\u0000${r.metric}`);
    if (!a || r.ts < a.raised_at) continue;
    const peak = peakOf(a.direction, a.peak_value, r.value);
    if (peak !== a.peak_value) (a.peak_value = peak), (a.changed = true);
  }
  const changed = [...byKey.values()].filter((a) => a.changed).sort((x, y) => Number(x.id) - Number(y.id));
  await tx.runForRows([{ name: 'id', type: 'bigint' }, { name: 'peak', type: 'real' }], changed.map((a) => [a.id, a.peak_value]), 'UPDATE alarms AS t SET peak_value = u.peak FROM u WHERE t.id = u.id');
}

/** An open threshold alarm's latest value is its series' latest sample (kept by ingest anyway). */
const SERIES_JOIN = `LEFT JOIN series s ON a.kind = 'threshold' AND a.state <> 'cleared' AND s.device_id = a.device_id AND s.metric = a.metric
  AND s.aggregate = 0 AND s.period_s = 0`;

interface ListRow extends AlarmRow {
  d_name: string | null;
  d_record: string | null;
  s_value: number | null;
  s_ts: number | null;
}

/** The row with its series' latest value when that is newer than the last event's. */
function withLatest(r: ListRow): AlarmRow {
  const row = { ...r, id: Number(r.id) };
  if (r.s_value !== null && r.s_ts !== null && (r.last_value_ts === null || Number(r.s_ts) > Number(r.last_value_ts))) {
    row.last_value = r.s_value;
    row.last_value_ts = Number(r.s_ts);
  }
  return row;
}

export class SqlAlarms implements AlarmStore {
  constructor(
    private readonly db: SqlDb,
    private readonly feed: AlarmFeedSink,
  ) {}

  private scoped(bureau: string | undefined, p: (v: SqlValue) => string): string {
    if (bureau === undefined) return 'TRUE';
    const b = p(`,${bureau},`);
    const c = (col: string) => this.db.dialect.contains(col, b);
    return `((a.device_id <> '' AND d.id IS NOT NULL AND ${c('d.scope')}) OR (a.device_id = '' AND EXISTS (SELECT 1 FROM devices e WHERE e.edge_id = a.edge_id AND ${c('e.scope')})))`;
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where = [this.scoped(q.bureau, p)];
    if (q.states?.length) where.push(`a.state IN (${q.states.map(p).join(', ')})`);
    if (q.site) where.push(`a.site_id = ${p(q.site)}`);
    if (q.device) where.push(`a.device_id = ${p(q.device)}`);
    if (q.severities?.length) where.push(`a.severity IN (${q.severities.map(p).join(', ')})`);
    if (q.kinds?.length) where.push(`a.kind IN (${q.kinds.map(p).join(', ')})`);
    if (q.to !== undefined) where.push(`a.raised_at < ${p(q.to)}`);
    if (q.from !== undefined) where.push(`(a.cleared_at IS NULL AND a.state <> 'cleared' OR a.cleared_at >= ${p(q.from)})`);
    const rows = await this.db.all<ListRow>(
      `SELECT a.*, d.name AS d_name, d.record AS d_record, s.last_value AS s_value, s.last_ts AS s_ts
       FROM alarms a LEFT JOIN devices d ON d.id = a.device_id ${SERIES_JOIN}
       WHERE ${where.join(' AND ')} ORDER BY a.raised_at DESC, a.id DESC LIMIT ${p(q.limit ?? 1000)}`,
      params,
    );
    const now = q.now ?? Date.now();
    return rows.map((r) => toAlarm(withLatest(r), r.d_record ? namesOf({ name: r.d_name, record: r.d_record }) : {}, now));
  }

  private async row(id: number, bureau: string | undefined): Promise<ListRow | undefined> {
    const params: SqlValue[] = [id];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const r = await this.db.get<ListRow>(
      `SELECT a.*, d.name AS d_name, d.record AS d_record, s.last_value AS s_value, s.last_ts AS s_ts
       FROM alarms a LEFT JOIN devices d ON d.id = a.device_id ${SERIES_JOIN} WHERE a.id = $1 AND ${this.scoped(bureau, p)}`,
      params,
    );
    return r ? { ...withLatest(r), d_name: r.d_name, d_record: r.d_record, s_value: null, s_ts: null } : undefined;
  }

  async get(id: number, bureau?: string): Promise<AlarmDetail | undefined> {
    const r = await this.row(id, bureau);
    if (!r) return undefined;
    const history = await this.db.all<{ ts: number; transition: string; severity: number; value: number | null; code: string | null; actor: string | null; comment: string | null; late: number }>(
      'SELECT ts, transition, severity, value, code, actor, comment, late FROM alarm_history WHERE alarm_id = $1 ORDER BY id',
      [id],
    );
    return {
      ...toAlarm(r, r.d_record ? namesOf({ name: r.d_name, record: r.d_record }) : {}),
      history: history.map((h) => {
        const e: AlarmHistoryEntry = { ts: Number(h.ts), transition: h.transition as AlarmHistoryEntry['transition'], severity: sev(h.severity) };
        if (h.value !== null) e.value = h.value;
        if (h.code) e.code = h.code;
        if (h.actor) e.actor = h.actor;
        if (h.comment) e.comment = h.comment;
        if (h.late) e.late = true;
        return e;
      }),
    };
  }

  async acknowledge(id: number, by: string, comment: string | null, bureau?: string): Promise<AckOutcome> {
    const visible = await this.row(id, bureau);
    if (!visible) return { ok: false, reason: 'not_found' };
    const lockKeys = visible.edge_id ? [`edge:${visible.edge_id}`] : [];
    let items: NewFeedItem[] = [];
    const out = await this.db.tx<AckOutcome>(async (tx) => {
      const row = await tx.get<AlarmRow>('SELECT * FROM alarms WHERE id = $1', [id]);
      if (!row) return { ok: false, reason: 'not_found' };
      const r = normalizeRow(row);
      if (r.acked_at !== null) return { ok: false, reason: 'already_acknowledged', alarm: toAlarm(r, namesOf(visible.d_record ? { name: visible.d_name, record: visible.d_record } : undefined)) };
      const now = Date.now();
      const planner = new AlarmPlanner(new Map(), now);
      planner.acknowledge(r, by, comment, now);
      const applied = await writePlanner(tx, planner);
      items = applied.feed;
      await this.feed.inTx(tx, items);
      return { ok: true, alarm: toAlarm(r, namesOf(visible.d_record ? { name: visible.d_name, record: visible.d_record } : undefined), now) };
    }, { lockKeys });
    if (out.ok) this.feed.committed(items);
    return out;
  }

  async applySignals(signals: AlarmSignal[], opts: { lockKeys: string[]; recheck?: (tx: AlarmRecheck) => Promise<AlarmSignal[]> }): Promise<Alarm[]> {
    if (!signals.length) return [];
    let items: NewFeedItem[] = [];
    await this.db.tx(async (tx) => {
      const confirmed = opts.recheck ? await opts.recheck(recheckOn(tx)) : signals;
      const applied = await applyAlarmsInTx(tx, confirmed, Date.now());
      items = applied.feed;
      await this.feed.inTx(tx, items);
    }, { lockKeys: opts.lockKeys });
    this.feed.committed(items);
    return items.map((i) => i.data as Alarm);
  }

  async open(kinds: AlarmKind[]): Promise<Alarm[]> {
    return this.list({ states: ['active', 'acknowledged'], kinds, limit: 100_000 });
  }
}

function recheckOn(tx: Sql): AlarmRecheck {
  return {
    edgeState: (ids) =>
      tx.allForRows([{ name: 'edge_id', type: 'text' }], [...new Set(ids)].sort(cmp).map((id) => [id]), 'SELECT s.edge_id, s.connected, s.status_ts, s.last_batch_at FROM edge_state s JOIN u ON s.edge_id = u.edge_id'),
    lastQuarantined: async (deviceId, reason) => {
      const r = await tx.get<{ last: number | null }>('SELECT max(received_at) AS last FROM quarantine WHERE device_id = $1 AND reason = $2', [deviceId, reason]);
      return r?.last ?? undefined;
    },
  };
}

/** An event written in the caller's transaction, as the alarm lifecycle needs it. */
export interface CommittedEvent {
  event: Parameters<typeof signalFromEvent>[0];
  edgeId: string | null;
  /** The edge's seq (null: the collector's own event, ordered by `rowId`). */
  seq: number | null;
  rowId: number;
  site: string | null;
  /** The device's sharing scope column, for the feed items. */
  scope: string;
}

/** Alarm transitions caused by events committed in the caller's transaction; returns their feed items. */
export async function eventAlarmsInTx(tx: Sql, events: CommittedEvent[], now: number): Promise<NewFeedItem[]> {
  const signals: AlarmSignal[] = [];
  const scopes = new Map<string, string>();
  for (const e of events) {
    const s = signalFromEvent(e.event, { edgeId: e.edgeId, seq: e.seq, siteId: e.site });
    if (!s) continue;
    if (e.seq === null) s.order = Number(e.rowId);
    signals.push(s);
    scopes.set(e.event.deviceId, e.scope);
  }
  return (await applyAlarmsInTx(tx, signals, now, scopes)).feed;
}

/**
 * The ingest transaction's part: alarm transitions from the committed events (edge events and the collector's
 * quarantine notices), then the open threshold alarms' peaks from the committed readings.
 */
export async function ingestAlarmsInTx(
  tx: Sql,
  events: { planned: { edgeId: string; seq: number | null; site: string | null; scope: string; event: Parameters<typeof signalFromEvent>[0] }; row: { id: number } }[],
  readings: PlannedReading[],
  now: number,
): Promise<NewFeedItem[]> {
  const feed = await eventAlarmsInTx(tx, events.map(({ planned, row }) => ({ event: planned.event, edgeId: planned.edgeId, seq: planned.seq, rowId: row.id, site: planned.site, scope: planned.scope })), now);
  await updateOpenPeaksInTx(tx, readings);
  return feed;
}

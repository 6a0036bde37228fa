// Events (alarms, status changes, quarantine notices) on SQL, filtered by bureau through the device's scope.
import type { SensingEvent } from '../../../schema/types.js';
import type { EventQuery, EventStore, StoredEvent } from '../types.js';
import type { Column, SqlDb, SqlValue } from './driver.js';

export const SEVERITY_NAMES = ['info', 'warning', 'major', 'critical'] as const;
export const EVENT_KIND_NAMES = [
  'unknown', 'alarm_raised', 'alarm_cleared', 'device_online', 'device_offline', 'device_degraded',
  'threshold_crossed', 'video_fault_raised', 'video_fault_cleared', 'record_changed', 'data_gap', 'data_quarantined',
] as const;

export interface EventRow {
  id: number;
  device_id: string;
  edge_id: string | null;
  ts: number;
  kind: number;
  severity: number;
  message: string | null;
  code: string | null;
  metric: string | null;
  value: number | null;
  threshold: number | null;
}

export const EVENT_COLUMNS: Column[] = [
  { name: 'device_id', type: 'text' },
  { name: 'edge_id', type: 'text' },
  { name: 'seq', type: 'bigint' },
  { name: 'ts', type: 'bigint' },
  { name: 'kind', type: 'int' },
  { name: 'severity', type: 'int' },
  { name: 'message', type: 'text' },
  { name: 'code', type: 'text' },
  { name: 'metric', type: 'text' },
  { name: 'value', type: 'real' },
  { name: 'threshold', type: 'real' },
];

export function eventRow(e: Omit<SensingEvent, 'seq'>, edgeId: string | null, seq: number | null): SqlValue[] {
  return [e.deviceId, edgeId, seq, e.ts, e.kind ?? 0, e.severity ?? 0, e.message || null, e.code || null, e.metric || null, e.value ?? null, e.threshold ?? null];
}

export function toStoredEvent(r: EventRow): StoredEvent {
  const e: StoredEvent = {
    id: r.id,
    device: r.device_id,
    ts: r.ts,
    kind: EVENT_KIND_NAMES[r.kind] ?? String(r.kind),
    severity: SEVERITY_NAMES[r.severity] ?? String(r.severity),
  };
  if (r.edge_id) e.edge = r.edge_id;
  if (r.message) e.message = r.message;
  if (r.code) e.code = r.code;
  if (r.metric) e.metric = r.metric;
  if (r.value !== null) e.value = r.value;
  if (r.threshold !== null) e.threshold = r.threshold;
  return e;
}

export class SqlEvents implements EventStore {
  constructor(private readonly db: SqlDb) {}

  async query(q: EventQuery): Promise<StoredEvent[]> {
    const params: SqlValue[] = [q.from, q.to];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where = ['e.ts >= $1', 'e.ts < $2'];
    if (q.minSeverity !== undefined) where.push(`e.severity >= ${p(q.minSeverity)}`);
    if (q.device) where.push(`e.device_id = ${p(q.device)}`);
    let join = '';
    if (q.bureau !== undefined) {
      join = 'JOIN devices d ON d.id = e.device_id';
      where.push(this.db.dialect.contains('d.scope', p(`,${q.bureau},`)));
    }
    const rows = await this.db.all<EventRow>(
      `SELECT e.id, e.device_id, e.edge_id, e.ts, e.kind, e.severity, e.message, e.code, e.metric, e.value, e.threshold
       FROM events e ${join} WHERE ${where.join(' AND ')} ORDER BY e.ts, e.id LIMIT ${p(q.limit ?? 10_000)}`,
      params,
    );
    return rows.map(toStoredEvent);
  }
}

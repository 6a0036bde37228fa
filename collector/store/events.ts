// Alarms and status-change events as the edges reported them.
import type { SensingEvent } from '../../schema/types.js';
import type { Db } from './db.js';

export const SEVERITY_NAMES = ['info', 'warning', 'major', 'critical'] as const;
export const EVENT_KIND_NAMES = [
  'unknown', 'alarm_raised', 'alarm_cleared', 'device_online', 'device_offline', 'device_degraded',
  'threshold_crossed', 'video_fault_raised', 'video_fault_cleared', 'record_changed', 'data_gap',
] as const;

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

interface EventRow {
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

export class Events {
  private readonly insertStmt;
  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      'INSERT INTO events (device_id, edge_id, ts, kind, severity, message, code, metric, value, threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  add(e: SensingEvent, edgeId: string | null): StoredEvent {
    const info = this.insertStmt.run(
      e.deviceId, edgeId, e.ts, e.kind ?? 0, e.severity ?? 0, e.message || null, e.code || null, e.metric || null, e.value ?? null, e.threshold ?? null,
    );
    return toStoredEvent({
      id: Number(info.lastInsertRowid), device_id: e.deviceId, edge_id: edgeId, ts: e.ts, kind: e.kind ?? 0, severity: e.severity ?? 0,
      message: e.message || null, code: e.code || null, metric: e.metric || null, value: e.value ?? null, threshold: e.threshold ?? null,
    });
  }

  query(q: { from: number; to: number; minSeverity?: number; bureau?: string; device?: string; limit?: number }): StoredEvent[] {
    const where = ['e.ts >= @from', 'e.ts < @to'];
    const params: Record<string, unknown> = { from: q.from, to: q.to, limit: q.limit ?? 10_000 };
    if (q.minSeverity !== undefined) (where.push('e.severity >= @sev'), (params.sev = q.minSeverity));
    if (q.device) (where.push('e.device_id = @device'), (params.device = q.device));
    let join = '';
    if (q.bureau !== undefined) {
      join = 'JOIN devices d ON d.id = e.device_id';
      where.push('instr(d.scope, @scopeToken) > 0');
      params.scopeToken = `,${q.bureau},`;
    }
    return this.db
      .prepare<Record<string, unknown>, EventRow>(`SELECT e.* FROM events e ${join} WHERE ${where.join(' AND ')} ORDER BY e.ts, e.id LIMIT @limit`)
      .all(params)
      .map(toStoredEvent);
  }
}

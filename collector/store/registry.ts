// 一机一档 registry: device records, their change history, ownership by edge and runtime status.
import type { DeviceRecord } from '../../schema/types.js';
import type { Db } from './db.js';
import { redactRecordSecrets } from '../../core/records.js';

const RUNTIME_FIELDS = ['runtimeStatus', 'lastSeen', 'statusReason', 'seq', 'updatedAt', 'edgeId'] as const;

export interface DeviceRow {
  id: string;
  edge_id: string | null;
  pinned: number;
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

/** Strips runtime fields: they live in columns, not in the record's history. */
export function recordBody(r: DeviceRecord): DeviceRecord {
  const copy: Record<string, unknown> = { ...redactRecordSecrets(r) };
  for (const k of RUNTIME_FIELDS) delete copy[k];
  return JSON.parse(JSON.stringify(copy)) as DeviceRecord; // drops undefined members
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) out.set(prefix, v);
}

export function diffRecords(before: DeviceRecord | undefined, after: DeviceRecord): Record<string, [unknown, unknown]> {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, '', a);
  flatten(after, '', b);
  const changes: Record<string, [unknown, unknown]> = {};
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    if (JSON.stringify(x) !== JSON.stringify(y)) changes[key] = [x ?? null, y ?? null];
  }
  return changes;
}

/** Deep merge of a partial record onto a stored one (present fields win; nested objects merge). */
export function mergeRecords(base: DeviceRecord, patch: DeviceRecord): DeviceRecord {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = { ...(cur as object), ...(v as object) };
    } else out[k] = v;
  }
  return out as unknown as DeviceRecord;
}

export const scopeColumn = (scope: string[] | undefined) => `,${(scope ?? []).join(',')}${scope?.length ? ',' : ''}`;

export class Registry {
  private readonly getStmt;
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly historyStmt;
  private readonly touchStmt;
  private readonly statusStmt;
  private readonly claimStmt;

  constructor(private readonly db: Db) {
    this.getStmt = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.insertStmt = db.prepare(
      `INSERT INTO devices (id, edge_id, pinned, record, name, kind, site_id, site_type, lon, lat, scope, updated_at)
       VALUES (@id, @edge_id, @pinned, @record, @name, @kind, @site_id, @site_type, @lon, @lat, @scope, @updated_at)`,
    );
    this.updateStmt = db.prepare(
      `UPDATE devices SET edge_id = @edge_id, pinned = @pinned, record = @record, name = @name, kind = @kind, site_id = @site_id,
       site_type = @site_type, lon = @lon, lat = @lat, scope = @scope, updated_at = @updated_at WHERE id = @id`,
    );
    this.historyStmt = db.prepare('INSERT INTO record_history (device_id, ts, actor, changes) VALUES (?, ?, ?, ?)');
    this.touchStmt = db.prepare(
      `UPDATE devices SET last_seen = max(coalesce(last_seen, 0), @ts),
       runtime_status = CASE WHEN runtime_status = 'unknown' THEN 'online' ELSE runtime_status END WHERE id = @id`,
    );
    this.statusStmt = db.prepare(
      `UPDATE devices SET runtime_status = @status, status_reason = @reason, status_ts = @ts
       WHERE id = @id AND coalesce(status_ts, 0) <= @ts`,
    );
    this.claimStmt = db.prepare('UPDATE devices SET edge_id = ? WHERE id = ? AND edge_id IS NULL');
  }

  row(id: string): DeviceRow | undefined {
    return this.getStmt.get(id);
  }

  /** The record with its runtime fields, as the API shows it. */
  get(id: string): DeviceRecord | undefined {
    const row = this.row(id);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Creates or changes a record and keeps the change in history. `replace` swaps the whole body (admin PUT);
   * otherwise present fields are merged (edge birth/update, admin POST, CSV import).
   */
  upsert(
    incoming: DeviceRecord,
    actor: string,
    opts: { edgeId?: string | null; pinned?: boolean; replace?: boolean; ts?: number } = {},
  ): { created: boolean; changed: boolean } {
    const ts = opts.ts ?? Date.now();
    const row = this.row(incoming.id);
    const before = row ? (JSON.parse(row.record) as DeviceRecord) : undefined;
    const body = recordBody(opts.replace || !before ? incoming : mergeRecords(before, incoming));
    const changes = diffRecords(before, body);
    const edgeId = opts.edgeId !== undefined ? opts.edgeId : (row?.edge_id ?? null);
    const pinned = opts.pinned !== undefined ? (opts.pinned ? 1 : 0) : (row?.pinned ?? 0);
    if (row && row.edge_id !== edgeId) changes.edgeId = [row.edge_id, edgeId];
    if (row && Object.keys(changes).length === 0 && row.pinned === pinned) return { created: false, changed: false };
    const params = {
      id: body.id,
      edge_id: edgeId,
      pinned,
      record: JSON.stringify(body),
      name: body.name ?? null,
      kind: body.kind ?? null,
      site_id: body.site?.id || null,
      site_type: body.site?.type ?? null,
      lon: body.location?.longitude ?? null,
      lat: body.location?.latitude ?? null,
      scope: scopeColumn(body.sharingScope),
      updated_at: ts,
    };
    if (row) this.updateStmt.run(params);
    else this.insertStmt.run(params);
    if (Object.keys(changes).length) this.historyStmt.run(body.id, ts, actor, JSON.stringify(changes));
    return { created: !row, changed: true };
  }

  /** Registers an unknown device to the edge that first reports it (a minimal record, in history). */
  claim(deviceId: string, edgeId: string, ts: number): void {
    const row = this.row(deviceId);
    if (!row) this.upsert({ id: deviceId }, `edge:${edgeId}`, { edgeId, ts });
    else if (row.edge_id === null) {
      this.claimStmt.run(edgeId, deviceId);
      this.historyStmt.run(deviceId, ts, `edge:${edgeId}`, JSON.stringify({ edgeId: [null, edgeId] }));
    }
  }

  touch(deviceId: string, ts: number): void {
    this.touchStmt.run({ id: deviceId, ts });
  }

  setStatus(deviceId: string, status: string, ts: number, reason: string | null): void {
    this.statusStmt.run({ id: deviceId, status, ts, reason });
  }

  history(deviceId: string, limit = 1000): HistoryEntry[] {
    return this.db
      .prepare<[string, number], { ts: number; actor: string; changes: string }>(
        'SELECT ts, actor, changes FROM record_history WHERE device_id = ? ORDER BY id DESC LIMIT ?',
      )
      .all(deviceId, limit)
      .map((h) => ({ ts: h.ts, actor: h.actor, changes: JSON.parse(h.changes) as HistoryEntry['changes'] }));
  }

  list(f: DeviceFilter): DeviceRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.bureau !== undefined) {
      where.push("instr(scope, @scopeToken) > 0");
      params.scopeToken = `,${f.bureau},`;
    }
    if (f.site) (where.push('site_id = @site'), (params.site = f.site));
    if (f.siteType) (where.push('site_type = @siteType'), (params.siteType = f.siteType));
    if (f.kind) (where.push('kind = @kind'), (params.kind = f.kind));
    if (f.status) (where.push('runtime_status = @status'), (params.status = f.status));
    if (f.edge) (where.push('edge_id = @edge'), (params.edge = f.edge));
    if (f.metric) {
      where.push('EXISTS (SELECT 1 FROM series s WHERE s.device_id = devices.id AND s.metric = @metric)');
      params.metric = f.metric;
    }
    if (f.bbox) {
      where.push('lon BETWEEN @minLon AND @maxLon AND lat BETWEEN @minLat AND @maxLat');
      [params.minLon, params.minLat, params.maxLon, params.maxLat] = f.bbox;
    }
    if (f.q) {
      where.push("(instr(lower(id), @q) > 0 OR instr(lower(coalesce(name, '')), @q) > 0 OR instr(lower(record), @q) > 0)");
      params.q = f.q.toLowerCase();
    }
    const sql = `SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return this.db.prepare<Record<string, unknown>, DeviceRow>(sql).all(params).map(toRecord);
  }

  all(): DeviceRecord[] {
    return this.list({});
  }
}

export function toRecord(row: DeviceRow): DeviceRecord {
  const r = JSON.parse(row.record) as DeviceRecord;
  r.runtimeStatus = row.runtime_status;
  if (row.last_seen !== null) r.lastSeen = row.last_seen;
  if (row.status_reason) r.statusReason = row.status_reason;
  if (row.edge_id) r.edgeId = row.edge_id;
  r.updatedAt = row.updated_at;
  return r;
}

/** Whether a bureau may see a device (admins pass `undefined`). */
export function visibleTo(row: Pick<DeviceRow, 'scope'> | undefined, bureau: string | undefined): boolean {
  if (!row) return false;
  return bureau === undefined || row.scope.includes(`,${bureau},`);
}

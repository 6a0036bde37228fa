// 一机一档 registry on SQL: device rows, their change history, listing with the bureau filter.
import type { DeviceRecord } from '../../../schema/types.js';
import { registrarChange, toRecord, type DeviceValues, type RecordChange } from '../records.js';
import type { DeviceFilter, DeviceRow, HistoryEntry, RegistryStore, UpsertOptions } from '../types.js';
import type { Column, Sql, SqlDb, SqlValue } from './driver.js';

const DEVICE_COLUMNS: Column[] = [
  { name: 'id', type: 'text' },
  { name: 'edge_id', type: 'text' },
  { name: 'registered', type: 'int' },
  { name: 'scope_source', type: 'text' },
  { name: 'edge_scope_claim', type: 'text' },
  { name: 'record', type: 'text' },
  { name: 'name', type: 'text' },
  { name: 'kind', type: 'text' },
  { name: 'site_id', type: 'text' },
  { name: 'site_type', type: 'text' },
  { name: 'lon', type: 'real' },
  { name: 'lat', type: 'real' },
  { name: 'scope', type: 'text' },
  { name: 'updated_at', type: 'bigint' },
];
const UPDATE_ON_CONFLICT = `ON CONFLICT (id) DO UPDATE SET ${DEVICE_COLUMNS.slice(1)
  .map((c) => `${c.name} = excluded.${c.name}`)
  .join(', ')}`;

/** Writes device rows (their record columns; runtime status columns are left alone), sorted by id. */
export async function writeDevices(sql: Sql, values: Iterable<DeviceValues>): Promise<void> {
  const rows = [...values].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((v) => DEVICE_COLUMNS.map((c) => v[c.name as keyof DeviceValues] as SqlValue));
  await sql.insertMany('devices', DEVICE_COLUMNS, rows, UPDATE_ON_CONFLICT);
}

export const HISTORY_COLUMNS: Column[] = [
  { name: 'device_id', type: 'text' },
  { name: 'ts', type: 'bigint' },
  { name: 'actor', type: 'text' },
  { name: 'changes', type: 'text' },
];

export class SqlRegistry implements RegistryStore {
  constructor(private readonly db: SqlDb) {}

  row(id: string): Promise<DeviceRow | undefined> {
    return this.db.get<DeviceRow>('SELECT * FROM devices WHERE id = $1', [id]);
  }

  rows(ids: string[]): Promise<DeviceRow[]> {
    return this.db.allForRows<DeviceRow>([{ name: 'id', type: 'text' }], [...new Set(ids)].map((id) => [id]), 'SELECT d.* FROM devices d JOIN u ON d.id = u.id');
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const row = await this.row(id);
    return row ? toRecord(row) : undefined;
  }

  async list(f: DeviceFilter): Promise<DeviceRecord[]> {
    const d = this.db.dialect;
    const where: string[] = [];
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    if (f.bureau !== undefined) where.push(d.contains('scope', p(`,${f.bureau},`)));
    if (f.site) where.push(`site_id = ${p(f.site)}`);
    if (f.siteType) where.push(`site_type = ${p(f.siteType)}`);
    if (f.kind) where.push(`kind = ${p(f.kind)}`);
    if (f.status) where.push(`runtime_status = ${p(f.status)}`);
    if (f.edge) where.push(`edge_id = ${p(f.edge)}`);
    if (f.metric) where.push(`EXISTS (SELECT 1 FROM series s WHERE s.device_id = devices.id AND s.metric = ${p(f.metric)})`);
    if (f.bbox) {
      const [a, b, c, e] = f.bbox;
      where.push(`lon BETWEEN ${p(a)} AND ${p(c)} AND lat BETWEEN ${p(b)} AND ${p(e)}`);
    }
    if (f.q) {
      const q = p(f.q.toLowerCase());
      where.push(`(${d.contains('lower(id)', q)} OR ${d.contains("lower(coalesce(name, ''))", q)} OR ${d.contains('lower(record)', q)})`);
    }
    const rows = await this.db.all<DeviceRow>(`SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`, params);
    return rows.map(toRecord);
  }

  private async apply(tx: Sql, change: RecordChange, actor: string): Promise<void> {
    await writeDevices(tx, [change.values]);
    if (Object.keys(change.changes).length) {
      await tx.insertMany('record_history', HISTORY_COLUMNS, [[change.values.id, change.values.updated_at, actor, JSON.stringify(change.changes)]]);
    }
  }

  upsert(record: DeviceRecord, actor: string, opts: UpsertOptions = {}): Promise<{ created: boolean; changed: boolean }> {
    return this.db.tx(async (tx) => {
      const row = await tx.get<DeviceRow>('SELECT * FROM devices WHERE id = $1', [record.id]);
      const change = registrarChange(row, record, { edgeId: opts.edgeId, replace: opts.replace, ts: opts.ts ?? Date.now() });
      if (!change) return { created: false, changed: false };
      await this.apply(tx, change, actor);
      return { created: change.created, changed: true };
    });
  }

  upsertMany(records: DeviceRecord[], actor: string, opts: UpsertOptions = {}): Promise<{ created: number; updated: number }> {
    return this.db.tx(async (tx) => {
      let created = 0;
      let updated = 0;
      const ts = opts.ts ?? Date.now();
      for (const r of records) {
        const row = await tx.get<DeviceRow>('SELECT * FROM devices WHERE id = $1', [r.id]);
        // A record's own edgeId assigns it (CSV 接入网关) unless the call names one for all.
        const change = registrarChange(row, r, { edgeId: opts.edgeId !== undefined ? opts.edgeId : r.edgeId, replace: opts.replace, ts });
        if (!change) continue;
        await this.apply(tx, change, actor);
        if (change.created) created++;
        else updated++;
      }
      return { created, updated };
    });
  }

  async history(id: string, limit = 1000): Promise<HistoryEntry[]> {
    const rows = await this.db.all<{ ts: number; actor: string; changes: string }>(
      'SELECT ts, actor, changes FROM record_history WHERE device_id = $1 ORDER BY id DESC LIMIT $2',
      [id, limit],
    );
    return rows.map((h) => ({ ts: h.ts, actor: h.actor, changes: JSON.parse(h.changes) as HistoryEntry['changes'] }));
  }
}

// Quarantined items on SQL: what the collector kept aside instead of storing, with the reason, for admins.
import type { QuarantinedItem, QuarantineQuery, QuarantineStore } from '../types.js';
import type { Column, SqlDb, SqlValue } from './driver.js';

export const QUARANTINE_COLUMNS: Column[] = [
  { name: 'edge_id', type: 'text' },
  { name: 'batch_id', type: 'bigint' },
  { name: 'seq', type: 'bigint' },
  { name: 'received_at', type: 'bigint' },
  { name: 'item_kind', type: 'text' },
  { name: 'device_id', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'detail', type: 'text' },
  { name: 'item', type: 'text' },
];

interface Row {
  id: number;
  edge_id: string;
  batch_id: number;
  seq: number;
  received_at: number;
  item_kind: string;
  device_id: string | null;
  reason: string;
  detail: string;
  item: string;
}

export class SqlQuarantine implements QuarantineStore {
  constructor(private readonly db: SqlDb) {}

  async list(q: QuarantineQuery): Promise<QuarantinedItem[]> {
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where: string[] = [];
    if (q.edge) where.push(`edge_id = ${p(q.edge)}`);
    if (q.device) where.push(`device_id = ${p(q.device)}`);
    if (q.reason) where.push(`reason = ${p(q.reason)}`);
    if (q.from !== undefined) where.push(`received_at >= ${p(q.from)}`);
    if (q.to !== undefined) where.push(`received_at < ${p(q.to)}`);
    const rows = await this.db.all<Row>(
      `SELECT * FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${p(Math.min(q.limit ?? 1000, 10_000))}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      edge: r.edge_id,
      batchId: r.batch_id,
      seq: r.seq,
      receivedAt: r.received_at,
      itemKind: r.item_kind,
      device: r.device_id,
      reason: r.reason,
      detail: r.detail,
      item: JSON.parse(r.item) as unknown,
    }));
  }

  summary(): Promise<{ edge: string; reason: string; items: number; lastAt: number }[]> {
    return this.db.all('SELECT edge_id AS edge, reason, count(*) AS items, max(received_at) AS "lastAt" FROM quarantine GROUP BY edge_id, reason ORDER BY edge_id, reason');
  }
}

// The audit log on SQL: every admin action through the API (and the collector CLI), who, what, on what, outcome.
import type { AuditEntry, AuditQuery, AuditStore } from '../types.js';
import type { SqlDb, SqlValue } from './driver.js';

interface Row {
  id: number;
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  status: number;
  detail: string;
}

export class SqlAudit implements AuditStore {
  constructor(private readonly db: SqlDb) {}

  async add(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.db.run('INSERT INTO audit_log (ts, actor, action, target, status, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
      e.ts, e.actor, e.action, e.target ?? null, e.status, JSON.stringify(e.detail ?? {}),
    ]);
  }

  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where: string[] = [];
    if (q.from !== undefined) where.push(`ts >= ${p(q.from)}`);
    if (q.to !== undefined) where.push(`ts < ${p(q.to)}`);
    if (q.actor) where.push(`actor = ${p(q.actor)}`);
    if (q.q) {
      const needle = p(q.q);
      where.push(`(${this.db.dialect.contains('action', needle)} OR ${this.db.dialect.contains("coalesce(target, '')", needle)})`);
    }
    const rows = await this.db.all<Row>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${p(q.limit ?? 1000)}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id), ts: Number(r.ts), actor: r.actor, action: r.action, target: r.target ?? undefined, status: Number(r.status), detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}

// Edges on SQL: credentials (edges), runtime state (edge_state: connection, reported buffer stats, the small
// integer that tags the edge's points) and committed sequence ranges (edge_ranges: the dedup state).
import type { SeqRange } from '../../../schema/types.js';
import { gapsOf } from '../ranges.js';
import type { EdgeInfo, EdgeRow, EdgeStore } from '../types.js';
import type { SqlDb } from './driver.js';

interface EdgeJoinRow {
  id: string;
  source: string | null;
  created_at: number | null;
  connected: number | null;
  status_ts: number | null;
  version: string | null;
  last_batch_at: number | null;
  transport_lag_ms: number | null;
  buffer_rows: number | null;
  buffer_bytes: number | null;
  oldest_buffered_ts: number | null;
  dropped_readings: number | null;
  backlog_items: number | null;
}

const opt = <T>(v: T | null | undefined) => (v === null || v === undefined ? undefined : v);

export function edgeInfo(row: EdgeJoinRow, ranges: SeqRange[], now: number): EdgeInfo {
  const gaps = gapsOf(ranges);
  return {
    id: row.id,
    source: row.source ?? 'unregistered',
    createdAt: opt(row.created_at),
    connected: row.connected === 1,
    statusTs: opt(row.status_ts),
    version: opt(row.version),
    lastBatchAt: opt(row.last_batch_at),
    transportLagMs: opt(row.transport_lag_ms),
    lagMs: row.buffer_rows && row.oldest_buffered_ts ? Math.max(0, now - row.oldest_buffered_ts) : 0,
    bufferRows: opt(row.buffer_rows),
    bufferBytes: opt(row.buffer_bytes),
    droppedReadings: opt(row.dropped_readings),
    backlogItems: opt(row.backlog_items),
    committedThrough: ranges[0]?.last ?? 0,
    ranges: ranges.length > 50 ? [...ranges.slice(0, 25), ...ranges.slice(-25)] : ranges,
    gaps: gaps.length > 100 ? gaps.slice(-100) : gaps,
    missing: gaps.reduce((n, g) => n + (g.last - g.first + 1), 0),
  };
}

const STATE_COLUMNS = 's.connected, s.status_ts, s.version, s.last_batch_at, s.transport_lag_ms, s.buffer_rows, s.buffer_bytes, s.oldest_buffered_ts, s.dropped_readings, s.backlog_items';

export class SqlEdges implements EdgeStore {
  constructor(private readonly db: SqlDb) {}

  get(id: string): Promise<EdgeRow | undefined> {
    return this.db.get<EdgeRow>('SELECT id, password_hash, source, created_at FROM edges WHERE id = $1', [id]);
  }

  async put(id: string, passwordHash: string, source: 'config' | 'admin'): Promise<void> {
    await this.db.run(
      `INSERT INTO edges (id, password_hash, source, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash, source = excluded.source`,
      [id, passwordHash, source, Date.now()],
    );
  }

  /** Removes the credentials; the edge's committed ranges stay, so a re-added edge is still deduplicated. */
  async remove(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM edges WHERE id = $1', [id])).changes > 0;
  }

  async setConnected(id: string, connected: boolean, ts: number, version?: string): Promise<void> {
    await this.db.run(
      `INSERT INTO edge_state (edge_id, connected, status_ts, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (edge_id) DO UPDATE SET connected = excluded.connected, status_ts = excluded.status_ts,
         version = coalesce(excluded.version, edge_state.version)
       WHERE coalesce(edge_state.status_ts, 0) <= excluded.status_ts`,
      [id, connected ? 1 : 0, ts, version ?? null],
    );
  }

  ranges(id: string): Promise<SeqRange[]> {
    return this.db.all<SeqRange>('SELECT first, last FROM edge_ranges WHERE edge_id = $1 ORDER BY first', [id]);
  }

  async committedThrough(id: string): Promise<number> {
    return (await this.db.get<{ last: number }>('SELECT last FROM edge_ranges WHERE edge_id = $1 ORDER BY first LIMIT 1', [id]))?.last ?? 0;
  }

  /** Registered edges and edges known only from their traffic (external broker mode). */
  async list(): Promise<EdgeInfo[]> {
    const rows = await this.db.all<EdgeJoinRow>(
      `SELECT e.id, e.source, e.created_at, ${STATE_COLUMNS} FROM edges e LEFT JOIN edge_state s ON s.edge_id = e.id
       UNION ALL
       SELECT s.edge_id AS id, NULL AS source, NULL AS created_at, ${STATE_COLUMNS} FROM edge_state s
       WHERE NOT EXISTS (SELECT 1 FROM edges e WHERE e.id = s.edge_id)
       ORDER BY id`,
    );
    const all = await this.db.all<SeqRange & { edge_id: string }>('SELECT edge_id, first, last FROM edge_ranges ORDER BY edge_id, first');
    const byEdge = new Map<string, SeqRange[]>();
    for (const r of all) {
      let list = byEdge.get(r.edge_id);
      if (!list) byEdge.set(r.edge_id, (list = []));
      list.push({ first: r.first, last: r.last });
    }
    const now = Date.now();
    return rows.map((r) => edgeInfo(r, byEdge.get(r.id) ?? [], now));
  }
}

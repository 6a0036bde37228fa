// Edges: credentials (hashed), connection state, reported buffer stats, and committed sequence ranges (dedup).
import type { EdgeStats, SeqRange } from '../../schema/types.js';
import type { Db } from './db.js';
import { gapsOf } from './ranges.js';

export interface EdgeRow {
  id: string;
  password_hash: string;
  source: string;
  created_at: number;
  connected: number;
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

export interface EdgeInfo {
  id: string;
  source: string;
  createdAt: number;
  connected: boolean;
  statusTs?: number;
  version?: string;
  lastBatchAt?: number;
  transportLagMs?: number;
  /** How far behind the edge is: age of its oldest buffered item (0 with an empty buffer). */
  lagMs: number;
  bufferRows?: number;
  bufferBytes?: number;
  droppedReadings?: number;
  backlogItems?: number;
  committedThrough: number;
  ranges: SeqRange[];
  gaps: SeqRange[];
  missing: number;
}

export class Edges {
  private readonly overlapping;
  private readonly deleteRange;
  private readonly insertRange;
  private readonly firstRange;
  private readonly statsStmt;

  constructor(private readonly db: Db) {
    this.overlapping = db.prepare<[string, number, number], SeqRange>(
      'SELECT first, last FROM edge_ranges WHERE edge_id = ? AND first <= ? AND last >= ? ORDER BY first',
    );
    this.deleteRange = db.prepare('DELETE FROM edge_ranges WHERE edge_id = ? AND first = ?');
    this.insertRange = db.prepare('INSERT INTO edge_ranges (edge_id, first, last) VALUES (?, ?, ?)');
    this.firstRange = db.prepare<[string], SeqRange>('SELECT first, last FROM edge_ranges WHERE edge_id = ? ORDER BY first LIMIT 1');
    this.statsStmt = db.prepare(
      `UPDATE edges SET last_batch_at = @at, transport_lag_ms = @lag, buffer_rows = coalesce(@rows, buffer_rows),
       buffer_bytes = coalesce(@bytes, buffer_bytes), oldest_buffered_ts = @oldest, dropped_readings = coalesce(@dropped, dropped_readings),
       backlog_items = coalesce(@backlog, backlog_items) WHERE id = @id`,
    );
  }

  get(id: string): EdgeRow | undefined {
    return this.db.prepare<[string], EdgeRow>('SELECT * FROM edges WHERE id = ?').get(id);
  }

  /** Adds an edge or replaces its password hash. */
  put(id: string, passwordHash: string, source: 'config' | 'admin'): void {
    this.db
      .prepare(
        `INSERT INTO edges (id, password_hash, source, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash, source = excluded.source`,
      )
      .run(id, passwordHash, source, Date.now());
  }

  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM edges WHERE id = ?').run(id).changes > 0;
  }

  setConnected(id: string, connected: boolean, ts: number, version?: string): void {
    this.db
      .prepare('UPDATE edges SET connected = ?, status_ts = ?, version = coalesce(?, version) WHERE id = ? AND coalesce(status_ts, 0) <= ?')
      .run(connected ? 1 : 0, ts, version ?? null, id, ts);
  }

  recordBatch(id: string, at: number, sentAt: number | undefined, stats: EdgeStats | undefined): void {
    this.statsStmt.run({
      id,
      at,
      lag: sentAt ? Math.max(0, at - sentAt) : null,
      rows: stats?.bufferRows ?? null,
      bytes: stats?.bufferBytes ?? null,
      oldest: stats?.oldestBufferedTs || null,
      dropped: stats?.droppedReadings ?? null,
      backlog: stats?.backlogItems ?? null,
    });
  }

  /** Committed ranges of the edge that overlap [first, last] (read inside the ingest transaction). */
  heldWithin(edgeId: string, first: number, last: number): SeqRange[] {
    return this.overlapping.all(edgeId, last, first);
  }

  /** Marks [first, last] committed, merging with overlapping and adjacent ranges. */
  commit(edgeId: string, first: number, last: number): void {
    const touching = this.overlapping.all(edgeId, last + 1, first - 1);
    let lo = first;
    let hi = last;
    for (const r of touching) {
      lo = Math.min(lo, r.first);
      hi = Math.max(hi, r.last);
      this.deleteRange.run(edgeId, r.first);
    }
    this.insertRange.run(edgeId, lo, hi);
  }

  /** Highest sequence such that everything from the edge's first committed sequence up to it is committed. */
  committedThrough(edgeId: string): number {
    return this.firstRange.get(edgeId)?.last ?? 0;
  }

  ranges(edgeId: string): SeqRange[] {
    return this.db.prepare<[string], SeqRange>('SELECT first, last FROM edge_ranges WHERE edge_id = ? ORDER BY first').all(edgeId);
  }

  info(row: EdgeRow, now = Date.now()): EdgeInfo {
    const ranges = this.ranges(row.id);
    const gaps = gapsOf(ranges);
    const opt = <T>(v: T | null) => (v === null ? undefined : v);
    return {
      id: row.id,
      source: row.source,
      createdAt: row.created_at,
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

  list(): EdgeInfo[] {
    const now = Date.now();
    return this.db.prepare<[], EdgeRow>('SELECT * FROM edges ORDER BY id').all().map((r) => this.info(r, now));
  }
}

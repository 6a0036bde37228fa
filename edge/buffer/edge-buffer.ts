// Crash-safe store-and-forward buffer of the edge: items get a per-edge sequence number on arrival and are
// committed to SQLite (WAL) in chunks at least once per commit interval. See README.md for the design.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { DeviceRecord, EdgeStats, SensingEvent, Snapshot, VideoQuality } from '../../schema/types.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { Chunker, type EncodedChunk, type PendingOther } from './chunker.js';
import { countReadingsByDevice } from './chunk-scan.js';
import { FillRate } from './fill-rate.js';
import type { UnsequencedReading } from './proto-writer.js';
import { createSchema, Priority } from './sqlite-schema.js';

export type { UnsequencedReading } from './proto-writer.js';
export { Priority } from './sqlite-schema.js';

export type SynchronousMode = 'FULL' | 'NORMAL';

export interface EdgeBufferOptions {
  /** Folder of the database (created if missing); the file is `buffer.db`. */
  dir: string;
  /** Limit on buffered bytes (chunk payloads plus a per-row estimate); telemetry is dropped oldest-first above it. */
  maxBytes: number;
  /** Telemetry chunks buffered longer than this are dropped (counted). Unset: no age limit. */
  retentionMs?: number;
  /** Longest time an accepted item lives only in memory. Default 500, at most 1000. */
  commitIntervalMs?: number;
  /** SQLite synchronous mode with WAL. Default FULL (see README: power loss vs process kill). */
  synchronous?: SynchronousMode;
  /** Chunk caps (a chunk is the unit the uplink sends and the collector acks). Defaults 20000 items, 1 MiB. */
  maxChunkItems?: number;
  maxChunkBytes?: number;
  /** Commit early once this many items are pending (bounds commit latency and memory). Default 100000. */
  flushAtItems?: number;
  /**
   * When someone waits for durability (`whenDurable`: an MQTT PUBACK, an HJ 212 answer, an SL 651
   * confirmation), commit within this many ms instead of the commit interval; everything that arrives
   * meanwhile shares the one transaction (group commit). Default 2.
   */
  groupCommitDelayMs?: number;
  /** Items kept in memory while commits fail (disk full); above it the oldest pending readings are dropped. Default 2,000,000. */
  maxPendingItems?: number;
  /**
   * NORMAL mode only: sequence numbers reserved on disk ahead of use, so that a power loss that rolls back
   * acked chunks never lets a seq repeat (default 1,000,000). With FULL every commit is durable, so the edge
   * resumes right after the last committed seq and a kill -9 leaves no gap at the collector.
   */
  seqReserveBlock?: number;
  /** SQLite max_page_count: a hard cap on the file, for disk-full tests. */
  sqliteMaxPageCount?: number;
  logger?: Logger;
}

export interface BufferStats {
  rows: number;
  bytes: number;
  /** Items (readings, events, ...) in the stored chunks. */
  items: number;
  /** Commit time (ms) of the oldest stored chunk; null when empty. */
  oldestTs: number | null;
  droppedReadings: number;
  droppedByDevice: Record<string, number>;
  /** Dropped video-quality results and snapshots. */
  droppedOtherItems: number;
  droppedChunks: number;
  fillRatio: number;
  /** At the recent net growth rate; 0 when full, null when not growing. */
  estimatedSecondsToFull: number | null;
  nextSeq: number;
  committedSeq: number;
  pendingInMemory: number;
  commitErrors: number;
  lastCommitError: string | null;
}

export interface CommittedChunk {
  id: number;
  priority: Priority;
  firstSeq: number;
  lastSeq: number;
  items: number;
}

export interface CommitInfo {
  committedSeq: number;
  chunks: CommittedChunk[];
}

export interface StoredChunk extends CommittedChunk {
  createdAt: number;
  bytes: number;
  payload: Buffer;
}

/** A chunk the collector rejected: kept on disk, not sent again until an operator asks (`unpark`). */
export interface ParkedChunk extends CommittedChunk {
  createdAt: number;
  bytes: number;
  parkedAt: number;
  reason: string;
}

export interface ParkedSummary {
  chunks: number;
  items: number;
  bytes: number;
  /** Parked chunks per rejection reason. */
  byReason: Record<string, number>;
}

interface ChunkRow {
  id: number;
  first_seq: number;
  last_seq: number;
  created_at: number;
  priority: number;
  items: number;
  bytes: number;
  payload: Buffer;
}

interface DropRow {
  id: number;
  created_at: number;
  items: number;
  readings: number;
  bytes: number;
  payload: Buffer;
}

/** Per-row overhead counted against maxBytes on top of the payload (row header, index entry, page slack). */
const ROW_OVERHEAD_BYTES = 96;
/** Pause of scheduled commits after a failed one. */
const COMMIT_RETRY_MS = 2000;
/** Seq ranges remembered as lost (dropped from memory while commits failed), for late durability questions. */
const MAX_LOST_RANGES = 1000;

interface DurabilityWaiter {
  first: number;
  last: number;
  resolve: (durable: boolean) => void;
}

/** Running totals; a transaction works on a copy and publishes it only when it commits. */
interface Ledger {
  rows: number;
  bytes: number;
  items: number;
  droppedReadings: number;
  droppedOtherItems: number;
  droppedChunks: number;
  droppedByDevice: Map<string, number>;
}

const cloneLedger = (l: Ledger): Ledger => ({ ...l, droppedByDevice: new Map(l.droppedByDevice) });

export class EdgeBuffer {
  private readonly db: Database.Database;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly retentionMs: number | undefined;
  private readonly commitIntervalMs: number;
  private readonly flushAtItems: number;
  private readonly maxPendingItems: number;
  private readonly seqReserveBlock: number;
  private readonly chunker: Chunker;
  private readonly fillRate = new FillRate();

  private nextSeqValue: number;
  private reservedThrough: number;
  private committedSeqValue: number;
  private ledger: Ledger;
  private oldestTsCache: number | null | undefined;

  private pendingReadings: UnsequencedReading[] = [];
  private pendingReadingSeqs: number[] = [];
  private pendingTelemetryOther: PendingOther[] = [];
  private pendingCritical: PendingOther[] = [];
  /** Chunks acked by the collector, deleted in the next commit (a crash before that only causes a resend). */
  private ackedPending = new Map<number, { bytes: number; items: number }>();

  private commitListeners = new Set<(info: CommitInfo) => void>();
  private waiters: DurabilityWaiter[] = [];
  /** Seq ranges of pending items dropped while commits failed (merged, ascending). */
  private lostRanges: [number, number][] = [];
  private readonly groupCommitDelayMs: number;
  private groupCommitTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private earlyFlushScheduled = false;
  private closed = false;
  private commitErrors = 0;
  private lastCommitError: string | null = null;
  private lastErrorLogAt = 0;
  private retryAt = 0;

  private readonly stmts: {
    insert: Database.Statement;
    deleteById: Database.Statement;
    oldestTelemetry: Database.Statement;
    setMeta: Database.Statement;
    list: Database.Statement;
    getById: Database.Statement;
    sizeById: Database.Statement;
    park: Database.Statement;
    unparkOne: Database.Statement;
    unparkAll: Database.Statement;
    listParked: Database.Statement;
    parkedSummary: Database.Statement;
    oldest: Database.Statement;
    maxId: Database.Statement;
    count: Database.Statement;
  };
  private readonly chunkLimits: { maxItems: number; maxBytes: number };

  static open(opts: EdgeBufferOptions): EdgeBuffer {
    return new EdgeBuffer(opts);
  }

  private constructor(opts: EdgeBufferOptions) {
    const commitIntervalMs = opts.commitIntervalMs ?? 500;
    if (!(commitIntervalMs > 0 && commitIntervalMs <= 1000)) {
      throw new Error(`edge buffer: commitIntervalMs must be in (0, 1000], got ${commitIntervalMs}`);
    }
    if (!(opts.maxBytes > 0)) throw new Error(`edge buffer: maxBytes must be positive, got ${opts.maxBytes}`);
    const synchronous = opts.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new Error(`edge buffer: synchronous must be FULL or NORMAL, got ${String(synchronous)}`);
    }
    this.log = opts.logger ?? silentLogger;
    this.maxBytes = opts.maxBytes;
    this.retentionMs = opts.retentionMs;
    this.commitIntervalMs = commitIntervalMs;
    this.flushAtItems = opts.flushAtItems ?? 100_000;
    this.groupCommitDelayMs = opts.groupCommitDelayMs ?? 25;
    if (!(this.groupCommitDelayMs >= 0 && this.groupCommitDelayMs <= commitIntervalMs)) {
      throw new Error(`edge buffer: groupCommitDelayMs must be in [0, commitIntervalMs], got ${this.groupCommitDelayMs}`);
    }
    this.maxPendingItems = opts.maxPendingItems ?? 2_000_000;
    this.seqReserveBlock = (opts.synchronous ?? 'FULL') === 'FULL' ? 0 : (opts.seqReserveBlock ?? 1_000_000);
    this.chunkLimits = { maxItems: opts.maxChunkItems ?? 20_000, maxBytes: opts.maxChunkBytes ?? 1 << 20 };
    this.chunker = new Chunker(this.chunkLimits);

    fs.mkdirSync(opts.dir, { recursive: true });
    this.db = new Database(path.join(opts.dir, 'buffer.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('journal_size_limit = 67108864');
    if (opts.sqliteMaxPageCount) this.db.pragma(`max_page_count = ${Math.floor(opts.sqliteMaxPageCount)}`);
    createSchema(this.db);

    this.stmts = {
      insert: this.db.prepare(
        `INSERT INTO chunks(first_seq, last_seq, created_at, priority, items, readings, bytes, payload)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteById: this.db.prepare('DELETE FROM chunks WHERE id = ?'),
      oldestTelemetry: this.db.prepare(
        `SELECT id, created_at, items, readings, bytes, payload FROM chunks WHERE priority = ${Priority.TELEMETRY} ORDER BY id LIMIT 4`,
      ),
      setMeta: this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      list: this.db.prepare(
        `SELECT id, first_seq, last_seq, created_at, priority, items, bytes, payload FROM chunks
         WHERE id > ? AND id <= ? AND parked_at = 0 ORDER BY id LIMIT ?`,
      ),
      getById: this.db.prepare('SELECT id, first_seq, last_seq, created_at, priority, items, bytes, payload FROM chunks WHERE id = ?'),
      sizeById: this.db.prepare('SELECT bytes, items FROM chunks WHERE id = ?'),
      park: this.db.prepare('UPDATE chunks SET parked_at = ?, park_reason = ? WHERE id = ? AND parked_at = 0'),
      unparkOne: this.db.prepare('UPDATE chunks SET parked_at = 0, park_reason = NULL WHERE id = ? AND parked_at != 0'),
      unparkAll: this.db.prepare('UPDATE chunks SET parked_at = 0, park_reason = NULL WHERE parked_at != 0'),
      listParked: this.db.prepare(
        `SELECT id, first_seq, last_seq, created_at, priority, items, bytes, parked_at, park_reason FROM chunks
         WHERE parked_at != 0 ORDER BY id LIMIT ?`,
      ),
      parkedSummary: this.db.prepare(
        `SELECT park_reason AS reason, COUNT(*) AS chunks, SUM(items) AS items, SUM(bytes) AS bytes FROM chunks
         WHERE parked_at != 0 GROUP BY park_reason`,
      ),
      oldest: this.db.prepare('SELECT created_at FROM chunks ORDER BY id LIMIT 1'),
      maxId: this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM chunks'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM chunks WHERE id > ? AND id <= ? AND parked_at = 0'),
    };

    const meta = new Map(
      (this.db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    const totals = this.db
      .prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(items), 0) AS items, COALESCE(MAX(last_seq), 0) AS maxSeq FROM chunks')
      .get() as { rows: number; bytes: number; items: number; maxSeq: number };
    const dropped = JSON.parse(meta.get('dropped') ?? '{}') as {
      readings?: number;
      other?: number;
      chunks?: number;
      byDevice?: Record<string, number>;
    };
    this.ledger = {
      rows: totals.rows,
      bytes: totals.bytes,
      items: totals.items,
      droppedReadings: dropped.readings ?? 0,
      droppedOtherItems: dropped.other ?? 0,
      droppedChunks: dropped.chunks ?? 0,
      droppedByDevice: new Map(Object.entries(dropped.byDevice ?? {})),
    };
    // Continue above the recorded high-water mark (NORMAL: the reservation, which may include seqs handed out before a crash).
    const reserved = Math.max(Number(meta.get('seq_reserved') ?? 0), totals.maxSeq);
    this.nextSeqValue = reserved + 1;
    this.reservedThrough = reserved;
    this.committedSeqValue = reserved;
    this.fillRate.add(Date.now(), this.ledger.bytes);

    // Deliberately not unref'd: pending items must be committed, so an open buffer keeps the process alive until close().
    this.timer = setInterval(() => this.scheduledFlush(), this.commitIntervalMs);
  }

  // ---- accepting items ----

  addReading(r: UnsequencedReading): number {
    const seq = this.takeSeq();
    this.pendingReadings.push(r);
    this.pendingReadingSeqs.push(seq);
    this.afterAdd();
    return seq;
  }
  addEvent(e: Omit<SensingEvent, 'seq'>): number {
    return this.addOther(this.pendingCritical, 'event', e);
  }
  addRecord(rec: DeviceRecord): number {
    return this.addOther(this.pendingCritical, 'record', rec);
  }
  addVideoQuality(v: Omit<VideoQuality, 'seq'>): number {
    return this.addOther(this.pendingTelemetryOther, 'videoQuality', v);
  }
  addSnapshot(s: Omit<Snapshot, 'seq'>): number {
    return this.addOther(this.pendingTelemetryOther, 'snapshot', s);
  }

  private addOther(list: PendingOther[], kind: PendingOther['kind'], item: object): number {
    const seq = this.takeSeq();
    list.push({ kind, item, seq });
    this.afterAdd();
    return seq;
  }

  private takeSeq(): number {
    if (this.closed) throw new Error('edge buffer: closed');
    const seq = this.nextSeqValue++;
    if (this.seqReserveBlock > 0 && seq > this.reservedThrough) this.reserveSeqs(seq);
    return seq;
  }

  /** Persists a new reservation before the first seq of it is handed out. */
  private reserveSeqs(seq: number): void {
    this.reservedThrough = seq - 1 + this.seqReserveBlock;
    try {
      this.stmts.setMeta.run('seq_reserved', String(this.reservedThrough));
    } catch (err) {
      // The next successful commit writes the reservation too; until then nothing of it is on disk either.
      this.noteCommitError(err);
    }
  }

  private afterAdd(): void {
    if (!this.earlyFlushScheduled && this.pendingCount() >= this.flushAtItems) {
      this.earlyFlushScheduled = true;
      setImmediate(() => {
        this.earlyFlushScheduled = false;
        if (!this.closed) this.scheduledFlush();
      });
    }
  }

  private pendingCount(): number {
    return this.pendingReadings.length + this.pendingTelemetryOther.length + this.pendingCritical.length;
  }

  // ---- committing ----

  get committedSeq(): number {
    return this.committedSeqValue;
  }

  /** Resolves once `seq` (and everything before it) is committed to disk; rejects if it never will be. */
  whenCommitted(seq: number): Promise<void> {
    return this.whenDurable(seq).then((durable) => {
      if (!durable) throw new Error(`edge buffer: seq ${seq} was not committed (dropped while commits failed, or the buffer closed)`);
    });
  }

  /**
   * Resolves true once the items with seqs first..last are committed, false when one of them will never be
   * (dropped from memory while commits failed, or the buffer closed first). Never rejects. A waiter makes the
   * buffer commit within `groupCommitDelayMs` instead of the commit interval; whatever arrives meanwhile
   * shares that transaction, and every waiter it covers is resolved right after it (group commit).
   */
  whenDurable(first: number, last = first): Promise<boolean> {
    if (last <= this.committedSeqValue) return Promise.resolve(!this.wasLost(first, last));
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiters.push({ first, last, resolve });
      this.requestGroupCommit();
    });
  }

  private requestGroupCommit(): void {
    if (this.groupCommitTimer !== undefined) return;
    this.groupCommitTimer = setTimeout(() => {
      this.groupCommitTimer = undefined;
      if (!this.closed) this.scheduledFlush();
    }, this.groupCommitDelayMs);
  }

  private wasLost(first: number, last: number): boolean {
    for (const [from, to] of this.lostRanges) if (first <= to && last >= from) return true;
    return false;
  }

  onCommit(listener: (info: CommitInfo) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Timer and early flushes pause briefly after a failure: re-encoding a large pending set every interval
   * while the disk is full would burn the CPU the adapters need. */
  private scheduledFlush(): void {
    if (Date.now() >= this.retryAt) this.flush();
  }

  /** Commits everything pending now; false when the commit failed (items stay pending and are retried). */
  flush(): boolean {
    if (this.closed) return false;
    const hasPending = this.pendingCount() > 0;
    if (!hasPending && this.ackedPending.size === 0 && !this.retentionDue()) return true;

    const upTo = this.nextSeqValue - 1;
    const encoded: EncodedChunk[] = [];
    this.chunker.readingChunks(this.pendingReadings, this.pendingReadingSeqs, encoded);
    this.chunker.otherChunks(this.pendingTelemetryOther, Priority.TELEMETRY, encoded);
    this.chunker.otherChunks(this.pendingCritical, Priority.CRITICAL, encoded);
    encoded.sort((a, b) => a.firstSeq - b.firstSeq);

    const now = Date.now();
    // FULL mode: the commit itself records the sequence high-water mark (no reservation ahead of it).
    if (this.seqReserveBlock === 0) this.reservedThrough = Math.max(this.reservedThrough, upTo);
    const ledger = cloneLedger(this.ledger);
    const acked = [...this.ackedPending.keys()];
    let committed: CommittedChunk[];
    try {
      committed = this.db.transaction(() => this.writeCommit(encoded, acked, ledger, now))();
    } catch (err) {
      this.noteCommitError(err);
      this.capPendingAfterFailure();
      this.retryAt = Date.now() + COMMIT_RETRY_MS;
      return false;
    }

    this.retryAt = 0;
    for (const id of acked) this.ackedPending.delete(id);
    // Acked chunks were already subtracted when acked; the transaction only deleted them.
    this.ledger = ledger;
    this.pendingReadings = [];
    this.pendingReadingSeqs = [];
    this.pendingTelemetryOther = [];
    this.pendingCritical = [];
    this.oldestTsCache = undefined;
    this.fillRate.add(now, ledger.bytes);
    if (this.lastCommitError !== null) {
      this.log.info({ commitErrors: this.commitErrors }, 'edge buffer: commits succeed again');
      this.lastCommitError = null;
    }
    if (upTo > this.committedSeqValue) this.committedSeqValue = upTo;
    this.resolveWaiters();
    if (committed.length > 0) {
      const info: CommitInfo = { committedSeq: this.committedSeqValue, chunks: committed };
      for (const l of this.commitListeners) {
        try {
          l(info);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'edge buffer: commit listener threw');
        }
      }
    }
    return true;
  }

  private writeCommit(encoded: EncodedChunk[], acked: number[], ledger: Ledger, now: number): CommittedChunk[] {
    for (const id of acked) this.stmts.deleteById.run(id);
    if (this.retentionMs !== undefined) this.dropExpired(now - this.retentionMs, ledger);
    const committed: CommittedChunk[] = [];
    for (const c of encoded) {
      const bytes = c.payload.length + ROW_OVERHEAD_BYTES;
      this.makeRoom(bytes, ledger);
      if (ledger.bytes + bytes > this.maxBytes && c.priority === Priority.TELEMETRY) {
        // Nothing older left to drop: the new telemetry itself is the oldest telemetry there is.
        this.countDrop(ledger, c);
        continue;
      }
      if (ledger.bytes + bytes > this.maxBytes) {
        this.log.warn({ bytes: ledger.bytes, maxBytes: this.maxBytes }, 'edge buffer: over its byte limit with events/records only (never dropped)');
      }
      const res = this.stmts.insert.run(c.firstSeq, c.lastSeq, now, c.priority, c.items, c.readings, bytes, c.payload);
      ledger.rows++;
      ledger.bytes += bytes;
      ledger.items += c.items;
      committed.push({ id: Number(res.lastInsertRowid), priority: c.priority, firstSeq: c.firstSeq, lastSeq: c.lastSeq, items: c.items });
    }
    this.stmts.setMeta.run('seq_reserved', String(this.reservedThrough));
    if (ledger.droppedChunks !== this.ledger.droppedChunks || ledger.droppedReadings !== this.ledger.droppedReadings) {
      this.stmts.setMeta.run(
        'dropped',
        JSON.stringify({
          readings: ledger.droppedReadings,
          other: ledger.droppedOtherItems,
          chunks: ledger.droppedChunks,
          byDevice: Object.fromEntries(ledger.droppedByDevice),
        }),
      );
    }
    return committed;
  }

  /** Drops the oldest telemetry chunks until `bytes` more fit (or no telemetry is left). */
  private makeRoom(bytes: number, ledger: Ledger): void {
    while (ledger.bytes + bytes > this.maxBytes) {
      const rows = this.stmts.oldestTelemetry.all() as DropRow[];
      if (rows.length === 0) return;
      for (const row of rows) {
        if (ledger.bytes + bytes <= this.maxBytes) return;
        this.dropStored(row, ledger);
      }
    }
  }

  private dropExpired(cutoff: number, ledger: Ledger): void {
    for (;;) {
      const rows = this.stmts.oldestTelemetry.all() as DropRow[];
      let dropped = 0;
      for (const row of rows) {
        if (row.created_at >= cutoff) return;
        this.dropStored(row, ledger);
        dropped++;
      }
      if (dropped === 0) return;
    }
  }

  private dropStored(row: DropRow, ledger: Ledger): void {
    this.stmts.deleteById.run(row.id);
    ledger.rows--;
    ledger.bytes -= row.bytes;
    ledger.items -= row.items;
    this.countDrop(ledger, row);
  }

  /** Counts a dropped chunk; its readings are counted per device by scanning the payload. */
  private countDrop(ledger: Ledger, c: { readings: number; items: number; payload: Buffer }): void {
    ledger.droppedChunks++;
    ledger.droppedReadings += c.readings;
    ledger.droppedOtherItems += c.items - c.readings;
    if (c.readings === 0) return;
    try {
      for (const [dev, n] of countReadingsByDevice(c.payload)) {
        ledger.droppedByDevice.set(dev, (ledger.droppedByDevice.get(dev) ?? 0) + n);
      }
    } catch (err) {
      // A corrupt payload must not stop the drop: its readings are still counted in droppedReadings.
      this.log.error({ err: (err as Error).message }, 'edge buffer: could not count a dropped chunk per device');
    }
  }

  private retentionDue(): boolean {
    if (this.retentionMs === undefined || this.ledger.rows === 0) return false;
    const oldest = this.oldestTs();
    return oldest !== null && oldest < Date.now() - this.retentionMs;
  }

  private noteCommitError(err: unknown): void {
    this.commitErrors++;
    const e = err as Error & { code?: string };
    const diskFull = e.code === 'SQLITE_FULL';
    this.lastCommitError = diskFull ? `disk full (SQLITE_FULL): ${e.message}` : `${e.code ?? 'error'}: ${e.message}`;
    const now = Date.now();
    if (now - this.lastErrorLogAt >= 10_000) {
      this.lastErrorLogAt = now;
      this.log.error(
        { err: this.lastCommitError, commitErrors: this.commitErrors, pendingInMemory: this.pendingCount() },
        diskFull
          ? 'edge buffer: DISK FULL, cannot commit; keeping items in memory (bounded) and retrying'
          : 'edge buffer: commit failed; keeping items in memory (bounded) and retrying',
      );
    }
  }

  /** While commits fail, memory is bounded: the oldest pending readings go first, counted per device. */
  private capPendingAfterFailure(): void {
    let excess = this.pendingCount() - this.maxPendingItems;
    if (excess <= 0) return;
    const n = Math.min(excess, this.pendingReadings.length);
    if (n > 0) {
      const dropped = this.pendingReadings.splice(0, n);
      const seqs = this.pendingReadingSeqs.splice(0, n);
      this.noteLost(seqs[0]!, seqs[seqs.length - 1]!);
      this.ledger.droppedReadings += n;
      for (const r of dropped) this.ledger.droppedByDevice.set(r.deviceId, (this.ledger.droppedByDevice.get(r.deviceId) ?? 0) + 1);
      excess -= n;
    }
    if (excess > 0) {
      const m = Math.min(excess, this.pendingTelemetryOther.length);
      const dropped = this.pendingTelemetryOther.splice(0, m);
      for (const o of dropped) this.noteLost(o.seq, o.seq);
      this.ledger.droppedOtherItems += m;
    }
    this.failLostWaiters();
    this.log.warn({ droppedReadings: this.ledger.droppedReadings }, 'edge buffer: dropped oldest pending telemetry (commits failing)');
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: DurabilityWaiter[] = [];
    for (const w of this.waiters) {
      if (w.last <= this.committedSeqValue) w.resolve(!this.wasLost(w.first, w.last));
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /**
   * Remembers seqs that will never be committed. A range may also cover events that stayed pending between
   * dropped readings: their waiters then hear "not durable" and the device re-sends — a duplicate, never a loss.
   */
  private noteLost(from: number, to: number): void {
    const prev = this.lostRanges[this.lostRanges.length - 1];
    if (prev && from <= prev[1] + 1) prev[1] = Math.max(prev[1], to);
    else this.lostRanges.push([from, to]);
    if (this.lostRanges.length > MAX_LOST_RANGES) this.lostRanges.shift();
  }

  private failLostWaiters(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!this.wasLost(w.first, w.last)) return true;
      w.resolve(false);
      return false;
    });
  }

  // ---- reading back (the uplink) ----

  /** Highest chunk id stored so far (0 when empty). */
  maxChunkId(): number {
    return (this.stmts.maxId.get() as { id: number }).id;
  }

  /** Chunks with afterId < id <= maxId, oldest first, skipping acked and parked ones. */
  listChunks(afterId: number, limit: number, maxId = Number.MAX_SAFE_INTEGER): StoredChunk[] {
    const rows = this.stmts.list.all(afterId, maxId, limit + this.ackedPending.size) as ChunkRow[];
    const out: StoredChunk[] = [];
    for (const r of rows) {
      if (this.ackedPending.has(r.id)) continue;
      out.push(toStored(r));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** One stored chunk, or undefined if it was acked, dropped or never existed. */
  getChunk(id: number): StoredChunk | undefined {
    if (this.ackedPending.has(id)) return undefined;
    const row = this.stmts.getById.get(id) as ChunkRow | undefined;
    return row ? toStored(row) : undefined;
  }

  /** The collector committed this chunk: it is deleted in the next commit. False for unknown ids. */
  ack(id: number): boolean {
    if (this.ackedPending.has(id)) return false;
    const row = this.stmts.sizeById.get(id) as { bytes: number; items: number } | undefined;
    if (!row) return false;
    this.ackedPending.set(id, row);
    this.ledger.rows--;
    this.ledger.bytes -= row.bytes;
    this.ledger.items -= row.items;
    this.oldestTsCache = undefined;
    return true;
  }

  /** Keeps a chunk aside (not listed, not sent) until an operator asks for it again with `unpark`. */
  park(id: number, reason: string, now = Date.now()): boolean {
    try {
      return this.stmts.park.run(now, reason, id).changes > 0;
    } catch (err) {
      this.noteCommitError(err);
      return false;
    }
  }

  /** Makes parked chunks sendable again; returns how many were parked. */
  unpark(ids: number[] | 'all'): number {
    if (ids === 'all') return this.stmts.unparkAll.run().changes;
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += this.stmts.unparkOne.run(id).changes;
    })();
    return n;
  }

  /** Parked chunks, oldest first (at most `limit`). */
  parkedChunks(limit = 1000): ParkedChunk[] {
    const rows = this.stmts.listParked.all(limit) as (Omit<ChunkRow, 'payload'> & { parked_at: number; park_reason: string | null })[];
    return rows.map((r) => ({ ...chunkMeta(r), parkedAt: r.parked_at, reason: r.park_reason ?? '' }));
  }

  parkedSummary(): ParkedSummary {
    const out: ParkedSummary = { chunks: 0, items: 0, bytes: 0, byReason: {} };
    for (const r of this.stmts.parkedSummary.all() as { reason: string | null; chunks: number; items: number; bytes: number }[]) {
      out.chunks += r.chunks;
      out.items += r.items;
      out.bytes += r.bytes;
      out.byReason[r.reason ?? ''] = (out.byReason[r.reason ?? ''] ?? 0) + r.chunks;
    }
    return out;
  }

  /** Number of stored, unparked chunks with afterId < id <= maxId (acked ones excluded). */
  countChunks(afterId: number, maxId: number): number {
    const n = (this.stmts.count.get(afterId, maxId) as { n: number }).n;
    let acked = 0;
    for (const id of this.ackedPending.keys()) if (id > afterId && id <= maxId) acked++;
    return n - acked;
  }

  /** Largest chunk the buffer writes, in items (the uplink checks its batch limit against it). */
  get maxChunkItems(): number {
    return this.chunkLimits.maxItems;
  }

  // ---- status ----

  /** The cheap subset of stats() that travels in every Batch. */
  edgeStats(): EdgeStats {
    const l = this.ledger;
    return {
      bufferRows: l.rows,
      bufferBytes: l.bytes,
      oldestBufferedTs: this.oldestTs() ?? 0,
      droppedReadings: l.droppedReadings,
      backlogItems: l.items + this.pendingCount(),
    };
  }

  private oldestTs(): number | null {
    if (this.oldestTsCache === undefined) {
      const row = this.stmts.oldest.get() as { created_at: number } | undefined;
      this.oldestTsCache = row ? row.created_at : null;
    }
    return this.oldestTsCache;
  }

  stats(): BufferStats {
    const l = this.ledger;
    return {
      rows: l.rows,
      bytes: l.bytes,
      items: l.items,
      oldestTs: this.oldestTs(),
      droppedReadings: l.droppedReadings,
      droppedByDevice: Object.fromEntries(l.droppedByDevice),
      droppedOtherItems: l.droppedOtherItems,
      droppedChunks: l.droppedChunks,
      fillRatio: l.bytes / this.maxBytes,
      estimatedSecondsToFull: this.fillRate.secondsToFull(l.bytes, this.maxBytes),
      nextSeq: this.nextSeqValue,
      committedSeq: this.committedSeqValue,
      pendingInMemory: this.pendingCount(),
      commitErrors: this.commitErrors,
      lastCommitError: this.lastCommitError,
    };
  }

  /** Flushes what is pending and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.groupCommitTimer);
    const lost = this.pendingCount();
    if (lost > 0) this.log.error({ items: lost, err: this.lastCommitError }, 'edge buffer: closing with uncommitted items (commits failing)');
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
    this.db.close();
  }
}

function chunkMeta(r: Omit<ChunkRow, 'payload'>): Omit<StoredChunk, 'payload'> {
  return {
    id: r.id,
    priority: r.priority as Priority,
    firstSeq: r.first_seq,
    lastSeq: r.last_seq,
    items: r.items,
    createdAt: r.created_at,
    bytes: r.bytes,
  };
}

function toStored(r: ChunkRow): StoredChunk {
  return { ...chunkMeta(r), payload: r.payload };
}

// The live feed of a collector cluster. Each ingest transaction appends one row to the `feed` table holding its
// feed items and NOTIFYs; every node LISTENs, reads new rows in order and fills its ring, so an SSE client on any
// node sees what every node committed. Feed rows are inserted under a cluster-wide advisory lock held until
// commit, so row ids (fid) are assigned in commit order and "rows after fid N" never skips a row that commits
// late. Item ids are fid × 10^6 + position, the same on every node: Last-Event-ID resumes on any node, from the
// ring or, further back, from the table (kept for feed.keepMinutes).
import type pg from 'pg';
import { FeedRing, type FeedBus, type FeedItem, type NewFeedItem } from '../feed.js';
import type { Sql } from '../sql/driver.js';
import type { PgDb } from './driver.js';

const CHANNEL = 'yiwang_feed';
const PER_ROW = 1_000_000;
const POLL_MS = 5_000; // catch-up in case a notification is lost (reconnect of the LISTEN connection)

const expand = (fid: number, items: NewFeedItem[]): FeedItem[] => items.map((it, i) => ({ ...it, id: fid * PER_ROW + i }));

export class PgFeed implements FeedBus {
  private readonly ring: FeedRing;
  private lastFid = 0;
  private client: pg.PoolClient | undefined;
  private catchingUp: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(private readonly db: PgDb, capacity: number, private readonly onError: (err: Error) => void) {
    this.ring = new FeedRing(capacity);
  }

  static async start(db: PgDb, capacity: number, onError: (err: Error) => void = () => undefined): Promise<PgFeed> {
    const f = new PgFeed(db, capacity, onError);
    const r = await db.get<{ fid: number | null }>('SELECT max(fid) AS fid FROM feed');
    f.lastFid = r?.fid ?? 0;
    await f.listen();
    f.timer = setInterval(() => f.catchUp(), POLL_MS);
    f.timer.unref();
    return f;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.db.connect();
      this.client = client;
      client.on('notification', () => this.catchUp());
      client.on('error', (err) => {
        this.onError(err);
        this.dropClient(client);
      });
      await client.query(`LISTEN ${CHANNEL}`);
      this.catchUp();
    } catch (err) {
      this.onError(err as Error);
      setTimeout(() => void this.listen(), 2000).unref();
    }
  }

  private dropClient(client: pg.PoolClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(true);
    if (!this.stopped) setTimeout(() => void this.listen(), 1000).unref();
  }

  /** Reads rows after the last one seen; concurrent calls coalesce into one more pass. */
  private catchUp(): void {
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    this.catchingUp = (async () => {
      do {
        this.again = false;
        try {
          const rows = await this.db.all<{ fid: number; items: string }>('SELECT fid, items FROM feed WHERE fid > $1 ORDER BY fid LIMIT 1000', [this.lastFid]);
          for (const r of rows) {
            this.lastFid = r.fid;
            this.ring.append(expand(r.fid, JSON.parse(r.items) as NewFeedItem[]));
          }
          if (rows.length === 1000) this.again = true;
        } catch (err) {
          this.onError(err as Error);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.catchingUp = undefined));
  }

  /** Called at the end of an ingest transaction: the feed row commits (and notifies) with it. */
  static async writeInTx(tx: Sql, items: NewFeedItem[]): Promise<void> {
    if (!items.length) return;
    await tx.run("SELECT pg_advisory_xact_lock(hashtextextended('yiwang:feed', 0))");
    const row = await tx.get<{ fid: number }>('INSERT INTO feed (created_at, items) VALUES ($1, $2) RETURNING fid', [Date.now(), JSON.stringify(items)]);
    await tx.run(`SELECT pg_notify('${CHANNEL}', $1)`, [String(row!.fid)]);
  }

  get lastId(): number {
    return Math.max(this.ring.lastId, this.lastFid * PER_ROW + PER_ROW - 1);
  }

  async since(afterId: number): Promise<FeedItem[]> {
    const oldest = this.ring.oldestId;
    if (oldest && afterId >= oldest - 1) return this.ring.since(afterId);
    // Further back than the ring: read the table up to where the ring starts.
    const fromFid = Math.floor(afterId / PER_ROW);
    const toFid = oldest ? Math.floor(oldest / PER_ROW) : Number.MAX_SAFE_INTEGER;
    const rows = await this.db.all<{ fid: number; items: string }>('SELECT fid, items FROM feed WHERE fid >= $1 AND fid < $2 ORDER BY fid LIMIT 1000', [fromFid, toFid]);
    const older = rows.flatMap((r) => expand(r.fid, JSON.parse(r.items) as NewFeedItem[])).filter((it) => it.id > afterId);
    return [...older, ...this.ring.since(afterId)];
  }

  subscribe(l: (items: FeedItem[]) => void): () => void {
    return this.ring.subscribe(l);
  }

  /** Deletes feed rows older than `keepMs`. */
  async prune(keepMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM feed WHERE created_at < $1', [Date.now() - keepMs])).changes;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      await c.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
      c.release();
    }
    await this.catchingUp;
  }
}

// The live feed of a collector cluster. Each ingest transaction appends one row to the `feed` table holding its
// feed items and NOTIFYs; every node LISTENs, reads new rows in order and fills its ring, so an SSE client on any
// node sees what every node committed. Feed rows are inserted under a cluster-wide advisory lock held until
// commit, so row ids (fid) are assigned in commit order and "rows after fid N" never skips a row that commits
// late. Item ids are fid × 10^6 + position, the same on every node: Last-Event-ID resumes on any node, from the
// ring or, further back, from the table (kept for feed.keepMinutes).
//
// Cost control: events always go into the row (few, and they matter); readings — the bulk — only while some node
// of the cluster has a feed listener (feed_listeners, refreshed every few seconds), and then protobuf-encoded
// rather than JSON. With no dashboard open the feed costs one small row per commit.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { decodeBatch, encodeBatch } from '../../../schema/codec.js';
import { readingValue, type Reading } from '../../../schema/types.js';
import { FeedRing, type FeedBus, type FeedItem, type NewFeedItem } from '../feed.js';
import type { Sql } from '../sql/driver.js';
import { AGGREGATE_NAMES } from '../types.js';
import type { PgDb } from './driver.js';

const CHANNEL = 'yiwang_feed';
const PER_ROW = 1_000_000;
const POLL_MS = 5_000; // catch-up in case a notification is lost (reconnect of the LISTEN connection)
const PRESENCE_MS = 3_000; // how often listener presence is written and read
const PRESENCE_STALE_MS = 60_000;
const QUALITY = ['good', 'uncertain', 'bad'];

interface ReadingData {
  device: string;
  metric: string;
  ts: number;
  value: number | boolean | string | null;
  unit: string;
  quality: string;
  aggregate?: string;
  periodS?: number;
}

interface RowItems {
  events: NewFeedItem[];
  /** device → [site, scope] for the readings. */
  devices: Record<string, [string | null, string]>;
}

function encodeReadings(items: NewFeedItem[]): { readings: Buffer | null; devices: RowItems['devices'] } {
  const devices: RowItems['devices'] = {};
  const readings: Reading[] = [];
  for (const it of items) {
    const d = it.data as ReadingData;
    devices[it.device] ??= [it.site ?? null, it.scope];
    const r: Reading = { deviceId: d.device, metric: d.metric, unit: d.unit, ts: d.ts, quality: Math.max(0, QUALITY.indexOf(d.quality)) as Reading['quality'], seq: 0 };
    if (typeof d.value === 'number') r.number = d.value;
    else if (typeof d.value === 'boolean') r.boolean = d.value;
    else if (typeof d.value === 'string') r.text = d.value;
    if (d.aggregate) (r.aggregate = AGGREGATE_NAMES.indexOf(d.aggregate as never) as Reading['aggregate']), (r.periodS = d.periodS);
    readings.push(r);
  }
  if (!readings.length) return { readings: null, devices };
  return { readings: Buffer.from(encodeBatch({ edgeId: '', batchId: 0, firstSeq: 0, lastSeq: 0, readings })), devices };
}

/** A feed row back into items: readings first, then events (the order ids are given in). */
function expand(fid: number, itemsJson: string, readings: Buffer | null): FeedItem[] {
  const row = JSON.parse(itemsJson) as RowItems;
  const out: FeedItem[] = [];
  for (const r of readings ? (decodeBatch(readings).readings ?? []) : []) {
    const [site, scope] = row.devices[r.deviceId] ?? [null, ','];
    const data: ReadingData = { device: r.deviceId, metric: r.metric, ts: r.ts, value: readingValue(r) ?? null, unit: r.unit ?? '', quality: QUALITY[r.quality ?? 0] ?? 'bad' };
    if (r.aggregate) (data.aggregate = AGGREGATE_NAMES[r.aggregate]), (data.periodS = r.periodS ?? 0);
    out.push({ id: fid * PER_ROW + out.length, type: 'reading', device: r.deviceId, metric: r.metric, site: site ?? undefined, scope, data });
  }
  for (const e of row.events) out.push({ ...e, id: fid * PER_ROW + out.length });
  return out;
}

export class PgFeed implements FeedBus {
  private readonly ring: FeedRing;
  private readonly node = randomBytes(6).toString('hex');
  private lastFid = 0;
  private client: pg.PoolClient | undefined;
  private catchingUp: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private presenceTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private localListeners = 0;
  /** Whether some node had feed listeners at the last check. */
  private clusterListeners = false;

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
    f.presenceTimer = setInterval(() => void f.presence(), PRESENCE_MS);
    f.presenceTimer.unref();
    await f.presence();
    return f;
  }

  /** Writes this node's listener count and reads whether any node has listeners. */
  private async presence(): Promise<void> {
    try {
      const now = Date.now();
      if (this.localListeners > 0) {
        await this.db.run(
          'INSERT INTO feed_listeners (node, listeners, at) VALUES ($1, $2, $3) ON CONFLICT (node) DO UPDATE SET listeners = excluded.listeners, at = excluded.at',
          [this.node, this.localListeners, now],
        );
      } else await this.db.run('DELETE FROM feed_listeners WHERE node = $1', [this.node]);
      // Generous staleness: a node that could not refresh its row (a database outage) still has its listeners; a
      // crashed node's row only makes the others ship readings for another minute.
      const r = await this.db.get<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM feed_listeners WHERE listeners > 0 AND at > $1) AS any', [now - PRESENCE_STALE_MS]);
      this.clusterListeners = !!r?.any;
    } catch (err) {
      this.onError(err as Error);
    }
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
          const rows = await this.db.all<{ fid: number; items: string; readings: Buffer | null }>('SELECT fid, items, readings FROM feed WHERE fid > $1 ORDER BY fid LIMIT 200', [this.lastFid]);
          for (const r of rows) {
            this.lastFid = r.fid;
            this.ring.append(expand(r.fid, r.items, r.readings));
          }
          if (rows.length === 200) this.again = true;
        } catch (err) {
          this.onError(err as Error);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.catchingUp = undefined));
  }

  /** Called at the end of an ingest transaction: the feed row commits (and notifies) with it. */
  async writeInTx(tx: Sql, items: NewFeedItem[]): Promise<void> {
    const withReadings = this.clusterListeners || this.localListeners > 0;
    const events = items.filter((i) => i.type !== 'reading');
    if (!events.length && !withReadings) return;
    const { readings, devices } = withReadings ? encodeReadings(items.filter((i) => i.type === 'reading')) : { readings: null, devices: {} };
    if (!events.length && !readings) return;
    await tx.run("SELECT pg_advisory_xact_lock(hashtextextended('yiwang:feed', 0))");
    const row = await tx.get<{ fid: number }>('INSERT INTO feed (created_at, items, readings) VALUES ($1, $2, $3) RETURNING fid', [
      Date.now(), JSON.stringify({ events, devices } satisfies RowItems), readings,
    ]);
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
    const rows = await this.db.all<{ fid: number; items: string; readings: Buffer | null }>('SELECT fid, items, readings FROM feed WHERE fid >= $1 AND fid < $2 ORDER BY fid LIMIT 1000', [fromFid, toFid]);
    const older = rows.flatMap((r) => expand(r.fid, r.items, r.readings)).filter((it) => it.id > afterId);
    return [...older, ...this.ring.since(afterId)];
  }

  subscribe(l: (items: FeedItem[]) => void): () => void {
    const off = this.ring.subscribe(l);
    if (++this.localListeners === 1) void this.presence();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      if (--this.localListeners === 0) void this.presence();
    };
  }

  /** Deletes feed rows older than `keepMs`. */
  async prune(keepMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM feed WHERE created_at < $1', [Date.now() - keepMs])).changes;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.presenceTimer);
    await this.db.run('DELETE FROM feed_listeners WHERE node = $1', [this.node]).catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    if (c) {
      await c.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
      c.release();
    }
    await this.catchingUp;
  }
}

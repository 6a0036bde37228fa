// GET /api/v1/feed: live readings and events as Server-Sent Events, filtered by the caller's bureau and by
// device/metric/site, resumable with Last-Event-ID. A feed is a long-lived response, so what was checked when it
// opened is checked again while it runs: the token every few seconds (a revoked token, or one whose bureau
// changed, ends the stream), and each device's visibility (a sharing-scope change applies to open feeds).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FeedItem } from '../store/index.js';
import { visibleTo } from '../store/records.js';
import type { ApiContext } from './context.js';
import { HttpError } from './http.js';
import type { Caller } from './handler.js';

const MAX_BUFFERED = 4 * 1024 * 1024; // a client this far behind is dropped; it resumes with Last-Event-ID
/** How often an open feed re-checks its token and the visibility of the devices it streams. */
export const FEED_RECHECK_MS = 2000;

export async function serveFeed(ctx: ApiContext, who: Caller, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const device = q.get('device') || undefined;
  const metric = q.get('metric') || undefined;
  const site = q.get('site') || undefined;
  const lastRaw = (req.headers['last-event-id'] as string | undefined) ?? q.get('lastEventId') ?? undefined;
  if (lastRaw !== undefined && !/^\d{1,16}$/.test(lastRaw)) throw new HttpError(400, 'Last-Event-ID: must be a feed item id');
  const visible = new Map<string, { ok: boolean; site: string | null }>();
  let ended = false;

  /** Looks up devices not seen yet (one query for all of them). */
  const learn = async (items: FeedItem[]) => {
    const unknown = [...new Set(items.map((i) => i.device).filter((d) => d && !visible.has(d)))];
    if (!unknown.length) return;
    const rows = new Map((await ctx.store.registry.rows(unknown)).map((r) => [r.id, r]));
    for (const d of unknown) {
      const row = rows.get(d);
      visible.set(d, { ok: visibleTo(row, who.bureau), site: row?.site_id ?? null });
    }
  };
  const allowed = (it: FeedItem) => {
    if (device && it.device !== device) return false;
    // Edge alarms belong to no device: their scope is that of the edge's devices when the item was written.
    if (!it.device) return !metric && visibleTo(it, who.bureau) && (!site || it.site === site);
    if (metric && it.metric !== metric) return false;
    const v = visible.get(it.device);
    return !!v?.ok && (!site || v.site === site);
  };

  const end = (why: string) => {
    if (ended) return;
    ended = true;
    ctx.log.info({ who: who.name, why }, 'feed closed');
    res.end();
  };

  // Items are written in order: each batch waits for the previous one (and its lookups).
  let chain: Promise<void> = Promise.resolve();
  const send = (items: FeedItem[]) => {
    chain = chain.then(async () => {
      if (ended) return;
      await learn(items);
      let out = '';
      for (const it of items) if (allowed(it)) out += `id: ${it.id}\nevent: ${it.type}\ndata: ${JSON.stringify(it.data)}\n\n`;
      if (!out || ended) return;
      res.write(out);
      if (res.writableLength > MAX_BUFFERED) end('client too slow (it can resume with Last-Event-ID)');
    }).catch((err: Error) => ctx.log.error({ err: err.message }, 'feed write failed'));
  };

  const recheck = async () => {
    const now = await ctx.store.tokens.resolve(who.tokenHash);
    if (!now || now.admin !== who.admin || now.bureau !== who.bureau) return end('token revoked or changed');
    const known = [...visible.keys()];
    const rows = new Map((await ctx.store.registry.rows(known)).map((r) => [r.id, r]));
    for (const d of known) {
      const row = rows.get(d);
      visible.set(d, { ok: visibleTo(row, who.bureau), site: row?.site_id ?? null });
    }
  };
  let checking = false;
  const timer = setInterval(() => {
    if (checking || ended) return;
    checking = true;
    recheck()
      .catch((err: Error) => ctx.log.warn({ err: err.message }, 'feed re-check failed'))
      .finally(() => (checking = false));
  }, FEED_RECHECK_MS);

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 2000\n: yiwang feed, last id ${ctx.store.feed.lastId}\n\n`);
  let unsubscribe = () => {};
  const keepAlive = setInterval(() => !ended && res.write(': keep-alive\n\n'), 15_000);
  const done = () => {
    ended = true;
    clearInterval(keepAlive);
    clearInterval(timer);
    unsubscribe();
  };
  req.on('close', done);
  res.on('close', done);
  // While the backlog is read, live items wait (in order, bounded by the time of one query) so nothing is sent twice
  // or out of order.
  let waiting: FeedItem[] | undefined = lastRaw !== undefined ? [] : undefined;
  unsubscribe = ctx.store.feed.subscribe((items) => (waiting ? waiting.push(...items) : send(items)));
  if (ended) unsubscribe(); // the client left while we were setting up
  if (lastRaw !== undefined) {
    const backlog = await ctx.store.feed.since(Number(lastRaw));
    const newest = backlog.length ? backlog[backlog.length - 1]!.id : Number(lastRaw);
    send(backlog);
    send(waiting!.filter((it) => it.id > newest));
    waiting = undefined;
  }
}

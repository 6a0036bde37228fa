// GET /api/v1/feed: live readings and events as Server-Sent Events, filtered by the caller's bureau and by
// device/metric/site, resumable with Last-Event-ID from the feed's bounded ring.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/tokens.js';
import type { FeedItem } from '../feed.js';
import { visibleTo } from '../store/registry.js';
import type { ApiContext } from './context.js';
import { HttpError } from './http.js';

const MAX_BUFFERED = 4 * 1024 * 1024; // a client this far behind is dropped; it resumes with Last-Event-ID
const VISIBILITY_TTL_MS = 2000;

export function serveFeed(ctx: ApiContext, who: Principal, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
  const device = q.get('device') || undefined;
  const metric = q.get('metric') || undefined;
  const site = q.get('site') || undefined;
  const lastRaw = (req.headers['last-event-id'] as string | undefined) ?? q.get('lastEventId') ?? undefined;
  if (lastRaw !== undefined && !/^\d+$/.test(lastRaw)) throw new HttpError(400, 'Last-Event-ID: must be a feed item id');
  // Visibility is re-checked against the registry (cached briefly), so a scope change applies to live feeds too.
  const seen = new Map<string, { ok: boolean; site: string | null; at: number }>();
  const allowed = (it: FeedItem): boolean => {
    if (device && it.device !== device) return false;
    if (metric && it.metric !== metric) return false;
    const now = Date.now();
    let v = seen.get(it.device);
    if (!v || now - v.at > VISIBILITY_TTL_MS) {
      const row = ctx.store.registry.row(it.device);
      v = { ok: visibleTo(row, who.bureau), site: row?.site_id ?? null, at: now };
      seen.set(it.device, v);
    }
    if (!v.ok) return false;
    return !site || v.site === site;
  };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 2000\n: yiwang feed, last id ${ctx.feed.lastId}\n\n`);
  const send = (items: FeedItem[]) => {
    let out = '';
    for (const it of items) if (allowed(it)) out += `id: ${it.id}\nevent: ${it.type}\ndata: ${JSON.stringify(it.data)}\n\n`;
    if (!out) return;
    res.write(out);
    if (res.writableLength > MAX_BUFFERED) {
      ctx.log.warn({ who: who.name }, 'feed client too slow; closing (it can resume with Last-Event-ID)');
      res.end();
    }
  };
  if (lastRaw !== undefined) send(ctx.feed.since(Number(lastRaw)));
  const unsubscribe = ctx.feed.subscribe(send);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const done = () => {
    clearInterval(keepAlive);
    unsubscribe();
  };
  req.on('close', done);
  res.on('close', done);
}

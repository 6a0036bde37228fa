// HTTP(S) server: the dashboard's static files and /healthz without auth; /metrics (admin token) and everything under /api/v1 behind bearer tokens.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { bearerToken, hashToken } from '../../core/http.js';
import { PROM_CONTENT_TYPE } from '../../core/prom.js';
import type { ApiContext } from './context.js';
import { auditNoteOf, type Caller } from './handler.js';
import { HttpError, sendJson, sendText } from './http.js';
import { ROUTES } from './routes.js';
import { resolveMapConfig } from '../dashboard/config.js';
import { createDashboardHandler } from '../dashboard/serve.js';

export interface ApiServer {
  port: number;
  close(): Promise<void>;
}

export async function startApiServer(ctx: ApiContext): Promise<ApiServer> {
  // The map's tile sources and boundary (dashboard.map); map.json may hold a tile key: only for valid tokens.
  const serveDashboard = createDashboardHandler({
    map: resolveMapConfig(ctx.cfg.dashboard?.map, process.env, ctx.cfg.baseDir),
    authorize: async (req) => {
      const token = bearerToken(req);
      return !!token && !!(await ctx.store.tokens.resolve(hashToken(token)));
    },
  });
  const handler: http.RequestListener = (req, res) => {
    // The dashboard's static files need no token: every piece of data they show comes from the API below.
    if (serveDashboard(req, res)) return;
    handle(ctx, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) ctx.log.error({ err: (err as Error).message, url: req.url }, 'api error');
      if (res.headersSent) return res.end();
      sendJson(res, status, { error: status === 500 ? 'internal error' : (err as Error).message });
    });
  };
  const { tls } = ctx.cfg.http;
  const server = tls ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.cfg.http.port, ctx.cfg.http.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  ctx.log.info({ port, tls: !!tls }, 'http api listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // SSE clients hold connections open
      }),
  };
}

/**
 * One audit log entry per request that changes something (any method but GET) and per GET whose handler noted
 * something (remote diagnostics), refused attempts included. It is written before the answer leaves: a client
 * that got its answer finds the entry. A failure to write it is logged.
 */
function auditOnEnd(ctx: ApiContext, who: Caller, req: http.IncomingMessage, res: http.ServerResponse, target: string): void {
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  res.end = ((...args: unknown[]) => {
    const note = auditNoteOf(res);
    if (req.method === 'GET' && !note) return end(...args);
    const action = `${req.method} ${new URL(req.url ?? '/', 'http://collector').pathname}`;
    ctx.store.audit
      .add({ ts: Date.now(), actor: who.name, action, target: target || undefined, status: res.statusCode, detail: { ...note, ...(who.admin ? {} : { bureau: who.bureau }) } })
      .catch((err: Error) => ctx.log.error({ err: err.message, action, actor: who.name }, 'cannot write the audit log'))
      .finally(() => end(...args));
    return res;
  }) as typeof res.end;
}

async function handle(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://collector');
  } catch {
    throw new HttpError(400, 'malformed request URL');
  }
  // No parameter of ours has a use for NUL (and PostgreSQL text cannot store it): refuse it up front.
  for (const v of url.searchParams.values()) if (v.includes('\u0000')) throw new HttpError(400, 'query parameters must not contain NUL characters');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/healthz') {
    let db = true;
    try {
      await ctx.store.ping();
    } catch {
      db = false;
    }
    const broker = ctx.brokerUp();
    return sendJson(res, db && broker ? 200 : 503, { ok: db && broker, db, broker, store: ctx.store.kind, ingestQueue: ctx.pipeline.depth });
  }
  const isMetrics = req.method === 'GET' && path === '/metrics';
  if (!isMetrics && !path.startsWith('/api/v1/')) throw new HttpError(404, 'not found');
  const token = bearerToken(req);
  const tokenHash = token ? hashToken(token) : '';
  const principal = token ? await ctx.store.tokens.resolve(tokenHash) : undefined;
  if (!principal) {
    res.setHeader('www-authenticate', 'Bearer');
    throw new HttpError(401, token ? 'unknown token' : 'missing bearer token');
  }
  // Metrics name every edge and its lag: operators (admin tokens) only; Prometheus sends the token as bearer_token.
  const who = { ...principal, tokenHash };
  if (isMetrics) {
    if (!who.admin) throw new HttpError(403, 'admin token required');
    return sendText(res, 200, await ctx.metrics.renderAsync(), PROM_CONTENT_TYPE);
  }
  let pathMatched = false;
  for (const r of ROUTES) {
    const match = r.pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (r.method !== req.method) continue;
    let params: string[];
    try {
      params = match.slice(1).map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'bad percent-encoding in path');
    }
    if (params.some((p) => p.includes('\u0000') || p.length > 256)) throw new HttpError(400, 'path segment too long or containing NUL');
    auditOnEnd(ctx, who, req, res, params.join('/'));
    return r.handler(ctx, who, req, res, url.searchParams, params);
  }
  throw new HttpError(pathMatched ? 405 : 404, pathMatched ? 'method not allowed' : 'not found');
}

// Admin HTTP of the edge box: /healthz (open, for container health checks), and behind the local admin
// token: /metrics (Prometheus), /api/v1/devices[/{id}[/last-message]], /api/v1/status, POST /api/v1/reload,
// GET /api/v1/parked and POST /api/v1/parked/retry. Client input never gets a 5xx: a malformed path,
// encoding, method or body is a 4xx with a message, logged at most once per client address and kind per minute.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { PROM_CONTENT_TYPE, type Registry } from '../core/prom.js';
import { bearerToken, hashToken, newToken, sendJson, sendText, tokenMatches } from '../core/http.js';
import type { Logger } from '../core/log.js';
import { excerpt, ProblemLog } from '../core/problem-log.js';

export interface AdminHandlers {
  health(): { ok: boolean; [k: string]: unknown };
  status(): unknown;
  devices(): unknown[];
  device(id: string): unknown | undefined;
  /** The device's last message (raw samples and when), or undefined for an unknown device. */
  lastMessage?(id: string): unknown | undefined;
  reload(): Promise<{ added: string[]; updated: string[]; removed: string[] }>;
  /** Chunks the collector rejected, kept until an operator retries them. */
  parked(): unknown;
  /** Offers parked chunks to the collector again; returns how many were parked. */
  retryParked(ids: number[] | 'all'): number;
}

/** Largest request body read (only POST /api/v1/parked/retry has one). */
const MAX_BODY_BYTES = 64 * 1024;
/** A request (headers and body) must arrive within this; slow-loris clients are cut off. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A client mistake: answered with `status` and the message, never logged as a server error. */
class ClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The admin token lives in a 0600 file next to the buffer so that an installer with shell access to the box
 * (the `yiwang edge status` CLI) can use it; the server keeps only its hash.
 */
export function loadOrCreateAdminToken(file: string): string {
  if (process.env.YIWANG_ADMIN_TOKEN) return process.env.YIWANG_ADMIN_TOKEN;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = newToken('ywe');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/** The request path, percent-decoded per segment; a ClientError for anything that is not a plain origin-form path. */
function requestPath(rawUrl: string | undefined): string[] {
  const url = rawUrl ?? '/';
  if (!url.startsWith('/')) throw new ClientError(400, 'request target must be a path starting with /');
  const path = url.split(/[?#]/, 1)[0]!;
  return path
    .split('/')
    .slice(1)
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        throw new ClientError(400, `malformed percent-encoding in path segment "${excerpt(seg, 40)}"`);
      }
    });
}

function allow(req: IncomingMessage, ...methods: string[]): void {
  if (!methods.includes(req.method ?? '')) {
    throw new ClientError(405, `method ${excerpt(req.method ?? '', 16)} not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') });
  }
}

/** Reads a JSON body of at most MAX_BODY_BYTES; an empty body is `{}`. */
async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new ClientError(413, `body of ${declared} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ClientError(413, `body is over the ${MAX_BODY_BYTES}-byte limit`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ClientError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

/** `{"all": true}` or `{"ids": [1, 2]}`. */
function retrySelection(body: unknown): number[] | 'all' {
  const b = body as { all?: unknown; ids?: unknown };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClientError(400, 'body must be a JSON object: {"all": true} or {"ids": [1, 2]}');
  if (b.all === true && b.ids === undefined) return 'all';
  if (b.all === undefined && Array.isArray(b.ids) && b.ids.length > 0 && b.ids.length <= 10_000 && b.ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
    return b.ids as number[];
  }
  throw new ClientError(400, 'give either "all": true or "ids": a non-empty list of chunk ids (positive integers)');
}

export async function startAdminServer(opts: {
  host: string;
  port: number;
  token: string;
  metrics: Registry;
  handlers: AdminHandlers;
  log: Logger;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const tokenHash = hashToken(opts.token);
  const problems = new ProblemLog(opts.log);
  const h = opts.handlers;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestPath(req.url);
    const at = (...want: string[]) => path.length === want.length && want.every((w, i) => w === '*' || path[i] === w);
    if (at('healthz')) {
      allow(req, 'GET', 'HEAD');
      const health = h.health();
      return sendJson(res, health.ok ? 200 : 503, health);
    }
    if (!tokenMatches(bearerToken(req), tokenHash)) {
      throw new ClientError(401, 'missing or wrong admin token (see <buffer dir>/admin.token)', { 'www-authenticate': 'Bearer realm="yiwang-edge"' });
    }
    if (at('metrics')) {
      allow(req, 'GET');
      return sendText(res, 200, opts.metrics.render(), PROM_CONTENT_TYPE);
    }
    if (at('api', 'v1', 'status')) {
      allow(req, 'GET');
      return sendJson(res, 200, h.status());
    }
    if (at('api', 'v1', 'devices')) {
      allow(req, 'GET');
      return sendJson(res, 200, { devices: h.devices() });
    }
    if (at('api', 'v1', 'devices', '*')) {
      allow(req, 'GET');
      const d = h.device(path[3]!);
      return d ? sendJson(res, 200, d) : sendJson(res, 404, { error: 'no such device' });
    }
    if (at('api', 'v1', 'devices', '*', 'last-message') && h.lastMessage) {
      allow(req, 'GET');
      const d = h.lastMessage(path[3]!);
      return d ? sendJson(res, 200, d) : sendJson(res, 404, { error: 'no such device' });
    }
    if (at('api', 'v1', 'reload')) {
      allow(req, 'POST');
      try {
        return sendJson(res, 200, await h.reload());
      } catch (err) {
        return sendJson(res, 422, { error: (err as Error).message });
      }
    }
    if (at('api', 'v1', 'parked')) {
      allow(req, 'GET');
      return sendJson(res, 200, h.parked());
    }
    if (at('api', 'v1', 'parked', 'retry')) {
      allow(req, 'POST');
      const selection = retrySelection(await jsonBody(req));
      return sendJson(res, 200, { retried: h.retryParked(selection) });
    }
    throw new ClientError(404, 'not found');
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: Error) => {
      const peer = req.socket.remoteAddress ?? 'unknown';
      if (err instanceof ClientError) {
        if (err.status !== 401 && err.status !== 404) problems.report(peer, `http_${err.status}`, 'admin: bad request', { method: excerpt(req.method ?? '', 16), url: excerpt(req.url ?? '', 80), err: err.message });
        for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
        if (!res.headersSent) sendJson(res, err.status, { error: err.message });
        // An unread body (413) would otherwise keep the connection busy: close it after the answer.
        if (err.status === 413) res.once('finish', () => req.socket.destroy());
        return;
      }
      problems.report(peer, 'internal', 'admin request failed', { method: excerpt(req.method ?? '', 16), url: excerpt(req.url ?? '', 80), err: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: err.message });
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, REQUEST_TIMEOUT_MS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    // Bounded: open keep-alive or half-sent requests must not hold the agent's shutdown.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 500).unref();
      }),
  };
}

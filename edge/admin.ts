// Admin HTTP of the edge box: /healthz (open, for container health checks), and behind the local admin
// token: /metrics (Prometheus), /api/v1/devices, /api/v1/status, POST /api/v1/reload.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { PROM_CONTENT_TYPE, type Registry } from '../core/prom.js';
import { bearerToken, hashToken, newToken, sendJson, sendText, tokenMatches } from '../core/http.js';
import type { Logger } from '../core/log.js';

export interface AdminHandlers {
  health(): { ok: boolean; [k: string]: unknown };
  status(): unknown;
  devices(): unknown[];
  device(id: string): unknown | undefined;
  /** The device's last message (raw samples and when), or undefined for an unknown device. */
  lastMessage?(id: string): unknown | undefined;
  reload(): Promise<{ added: string[]; updated: string[]; removed: string[] }>;
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

export async function startAdminServer(opts: {
  host: string;
  port: number;
  token: string;
  metrics: Registry;
  handlers: AdminHandlers;
  log: Logger;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const tokenHash = hashToken(opts.token);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    void (async () => {
      if (path === '/healthz') {
        const h = opts.handlers.health();
        return sendJson(res, h.ok ? 200 : 503, h);
      }
      if (!tokenMatches(bearerToken(req), tokenHash)) {
        res.setHeader('www-authenticate', 'Bearer realm="yiwang-edge"');
        return sendJson(res, 401, { error: 'missing or wrong admin token (see <buffer dir>/admin.token)' });
      }
      if (path === '/metrics' && req.method === 'GET') return sendText(res, 200, opts.metrics.render(), PROM_CONTENT_TYPE);
      if (path === '/api/v1/status' && req.method === 'GET') return sendJson(res, 200, opts.handlers.status());
      if (path === '/api/v1/devices' && req.method === 'GET') return sendJson(res, 200, { devices: opts.handlers.devices() });
      const last = /^\/api\/v1\/devices\/([^/]+)\/last-message$/.exec(path);
      if (last && req.method === 'GET' && opts.handlers.lastMessage) {
        const d = opts.handlers.lastMessage(decodeURIComponent(last[1]!));
        return d ? sendJson(res, 200, d) : sendJson(res, 404, { error: 'no such device' });
      }
      const m = /^\/api\/v1\/devices\/([^/]+)$/.exec(path);
      if (m && req.method === 'GET') {
        const d = opts.handlers.device(decodeURIComponent(m[1]!));
        return d ? sendJson(res, 200, d) : sendJson(res, 404, { error: 'no such device' });
      }
      if (path === '/api/v1/reload' && req.method === 'POST') {
        try {
          return sendJson(res, 200, await opts.handlers.reload());
        } catch (err) {
          return sendJson(res, 422, { error: (err as Error).message });
        }
      }
      return sendJson(res, 404, { error: 'not found' });
    })().catch((err: Error) => {
      opts.log.error({ err: err.message, path }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: err.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

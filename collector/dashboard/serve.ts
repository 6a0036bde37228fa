// Serves the bureau dashboard: static files under /dashboard/ (no auth: they hold no data) and the metric/threshold
// catalog. Every piece of data the page shows comes from the token-protected /api/v1 endpoints.
import { readFile, stat } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogJson } from './catalog.js';

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

// Same-origin only: no CDN, no inline script; blob: for snapshots fetched with the auth header.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache', ...SECURITY_HEADERS, ...extra });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const notFound = (req: IncomingMessage, res: ServerResponse) => send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');

/** A file under STATIC_DIR for a URL path below /dashboard/, or undefined when it would escape the folder. */
export function staticFile(rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const file = resolve(STATIC_DIR, decoded === '' || decoded.endsWith('/') ? `${decoded}index.html` : decoded);
  return file.startsWith(STATIC_DIR.endsWith(sep) ? STATIC_DIR : STATIC_DIR + sep) ? file : undefined;
}

/**
 * Handles GET/HEAD of `/` (redirect), `/dashboard/`, `/dashboard/catalog.json` and the static assets.
 * Returns false for anything else so the caller's API routes run.
 */
export function serveDashboard(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?', 1)[0]!;
  if (path === '/' || path === '/dashboard') {
    res.writeHead(302, { location: '/dashboard/', 'content-length': 0 });
    res.end();
    return true;
  }
  if (!path.startsWith('/dashboard/')) return false;
  if (path === '/dashboard/catalog.json') {
    send(req, res, 200, TYPES['.json']!, catalogJson());
    return true;
  }
  const file = staticFile(path.slice('/dashboard/'.length));
  if (!file) {
    notFound(req, res);
    return true;
  }
  stat(file, (err, st) => {
    if (err || !st.isFile()) return notFound(req, res);
    readFile(file, (readErr, body) => {
      if (readErr) return notFound(req, res);
      send(req, res, 200, TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', body);
    });
  });
  return true;
}

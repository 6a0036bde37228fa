// Serves the bureau dashboard: static files under /dashboard/ (no auth: they hold no data), the map library from
// node_modules under /dashboard/vendor/, the metric/threshold catalog, and the map configuration. Every piece of
// data the page shows comes from the token-protected /api/v1 endpoints.
import { readFile, stat } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogJson } from './catalog.js';
import type { ResolvedMap } from './config.js';

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const require = createRequire(import.meta.url);
/** Browser builds of the map library, served from the installed packages (no CDN, nothing vendored into git). */
export const VENDOR_DIRS: Record<string, string> = {
  leaflet: join(dirname(require.resolve('leaflet/package.json')), 'dist'),
  'leaflet.markercluster': join(dirname(require.resolve('leaflet.markercluster/package.json')), 'dist'),
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.geojson': 'application/geo+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

// Same-origin only: no CDN, no inline script; blob: for snapshots fetched with the auth header; the configured tile
// servers' origins for map tiles.
function securityHeaders(tileOrigins: readonly string[]): Record<string, string> {
  const img = ["'self'", 'blob:', 'data:', ...tileOrigins].join(' ');
  return {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src ${img}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

/** A file under `root` for a relative URL path, or undefined when it would escape the folder. */
export function staticFile(rel: string, root = STATIC_DIR): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const file = resolve(root, decoded === '' || decoded.endsWith('/') ? `${decoded}index.html` : decoded);
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : undefined;
}

/** /dashboard/vendor/<package>/<file> → the file in that package's dist folder, or undefined. */
export function vendorFile(rel: string): string | undefined {
  const slash = rel.indexOf('/');
  if (slash <= 0) return undefined;
  const root = VENDOR_DIRS[rel.slice(0, slash)];
  const file = root ? staticFile(rel.slice(slash + 1), root) : undefined;
  return file && !file.endsWith('index.html') ? file : undefined;
}

export interface DashboardOptions {
  /** The map configuration (from resolveMapConfig); without it the map has no tiles and no boundary. */
  map?: ResolvedMap;
  /**
   * Whether a request may read /dashboard/map.json (it can hold a tile key). The collector passes its bearer-token
   * check. Required when the map config holds a key.
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
}

const EMPTY_MAP: ResolvedMap = { client: { tiles: [], boundary: null }, tileOrigins: [], hasSecrets: false };

/**
 * A handler for GET/HEAD of `/` (redirect), `/dashboard/`, `/dashboard/catalog.json`, `/dashboard/map.json`,
 * `/dashboard/vendor/…` and the static assets. It returns false for anything else so the caller's API routes run.
 */
export function createDashboardHandler(opts: DashboardOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  const map = opts.map ?? EMPTY_MAP;
  if (map.hasSecrets && !opts.authorize) throw new Error('dashboard: the map config holds a tile key; pass authorize so only signed-in users can read it');
  const headers = securityHeaders(map.tileOrigins);
  const mapJson = JSON.stringify(map.client);

  const send = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache', ...headers, ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const notFound = (req: IncomingMessage, res: ServerResponse) => send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');

  const sendMap = async (req: IncomingMessage, res: ServerResponse) => {
    let allowed = true;
    try {
      if (opts.authorize) allowed = await opts.authorize(req);
    } catch {
      allowed = false;
    }
    if (!allowed) return send(req, res, 401, 'application/json; charset=utf-8', '{"error":"unauthorized"}\n', { 'www-authenticate': 'Bearer' });
    // Private: the tile key must not sit in shared caches.
    send(req, res, 200, TYPES['.json']!, mapJson, { 'cache-control': 'no-store' });
  };

  return (req, res) => {
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
    if (path === '/dashboard/map.json') {
      void sendMap(req, res);
      return true;
    }
    const rel = path.slice('/dashboard/'.length);
    const file = rel.startsWith('vendor/') ? vendorFile(rel.slice('vendor/'.length)) : staticFile(rel);
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
  };
}

/** The handler with no map configuration (no tiles: the page draws its offline map). */
export const serveDashboard = createDashboardHandler();

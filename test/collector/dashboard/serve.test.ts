// serveDashboard on a real node:http server: redirects, static files with charsets, the catalog, traversal refused,
// and everything else left to the caller.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createDashboardHandler, serveDashboard } from '../../../collector/dashboard/serve.js';
import { resolveMapConfig, validateDashboardConfig } from '../../../collector/dashboard/config.js';
import type { DashboardCatalog } from '../../../collector/dashboard/catalog.js';

let server: http.Server;
let port: number;

/** A raw request (no URL normalisation, unlike fetch), so "../" reaches the server as sent. */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (serveDashboard(req, res)) return;
    res.writeHead(418, { 'content-type': 'text/plain' });
    res.end('not the dashboard');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('serveDashboard', () => {
  it('redirects / and /dashboard to /dashboard/', async () => {
    for (const p of ['/', '/dashboard', '/?x=1']) {
      const r = await get(p);
      expect(r.status, p).toBe(302);
      expect(r.headers.location).toBe('/dashboard/');
    }
  });

  it('serves the page and assets with content types and utf-8', async () => {
    const page = await get('/dashboard/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="js/main.js">');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const cases: [string, string][] = [
      ['/dashboard/index.html', 'text/html; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/js/main.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/js/views/device.js?v=2', 'text/javascript; charset=utf-8'],
      ['/dashboard/favicon.svg', 'image/svg+xml; charset=utf-8'],
    ];
    for (const [p, type] of cases) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.headers['content-type'], p).toBe(type);
      expect(Number(r.headers['content-length']), p).toBe(Buffer.byteLength(r.body));
    }
    const head = await get('/dashboard/style.css', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('serves the metric catalog with per-profile thresholds', async () => {
    const r = await get('/dashboard/catalog.json');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const c = JSON.parse(r.body) as DashboardCatalog;
    expect(c.errors).toEqual([]);
    expect(c.labels.zh.cameraType.dome).toBe('球机'); // the same labels as the CSV export (core/records.ts)
    expect(c.metrics.find((m) => m.name === 'water_level')).toMatchObject({ unit: 'm', zh: '水位', en: 'Water level', range: [-100, 9000] });
    expect(c.profiles['radar-level-modbus']).toEqual({ water_level: { warning: 3.5, alarm: 4.2, direction: 'above' } });
    expect(Object.keys(c.profiles).length).toBeGreaterThanOrEqual(10);
  });

  it('refuses directory traversal and missing files with 404', async () => {
    for (const p of ['/dashboard/../package.json', '/dashboard/%2e%2e/serve.ts', '/dashboard/js/..%2f..%2fserve.ts', '/dashboard/..%5cserve.ts', '/dashboard/nope.js', '/dashboard/js/', '/dashboard/%E0%A4%A', '/dashboard/x%00.js']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).toBe('not found\n');
    }
  });

  it('leaves the API and other methods to the caller', async () => {
    for (const [p, m] of [['/api/v1/devices', 'GET'], ['/healthz', 'GET'], ['/dashboard/', 'POST'], ['/dashboardx', 'GET']] as const) {
      const r = await get(p, m);
      expect(r.status, `${m} ${p}`).toBe(418);
    }
  });
});

describe('map library and map configuration', () => {
  it('serves Leaflet and markercluster from node_modules, and nothing else from there', async () => {
    const cases: [string, string, string][] = [
      ['/dashboard/vendor/leaflet/leaflet.js', 'text/javascript; charset=utf-8', 'Leaflet'],
      ['/dashboard/vendor/leaflet/leaflet.css', 'text/css; charset=utf-8', '.leaflet-pane'],
      ['/dashboard/vendor/leaflet.markercluster/leaflet.markercluster.js', 'text/javascript; charset=utf-8', 'MarkerClusterGroup'],
      ['/dashboard/vendor/leaflet.markercluster/MarkerCluster.css', 'text/css; charset=utf-8', '.leaflet-cluster-anim'],
    ];
    for (const [p, type, marker] of cases) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.headers['content-type'], p).toBe(type);
      expect(r.body, p).toContain(marker);
    }
    expect((await get('/dashboard/vendor/leaflet/images/layers.png')).headers['content-type']).toBe('image/png');
    const page = await get('/dashboard/');
    expect(page.body).toContain('<script src="vendor/leaflet/leaflet.js"></script>');
    for (const p of [
      '/dashboard/vendor/leaflet/../package.json', '/dashboard/vendor/leaflet/%2e%2e/package.json', '/dashboard/vendor/leaflet/..%2f..%2fnodemailer/package.json',
      '/dashboard/vendor/nodemailer/package.json', '/dashboard/vendor/leaflet/', '/dashboard/vendor/', '/dashboard/vendor/..%2fjs/main.js', '/dashboard/vendor/leaflet/x%00.js',
    ]) {
      expect((await get(p)).status, p).toBe(404);
    }
  });

  it('answers map.json without tiles or boundary when nothing is configured', async () => {
    const r = await get('/dashboard/map.json');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ tiles: [], boundary: null });
    expect(r.headers['content-security-policy']).toContain("img-src 'self' blob: data:;");
  });

  it('puts the tile key only into map.json for authorized requests, and the tile origins into the CSP', async () => {
    const map = resolveMapConfig(
      {
        tiles: [{ name: '天地图矢量', url: 'https://t{s}.tianditu.gov.cn/vec_w/wmts?tk={key}&x={x}&y={y}&l={z}', subdomains: '01', keyEnv: 'TDT_KEY', maxZoom: 18 }],
        boundary: 'examples/demo/demo-area.geojson',
        center: [117.25, 31.86],
      },
      { TDT_KEY: 'k e y' },
      fileURLToPath(new URL('../../../', import.meta.url)),
    );
    expect(() => createDashboardHandler({ map })).toThrow('pass authorize');
    const handler = createDashboardHandler({ map, authorize: (req) => req.headers.authorization === 'Bearer good' });
    const srv = http.createServer((req, res) => void (handler(req, res) || res.writeHead(418).end()));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const p = (srv.address() as AddressInfo).port;
    try {
      const fetchMap = (auth?: string) => fetch(`http://127.0.0.1:${p}/dashboard/map.json`, { headers: auth ? { authorization: auth } : {} });
      expect((await fetchMap()).status).toBe(401);
      expect((await fetchMap('Bearer bad')).status).toBe(401);
      const ok = await fetchMap('Bearer good');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('no-store');
      const body = (await ok.json()) as { tiles: { url: string; crs: string }[]; boundary: { type: string }; center: number[] };
      expect(body.tiles[0]).toMatchObject({ url: 'https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=k%20e%20y&x={x}&y={y}&l={z}', crs: 'wgs84', subdomains: '01' });
      expect(body.boundary.type).toBe('FeatureCollection');
      expect(body.center).toEqual([117.25, 31.86]);
      const page = await fetch(`http://127.0.0.1:${p}/dashboard/`);
      expect(page.headers.get('content-security-policy')).toContain("img-src 'self' blob: data: https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn;");
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('validates the dashboard block and refuses keys written into URLs', () => {
    expect(validateDashboardConfig({ map: { tiles: [{ name: 'x', url: 'https://t0.tianditu.gov.cn/vec_w/wmts?tk=abc123' }] } })).toEqual([
      { path: 'map.tiles[0].url', message: 'do not write keys into the URL: use {key} and keyEnv' },
    ]);
    expect(validateDashboardConfig({ map: { tiles: [{ name: 'x', url: 'https://tiles/{z}/{x}/{y}.png?k={key}' }] } })[0]!.path).toBe('map.tiles[0].keyEnv');
    expect(validateDashboardConfig({ map: { tiles: [{ name: 'x', url: 'ftp://x', crs: 'bd09' }], zoom: 30 } }).map((p) => p.path).sort()).toEqual(['map.tiles[0].crs', 'map.tiles[0].url', 'map.zoom']);
    expect(validateDashboardConfig({ map: { tiles: [{ name: '内网瓦片', url: 'http://tiles.intra/{z}/{x}/{y}.png', crs: 'gcj02' }], boundary: 'area.geojson' } })).toEqual([]);
    expect(() => resolveMapConfig({ tiles: [{ name: 'x', url: 'https://a/{z}/{x}/{y}?tk={key}', keyEnv: 'NOPE' }] }, {})).toThrow('environment variable NOPE is not set');
    expect(() => resolveMapConfig({ boundary: fileURLToPath(new URL('../../../package.json', import.meta.url)) })).toThrow('not a GeoJSON');
  });
});

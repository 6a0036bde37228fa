// serveDashboard on a real node:http server: redirects, static files with charsets, the catalog, traversal refused,
// and everything else left to the caller.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../../../collector/dashboard/serve.js';
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

// The dashboard in a real browser (Debian's chromium via playwright-core) against a real collector fed by a real
// MQTT edge: sign-in, bureau scoping in list and map, a chart, live values through the SSE feed, CSV export.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { startCollector, type Collector } from '../../../collector/index.js';
import { serveDashboard } from '../../../collector/dashboard/serve.js';
import { EventKind, Severity, Verdict, type DeviceRecord, type Reading } from '../../../schema/types.js';
import { tempDir, TestEdge } from '../helpers.js';

const EDGE = 'edge-dash';
const MIN = 60_000;
const records: DeviceRecord[] = [
  {
    id: 'wl-01', name: '东村水位计', kind: 'sensor', profileId: 'radar-level-modbus', manufacturer: 'Generic', model: 'RLG-80',
    site: { id: 'dongcun', name: '东村', type: 'village' }, location: { longitude: 121.401, latitude: 31.201, address: '东村桥下' },
    sharingScope: ['water', 'emergency'], maintainer: '区水务局', seq: 1,
  },
  {
    id: 'rg-01', name: '东村雨量计', kind: 'sensor', profileId: 'rain-gauge-modbus',
    site: { id: 'dongcun', name: '东村', type: 'village' }, location: { longitude: 121.404, latitude: 31.203 }, sharingScope: ['water'], seq: 2,
    // A metric the catalog lacks, declared by the device's profile and carried in its record.
    customMetrics: [{ name: 'x_tip_count', unit: 'count', zh: '翻斗计数', en: 'Bucket tips', type: 'number', rangeMin: 0, rangeMax: 1e9 }],
  },
  {
    id: 'cam-01', name: '泵站摄像机', kind: 'camera', profileId: 'onvif-ip-camera',
    site: { id: 'pump', name: '三号泵站', type: 'water_station' }, location: { longitude: 121.43, latitude: 31.19 }, sharingScope: ['water', 'fire'],
    camera: { cameraType: 'dome', streamUris: ['rtsp://admin:secret@10.0.0.9/main'] }, seq: 3,
  },
  {
    id: 'hy-01', name: '西街消火栓', kind: 'sensor', profileId: 'hydrant-pressure-mqtt',
    site: { id: 'xijie', name: '西街', type: 'street' }, location: { longitude: 121.37, latitude: 31.21 }, sharingScope: ['fire'], seq: 4,
  },
];
const WATER_IDS = ['cam-01', 'rg-01', 'wl-01'];
// A real 16x12 JPEG (ffmpeg -f lavfi -i color=c=0x2b7bd6:s=16x12 -frames:v 1).
const TINY_JPEG = Buffer.from('/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABLAAEBAAAAAAAAAAAAAAAAAAAABQEBAAAAAAAAAAAAAAAAAAAABhABAAAAAAAAAAAAAAAAAAAAABEBAAAAAAAAAAAAAAAAAAAAAP/AABEIAAwAEAMBIgACEQADEQD/2gAMAwEAAhEDEQA/AJgB2Hv/2Q==', 'base64');

let seq = 10;
let batchId = 1;
const reading = (deviceId: string, metric: string, unit: string, ts: number, value: number | boolean): Reading =>
  ({ deviceId, metric, unit, ts, seq: seq++, quality: 0, ...(typeof value === 'boolean' ? { boolean: value } : { number: value }) });

interface FrontProxy {
  port: number;
  /** Last-Event-ID header of each /api/v1/feed request, in order ('' when absent). */
  feedRequests: string[];
  /** Cuts the page's live feed streams, as a flaky network or a restarted proxy would. */
  dropFeeds(): void;
  close(): Promise<void>;
}

/**
 * Serves the dashboard and forwards everything else to the collector, so page and API share one origin (the way
 * the collector serves both once serveDashboard is hooked into its server). Sitting in the middle lets the test
 * cut the SSE stream and watch the page resume it.
 */
async function startFrontProxy(target: number): Promise<FrontProxy> {
  const feeds = new Set<http.ServerResponse>();
  const feedRequests: string[] = [];
  const server = http.createServer((req, res) => {
    if (serveDashboard(req, res)) return;
    if (req.url?.startsWith('/api/v1/feed')) {
      feedRequests.push(String(req.headers['last-event-id'] ?? ''));
      feeds.add(res);
      res.on('close', () => feeds.delete(res));
    }
    const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    feedRequests,
    dropFeeds: () => {
      for (const res of feeds) res.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // the page's SSE stream
      }),
  };
}

describe('bureau dashboard in chromium', () => {
  const tmp = tempDir('yiwang-dashboard-');
  let c: Collector;
  let edge: TestEdge;
  let proxy: FrontProxy;
  let base: string;
  let browser: Browser;
  let page: Page;
  let waterToken: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    c = await startCollector({ overrides: { dataDir: tmp.dir, httpPort: 0, mqttPort: 0 }, log: silentLogger });
    proxy = await startFrontProxy(c.httpPort);
    base = `http://127.0.0.1:${proxy.port}`;

    const pw = await c.addEdge(EDGE);
    waterToken = await c.createToken({ name: '区水务局值班', bureau: 'water' });
    edge = await TestEdge.connect(c.mqttPort!, EDGE, pw);
    const now = Date.now();
    const readings: Reading[] = [];
    for (let i = 50; i >= 1; i--) readings.push(reading('wl-01', 'water_level', 'm', now - i * MIN, 2.8 + (50 - i) * 0.01));
    for (let i = 6; i >= 1; i--) readings.push(reading('rg-01', 'rainfall', 'mm', now - i * 10 * MIN, i * 0.5));
    readings.push(reading('rg-01', 'x_tip_count', 'count', now - MIN, 1234));
    readings.push(reading('cam-01', 'video_online', 'bool', now - MIN, true), reading('hy-01', 'pipe_pressure', 'MPa', now - MIN, 0.35));
    const events = [
      { deviceId: 'wl-01', kind: EventKind.THRESHOLD_CROSSED, severity: Severity.WARNING, message: '水位超过预警线', ts: now - 30 * MIN, seq: seq++, metric: 'water_level', value: 3.51, threshold: 3.5 },
      { deviceId: 'rg-01', kind: EventKind.DEVICE_OFFLINE, severity: Severity.MAJOR, message: 'no response', ts: now - 5 * MIN, seq: seq++ },
      { deviceId: 'hy-01', kind: EventKind.ALARM_RAISED, severity: Severity.CRITICAL, message: '消防专用报警', ts: now - 2 * MIN, seq: seq++ },
    ];
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: 1, lastSeq: 4, records });
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: 10, lastSeq: seq - 1, readings, events });

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && !/404|Failed to load resource/.test(m.text()) && pageErrors.push(m.text()));
  });

  afterAll(async () => {
    await browser?.close();
    await edge?.close();
    await proxy?.close();
    await c?.stop();
    tmp.remove();
  });

  it('refuses a wrong token with a clear message, then signs in as the water bureau', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    await page.fill('#token', 'yw_wrong-token');
    await page.click('form.login button[type=submit]');
    await expect.poll(() => page.textContent('.login-error')).toContain('令牌无效');

    await page.fill('#token', waterToken);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('.devices-table tr[data-device]');
    expect(await page.evaluate(() => sessionStorage.getItem('yiwang.dashboard.token'))).toBe(waterToken);
    expect(page.url()).not.toContain(waterToken);
  });

  it('shows only water-shared devices in the list and on the map, coloured by health', async () => {
    const listed = await page.$$eval('.devices-table tr[data-device]', (rows) => rows.map((r) => (r as HTMLElement).dataset.device).sort());
    expect(listed).toEqual(WATER_IDS);
    const mapped = await page.$$eval('svg.map g.dev', (gs) => gs.map((g) => g.getAttribute('data-device')).sort());
    expect(mapped).toEqual(WATER_IDS);
    const body = await page.textContent('body');
    expect(body).not.toContain('西街消火栓');
    expect(body).toContain('东村水位计');
    const healthOf = (id: string) => page.getAttribute(`svg.map g.dev[data-device="${id}"]`, 'data-health');
    expect(await healthOf('wl-01')).toBe('online');
    expect(await healthOf('rg-01')).toBe('offline');
    expect(await page.textContent('.devices-table tr[data-device="wl-01"] .latest-cell')).toContain('水位 3.29 m');
    // Filters narrow the list.
    await page.fill('.filter-text', '雨量');
    await expect.poll(() => page.$$eval('.devices-table tr[data-device]', (r) => r.length)).toBe(1);
    await page.fill('.filter-text', '');
    await page.selectOption('.filter-kind', 'camera');
    expect(await page.$$eval('.devices-table tr[data-device]', (r) => r.map((x) => (x as HTMLElement).dataset.device))).toEqual(['cam-01']);
    await page.selectOption('.filter-kind', '');
  });

  it('exports the scoped 一机一档 records as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.export')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv).toContain('设备编码');
    for (const id of WATER_IDS) expect(csv).toContain(id);
    expect(csv).not.toContain('hy-01');
  });

  it('opens a device from the map and draws its chart with threshold lines', async () => {
    await page.waitForSelector('.feed-state[data-state="live"]');
    await page.click('svg.map g.dev[data-device="wl-01"]');
    await page.waitForSelector('.chart path.series');
    expect(page.url()).toContain('#/device/wl-01');
    await page.click('button[data-range="1h"]');
    await expect.poll(() => page.textContent('.chart-info')).toMatch(/原始数据.*50 个点/);
    const points = Number(await page.getAttribute('.chart path.series', 'data-points'));
    expect(points).toBe(50);
    expect((await page.getAttribute('.chart path.series', 'd'))!.split(/[ML]/).filter(Boolean)).toHaveLength(50);
    expect(await page.getAttribute('.chart line.th-warning', 'data-value')).toBe('3.5');
    expect(await page.getAttribute('.chart line.th-alarm', 'data-value')).toBe('4.2');
    expect(await page.textContent('.events-table')).toContain('水位超过预警线');
    expect(await page.textContent('.record-box')).toContain('区水务局');
  });

  it('updates the latest value, the chart and the map colour live from the SSE feed', async () => {
    const value = () => page.textContent('.latest-card[data-metric="water_level"] .value');
    expect(await value()).toBe('3.29 m');
    const ts = Date.now();
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: seq, lastSeq: seq, readings: [reading('wl-01', 'water_level', 'm', ts, 3.77)] });
    await expect.poll(value, { timeout: 5000 }).toBe('3.77 m');
    await expect.poll(() => page.getAttribute('.chart path.series', 'data-points')).toBe('51');
    expect(await page.getAttribute('.latest-card[data-metric="water_level"]', 'class')).toContain('lvl-warning');
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });

    // The offline rain gauge reports again: its status event turns it green on the map.
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: seq, lastSeq: seq, events: [{ deviceId: 'rg-01', kind: EventKind.DEVICE_ONLINE, severity: Severity.INFO, message: 'back', ts: Date.now(), seq: seq++ }] });
    await page.click('a.tab[href="#/"]');
    await expect.poll(() => page.getAttribute('svg.map g.dev[data-device="rg-01"]', 'data-health')).toBe('online');
    await page.screenshot({ path: '/tmp/dashboard-overview.png', fullPage: true });
  });

  it('resumes the live feed with Last-Event-ID after the stream is cut, without losing a reading', async () => {
    const before = proxy.feedRequests.length;
    expect(proxy.feedRequests[0]).toBe(''); // the first connection starts live, from now
    proxy.dropFeeds();
    await expect.poll(() => page.getAttribute('.feed-state', 'data-state')).toBe('reconnecting');
    // Published while the page is disconnected: it must arrive through the resumed stream.
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: seq, lastSeq: seq, readings: [reading('wl-01', 'water_level', 'm', Date.now(), 3.91)] });
    await expect.poll(() => page.getAttribute('.feed-state', 'data-state'), { timeout: 8000 }).toBe('live');
    expect(proxy.feedRequests.length).toBe(before + 1);
    expect(proxy.feedRequests.at(-1)).toMatch(/^\d+$/);
    await expect.poll(() => page.textContent('.devices-table tr[data-device="wl-01"] .latest-cell')).toBe('水位 3.91 m');
  });

  it('shows a camera: "no snapshot yet" on 404, then the snapshot and quality verdicts; English labels', async () => {
    await page.click('.devices-table tr[data-device="cam-01"] a');
    await page.waitForSelector('.no-snapshot');
    expect(await page.textContent('.no-snapshot')).toBe('暂无抓图');
    await page.waitForSelector('.no-quality');
    // The edge uploads a snapshot and a quality verdict; Refresh shows both.
    const ts = Date.now();
    await edge.send({
      edgeId: EDGE, batchId: batchId++, firstSeq: seq, lastSeq: seq + 1,
      snapshots: [{ deviceId: 'cam-01', ts, seq: seq++, jpeg: TINY_JPEG, width: 16, height: 12 }],
      videoQuality: [{ deviceId: 'cam-01', ts, seq: seq++, verdict: Verdict.WARN, checks: [{ name: 'blur', score: 0.42, verdict: Verdict.WARN, detail: 'soft focus' }, { name: 'black', score: 0.01, verdict: Verdict.OK }] }],
    });
    await page.click('button.refresh-camera');
    await page.waitForSelector('img.snapshot');
    await expect.poll(() => page.$eval('img.snapshot', (img) => (img as HTMLImageElement).naturalWidth)).toBe(16);
    expect(await page.getAttribute('img.snapshot', 'src')).toMatch(/^blob:/);
    await page.waitForSelector('table.quality');
    const quality = await page.textContent('table.quality');
    expect(quality).toContain('警告');
    expect(quality).toContain('blur 0.42');
    expect(quality).toContain('soft focus');
    await page.screenshot({ path: '/tmp/dashboard-camera.png', fullPage: true });
    // The collector strips credentials from stream URIs before storing the record (core/records.ts withoutCredentials).
    expect(await page.textContent('.record-box')).toContain('rtsp://10.0.0.9/main');
    await page.waitForSelector('.changes');
    expect(await page.textContent('body')).not.toContain('secret'); // camera credentials are never shown
    await page.click('button.lang');
    await page.waitForSelector('.latest-card[data-metric="video_online"]');
    expect(await page.textContent('.latest-card[data-metric="video_online"] .metric-name')).toBe('Stream reachable');
    expect(await page.textContent('.topbar nav')).toContain('Alarms & events');
    await page.click('a.tab[href="#/events"]');
    await page.waitForSelector('.events-table tr[data-event]');
    const text = await page.textContent('.events-table');
    expect(text).toContain('threshold crossed');
    expect(text).not.toContain('消防专用报警');
    expect(pageErrors).toEqual([]);
  });

  it('labels a custom metric with the names its device record carries', async () => {
    await page.evaluate(() => (location.hash = '#/device/rg-01'));
    await page.waitForSelector('.latest-card[data-metric="x_tip_count"]');
    expect(await page.textContent('.latest-card[data-metric="x_tip_count"] .metric-name')).toBe('Bucket tips');
    await page.click('button.lang');
    await expect.poll(() => page.textContent('.latest-card[data-metric="x_tip_count"] .metric-name')).toBe('翻斗计数');
    expect(await page.textContent('.latest-card[data-metric="x_tip_count"] .value')).toBe('1234');
    expect(pageErrors).toEqual([]);
  });
});

// The dashboard in a real browser (Debian's chromium via playwright-core) against a real collector fed by a real
// MQTT edge: sign-in, bureau scoping in list and map, a chart, live values through the SSE feed, CSV export.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { startCollector, type Collector } from '../../../collector/index.js';
import { createDashboardHandler } from '../../../collector/dashboard/serve.js';
import { resolveMapConfig } from '../../../collector/dashboard/config.js';
import ExcelJS from 'exceljs';
import { Aggregate, EventKind, Severity, Verdict, type DeviceRecord, type Reading } from '../../../schema/types.js';
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
async function startFrontProxy(target: number, serveDashboard: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): Promise<FrontProxy> {
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

// A 1×1 PNG: what a tile server answers, as far as the browser's <img> is concerned.
const TILE_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

interface TileServer {
  port: number;
  /** tk= of every tile request. */
  keys: string[];
  close(): Promise<void>;
}

async function startTileServer(): Promise<TileServer> {
  const keys: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    keys.push(url.searchParams.get('tk') ?? '');
    if (!/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(url.pathname)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': TILE_PNG.length });
    res.end(TILE_PNG);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    keys,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
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
  let tiles: TileServer;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    c = await startCollector({ overrides: { dataDir: tmp.dir, httpPort: 0, mqttPort: 0 }, log: silentLogger });
    // The map: a tile server on 127.0.0.1 with a key, and a boundary around the test devices.
    tiles = await startTileServer();
    const boundary = join(tmp.dir, 'area.geojson');
    writeFileSync(boundary, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: '测试片区' }, geometry: { type: 'Polygon', coordinates: [[[121.38, 31.18], [121.45, 31.18], [121.45, 31.22], [121.38, 31.22], [121.38, 31.18]]] } }] }));
    const map = resolveMapConfig(
      { tiles: [{ name: '测试底图', url: `http://127.0.0.1:${tiles.port}/tiles/{z}/{x}/{y}.png?tk={key}`, keyEnv: 'TEST_TILE_KEY', attribution: '测试 <b>底图</b>' }], boundary },
      { TEST_TILE_KEY: 'tile-key-1' },
      fileURLToPath(new URL('../../../', import.meta.url)),
    );
    // map.json holds the tile key: only for tokens the collector accepts.
    const authorize = async (req: http.IncomingMessage) => (await fetch(`http://127.0.0.1:${c.httpPort}/api/v1/sites`, { headers: { authorization: String(req.headers.authorization ?? '') } })).ok;
    proxy = await startFrontProxy(c.httpPort, createDashboardHandler({ map, authorize }));
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
      { deviceId: 'rg-01', kind: EventKind.DEVICE_OFFLINE, severity: Severity.MAJOR, message: 'no response', code: 'timeout', ts: now - 5 * MIN, seq: seq++ },
      { deviceId: 'cam-01', kind: EventKind.VIDEO_FAULT_RAISED, severity: Severity.WARNING, message: 'too_dark warn: mean luma 21.3', code: 'too_dark', value: 0.8, ts: now - 4 * MIN, seq: seq++ },
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
    await tiles?.close();
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

  it('shows only water-shared devices in the list and on the map, coloured by worst open alarm, else health', async () => {
    const listed = await page.$$eval('.devices-table tr[data-device]', (rows) => rows.map((r) => (r as HTMLElement).dataset.device).sort());
    expect(listed).toEqual(WATER_IDS);
    const body = await page.textContent('body');
    expect(body).not.toContain('西街消火栓');
    expect(body).toContain('东村水位计');
    // The fitted map: wl-01 and rg-01 (300 m apart) share a cluster coloured by its worst member (rg-01 is offline: a
    // major device_offline alarm); cam-01 stands alone.
    await page.waitForSelector('.map-cluster');
    expect(await page.$$eval('.map-cluster', (cs) => cs.map((c) => c.textContent))).toEqual(['2']);
    expect(await page.getAttribute('.map-cluster [data-worst]', 'data-worst')).toBe('major');
    expect(await page.$$eval('.dev-marker', (ms) => ms.map((m) => (m as HTMLElement).dataset.device))).toEqual(['cam-01']);
    expect(await page.$('.dev-marker[data-device="hy-01"]')).toBeNull();
    // Tiles come from the configured server with the key from the environment; the CSP lets them in.
    await expect.poll(() => page.$$eval('img.leaflet-tile-loaded', (t) => t.length)).toBeGreaterThan(0);
    expect(new Set(tiles.keys)).toEqual(new Set(['tile-key-1']));
    expect(await page.getAttribute('.map', 'data-offline')).toBe('false');
    expect(await page.textContent('.leaflet-control-attribution')).toContain('测试 <b>底图</b>'); // config text shown as text
    expect(await page.$('path.boundary')).not.toBeNull();
    // Zoom into the cluster: its two devices appear with their health colours.
    const zoom = async () => Number(await page.getAttribute('.map-canvas', 'data-zoom'));
    const fitted = await zoom();
    await page.click('.map-cluster');
    await expect.poll(zoom).toBeGreaterThan(fitted);
    await page.waitForSelector('.dev-marker[data-device="wl-01"]');
    const healthOf = (id: string) => page.getAttribute(`.dev-marker[data-device="${id}"]`, 'data-health');
    expect(await healthOf('wl-01')).toBe('online');
    expect(await healthOf('rg-01')).toBe('major');
    // Zoom out with the control and pan by dragging.
    const zoomed = await zoom();
    await page.click('.leaflet-control-zoom-out');
    await expect.poll(zoom).toBe(zoomed - 1);
    const center = await page.getAttribute('.map-canvas', 'data-center');
    const box = (await page.$('.map-canvas'))!.boundingBox();
    const { x, y, width, height } = (await box)!;
    await page.mouse.move(x + width / 2, y + height / 2);
    await page.mouse.down();
    await page.mouse.move(x + width / 2 - 150, y + height / 2 + 60, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.getAttribute('.map-canvas', 'data-center')).not.toBe(center);
    await page.screenshot({ path: '/tmp/dashboard-map.png' });
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
    // A freshly fitted overview: wl-01 sits in the cluster; clicking the cluster zooms in to it.
    await page.click('a.tab[href="#/events"]');
    await page.click('a.tab[href="#/"]');
    await page.click('.map-cluster');
    await page.waitForSelector('.dev-marker[data-device="wl-01"]');
    await page.click('.dev-marker[data-device="wl-01"]');
    await page.waitForSelector('.chart path.series');
    expect(page.url()).toContain('#/device/wl-01');
    // No range chosen: the 24 h default narrows to the 50 minutes this young device has data for.
    await expect.poll(() => page.textContent('.chart-info')).toMatch(/原始数据.*50 个点 · 数据始于/);
    const from = Number(await page.getAttribute('.chart-box', 'data-from'));
    const to = Number(await page.getAttribute('.chart-box', 'data-to'));
    expect(to - from).toBeGreaterThan(50 * MIN);
    expect(to - from).toBeLessThan(60 * MIN);
    await page.click('button[data-range="1h"]');
    await expect.poll(() => page.textContent('.chart-info')).toMatch(/原始数据.*50 个点/);
    const points = Number(await page.getAttribute('.chart path.series', 'data-points'));
    expect(points).toBe(50);
    expect((await page.getAttribute('.chart path.series', 'd'))!.split(/[ML]/).filter(Boolean)).toHaveLength(50);
    expect(await page.getAttribute('.chart line.th-warning', 'data-value')).toBe('3.5');
    expect(await page.getAttribute('.chart line.th-alarm', 'data-value')).toBe('4.2');
    // Event texts are built from code/metric/value/threshold in the page's language; the edge's message stays as a title.
    expect(await page.textContent('.events-table')).toContain('水位 3.51 m 超过预警线 3.5 m');
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
    await page.waitForSelector('.map-cluster');
    await expect.poll(() => page.getAttribute('.map-cluster [data-worst]', 'data-worst')).toBe('online');
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

  it('says events in Chinese from their codes: offline reasons and video checks', async () => {
    await page.click('a.tab[href="#/events"]');
    await page.waitForSelector('.events-table tr[data-event]');
    const text = await page.textContent('.events-table');
    expect(text).toContain('设备离线：通信超时');
    expect(text).toContain('视频故障：亮度异常（过暗）');
    expect(text).not.toContain('no response'); // the English message is only the title
    expect(await page.getAttribute('.events-table tr[data-event] td.event-text[title="no response"]', 'title')).toBe('no response');
  });

  it('shows a camera: "no snapshot yet" on 404, then the snapshot and quality verdicts; labelled history; no overflow at 1,560 px', async () => {
    await page.setViewportSize({ width: 1560, height: 900 });
    await page.click('a.tab[href="#/"]');
    await page.click('.devices-table tr[data-device="cam-01"] a');
    await page.waitForSelector('.no-snapshot');
    expect(await page.textContent('.no-snapshot')).toBe('暂无抓图');
    await page.waitForSelector('.no-quality');
    // The edge re-registers the camera with long stream URIs, uploads a snapshot and two quality results.
    const ts = Date.now();
    const longUri = (ch: number) => `rtsp://10.0.0.9:554/Streaming/Channels/${ch}01?transportmode=unicast&profile=Profile_${ch}&token=0123456789abcdef0123456789abcdef0123456789abcdef&extra=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`;
    await edge.send({
      edgeId: EDGE, batchId: batchId++, firstSeq: seq, lastSeq: seq + 3,
      records: [{ ...records[2]!, camera: { cameraType: 'dome', fillLight: 'infrared', streamUris: [longUri(1), longUri(2)], snapshotUri: `http://10.0.0.9/ISAPI/Streaming/channels/101/picture?snapShotImageType=JPEG&token=${'f'.repeat(90)}` }, seq: seq++ }],
      snapshots: [{ deviceId: 'cam-01', ts, seq: seq++, jpeg: TINY_JPEG, width: 16, height: 12 }],
      videoQuality: [
        { deviceId: 'cam-01', ts: ts - MIN, seq: seq++, verdict: Verdict.OK, checks: [{ name: 'blur', score: 0.1, verdict: Verdict.OK }, { name: 'black', score: 0.01, verdict: Verdict.OK }] },
        { deviceId: 'cam-01', ts, seq: seq++, verdict: Verdict.WARN, checks: [{ name: 'blur', score: 0.42, verdict: Verdict.WARN, detail: 'soft focus' }, { name: 'black', score: 0.01, verdict: Verdict.OK }] },
      ],
    });
    await page.click('button.refresh-camera');
    await page.waitForSelector('img.snapshot');
    await expect.poll(() => page.$eval('img.snapshot', (img) => (img as HTMLImageElement).naturalWidth)).toBe(16);
    expect(await page.getAttribute('img.snapshot', 'src')).toMatch(/^blob:/);
    // The latest result lists each check once, by its Chinese name; earlier results show only their problems.
    await page.waitForSelector('table.quality-latest');
    expect(await page.$$eval('table.quality-latest tr[data-check]', (rows) => rows.map((r) => (r as HTMLElement).dataset.check))).toEqual(['blur', 'black']);
    const latest = await page.textContent('table.quality-latest');
    expect(latest).toContain('图像模糊');
    expect(latest).toContain('黑屏');
    expect(latest).toContain('警告');
    expect(latest).toContain('0.42');
    expect(latest).toContain('soft focus');
    expect(await page.$$eval('table.quality-history tbody tr', (rows) => rows.map((r) => r.textContent))).toEqual([expect.stringContaining('全部正常')]);
    // The device's events in Chinese.
    expect(await page.textContent('.events-table')).toContain('视频故障：亮度异常（过暗）');
    // The collector strips credentials from stream URIs before storing the record (core/records.ts withoutCredentials).
    expect(await page.textContent('.record-box')).toContain('rtsp://10.0.0.9/main');
    // Reload the page's data so the history has the re-registration.
    await page.reload();
    await page.waitForSelector('.changes .change[data-field="camera.streamUris"]');
    const history = (await page.$$eval('.changes', (cells) => cells.map((c) => c.textContent))).join('\n');
    expect(history).toContain('视频流地址：');
    expect(history).toContain('摄像机类型：– → 球机');
    expect(history).toContain('补光属性：– → 红外');
    expect(history).toContain('共享范围：– → 水务、消防');
    expect(history).not.toContain('camera.streamUris');
    expect(history).not.toContain('["');
    expect(await page.textContent('.history td:nth-child(2)')).toMatch(/^网关 edge-dash$/);
    await page.waitForSelector('table.quality-latest');
    // Nothing is wider than the window at 1,560 px, long URIs included.
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - window.innerWidth,
      panels: [...document.querySelectorAll('.panel')].map((p) => p.scrollWidth - p.clientWidth).filter((d) => d > 1),
    }));
    expect(overflow).toEqual({ page: 0, panels: [] });
    await page.screenshot({ path: '/tmp/dashboard-camera.png', fullPage: true });
    expect(await page.textContent('body')).not.toContain('secret'); // camera credentials are never shown
    await page.click('button.lang');
    await page.waitForSelector('.latest-card[data-metric="video_online"]');
    expect(await page.textContent('.latest-card[data-metric="video_online"] .metric-name')).toBe('Stream reachable');
    await page.waitForSelector('table.quality-latest');
    expect(await page.textContent('table.quality-latest')).toContain('blur');
    await page.waitForSelector('.changes .change');
    expect((await page.$$eval('.changes', (cells) => cells.map((c) => c.textContent))).join('\n')).toContain('Camera type: – → dome');
    expect(await page.textContent('.topbar nav')).toContain('Alarms & events');
    await page.click('a.tab[href="#/events"]');
    await page.waitForSelector('.events-table tr[data-event]');
    const text = await page.textContent('.events-table');
    expect(text).toContain('threshold crossed');
    expect(text).toContain('no response');
    expect(text).not.toContain('消防专用报警');
  });

  it('draws the offline map (boundary, markers, a note) when the tile server cannot be reached', async () => {
    await tiles.close();
    // A fresh browser context: no tile may come from the first page's image cache.
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
    const p2 = await ctx.newPage();
    p2.on('pageerror', (err) => pageErrors.push(err.message));
    try {
      await p2.goto(`${base}/dashboard/`);
      await p2.fill('#token', waterToken);
      await p2.click('form.login button[type=submit]');
      await p2.waitForSelector('.map[data-offline="true"]', { timeout: 15_000 });
      expect(await p2.textContent('.map-note')).toBe('离线地图：底图服务无法访问。 显示配置的区域边界与设备位置。');
      expect(await p2.$$eval('img.leaflet-tile-loaded', (t) => t.length)).toBe(0);
      expect(await p2.$('path.boundary')).not.toBeNull();
      expect(await p2.textContent('.boundary-label')).toBe('测试片区');
      expect(await p2.$$eval('.map-cluster, .dev-marker', (m) => m.length)).toBe(2);
      await p2.screenshot({ path: '/tmp/dashboard-offline.png' });
    } finally {
      await ctx.close();
    }
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

  it('draws HJ 212 period aggregates as the average line inside a min–max band', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const first = seq;
    const station: DeviceRecord = { id: 'hj-ws', name: '南淝河水质站', kind: 'station', site: { id: 'pump', name: '三号泵站', type: 'water_station' }, location: { longitude: 121.431, latitude: 31.191 }, sharingScope: ['water'], seq: seq++ };
    const readings: Reading[] = [];
    for (let h = 6; h >= 1; h--) {
      for (const [aggregate, v] of [[Aggregate.AVG, 18 + h], [Aggregate.MIN, 15 + h], [Aggregate.MAX, 22 + h]] as const) {
        readings.push({ ...reading('hj-ws', 'cod', 'mg/L', hour - h * 3_600_000, v), aggregate, periodS: 3600 });
      }
    }
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: first, lastSeq: seq - 1, records: [station], readings });
    await page.evaluate(() => (location.hash = '#/device/hj-ws?metric=cod&range=24h'));
    await page.waitForSelector('.chart-box[data-aggregate="avg/3600"] .chart .band path');
    expect(await page.getAttribute('.chart-box .chart .series', 'data-points')).toBe('6');
    expect(await page.getAttribute('.chart-box .chart .band', 'data-points')).toBe('6');
    // The latest card shows the last hour's average, not its minimum or maximum.
    expect(await page.textContent('.latest-card[data-metric="cod"] .value')).toMatch(/^19(\.0+)?\s*mg\/L$/);
    expect(pageErrors).toEqual([]);
  });

  it('draws rainfall as hourly bars with its total and intensity lines, water-quality classes, completeness, and downloads the daily report', async () => {
    const now = Date.now();
    const hour = now - (now % 3_600_000);
    // A water-quality station reporting hourly data for the last 3 hours but one (shared with water).
    const wq: DeviceRecord = {
      id: 'wq-01', name: '西河水质站', kind: 'station', profileId: 'hj212-water-quality-station', site: { id: 'xihe', name: '西河' }, sharingScope: ['water'],
      schedules: [{ name: 'hourly', intervalMs: 3_600_000, periodS: 3600, primary: true }], installedDate: new Date(now + 8 * 3_600_000).toISOString().slice(0, 10), seq: seq++,
    };
    const hourly = (h: number, metric: string, value: number) => ({ ...reading('wq-01', metric, 'mg/L', hour - h * 3_600_000, value), aggregate: Aggregate.AVG, periodS: 3600 });
    const wqReadings = [hourly(3, 'dissolved_oxygen', 6.5), hourly(3, 'ammonia_nitrogen', 0.3), hourly(1, 'dissolved_oxygen', 4.2), hourly(1, 'ammonia_nitrogen', 0.4)];
    const first = wq.seq!;
    await edge.send({ edgeId: EDGE, batchId: batchId++, firstSeq: first, lastSeq: seq - 1, records: [wq], readings: wqReadings });

    // Rainfall: 0.5 … 3.0 mm over the last hour as bars of hourly totals, 10.5 mm in all; the profile's 1-hour lines.
    await page.evaluate(() => (location.hash = '#/device/rg-01?metric=rainfall&range=24h'));
    await page.waitForSelector('.chart g.bars rect.bar');
    await expect.poll(() => page.getAttribute('.chart-box', 'data-total')).toBe('10.5');
    expect(await page.textContent('.chart-info')).toContain('合计 10.5 mm');
    expect(await page.$$eval('.chart line.threshold', (l) => l.map((x) => x.getAttribute('data-value')))).toEqual(['20', '50']);
    expect(await page.$('.metric-select + select')).toBeNull(); // no aggregate choice for rainfall

    // GB 3838 on the device page: the latest sample is class IV by dissolved oxygen.
    await page.evaluate(() => (location.hash = '#/device/wq-01'));
    await page.waitForSelector('.water-quality .wq-latest');
    expect(await page.textContent('.water-quality .wq-latest .wq-class')).toBe('IV类');
    expect(await page.textContent('.water-quality .deciding')).toBe('定类因子: 溶解氧');

    // Completeness per bureau: the station's day so far, with the missing hour listed under it.
    await page.click('a.tab[href="#/completeness"]');
    await page.waitForSelector('.completeness tr[data-device="wq-01"]');
    const missing = await page.textContent('tr[data-missing-for="wq-01"]');
    expect(missing).toContain(new Date(hour - 2 * 3_600_000 + 8 * 3_600_000).toISOString().slice(11, 16));
    expect(await page.$('.completeness tr[data-device="hy-01"]')).toBeNull(); // fire's device

    // The daily report of today, as Excel: it opens, and the station's numbers are the API's.
    const today = new Date(now + 8 * 3_600_000).toISOString().slice(0, 10);
    await page.fill('input.report-date', today);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.download-report')]);
    expect(download.suggestedFilename()).toBe(`daily-report-${today}.xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile((await download.path())!);
    const sheet = wb.getWorksheet('站点到报率')!;
    const header = sheet.getRow(1).values as unknown[];
    const row = [...Array(sheet.rowCount).keys()].map((i) => sheet.getRow(i + 1)).find((r) => r.getCell(header.indexOf('设备编码')).value === 'wq-01')!;
    const api = (await (await fetch(`${base}/api/v1/reports/daily?date=${today}`, { headers: { authorization: `Bearer ${waterToken}` } })).json()) as { stations: { device: string; expected: number; received: number }[] };
    const st = api.stations.find((x) => x.device === 'wq-01')!;
    expect([row.getCell(header.indexOf('应到数')).value, row.getCell(header.indexOf('实到数')).value]).toEqual([st.expected, st.received]);
    // Two hourly reports were sent (3 h and 1 h ago); those of today (Beijing time) count in today's report.
    expect(st.received).toBe([3, 1].filter((h) => new Date(hour - h * 3_600_000 + 8 * 3_600_000).toISOString().slice(0, 10) === today).length);
    await page.screenshot({ path: '/tmp/dashboard-completeness.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});

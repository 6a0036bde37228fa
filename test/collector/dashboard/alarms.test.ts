// The alarm views in a real browser (Debian's chromium via playwright-core) against a real collector that serves the
// dashboard itself, fed by a real MQTT edge: raise → visible within seconds through the live feed (open list,
// counts, map marker, device row) → an operator acknowledges → cleared with its duration; a viewer gets no
// acknowledge button; the device page draws the lines the edge applied; the delivery log shows the notification.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { startCollector, type Collector } from '../../../collector/index.js';
import { DEFAULT_ALARMS_CONFIG } from '../../../collector/alarms/config.js';
import { defaultConfig } from '../../../collector/config.js';
import type { Alarm } from '../../../collector/store/index.js';
import type { DeviceRecord } from '../../../schema/types.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';
import { apiJson, tempDir } from '../helpers.js';
import { EventEdge } from '../alarms/edge-events.js';

const EDGE = 'edge-alarm-ui';
const MIN = 60_000;
const records: DeviceRecord[] = [
  { id: 'wl-01', name: '东村水位计', kind: 'sensor', profileId: 'radar-level-modbus', site: { id: 'dongcun', name: '东村', type: 'village' }, location: { longitude: 121.401, latitude: 31.201 }, sharingScope: ['water'], seq: 1 },
  { id: 'wl-02', name: '南桥水位计', kind: 'sensor', profileId: 'radar-level-modbus', site: { id: 'nanqiao', name: '南桥', type: 'village' }, location: { longitude: 121.6, latitude: 31.0 }, sharingScope: ['water'], seq: 2 },
  { id: 'hy-01', name: '西街消火栓', kind: 'sensor', site: { id: 'xijie', name: '西街', type: 'street' }, location: { longitude: 121.37, latitude: 31.21 }, sharingScope: ['fire'], seq: 3 },
];

describe('alarm views in chromium', () => {
  const tmp = tempDir('yiwang-alarm-ui-');
  let c: Collector;
  let edge: EventEdge;
  let hook: Receiver;
  let browser: Browser;
  let opsContext: BrowserContext;
  let ops: Page;
  let viewer: Page;
  let tokens: Record<string, string>;
  let base: string;
  const pageErrors: string[] = [];

  const signIn = async (page: Page, token: string) => {
    await page.goto(`${base}/dashboard/`);
    await page.fill('#token', token);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('.devices-table tr[data-device]');
    await page.waitForSelector('.feed-state[data-state="live"]');
  };

  beforeAll(async () => {
    hook = await startReceiver(() => ({ text: 'ok' }));
    const cfg = defaultConfig();
    cfg.dataDir = tmp.dir;
    cfg.http = { host: '127.0.0.1', port: 0 };
    cfg.mqtt = { embedded: { host: '127.0.0.1', port: 0 } };
    cfg.alarms = { ...DEFAULT_ALARMS_CONFIG, deliveryPollMs: 100 };
    cfg.notify = { channels: [{ id: 'water-hook', type: 'webhook', url: `${hook.url}/h`, bureau: 'water' }], rules: [{ id: 'water', bureau: 'water', channels: ['water-hook'] }] };
    c = await startCollector({ config: cfg, log: silentLogger });
    base = `http://127.0.0.1:${c.httpPort}`;
    const pw = await c.addEdge(EDGE);
    tokens = {
      ops: await c.createToken({ name: '水务值班', bureau: 'water', role: 'operator' }),
      viewer: await c.createToken({ name: '水务查看', bureau: 'water' }),
    };
    edge = await EventEdge.connect(c.mqttPort!, EDGE, pw);
    await edge.edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: 3, records });
    const now = Date.now();
    await edge.send({ readings: Array.from({ length: 20 }, (_, i) => ({ deviceId: 'wl-01', metric: 'water_level', value: 3 + i * 0.02, ts: now - (20 - i) * MIN })) });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    opsContext = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    ops = await opsContext.newPage();
    viewer = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' })).newPage();
    for (const p of [ops, viewer]) {
      p.on('pageerror', (err) => pageErrors.push(err.message));
      p.on('console', (m) => m.type() === 'error' && !/404|Failed to load resource/.test(m.text()) && pageErrors.push(m.text()));
    }
    await signIn(ops, tokens.ops!);
    await signIn(viewer, tokens.viewer!);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await edge?.close();
    await c?.stop();
    await hook?.close();
    tmp.remove();
  });

  let alarmId = 0;

  it('shows a raised alarm within seconds through the live feed: list, counts, nav badge, device row and map marker', async () => {
    expect(await ops.textContent('.open-alarms')).toContain('当前没有告警');
    const t = Date.now();
    await edge.send({ events: [edge.raise('wl-01', { severity: 2, value: 4.31, threshold: 4.0, ts: t })], readings: [{ deviceId: 'wl-01', metric: 'water_level', value: 4.31, ts: t }] });
    for (const p of [ops, viewer]) {
      await expect.poll(() => p.$$eval('.open-alarms-table tr[data-alarm]', (r) => r.length), { timeout: 5000 }).toBe(1);
    }
    const row = await ops.textContent('.open-alarms-table tr[data-alarm]');
    expect(row).toContain('水位超过报警线');
    expect(row).toContain('4.31 m');
    expect(row).toContain('未确认');
    alarmId = Number(await ops.getAttribute('.open-alarms-table tr[data-alarm]', 'data-alarm'));
    expect(await ops.textContent('.alarm-stat[data-severity="major"] b')).toBe('1');
    expect(await ops.textContent('.nav-count')).toBe('1');
    expect(await ops.getAttribute('.devices-table tr[data-device="wl-01"]', 'data-alarm')).toBe('major');
    expect(await ops.getAttribute('.devices-table tr[data-device="wl-02"]', 'data-alarm')).toBeNull();
    // The map: wl-01 apart from wl-02, its marker coloured by the alarm.
    await expect.poll(() => ops.getAttribute('.dev-marker[data-device="wl-01"]', 'data-health'), { timeout: 5000 }).toBe('major');
    expect(await ops.getAttribute('.dev-marker[data-device="wl-02"]', 'data-health')).toBe('unknown'); // no data yet, no alarm
    // Another bureau's devices are not on the page at all.
    expect(await ops.textContent('body')).not.toContain('西街消火栓');
  });

  it('gives a viewer no acknowledge button', async () => {
    expect(await viewer.$('.open-alarms-table button.ack')).toBeNull();
    expect(await ops.$('.open-alarms-table button.ack')).not.toBeNull();
  });

  it('lets an operator acknowledge with a comment; the viewer sees it acknowledged live', async () => {
    await ops.click(`.open-alarms-table tr[data-alarm="${alarmId}"] button.ack`);
    await ops.fill(`.open-alarms-table tr[data-alarm="${alarmId}"] input.ack-comment`, '已通知巡河员现场查看');
    await ops.click(`.open-alarms-table tr[data-alarm="${alarmId}"] button.ack-send`);
    await expect.poll(() => ops.textContent(`.open-alarms-table tr[data-alarm="${alarmId}"]`), { timeout: 5000 }).toContain('已确认');
    const a = (await apiJson<Alarm>(c.httpPort, tokens.viewer, `/api/v1/alarms/${alarmId}`)).body;
    expect(a).toMatchObject({ state: 'acknowledged', acknowledgedBy: '水务值班', ackComment: '已通知巡河员现场查看' });
    await expect.poll(() => viewer.textContent(`.open-alarms-table tr[data-alarm="${alarmId}"]`), { timeout: 5000 }).toContain('已确认');
  });

  it('draws the lines the edge applied on the device chart and lists the device\'s alarms', async () => {
    await ops.click('.devices-table tr[data-device="wl-01"] a');
    await ops.waitForSelector(`.device-alarms tr[data-alarm="${alarmId}"]`);
    // The profile says 4.2 m; the edge raised at 4.0 m (a line changed for this device): the chart shows 4.0.
    await expect.poll(() => ops.getAttribute('.chart line.th-alarm', 'data-value'), { timeout: 5000 }).toBe('4');
    expect(await ops.getAttribute('.chart line.th-warning', 'data-value')).toBe('3.5');
  });

  it('takes the alarm off the open list when the level falls, and shows it cleared with its duration', async () => {
    await ops.click('a.tab[href="#/"]');
    await ops.waitForSelector(`.open-alarms-table tr[data-alarm="${alarmId}"]`);
    const raisedAt = (await apiJson<Alarm>(c.httpPort, tokens.ops, `/api/v1/alarms/${alarmId}`)).body.raisedAt;
    await edge.send({ events: [edge.clear('wl-01', { level: 'alarm', value: 3.2, threshold: 4.0, ts: raisedAt + 125_000 })] });
    await expect.poll(() => ops.$$eval('.open-alarms-table tr[data-alarm]', (r) => r.length), { timeout: 5000 }).toBe(0);
    expect(await ops.textContent('.alarm-stat[data-severity="major"] b')).toBe('0');
    expect(await ops.getAttribute('.devices-table tr[data-device="wl-01"]', 'data-alarm')).toBeNull();
    await ops.click('a.tab[href="#/alarms"]');
    await ops.click('.alarms-panel button[data-state="cleared"]');
    await ops.waitForSelector(`.alarms-table tr[data-alarm="${alarmId}"]`);
    const cleared = await ops.textContent(`.alarms-table tr[data-alarm="${alarmId}"]`);
    expect(cleared).toContain('已恢复');
    expect(cleared).toContain('2分');
    // Its page: the history of transitions, and the notifications that went out.
    await ops.click(`.alarms-table tr[data-alarm="${alarmId}"]`);
    await ops.waitForSelector('.alarm-history tr[data-transition="cleared"]');
    expect(await ops.$$eval('.alarm-history tr[data-transition]', (r) => r.map((x) => (x as HTMLElement).dataset.transition))).toEqual(['raised', 'acknowledged', 'cleared']);
    await expect.poll(async () => {
      await ops.reload();
      await ops.waitForSelector('.alarm-history');
      return ops.$$eval('.deliveries-table tr[data-status="sent"]', (r) => r.length);
    }, { timeout: 10_000 }).toBe(2); // raised and cleared (this rule does not announce acknowledgements)
    expect(hook.requests.map((r) => r.headers['x-yiwang-event'])).toEqual(['alarm.raised', 'alarm.cleared']);
  });

  it('shows the delivery log and speaks English when asked', async () => {
    await ops.click('a.tab[href="#/deliveries"]');
    await ops.waitForSelector('.deliveries-table tr[data-delivery]');
    expect(await ops.textContent('.deliveries-table')).toContain('已发送');
    await ops.click('button.lang');
    await ops.click('a.tab[href="#/alarms"]');
    await ops.click('.alarms-panel button[data-state="cleared"]');
    await ops.waitForSelector(`.alarms-table tr[data-alarm="${alarmId}"]`);
    expect(await ops.textContent(`.alarms-table tr[data-alarm="${alarmId}"]`)).toContain('Water level above alarm level');
    await ops.screenshot({ path: '/tmp/dashboard-alarms.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});

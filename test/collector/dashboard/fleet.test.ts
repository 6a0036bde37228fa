// The dashboard's edge gateway page (admin tokens) and effective threshold lines, in Debian's chromium against a
// real collector: an edge reports a refused configuration, its clock and device counts; its device's record
// carries the levels the edge applies (a site's warning line instead of the profile's).
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { loadOrCreateEdgeKey } from '../../../core/seal.js';
import { startCollector, type Collector } from '../../../collector/index.js';
import { encodeEdgeReport, encodeEdgeStatus } from '../../../schema/codec.js';
import { topics } from '../../../schema/topics.js';
import type { DeviceRecord, Reading } from '../../../schema/types.js';
import { tempDir, TestEdge, waitFor } from '../helpers.js';

const EDGE = 'edge-fleet';

describe('edge gateways page and effective thresholds in chromium', () => {
  const tmp = tempDir('yiwang-fleet-');
  let c: Collector;
  let edge: TestEdge;
  let browser: Browser;
  let page: Page;
  let admin = '';
  let water = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    c = await startCollector({ overrides: { dataDir: tmp.dir, httpPort: 0, mqttPort: 0 }, log: silentLogger });
    const pw = await c.addEdge(EDGE);
    admin = await c.createToken({ name: 'ops', admin: true });
    water = await c.createToken({ name: 'water', bureau: 'water' });
    // Two versions desired; the edge runs the first and refused the second.
    for (const name of ['一号', '二号']) {
      await c.store.edgeConfigs.update(EDGE, 'admin:ops', () => ({ doc: JSON.stringify({ devices: [{ id: 'wl-01', profile: 'radar-level-modbus', name, connection: {} }] }), changes: [], devices: ['wl-01'] }));
    }
    edge = await TestEdge.connect(c.mqttPort!, EDGE, pw);
    const record: DeviceRecord = {
      id: 'wl-01', name: '前池水位', kind: 'sensor', profileId: 'radar-level-modbus', site: { id: 'QC01', name: '前池' }, sharingScope: ['water'], seq: 1,
      thresholds: [{ metric: 'water_level', warning: 2.8, alarm: 4.2, direction: 'above', hysteresis: 0.05, source: 'site' }],
    };
    const now = Date.now();
    const readings: Reading[] = Array.from({ length: 20 }, (_, i) => ({ deviceId: 'wl-01', metric: 'water_level', unit: 'm', number: 2.5 + i * 0.02, ts: now - (20 - i) * 60_000, seq: 2 + i, quality: 0 }));
    await edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: 21, records: [record], readings });
    const key = loadOrCreateEdgeKey(join(tmp.dir, 'edge.pem'));
    const ctl = await mqtt.connectAsync(`mqtt://127.0.0.1:${c.mqttPort}`, { username: EDGE, password: pw, reconnectPeriod: 0 });
    await ctl.publishAsync(topics.status(EDGE), Buffer.from(encodeEdgeStatus({ edgeId: EDGE, online: true, ts: now, version: '1.4.0', configKey: key.publicKey, managed: true, appliedConfigVersion: 1 })), { qos: 1 });
    await ctl.publishAsync(topics.report(EDGE), Buffer.from(encodeEdgeReport({
      edgeId: EDGE, ts: Date.now() + 120_000, version: '1.4.0', managed: true, appliedVersion: 1, failedVersion: 2,
      errors: [{ path: 'devices[0].connection.host', message: 'is required' }], devices: { online: 3, offline: 1 }, bufferFill: 0.125, backlogItems: 40, droppedReadings: 0,
    })), { qos: 1 });
    await ctl.endAsync();
    await waitFor('the report stored', async () => (await c.store.edgeConfigs.state(EDGE))?.failedVersion === 2);

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await edge?.close();
    await c?.stop();
    tmp.remove();
  });

  const signIn = async (token: string) => {
    // A fresh tab: its sessionStorage is empty from the start. (Clearing the old tab's storage races with the previous
    // session's sign-in still writing its token back on a slow machine.)
    await page.close();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${c.httpPort}/dashboard/`);
    await page.fill('#token', token);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('.devices-table');
  };

  it('shows an admin each edge: link, software, applied vs desired configuration with the edge\'s problems, clock, buffer, devices', async () => {
    await signIn(admin);
    await page.click('a.tab[href="#/fleet"]');
    const row = `.fleet-table tr[data-edge="${EDGE}"]`;
    await page.waitForSelector(row);
    const text = (await page.textContent(row))!;
    expect(text).toContain('在线');
    expect(text).toContain('1.4.0');
    expect(text).toContain('平台管理');
    expect(text).toContain('v1 / v2 · 被拒绝');
    expect(text).toMatch(/\+1[12]\d\.\d s/);
    expect(text).toContain('12.5 %');
    expect(text).toContain('3 / 0 / 1 / 0');
    expect(await page.textContent('.fleet-problems')).toContain('devices[0].connection.host: is required');
    expect(pageErrors).toEqual([]);
  });

  it('draws the levels the edge applies on the device chart (the site\'s 2.8 m, not the profile\'s 3.5 m)', async () => {
    await page.evaluate(() => (location.hash = '#/device/wl-01'));
    await page.waitForSelector('.chart line.th-warning', { state: 'attached' });
    expect(await page.getAttribute('.chart line.th-warning', 'data-value')).toBe('2.8');
    expect(await page.getAttribute('.chart line.th-alarm', 'data-value')).toBe('4.2');
  });

  it('has no edge gateway page for a bureau', async () => {
    await signIn(water);
    expect(await page.$('a.tab[href="#/fleet"]')).toBeNull();
    await page.evaluate(() => (location.hash = '#/fleet'));
    await page.waitForSelector('.devices-table');
    expect(await page.$('.fleet-table')).toBeNull();
  });
});

// Issue 14's "done when", end to end with real processes and receivers: the demo scenario's rain pushes a radar
// gauge (Modbus simulator, driven through the flood by the test's clock) over its warning and then its alarm line;
// the edge (`node bin/yiwang.js edge`) raises, the collector (`node bin/yiwang.js collector`, tokens and edge made
// with its CLI, secrets in collector.env) shows the active alarm on its dashboard (Chromium) and notifies a
// webhook, WeCom- and DingTalk-format robots and a real SMTP server (STARTTLS) in Chinese; a viewer cannot
// acknowledge and another bureau sees nothing; an operator acknowledges; the level falls; the alarm clears with
// its duration and the clearing is announced too.
import { execFileSync } from 'node:child_process';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../core/net.js';
import type { Alarm, AlarmDetail, DeliveryLogEntry } from '../../collector/store/index.js';
import { Scenario } from '../../demo/scenario.js';
import { startModbusSimulator } from '../../demo/simulators/modbus-sim.js';
import { dingtalkBody, RECEIVER_ENV, startAlarmReceivers, webhookBody, wecomBody, type AlarmReceivers } from '../helpers/alarm-receivers.js';
import { EdgeProcess, writeEdgeConfig } from '../fixtures/edge-process.js';
import { api, apiJson, portOpen, stopProcess, tempDir, waitFor } from '../collector/helpers.js';

const DEVICE = 'VL01-WL-01';
const cli = (configFile: string, ...args: string[]) => execFileSync(process.execPath, ['bin/yiwang.js', 'collector', ...args, '--config', configFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

describe('alarms that reach people (issue 14, done when)', () => {
  const tmp = tempDir('yiwang-alarm-e2e-');
  let rx: AlarmReceivers;
  let collector: ChildProcess | undefined;
  let edge: EdgeProcess | undefined;
  let modbus: Awaited<ReturnType<typeof startModbusSimulator>>;
  let browser: Browser | undefined;
  let http: number;
  const tok: Record<string, string> = {};
  // The demo's flood, walked by the test: the simulator reports the level at the scenario time `vt`.
  const scenario = new Scenario({ startedAt: Date.UTC(2026, 6, 1), rainCycleMs: 600_000 });
  let vt = scenario.at(0.05);
  const alarms = async (t: string) => (await apiJson<{ alarms: Alarm[] }>(http, t, `/api/v1/alarms?device=${DEVICE}`)).body.alarms ?? [];
  const titles = () => rx.webhook.requests.map((r) => webhookBody(r).title);

  beforeAll(async () => {
    rx = await startAlarmReceivers(tmp.dir);
    http = await freePort();
    const mqtt = await freePort();
    const configFile = join(tmp.dir, 'collector.yaml');
    writeFileSync(configFile, YAML.stringify({
      dataDir: join(tmp.dir, 'collector'),
      http: { host: '127.0.0.1', port: http },
      mqtt: { embedded: { host: '127.0.0.1', port: mqtt } },
      alarms: { deliveryPollMs: 200 },
      notify: {
        dashboardUrl: `http://127.0.0.1:${http}/dashboard/`,
        channels: rx.channels('water'),
        rules: [{ id: 'water-flood', bureau: 'water', severities: ['warning', 'major', 'critical'], channels: ['hook', 'wecom', 'dingtalk', 'mail'] }],
      },
    }));
    // Secrets only in the env file next to the config, as the service's EnvironmentFile.
    writeFileSync(join(tmp.dir, 'collector.env'), Object.entries(RECEIVER_ENV).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
    const password = cli(configFile, 'edge', 'add', '--id', 'edge-vl01');
    tok.operator = cli(configFile, 'token', 'create', '--bureau', 'water', '--role', 'operator', '--name', '水务值班');
    tok.viewer = cli(configFile, 'token', 'create', '--bureau', 'water', '--name', '水务查看');
    tok.fire = cli(configFile, 'token', 'create', '--bureau', 'fire', '--role', 'operator', '--name', '消防值班');
    expect(cli(configFile, 'token', 'list')).toMatch(/水务值班\twater\toperator/);
    collector = spawn(process.execPath, ['bin/yiwang.js', 'collector', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, YIWANG_LOG_LEVEL: 'error' } });
    await waitFor('collector serving', () => portOpen(http), 60_000);

    modbus = await startModbusSimulator({ 1: () => ({ holding: { 0: Math.round(scenario.waterLevelM(vt) * 100), 1: 1200, 2: 0xffb5, 3: 1236 } }) });
    const adminPort = await freePort();
    const edgeConfig = writeEdgeConfig(tmp.dir, {
      edge: { id: 'edge-vl01' },
      site: { id: 'VL01', name: '杨庙村', type: 'village', location: { longitude: 117.13, latitude: 31.98 } },
      uplink: { url: `mqtt://127.0.0.1:${mqtt}`, password },
      buffer: { dir: join(tmp.dir, 'edge-buffer'), commitIntervalMs: 100 },
      admin: { host: '127.0.0.1', port: adminPort },
      devices: [{ id: DEVICE, name: '村口河道水位', profile: 'radar-level-modbus', sharingScope: ['water', 'emergency'], connection: { host: '127.0.0.1', port: modbus.port, unitId: 1, pollIntervalMs: 300 } }],
    });
    edge = await new EdgeProcess(edgeConfig, adminPort, { YIWANG_LOG_LEVEL: 'error' }).ready(60_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await edge?.kill('SIGTERM');
    await stopProcess(collector);
    await modbus?.stop();
    await rx?.close();
    tmp.remove();
  });

  let id = 0;

  it('dry weather: readings flow, no alarm', async () => {
    await waitFor('readings at the collector', async () => ((await apiJson<{ latest?: { device: string }[] }>(http, tok.viewer, '/api/v1/latest?metric=water_level')).body.latest ?? []).some((l) => l.device === DEVICE), 30_000);
    expect(await alarms(tok.viewer!)).toEqual([]);
  });

  it('rain lifts the gauge over its warning line: an active alarm, and Chinese messages on every channel', async () => {
    vt = scenario.at(0.3);
    expect(scenario.waterLevelM(vt)).toBeGreaterThan(3.5);
    await waitFor('warning alarm', async () => (await alarms(tok.viewer!)).some((a) => a.state === 'active'), 15_000);
    const [a] = await alarms(tok.viewer!);
    id = a!.id;
    expect(a).toMatchObject({ kind: 'threshold', severity: 'warning', code: 'water_level.warning', threshold: 3.5, deviceName: '村口河道水位', siteName: '杨庙村' });
    await waitFor('raised on all four channels', () => rx.webhook.requests.length >= 1 && rx.wecom.requests.length >= 1 && rx.dingtalk.requests.length >= 1 && rx.smtp.received.length >= 1, 15_000);
    const title = '【告警·预警】杨庙村 村口河道水位 水位超过预警线';
    expect(titles()[0]).toBe(title);
    expect(wecomBody(rx.wecom.requests[0]!).text!.content.startsWith(title)).toBe(true);
    expect(dingtalkBody(rx.dingtalk.requests[0]!).markdown!.title).toBe(title);
    expect(rx.smtp.received[0]!.mail.subject).toBe(title);
    expect(rx.smtp.received[0]!.mail.text).toContain('阈值：预警线 3.5 m');
    expect(rx.smtp.received[0]!.mail.text).toContain(`查看：http://127.0.0.1:${http}/dashboard/#/device/${DEVICE}`);
  });

  it('…and over its alarm line: the same alarm escalates to major, announced again', async () => {
    vt = scenario.at(0.5);
    expect(scenario.waterLevelM(vt)).toBeGreaterThan(4.2);
    await waitFor('escalated', async () => (await alarms(tok.viewer!))[0]?.severity === 'major', 15_000);
    expect(await alarms(tok.viewer!)).toHaveLength(1);
    await waitFor('escalation messages', () => titles().includes('【告警升级·重要】杨庙村 村口河道水位 水位超过报警线') && rx.smtp.received.length >= 2, 15_000);
    expect(rx.wecom.requests.map((r) => wecomBody(r).text!.content.split('\n')[0])).toContain('【告警升级·重要】杨庙村 村口河道水位 水位超过报警线');
  });

  it('shows the active alarm on the dashboard', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    const page = await browser.newPage({ locale: 'zh-CN' });
    await page.goto(`http://127.0.0.1:${http}/dashboard/`);
    await page.fill('#token', tok.viewer!);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector(`.open-alarms-table tr[data-alarm="${id}"]`);
    expect(await page.textContent(`.open-alarms-table tr[data-alarm="${id}"]`)).toContain('水位超过报警线');
    expect(await page.getAttribute(`.devices-table tr[data-device="${DEVICE}"]`, 'data-alarm')).toBe('major');
    expect(await page.$('.open-alarms-table button.ack')).toBeNull(); // a viewer
  });

  it('refuses a viewer\'s acknowledgement (403) and shows another bureau nothing of it', async () => {
    expect((await api(http, tok.viewer, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: '{"comment":"x"}' })).status).toBe(403);
    expect((await api(http, tok.fire, `/api/v1/alarms?device=${DEVICE}`)).status).toBe(404);
    expect((await apiJson<{ alarms: Alarm[] }>(http, tok.fire, '/api/v1/alarms')).body.alarms).toEqual([]);
    expect((await api(http, tok.fire, `/api/v1/alarms/${id}`)).status).toBe(404);
    expect((await api(http, tok.fire, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await apiJson<{ deliveries: unknown[] }>(http, tok.fire, '/api/v1/notify/deliveries')).body.deliveries).toEqual([]);
  });

  it('an operator acknowledges; the level falls; the alarm clears with its duration, announced on every channel', async () => {
    const ack = await apiJson<Alarm>(http, tok.operator, `/api/v1/alarms/${id}/ack`, { method: 'POST', body: JSON.stringify({ comment: '已通知巡河员加强巡查' }) });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: '水务值班' });
    vt = scenario.at(0.7);
    expect(scenario.waterLevelM(vt)).toBeLessThan(3.45);
    await waitFor('cleared', async () => (await alarms(tok.viewer!))[0]?.state === 'cleared', 15_000);
    const a = (await apiJson<AlarmDetail>(http, tok.viewer, `/api/v1/alarms/${id}`)).body;
    expect(a.durationMs).toBe(a.clearedAt! - a.raisedAt);
    expect(a.durationMs).toBeGreaterThan(0);
    expect(a.peak).toBeGreaterThan(4.2);
    // The level fell from the crest to below both lines between two polls: one clear from the alarm level.
    expect(a.history.map((h) => h.transition)).toEqual(['raised', 'escalated', 'acknowledged', 'cleared']);
    await waitFor('cleared messages', () => titles().some((t) => t.startsWith('【告警恢复')) && rx.smtp.received.length >= 3, 15_000);
    const cleared = webhookBody(rx.webhook.requests.find((r) => r.headers['x-yiwang-event'] === 'alarm.cleared')!);
    expect(cleared.title).toBe('【告警恢复·重要】杨庙村 村口河道水位 水位超过报警线');
    expect(cleared.text).toContain('持续时长：');
    expect(cleared.text).toMatch(/峰值：4\.\d+ m/);
    expect(rx.smtp.received.at(-1)!.mail.subject).toBe('【告警恢复·重要】杨庙村 村口河道水位 水位超过报警线');
    // The delivery log: every message sent, nothing failed.
    const log = (await apiJson<{ deliveries: DeliveryLogEntry[] }>(http, tok.operator, `/api/v1/notify/deliveries?alarm=${id}`)).body.deliveries;
    expect(log.map((d) => d.status).every((s) => s === 'sent')).toBe(true);
    expect(new Set(log.map((d) => `${d.transition}:${d.channel}`)).size).toBe(12); // raised, escalated, cleared × 4 channels
  });
});

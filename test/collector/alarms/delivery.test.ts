// Alarm notifications through the durable delivery queue to real receivers on 127.0.0.1, on both stores: one
// message per transition and channel (webhook HMAC, WeCom, DingTalk signed, SMTP STARTTLS), in Chinese; retries
// with backoff until delivered; permanent failures logged; a storm becomes one digest; a robot's minute budget
// defers the rest; quiet hours hold messages back; acknowledgements announced when a rule asks; the delivery log
// and the rules API scoped per bureau, rules managed by operators only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventKind, Severity, type DeviceRecord } from '../../../schema/types.js';
import type { Collector } from '../../../collector/index.js';
import type { DeliveryLogEntry } from '../../../collector/store/index.js';
import { DEFAULT_ALARMS_CONFIG } from '../../../collector/alarms/config.js';
import { dingtalkBody, RECEIVER_ENV, startAlarmReceivers, webhookBody, wecomBody, type AlarmReceivers } from '../../helpers/alarm-receivers.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';
import { api, apiJson, startTestCollector, STORES, tempDir, testStore, waitFor } from '../helpers.js';
import { EventEdge } from './edge-events.js';

const EDGE = 'edge-notify';
const site = { id: 'dongcun', name: '东村', type: 'village' };
const records: DeviceRecord[] = [
  { id: 'wl-01', name: '东村水位计', kind: 'sensor', site, sharingScope: ['water', 'emergency'], seq: 1 },
  { id: 'hy-01', name: '西街消火栓', kind: 'sensor', site: { id: 'xijie', name: '西街', type: 'street' }, sharingScope: ['fire'], seq: 2 },
  ...Array.from({ length: 8 }, (_, i): DeviceRecord => ({ id: `aq-0${i}`, name: `空气站${i}`, kind: 'sensor', site, sharingScope: ['environment'], seq: 3 + i })),
];

describe.each(STORES)('alarm notifications (%s store)', (kind) => {
  const tmp = tempDir('yiwang-notify-');
  let c: Collector;
  let cleanup: () => Promise<void>;
  let edge: EventEdge;
  let rx: AlarmReceivers;
  let envHook: Receiver;
  let emHook: Receiver;
  let fireRobot: Receiver;
  const tok: Record<string, string> = {};
  const t0 = Date.now() - 300_000;
  const log = async (t: string, q = '') => (await apiJson<{ deliveries: DeliveryLogEntry[] }>(c.httpPort, t, `/api/v1/notify/deliveries${q}`)).body.deliveries;

  beforeAll(async () => {
    Object.assign(process.env, RECEIVER_ENV);
    rx = await startAlarmReceivers(tmp.dir);
    [envHook, emHook, fireRobot] = await Promise.all([startReceiver(() => ({ text: 'ok' })), startReceiver(() => ({ text: 'ok' })), startReceiver()]);
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startTestCollector(tmp.dir, (cfg) => {
      cfg.alarms = { ...DEFAULT_ALARMS_CONFIG, deliveryPollMs: 100, retryBaseMs: 300, retryMaxMs: 1000 };
      cfg.notify = {
        dashboardUrl: 'https://yiwang.example/dashboard/',
        digest: { threshold: 5, windowS: 60 },
        channels: [
          ...rx.channels('water'),
          { id: 'hook-env', type: 'webhook', url: `${envHook.url}/env`, bureau: 'environment' },
          { id: 'hook-em', type: 'webhook', url: `${emHook.url}/em`, bureau: 'emergency' },
          { id: 'fire-robot', type: 'dingtalk', url: `${fireRobot.url}/robot/send`, accessTokenEnv: 'YW_TEST_DINGTALK_TOKEN', bureau: 'fire', ratePerMinute: 2 },
        ],
        rules: [
          { id: 'water-all', bureau: 'water', channels: ['hook', 'wecom', 'dingtalk', 'mail'] },
          { id: 'water-acks', bureau: 'water', transitions: ['acknowledged'], channels: ['hook'] },
          { id: 'env-all', bureau: 'environment', channels: ['hook-env'] },
          // Emergency: always quiet except for critical alarms.
          { id: 'em-night', bureau: 'emergency', quietHours: { from: '00:00', to: '23:59', exceptCritical: true }, channels: ['hook-em'] },
          { id: 'fire-all', bureau: 'fire', channels: ['fire-robot'] },
        ],
      };
    }, s.url);
    const pw = await c.addEdge(EDGE);
    for (const b of ['water', 'fire', 'environment', 'emergency']) tok[b] = await c.createToken({ name: `${b}-viewer`, bureau: b });
    tok.waterOps = await c.createToken({ name: 'water-duty', bureau: 'water', role: 'operator' });
    tok.fireOps = await c.createToken({ name: 'fire-duty', bureau: 'fire', role: 'operator' });
    tok.admin = await c.createToken({ name: 'ops', admin: true });
    edge = await EventEdge.connect(c.mqttPort!, EDGE, pw);
    await edge.edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: records.length, records });
  });
  afterAll(async () => {
    await edge?.close();
    await c?.stop();
    await rx?.close();
    await Promise.all([envHook?.close(), emHook?.close(), fireRobot?.close()]);
    await cleanup();
    tmp.remove();
  });

  let alarmId = '';

  it('sends one Chinese message per channel when an alarm is raised: webhook (HMAC), WeCom, DingTalk (signed), e-mail', async () => {
    await edge.send({ events: [edge.raise('wl-01', { value: 3.52, threshold: 3.5, ts: t0 })] });
    await waitFor('all four channels', () => rx.webhook.requests.length >= 1 && rx.wecom.requests.length >= 1 && rx.dingtalk.requests.length >= 1 && rx.smtp.received.length >= 1, 15_000);
    const hook = webhookBody(rx.webhook.requests[0]!);
    expect(hook).toMatchObject({ type: 'alarm', transition: 'raised', lang: 'zh', title: '【告警·预警】东村 东村水位计 水位超过预警线' });
    alarmId = hook.alarm!.id;
    expect(rx.webhook.requests[0]!.headers['x-yiwang-delivery']).toBe(`hook:${alarmId}:${t0}:1`);
    expect(hook.text).toContain('监测值：水位 3.52 m');
    expect(hook.text).toContain('阈值：预警线 3.5 m');
    expect(hook.text).toContain(`查看：https://yiwang.example/dashboard/#/device/wl-01`);
    expect(wecomBody(rx.wecom.requests[0]!).text!.content).toContain('设备：东村水位计（wl-01）');
    expect(dingtalkBody(rx.dingtalk.requests[0]!).markdown!.title).toBe('【告警·预警】东村 东村水位计 水位超过预警线');
    const mail = rx.smtp.received[0]!;
    expect(mail.mail.subject).toBe('【告警·预警】东村 东村水位计 水位超过预警线');
    expect(mail.mail.text).toContain('级别：预警');
    // The delivery log says what went where; only the water bureau sees its rows.
    await waitFor('log rows sent', async () => (await log(tok.water!, `?alarm=${alarmId}`)).filter((d) => d.status === 'sent').length === 4, 5000);
    const rows = await log(tok.water!, `?alarm=${alarmId}`);
    expect(rows.map((d) => d.channel).sort()).toEqual(['dingtalk', 'hook', 'mail', 'wecom']);
    expect(rows.find((d) => d.channel === 'mail')).toMatchObject({ transition: 'raised', attempts: 1, channelType: 'email', target: expect.stringContaining('du***@water.example'), rules: ['water-all'] });
    expect(await log(tok.fire!)).toEqual([]);
  });

  it('retries a failing receiver with backoff until it takes the message; a permanent refusal is logged as failed', async () => {
    let refusals = 2;
    rx.webhook.answer = () => (refusals-- > 0 ? { status: 503, text: 'busy' } : { text: 'ok' });
    rx.wecom.answer = () => ({ json: { errcode: 93000, errmsg: 'invalid webhook url' } });
    const before = rx.webhook.requests.length;
    await edge.send({ events: [edge.raise('wl-01', { severity: Severity.MAJOR, value: 4.31, threshold: 4.2, ts: t0 + 10_000 })] });
    await waitFor('three webhook attempts', () => rx.webhook.requests.length >= before + 3, 15_000);
    const tries = rx.webhook.requests.slice(before);
    expect(tries.map((r) => String(r.headers['x-yiwang-delivery']))).toEqual([1, 2, 3].map((n) => `hook:${alarmId}:${t0 + 10_000}:${n}`));
    expect(webhookBody(tries[2]!)).toMatchObject({ transition: 'escalated', previousSeverity: 'warning', title: '【告警升级·重要】东村 东村水位计 水位超过报警线' });
    await waitFor('escalation logged', async () => {
      const rows = (await log(tok.water!, `?alarm=${alarmId}`)).filter((d) => d.transition === 'escalated');
      return rows.find((d) => d.channel === 'hook')?.status === 'sent' && rows.find((d) => d.channel === 'wecom')?.status === 'failed';
    }, 10_000);
    const rows = (await log(tok.water!, `?alarm=${alarmId}`)).filter((d) => d.transition === 'escalated');
    expect(rows.find((d) => d.channel === 'hook')).toMatchObject({ status: 'sent', attempts: 3, httpStatus: 200 });
    expect(rows.find((d) => d.channel === 'wecom')).toMatchObject({ status: 'failed', attempts: 1, errcode: 93000, reason: expect.stringContaining('invalid webhook url') });
    rx.wecom.answer = () => ({ json: { errcode: 0, errmsg: 'ok' } });
  });

  it('announces an acknowledgement where a rule asks for it, and the clearing with its duration', async () => {
    const before = rx.webhook.requests.length;
    expect((await api(c.httpPort, tok.waterOps, `/api/v1/alarms/${alarmId}/ack`, { method: 'POST', body: JSON.stringify({ comment: '已派人现场处置' }) })).status).toBe(200);
    await waitFor('ack message', () => rx.webhook.requests.slice(before).some((r) => r.headers['x-yiwang-event'] === 'alarm.acknowledged'), 10_000);
    const ack = webhookBody(rx.webhook.requests.slice(before).find((r) => r.headers['x-yiwang-event'] === 'alarm.acknowledged')!);
    expect(ack.text).toContain('确认人：water-duty');
    expect(ack.text).toContain('确认说明：已派人现场处置');
    // Acknowledgements go only to the rule that lists them: WeCom (water-all) got none.
    expect(rx.wecom.requests.some((r) => wecomBody(r).text!.content.includes('告警已确认'))).toBe(false);
    await edge.send({ events: [edge.clear('wl-01', { level: 'alarm', value: 3.3, threshold: 4.2, ts: t0 + 130_000 })] });
    await waitFor('cleared message', () => rx.webhook.requests.some((r) => r.headers['x-yiwang-event'] === 'alarm.cleared'), 10_000);
    const cleared = webhookBody(rx.webhook.requests.find((r) => r.headers['x-yiwang-event'] === 'alarm.cleared')!);
    expect(cleared.title).toBe('【告警恢复·重要】东村 东村水位计 水位超过报警线');
    expect(cleared.text).toContain('持续时长：2分');
    expect(cleared.text).toContain('峰值：4.31 m');
  });

  it('turns a storm into one digest per channel', async () => {
    await edge.send({ events: records.filter((r) => r.id.startsWith('aq-')).map((r, i) => edge.raise(r.id, { metric: 'pm2_5', value: 160 + i, threshold: 150, ts: t0 + 200_000 })) });
    await waitFor('digest', () => envHook.requests.length >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing else follows
    expect(envHook.requests).toHaveLength(1);
    const body = JSON.parse(envHook.requests[0]!.body.toString('utf8'));
    expect(body).toMatchObject({ type: 'digest', total: 8 });
    expect(body.title).toMatch(/^【告警汇总】8 条告警变化/);
    const rows = await log(tok.environment!);
    expect(rows).toHaveLength(8);
    expect(rows.every((d) => d.status === 'sent' && d.digest === true && d.items === 8)).toBe(true);
  });

  it('keeps a robot within its minute budget across transitions: what does not fit waits', async () => {
    for (let i = 0; i < 3; i++) await edge.send({ events: [edge.ev({ deviceId: 'hy-01', kind: EventKind.VIDEO_FAULT_RAISED, severity: Severity.WARNING, code: ['blur', 'too_dark', 'noise'][i], ts: t0 + 210_000 + i })] });
    await waitFor('two robot messages', () => fireRobot.requests.length >= 2, 10_000);
    await waitFor('third deferred', async () => (await log(tok.fire!)).some((d) => d.status === 'queued'), 5000);
    expect(fireRobot.requests).toHaveLength(2);
    const waiting = (await log(tok.fire!)).find((d) => d.status === 'queued')!;
    expect(waiting.nextAt! - Date.now()).toBeGreaterThan(30_000);
  });

  it('holds messages back in quiet hours (logged as held) but lets critical ones through', async () => {
    // wl-01 is shared with emergency too: its water-level transitions so far were held for hook-em.
    const held = await log(tok.emergency!);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((d) => d.status === 'held' && d.reason === 'quiet_hours')).toBe(true);
    expect(emHook.requests).toHaveLength(0);
    await edge.send({ events: [edge.ev({ deviceId: 'wl-01', kind: EventKind.ALARM_RAISED, severity: Severity.CRITICAL, code: 'smoke_alarm.alarm', metric: 'smoke_alarm', value: 1, threshold: 1, ts: t0 + 220_000 })] });
    await waitFor('critical through quiet hours', () => emHook.requests.length === 1, 10_000);
  });

  it('lets operators manage their bureau\'s rules; viewers and other bureaus cannot', async () => {
    const water = (await apiJson<{ rules: { id: string; source: string }[] }>(c.httpPort, tok.water, '/api/v1/notify/rules')).body.rules;
    expect(water.map((r) => r.id)).toEqual(['water-acks', 'water-all']);
    expect(water[0]!.source).toBe('config');
    const rule = { severities: ['critical'], channels: ['mail'], language: 'en' };
    expect((await api(c.httpPort, tok.water, '/api/v1/notify/rules/water-critical', { method: 'PUT', body: JSON.stringify(rule) })).status).toBe(403);
    const put = await apiJson<{ id: string; bureau: string; source: string }>(c.httpPort, tok.waterOps, '/api/v1/notify/rules/water-critical', { method: 'PUT', body: JSON.stringify(rule) });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ id: 'water-critical', bureau: 'water', source: 'api', updatedBy: 'water-duty' });
    // Another bureau's channel, another bureau, a bad value: refused with the reason.
    const bad = await apiJson<{ issues: { path: string; message: string }[] }>(c.httpPort, tok.waterOps, '/api/v1/notify/rules/x', { method: 'PUT', body: JSON.stringify({ channels: ['fire-robot'] }) });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0]).toEqual({ path: 'channels[0]', message: 'channel "fire-robot" belongs to bureau fire, not water' });
    expect((await api(c.httpPort, tok.waterOps, '/api/v1/notify/rules/y', { method: 'PUT', body: JSON.stringify({ bureau: 'fire', channels: ['mail'] }) })).status).toBe(403);
    expect((await apiJson(c.httpPort, tok.waterOps, '/api/v1/notify/rules/z', { method: 'PUT', body: JSON.stringify({ channels: ['mail'], severities: ['huge'] }) })).status).toBe(400);
    expect((await api(c.httpPort, tok.fireOps, '/api/v1/notify/rules/water-critical', { method: 'PUT', body: JSON.stringify({ channels: ['fire-robot'] }) })).status).toBe(409);
    expect((await api(c.httpPort, tok.fireOps, '/api/v1/notify/rules/water-critical', { method: 'DELETE' })).status).toBe(404);
    expect((await apiJson<{ rules: unknown[] }>(c.httpPort, tok.fire, '/api/v1/notify/rules')).body.rules).toHaveLength(1);
    const channels = (await apiJson<{ channels: { id: string }[] }>(c.httpPort, tok.water, '/api/v1/notify/channels')).body.channels.map((ch) => ch.id);
    expect(channels).toEqual(['hook', 'wecom', 'dingtalk', 'mail']);
    expect((await api(c.httpPort, tok.waterOps, '/api/v1/notify/rules/water-critical', { method: 'DELETE' })).status).toBe(200);
    expect((await api(c.httpPort, tok.waterOps, '/api/v1/notify/rules/water-critical', { method: 'DELETE' })).status).toBe(404);
  });

  it('re-applies collector.yaml rules at start and keeps the ones changed through the API', async () => {
    await c.store.notify.putRule({ id: 'water-acks', bureau: 'water', transitions: ['acknowledged'], channels: ['hook', 'mail'] }, 'api', 'water-duty');
    const r = await c.store.notify.seedRules([{ id: 'water-all', bureau: 'water', severities: ['major'], channels: ['hook'] }, { id: 'water-acks', bureau: 'water', channels: ['hook'] }], 'config');
    expect(r).toEqual({ added: [], updated: ['water-all'], removed: ['env-all', 'em-night', 'fire-all'], keptApi: ['water-acks'] });
    expect((await c.store.notify.rule('water-acks'))!.rule.channels).toEqual(['hook', 'mail']);
    expect((await c.store.notify.rule('water-all'))!.rule.severities).toEqual(['major']);
  });
});

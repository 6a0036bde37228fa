// Webhook-style channels against real HTTP receivers on 127.0.0.1: body formats, signatures (recomputed here
// independently), errcode handling, and every way a delivery can fail turned into a failed DeliveryResult.
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../core/net.js';
import { createChannel, verifyWebhookSignature } from '../../../collector/notify/index.js';
import type { Channel, Digest } from '../../../collector/notify/types.js';
import { AT, raised } from './fixtures.js';
import { startReceiver, type Receiver } from './receiver.js';

// Bodies are read loosely: the assertions below say what shape they must have.
const json = (b: Buffer) => JSON.parse(b.toString("utf8")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ENV = { HOOK_SECRET: 'hook-secret-123', WECOM_KEY: 'wk-0001', DT_TOKEN: 'dt-token', DT_SECRET: 'SECabc123', SMS_TOKEN: 'sms-tok' };

let rx: Receiver;
const channels: Channel[] = [];
const make = (cfg: Parameters<typeof createChannel>[0]) => {
  const ch = createChannel(cfg, ENV, { dashboardUrl: 'https://yiwang.example/dashboard/' });
  channels.push(ch);
  return ch;
};

beforeAll(async () => {
  rx = await startReceiver();
});
afterEach(() => {
  rx.requests.length = 0;
  rx.answer = () => ({ json: { errcode: 0, errmsg: 'ok' } });
});
afterAll(async () => {
  await Promise.all(channels.map((c) => c.close()));
  await rx.close();
});

describe('generic webhook', () => {
  it('posts the alarm as JSON signed with HMAC-SHA256 over timestamp + "." + body', async () => {
    rx.answer = () => ({ status: 204 });
    const ch = make({ id: 'hook', type: 'webhook', url: `${rx.url}/hooks/yiwang?src=test`, secretEnv: 'HOOK_SECRET', headers: { 'x-team': 'duty' } });
    const res = await ch.send(raised, { attempt: 2 });
    expect(res).toMatchObject({ ok: true, status: 'sent', channel: 'hook', channelType: 'webhook', attempt: 2, httpStatus: 204, target: `${rx.url}/hooks/yiwang` });
    const [r] = rx.requests;
    expect(r!.method).toBe('POST');
    expect(r!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r!.headers['x-team']).toBe('duty');
    expect(r!.headers['x-yiwang-event']).toBe('alarm.raised');
    expect(r!.headers['x-yiwang-delivery']).toBe(`hook:al-1:${AT}:2`);
    const ts = String(r!.headers['x-yiwang-timestamp']);
    const expected = `sha256=${createHmac('sha256', ENV.HOOK_SECRET).update(Buffer.concat([Buffer.from(`${ts}.`), r!.body])).digest('hex')}`;
    expect(r!.headers['x-yiwang-signature']).toBe(expected);
    expect(verifyWebhookSignature(ENV.HOOK_SECRET, ts, r!.body, expected)).toBe(true);
    expect(verifyWebhookSignature('other-secret', ts, r!.body, expected)).toBe(false);
    expect(verifyWebhookSignature(ENV.HOOK_SECRET, ts, Buffer.concat([r!.body, Buffer.from(' ')]), expected)).toBe(false);
    expect(verifyWebhookSignature(ENV.HOOK_SECRET, ts, r!.body, expected, { now: Number(ts) + 10 * 60_000 })).toBe(false); // replayed later
    const body = json(r!.body);
    expect(body).toMatchObject({ version: 1, type: 'alarm', transition: 'raised', at: AT, lang: 'zh', alarm: { id: 'al-1', device: { id: 'wl-01' }, value: 4.356 } });
    expect(body.title).toBe('【告警·重要】东村 村口河道水位计 水位超过报警线');
    expect(body.text).toContain('时间：2026-11-30 08:15:00（北京时间）');
    expect(body.link).toBe('https://yiwang.example/dashboard/#/device/wl-01');
  });

  it('sends a digest as one request', async () => {
    rx.answer = () => ({ status: 200, text: 'ok' });
    const ch = make({ id: 'hook2', type: 'webhook', url: `${rx.url}/h` });
    const digest: Digest = { type: 'digest', at: AT, items: [raised, { ...raised, alarm: { ...raised.alarm, id: 'al-2' } }] };
    expect((await ch.send(digest, { lang: 'en' })).ok).toBe(true);
    const body = json(rx.requests[0]!.body);
    expect(body).toMatchObject({ type: 'digest', total: 2, lang: 'en' });
    expect(body.items).toHaveLength(2);
    expect(rx.requests[0]!.headers['x-yiwang-signature']).toBeUndefined(); // no secret configured: unsigned
    expect(rx.requests[0]!.headers['x-yiwang-event']).toBe('digest');
  });
});

describe('WeCom group robot', () => {
  it('sends text with mentioned_mobile_list to ?key=KEY', async () => {
    const ch = make({ id: 'wc', type: 'wecom', url: `${rx.url}/cgi-bin/webhook/send`, keyEnv: 'WECOM_KEY', mentionedMobiles: ['13800000000', '@all'] });
    const res = await ch.send(raised);
    expect(res).toMatchObject({ ok: true, errcode: 0, errmsg: 'ok', target: `${rx.url}/cgi-bin/webhook/send` });
    const [r] = rx.requests;
    expect(r!.url.pathname).toBe('/cgi-bin/webhook/send');
    expect(r!.url.searchParams.get('key')).toBe('wk-0001');
    expect(JSON.stringify(res)).not.toContain('wk-0001'); // the key never reaches the delivery log
    const body = json(r!.body);
    expect(Object.keys(body)).toEqual(['msgtype', 'text']);
    expect(body.msgtype).toBe('text');
    expect(body.text.mentioned_mobile_list).toEqual(['13800000000', '@all']);
    expect(body.text.content.split('\n')[0]).toBe('【告警·重要】东村 村口河道水位计 水位超过报警线');
  });

  it('sends markdown, cut below 4096 bytes of UTF-8', async () => {
    const ch = make({ id: 'wc-md', type: 'wecom', url: `${rx.url}/send`, keyEnv: 'WECOM_KEY', format: 'markdown' });
    const items = Array.from({ length: 200 }, (_, i) => ({ ...raised, alarm: { ...raised.alarm, id: `a${i}`, device: { id: `d${i}`, name: `很长的设备名称${i}号水位计` } } }));
    await ch.send({ type: 'digest', at: AT, items }, {});
    const body = json(rx.requests[0]!.body);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content.startsWith('### 【告警汇总】200 条告警变化')).toBe(true);
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
  });

  it('treats errcode ≠ 0 as a failure with its errmsg (not retryable for a bad key, retryable for the rate limit)', async () => {
    const ch = make({ id: 'wc-bad', type: 'wecom', url: `${rx.url}/send`, keyEnv: 'WECOM_KEY' });
    rx.answer = () => ({ json: { errcode: 93000, errmsg: 'invalid webhook url' } });
    expect(await ch.send(raised)).toMatchObject({ ok: false, status: 'failed', httpStatus: 200, errcode: 93000, errmsg: 'invalid webhook url', error: 'errcode 93000: invalid webhook url', retryable: false });
    rx.answer = () => ({ json: { errcode: 45009, errmsg: 'api freq out of limit' } });
    expect(await ch.send(raised)).toMatchObject({ ok: false, errcode: 45009, retryable: true });
  });

  it('holds messages back beyond the robot’s rate and says when to retry', async () => {
    const ch = make({ id: 'wc-rate', type: 'wecom', url: `${rx.url}/send`, keyEnv: 'WECOM_KEY', ratePerMinute: 2 });
    const results = [await ch.send(raised), await ch.send(raised), await ch.send(raised)];
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'rate_limited']);
    expect(results[2]).toMatchObject({ ok: false, retryable: true });
    expect(results[2]!.retryAfterMs).toBeGreaterThan(50_000);
    expect(rx.requests).toHaveLength(2);
  });
});

describe('DingTalk robot', () => {
  it('signs the URL: sign = urlencode(base64(HmacSHA256(secret, timestamp + "\\n" + secret)))', async () => {
    const before = Date.now();
    const ch = make({ id: 'dt', type: 'dingtalk', url: `${rx.url}/robot/send`, accessTokenEnv: 'DT_TOKEN', secretEnv: 'DT_SECRET', atMobiles: ['13900000000'] });
    const res = await ch.send(raised);
    expect(res).toMatchObject({ ok: true, errcode: 0 });
    const [r] = rx.requests;
    expect(r!.url.searchParams.get('access_token')).toBe('dt-token');
    const ts = r!.url.searchParams.get('timestamp')!;
    expect(Number(ts)).toBeGreaterThanOrEqual(before);
    expect(Number(ts)).toBeLessThanOrEqual(Date.now());
    // Recomputed the way DingTalk's server does, from the raw query string (the sign arrives URL-encoded once).
    const rawSign = /[?&]sign=([^&]+)/.exec(r!.url.search)![1]!;
    const mine = createHmac('sha256', ENV.DT_SECRET).update(`${ts}\n${ENV.DT_SECRET}`).digest('base64');
    expect(decodeURIComponent(rawSign)).toBe(mine);
    expect(rawSign).toBe(encodeURIComponent(mine));
    const body = json(r!.body);
    expect(body).toMatchObject({ msgtype: 'text', at: { atMobiles: ['13900000000'], isAtAll: false } });
    expect(body.text.content).toContain('水位 4.36 m');
    expect(body.text.content.trim().endsWith('@13900000000')).toBe(true); // DingTalk only notifies mentions present in the text
    expect(JSON.stringify(res)).not.toContain('dt-token');
    expect(JSON.stringify(res)).not.toContain(rawSign);
  });

  it('sends markdown with a title, in English when asked', async () => {
    const ch = make({ id: 'dt-md', type: 'dingtalk', url: `${rx.url}/robot/send`, accessTokenEnv: 'DT_TOKEN', format: 'markdown', atAll: true });
    await ch.send(raised, { lang: 'en' });
    const [r] = rx.requests;
    expect(r!.url.searchParams.has('sign')).toBe(false);
    const body = json(r!.body);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[Alarm · major] 东村 村口河道水位计: Water level above alarm level');
    expect(body.markdown.text).toContain('**Threshold**: alarm level 4.2 m');
    expect(body.at).toEqual({ atMobiles: [], isAtAll: true });
  });

  it('reports errcode ≠ 0 with errmsg', async () => {
    const ch = make({ id: 'dt-bad', type: 'dingtalk', url: `${rx.url}/robot/send`, accessTokenEnv: 'DT_TOKEN', secretEnv: 'DT_SECRET' });
    rx.answer = () => ({ json: { errcode: 310000, errmsg: 'sign not match' } });
    expect(await ch.send(raised)).toMatchObject({ ok: false, errcode: 310000, errmsg: 'sign not match', retryable: false });
    rx.answer = () => ({ json: { errcode: 130101, errmsg: 'send too fast' } });
    expect(await ch.send(raised)).toMatchObject({ ok: false, errcode: 130101, retryable: true });
    rx.answer = () => ({ text: '<html>proxy error</html>' });
    expect(await ch.send(raised)).toMatchObject({ ok: false, retryable: true, error: 'answer is not JSON: <html>proxy error</html>' });
  });
});

describe('SMS gateway template', () => {
  it('fills a JSON body per recipient, brings secrets from env into headers, and checks the answer', async () => {
    rx.answer = () => ({ json: { code: 0, msg: 'accepted' } });
    const ch = make({
      id: 'sms', type: 'sms', url: `${rx.url}/api/send?sign={{siteName}}`, headers: { authorization: 'Bearer {{env.SMS_TOKEN}}' },
      body: { mobile: '{{phone}}', content: '{{text}}', meta: { device: '{{deviceId}}', at: '{{time}}' } },
      phoneNumbers: ['13800000001', '13800000002'], maxChars: 60, success: { httpStatus: [200], json: { path: 'code', equals: 0 } },
    });
    const res = await ch.send(raised);
    expect(res).toMatchObject({ ok: true, status: 'sent' });
    expect(res.target).toContain('138****0001');
    expect(res.target).not.toContain('13800000001');
    expect(rx.requests).toHaveLength(2);
    const [a, b] = rx.requests.map((r) => json(r.body));
    expect(rx.requests[0]!.headers.authorization).toBe('Bearer sms-tok');
    expect(rx.requests[0]!.url.searchParams.get('sign')).toBe('东村');
    expect([a!.mobile, b!.mobile]).toEqual(['13800000001', '13800000002']);
    expect(a!.meta).toEqual({ device: 'wl-01', at: '2026-11-30 08:15:00' });
    expect([...a!.content].length).toBeLessThanOrEqual(60);
    expect(a!.content.startsWith('【告警·重要】东村 村口河道水位计 水位超过报警线；监测值：水位 4.36 m')).toBe(true);
  });

  it('sends one form-encoded request for all numbers when perRecipient is false', async () => {
    rx.answer = () => ({ text: 'RESULT=OK' });
    const ch = make({ id: 'sms-form', type: 'sms', url: `${rx.url}/sms.do`, bodyEncoding: 'form', body: { to: '{{phones}}', msg: '{{text}}' }, phoneNumbers: ['13800000001', '13800000002'], perRecipient: false, success: { bodyMatches: '^RESULT=OK$' } });
    expect((await ch.send(raised)).ok).toBe(true);
    const form = new URLSearchParams(rx.requests[0]!.body.toString());
    expect(rx.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(form.get('to')).toBe('13800000001,13800000002');
    expect(form.get('msg')).toContain('水位超过报警线');
  });

  it('fails when the gateway says no, naming what it answered', async () => {
    rx.answer = () => ({ json: { code: 1001, msg: 'balance exhausted' } });
    const ch = make({ id: 'sms-no', type: 'sms', url: `${rx.url}/api/send`, body: { m: '{{phone}}', t: '{{text}}' }, phoneNumbers: ['13800000001'], success: { json: { path: 'code', equals: 0 } } });
    const res = await ch.send(raised);
    expect(res).toMatchObject({ ok: false, status: 'failed', retryable: false });
    expect(res.error).toContain('code=1001 (expected 0)');
    expect(res.error).toContain('balance exhausted');
  });

  it('refuses templates with unknown placeholders or missing env secrets at creation', () => {
    expect(() => createChannel({ id: 's', type: 'sms', url: `${rx.url}/x`, body: { m: '{{phnoe}}' }, phoneNumbers: ['13800000001'] }, ENV)).toThrow('unknown placeholder(s) {{phnoe}}');
    expect(() => createChannel({ id: 's', type: 'sms', url: `${rx.url}/x?k={{env.NOPE}}`, phoneNumbers: ['13800000001'] }, ENV)).toThrow('environment variable NOPE is not set');
    expect(() => createChannel({ id: 'w', type: 'wecom', keyEnv: 'NOPE' }, ENV)).toThrow('NOPE (the robot key) is not set');
  });
});

describe('failed deliveries are results, not exceptions', () => {
  it('HTTP 500 → failed, retryable, with status and body snippet; 404 → not retryable', async () => {
    const ch = make({ id: 'f1', type: 'webhook', url: `${rx.url}/h` });
    rx.answer = () => ({ status: 500, text: 'database down' });
    expect(await ch.send(raised)).toMatchObject({ ok: false, status: 'failed', httpStatus: 500, error: 'HTTP 500: database down', retryable: true });
    rx.answer = () => ({ status: 503, text: '', headers: { 'retry-after': '120' } });
    expect(await ch.send(raised)).toMatchObject({ ok: false, httpStatus: 503, retryable: true, retryAfterMs: 120_000 });
    rx.answer = () => ({ status: 404, text: 'no such hook' });
    expect(await ch.send(raised)).toMatchObject({ ok: false, httpStatus: 404, retryable: false });
  });

  it('connection refused → failed, retryable', async () => {
    const port = await freePort();
    for (const cfg of [
      { id: 'f2', type: 'webhook' as const, url: `http://127.0.0.1:${port}/h` },
      { id: 'f3', type: 'dingtalk' as const, url: `http://127.0.0.1:${port}/robot/send`, accessTokenEnv: 'DT_TOKEN' },
    ]) {
      const res = await make(cfg).send(raised);
      expect(res).toMatchObject({ ok: false, status: 'failed', error: 'connection refused', retryable: true });
      expect(res.httpStatus).toBeUndefined();
    }
  });

  it('no answer within timeoutMs → failed, retryable', async () => {
    rx.answer = () => 'hang';
    const ch = make({ id: 'f4', type: 'wecom', url: `${rx.url}/send`, keyEnv: 'WECOM_KEY', timeoutMs: 300 });
    const res = await ch.send(raised);
    expect(res).toMatchObject({ ok: false, status: 'failed', error: 'no answer within 300 ms', retryable: true });
    expect(res.durationMs).toBeGreaterThanOrEqual(250);
  });
});

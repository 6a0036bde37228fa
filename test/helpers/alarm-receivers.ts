// The receivers a bureau's alarm notifications go to, all real servers on 127.0.0.1: a generic webhook (HMAC
// checked), a WeCom group robot and a DingTalk robot (their request formats, DingTalk's signed URL checked) and an
// SMTP server (STARTTLS + AUTH). `channels()` gives the matching `notify.channels` config; `env` the secrets.
import { createHmac } from 'node:crypto';
import { verifyWebhookSignature, type ChannelConfig } from '../../collector/notify/index.js';
import { startReceiver, type Received, type Receiver } from '../collector/notify/receiver.js';
import { makeCert, SMTP_PASSWORD, SMTP_USER, startSmtp, tlsOptions, type Smtp } from './smtp.js';

export const RECEIVER_ENV = {
  YW_TEST_WEBHOOK_SECRET: 'hook-secret-1',
  YW_TEST_WECOM_KEY: 'wecom-key-1',
  YW_TEST_DINGTALK_TOKEN: 'dt-token-1',
  YW_TEST_DINGTALK_SECRET: 'SECdt-secret-1',
  YW_TEST_SMTP_PASSWORD: SMTP_PASSWORD,
};

export interface AlarmReceivers {
  webhook: Receiver;
  wecom: Receiver;
  dingtalk: Receiver;
  smtp: Smtp;
  cert: string;
  channels(bureau?: string): ChannelConfig[];
  close(): Promise<void>;
}

export async function startAlarmReceivers(dir: string): Promise<AlarmReceivers> {
  const pair = makeCert(dir);
  const [webhook, wecom, dingtalk, smtp] = await Promise.all([startReceiver(() => ({ text: 'ok' })), startReceiver(), startReceiver(), startSmtp(tlsOptions(pair))]);
  return {
    webhook,
    wecom,
    dingtalk,
    smtp,
    cert: pair.cert,
    channels: (bureau) => {
      const b = bureau ? { bureau } : {};
      return [
        { id: 'hook', type: 'webhook', url: `${webhook.url}/hooks/yiwang`, secretEnv: 'YW_TEST_WEBHOOK_SECRET', timeoutMs: 3000, ...b },
        { id: 'wecom', type: 'wecom', url: `${wecom.url}/cgi-bin/webhook/send`, keyEnv: 'YW_TEST_WECOM_KEY', format: 'text', timeoutMs: 3000, ...b },
        { id: 'dingtalk', type: 'dingtalk', url: `${dingtalk.url}/robot/send`, accessTokenEnv: 'YW_TEST_DINGTALK_TOKEN', secretEnv: 'YW_TEST_DINGTALK_SECRET', format: 'markdown', timeoutMs: 3000, ...b },
        {
          id: 'mail', type: 'email', host: '127.0.0.1', port: smtp.port, security: 'starttls', caFile: pair.cert, user: SMTP_USER, passwordEnv: 'YW_TEST_SMTP_PASSWORD',
          from: '一网统管告警 <alarm@city.example>', to: ['duty@water.example'], timeoutMs: 5000, ...b,
        },
      ];
    },
    close: async () => {
      await Promise.all([webhook.close(), wecom.close(), dingtalk.close(), smtp.close()]);
    },
  };
}

/** The webhook request's JSON body, after checking its HMAC signature. */
export function webhookBody(r: Received): Record<string, unknown> & { alarm?: { id: string }; transition?: string; text: string; title: string } {
  const ok = verifyWebhookSignature(RECEIVER_ENV.YW_TEST_WEBHOOK_SECRET, String(r.headers['x-yiwang-timestamp']), r.body, String(r.headers['x-yiwang-signature']));
  if (!ok) throw new Error('webhook signature does not verify');
  return JSON.parse(r.body.toString('utf8'));
}

/** The DingTalk robot request's body, after recomputing its sign from the raw query as DingTalk does. */
export function dingtalkBody(r: Received): { msgtype: string; markdown?: { title: string; text: string }; text?: { content: string } } {
  const ts = r.url.searchParams.get('timestamp') ?? '';
  const rawSign = /[?&]sign=([^&]+)/.exec(r.url.search)?.[1] ?? '';
  const want = createHmac('sha256', RECEIVER_ENV.YW_TEST_DINGTALK_SECRET).update(`${ts}\n${RECEIVER_ENV.YW_TEST_DINGTALK_SECRET}`).digest('base64');
  if (decodeURIComponent(rawSign) !== want) throw new Error('DingTalk sign does not verify');
  if (r.url.searchParams.get('access_token') !== RECEIVER_ENV.YW_TEST_DINGTALK_TOKEN) throw new Error('DingTalk access_token missing');
  return JSON.parse(r.body.toString('utf8'));
}

/** The WeCom robot request's body (key in the query). */
export function wecomBody(r: Received): { msgtype: string; text?: { content: string }; markdown?: { content: string } } {
  if (r.url.searchParams.get('key') !== RECEIVER_ENV.YW_TEST_WECOM_KEY) throw new Error('WeCom key missing');
  return JSON.parse(r.body.toString('utf8'));
}

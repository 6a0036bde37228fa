// DingTalk (钉钉) robot: POST {url}?access_token=T with
//   {"msgtype":"text","text":{"content":"…"},"at":{"atMobiles":[…],"isAtAll":false}}  or
//   {"msgtype":"markdown","markdown":{"title":"…","text":"…"},"at":{…}}
// answered {"errcode":0,"errmsg":"ok"}. Signed mode (加签) appends &timestamp=<ms>&sign=<s> with
//   s = urlencode(base64(HmacSHA256(key = secret, timestamp + "\n" + secret)))
// and the robot refuses requests whose timestamp is more than an hour off.
import { createHmac } from 'node:crypto';
import type { DingtalkChannelConfig } from './config.js';
import { safeTarget } from './http.js';
import { asMarkdown, asText, render } from './render.js';
import { Robot } from './robot.js';
import type { Channel, Message, SendOptions } from './types.js';

export const DINGTALK_DEFAULT_URL = 'https://oapi.dingtalk.com/robot/send';
/** -1 system busy, 130101 more than 20 messages a minute: worth retrying. 310000 (sign/keyword/IP), 300001 (token) are not. */
const RETRYABLE = new Set([-1, 130101]);

/** The `sign` query value (already URL-encoded) for a timestamp in ms. */
export function dingtalkSign(secret: string, timestamp: number): string {
  return encodeURIComponent(createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64'));
}

export function dingtalkBody(cfg: Pick<DingtalkChannelConfig, 'format' | 'atMobiles' | 'atAll'>, message: Message, opts: { lang?: 'zh' | 'en'; dashboardUrl?: string }): Record<string, unknown> {
  const lang = opts.lang ?? 'zh';
  const r = render(message, { lang, dashboardUrl: opts.dashboardUrl });
  const at = { atMobiles: cfg.atMobiles ?? [], isAtAll: cfg.atAll ?? false };
  // DingTalk highlights and notifies an @-mention only when "@<mobile>" also appears in the text.
  const mentions = at.atMobiles.map((m) => `@${m}`).join(' ');
  if (cfg.format === 'markdown') {
    return { msgtype: 'markdown', markdown: { title: r.title, text: mentions ? `${asMarkdown(r, lang)}\n\n${mentions}` : asMarkdown(r, lang) }, at };
  }
  return { msgtype: 'text', text: { content: mentions ? `${asText(r, lang)}\n${mentions}` : asText(r, lang) }, at };
}

export function createDingtalkChannel(cfg: DingtalkChannelConfig, env: NodeJS.ProcessEnv, defaults: { dashboardUrl?: string } = {}): Channel {
  const token = env[cfg.accessTokenEnv];
  if (!token) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.accessTokenEnv} (the access token) is not set`);
  const secret = cfg.secretEnv ? env[cfg.secretEnv] : undefined;
  if (cfg.secretEnv && !secret) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.secretEnv} (the signing secret) is not set`);
  const base = cfg.url ?? DINGTALK_DEFAULT_URL;
  const robot = new Robot(cfg.ratePerMinute ?? 20);
  return {
    id: cfg.id,
    type: 'dingtalk',
    send(message: Message, opts: SendOptions = {}) {
      let url = `${base}${base.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
      if (secret) {
        const ts = Date.now(); // signed per request: the robot rejects stale timestamps
        url += `&timestamp=${ts}&sign=${dingtalkSign(secret, ts)}`;
      }
      return robot.send({
        channel: cfg.id, channelType: 'dingtalk', attempt: opts.attempt ?? 1, target: safeTarget(base), url,
        body: dingtalkBody(cfg, message, { lang: opts.lang, dashboardUrl: defaults.dashboardUrl }),
        timeoutMs: cfg.timeoutMs ?? 10_000, signal: opts.signal, retryableErrcodes: RETRYABLE,
      });
    },
    close: async () => {},
  };
}

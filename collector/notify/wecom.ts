// WeCom (企业微信) group robot: POST {url}?key=KEY with
//   {"msgtype":"text","text":{"content":"…","mentioned_mobile_list":["138…","@all"]}}  or
//   {"msgtype":"markdown","markdown":{"content":"…"}}
// answered {"errcode":0,"errmsg":"ok"}. Text content is limited to 2048 bytes and markdown to 4096 (UTF-8).
import type { WecomChannelConfig } from './config.js';
import { safeTarget } from './http.js';
import { asMarkdown, asText, render } from './render.js';
import { Robot, truncateUtf8 } from './robot.js';
import type { Channel, Message, SendOptions } from './types.js';

export const WECOM_DEFAULT_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send';
const TEXT_MAX_BYTES = 2048;
const MARKDOWN_MAX_BYTES = 4096;
/** -1 system busy, 45009 API frequency limit: worth retrying. Others (93000 bad key, 40008 bad type, …) are not. */
const RETRYABLE = new Set([-1, 45009]);

export function wecomBody(cfg: Pick<WecomChannelConfig, 'format' | 'mentionedMobiles'>, message: Message, opts: { lang?: 'zh' | 'en'; dashboardUrl?: string }): Record<string, unknown> {
  const lang = opts.lang ?? 'zh';
  const r = render(message, { lang, dashboardUrl: opts.dashboardUrl });
  if (cfg.format === 'markdown') return { msgtype: 'markdown', markdown: { content: truncateUtf8(asMarkdown(r, lang), MARKDOWN_MAX_BYTES) } };
  return {
    msgtype: 'text',
    text: { content: truncateUtf8(asText(r, lang), TEXT_MAX_BYTES), ...(cfg.mentionedMobiles?.length ? { mentioned_mobile_list: cfg.mentionedMobiles } : {}) },
  };
}

export function createWecomChannel(cfg: WecomChannelConfig, env: NodeJS.ProcessEnv, defaults: { dashboardUrl?: string } = {}): Channel {
  const key = env[cfg.keyEnv];
  if (!key) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.keyEnv} (the robot key) is not set`);
  const base = cfg.url ?? WECOM_DEFAULT_URL;
  const url = `${base}${base.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
  const robot = new Robot(cfg.ratePerMinute ?? 20);
  return {
    id: cfg.id,
    type: 'wecom',
    send: (message: Message, opts: SendOptions = {}) =>
      robot.send({
        channel: cfg.id, channelType: 'wecom', attempt: opts.attempt ?? 1, target: safeTarget(base), url,
        body: wecomBody(cfg, message, { lang: opts.lang, dashboardUrl: defaults.dashboardUrl }),
        timeoutMs: cfg.timeoutMs ?? 10_000, signal: opts.signal, retryableErrcodes: RETRYABLE,
      }),
    close: async () => {},
  };
}

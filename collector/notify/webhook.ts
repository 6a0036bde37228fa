// Generic webhook: the notification as JSON, signed with HMAC-SHA256 so the receiver can tell it came from us and
// was not replayed later.
//
//   X-Yiwang-Timestamp: 1764461700000                 (ms since the epoch, when the request was made)
//   X-Yiwang-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>
//   X-Yiwang-Event:     alarm.raised | alarm.escalated | alarm.cleared | alarm.acknowledged | digest
//   X-Yiwang-Delivery:  <channel id>:<alarm id or digest>:<transition time>:<attempt>
//
// Verify: recompute the HMAC over the timestamp header, a ".", and the body bytes exactly as received, compare in
// constant time, and refuse timestamps more than 5 minutes from your clock (verifyWebhookSignature does all this).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookChannelConfig } from './config.js';
import { deliverHttp, safeTarget, startResult } from './http.js';
import { asText, render, type RenderOptions } from './render.js';
import type { Channel, DeliveryResult, Message, SendOptions } from './types.js';

export const SIGNATURE_HEADER = 'x-yiwang-signature';
export const TIMESTAMP_HEADER = 'x-yiwang-timestamp';
export const EVENT_HEADER = 'x-yiwang-event';
export const DELIVERY_HEADER = 'x-yiwang-delivery';

export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** Receiver side: true when `signature` is ours for this timestamp and body, and the timestamp is fresh. */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string | Buffer, signature: string, { toleranceMs = 5 * 60_000, now = Date.now() } = {}): boolean {
  const ts = Number(timestamp);
  if (!/^\d{10,16}$/.test(timestamp) || Math.abs(now - ts) > toleranceMs) return false;
  const want = Buffer.from(webhookSignature(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The JSON body: the structured message plus its rendered text, so a receiver can forward it without rendering. */
export function webhookBody(message: Message, opts: RenderOptions): Record<string, unknown> {
  const lang = opts.lang ?? 'zh';
  const r = render(message, opts);
  const text = { lang, title: r.title, text: asText(r, lang), ...(r.link ? { link: r.link } : {}) };
  return message.type === 'digest'
    ? { version: 1, type: 'digest', at: message.at, total: Math.max(message.total ?? 0, message.items.length), items: message.items, ...text }
    : { version: 1, type: 'alarm', transition: message.transition, at: message.at, alarm: message.alarm, ...(message.previousSeverity ? { previousSeverity: message.previousSeverity } : {}), ...text };
}

export const eventName = (m: Message) => (m.type === 'digest' ? 'digest' : `alarm.${m.transition}`);

export function createWebhookChannel(cfg: WebhookChannelConfig, env: NodeJS.ProcessEnv, defaults: { dashboardUrl?: string } = {}): Channel {
  const secret = cfg.secretEnv ? env[cfg.secretEnv] : undefined;
  if (cfg.secretEnv && !secret) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.secretEnv} is not set`);
  const target = safeTarget(cfg.url);
  return {
    id: cfg.id,
    type: 'webhook',
    async send(message: Message, opts: SendOptions = {}): Promise<DeliveryResult> {
      const attempt = opts.attempt ?? 1;
      const finish = startResult(cfg.id, 'webhook', attempt, target);
      const body = JSON.stringify(webhookBody(message, { lang: opts.lang, dashboardUrl: defaults.dashboardUrl }));
      const timestamp = String(Date.now());
      const subject = message.type === 'digest' ? 'digest' : message.alarm.id;
      const headers: Record<string, string> = {
        ...cfg.headers,
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'yiwang-notify/1',
        [TIMESTAMP_HEADER]: timestamp,
        [EVENT_HEADER]: eventName(message),
        [DELIVERY_HEADER]: `${cfg.id}:${encodeURIComponent(subject)}:${message.at}:${attempt}`,
      };
      if (secret) headers[SIGNATURE_HEADER] = webhookSignature(secret, timestamp, body);
      return deliverHttp(finish, { url: cfg.url, headers, body, timeoutMs: cfg.timeoutMs ?? 10_000, signal: opts.signal }, () => ({ ok: true }));
    },
    close: async () => {},
  };
}

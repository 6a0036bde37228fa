// Notification channels for alarm transitions: build them from the `notify:` config, decide with the rules which
// channels an alarm transition goes to, and send. The durable delivery queue (retries, digests, the delivery log)
// lives with the alarm lifecycle; everything here is stateless apart from each robot's rate limit.
import type { ChannelConfig, NotifyConfig } from './config.js';
import { createDingtalkChannel } from './dingtalk.js';
import { createEmailChannel } from './email.js';
import { createSmsChannel } from './sms.js';
import type { Channel, Digest, Notification } from './types.js';
import { createWebhookChannel } from './webhook.js';
import { createWecomChannel } from './wecom.js';

export * from './types.js';
export { NOTIFY_CONFIG_SCHEMA, inQuietHours, matchRules, missingEnv, parseNotifyConfig, planDeliveries, validateNotifyConfig } from './config.js';
export type { AlarmFacts, ChannelConfig, ConfigProblem, DigestConfig, NotifyConfig, NotifyRule, PlannedDelivery, QuietHours, RuleMatch } from './config.js';
export { DEFAULT_RETRY, nextRetryDelay, RateLimiter, type RetryPolicy } from './policy.js';
export { alarmHeadline, asHtml, asMarkdown, asText, render, type Rendered, type RenderOptions } from './render.js';
export { fmtBeijing } from './time.js';
export { verifyWebhookSignature, webhookSignature } from './webhook.js';

export interface ChannelDefaults {
  /** Dashboard base URL for links in messages. */
  dashboardUrl?: string;
}

/** One channel from its config; throws when a secret it names is missing from `env`. */
export function createChannel(cfg: ChannelConfig, env: NodeJS.ProcessEnv = process.env, defaults: ChannelDefaults = {}): Channel {
  switch (cfg.type) {
    case 'webhook':
      return createWebhookChannel(cfg, env, defaults);
    case 'wecom':
      return createWecomChannel(cfg, env, defaults);
    case 'dingtalk':
      return createDingtalkChannel(cfg, env, defaults);
    case 'email':
      return createEmailChannel(cfg, env, defaults);
    case 'sms':
      return createSmsChannel(cfg, env, defaults);
  }
}

/** Every configured channel by id; throws listing every channel that cannot be built (missing secrets, bad templates). */
export function createChannels(config: NotifyConfig, env: NodeJS.ProcessEnv = process.env): Map<string, Channel> {
  const out = new Map<string, Channel>();
  const errors: string[] = [];
  for (const cfg of config.channels) {
    try {
      out.set(cfg.id, createChannel(cfg, env, { dashboardUrl: config.dashboardUrl }));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) {
    for (const ch of out.values()) void ch.close();
    throw new Error(errors.join('\n'));
  }
  return out;
}

/**
 * Splits the transitions queued for one channel into what to send: each on its own while there are at most
 * `threshold`, otherwise one digest of all of them (newest `at`), so a storm becomes one message, not fifty.
 */
export function digestOrSingles(items: readonly Notification[], threshold = 5): (Notification | Digest)[] {
  if (items.length <= threshold) return [...items];
  return [{ type: 'digest', at: Math.max(...items.map((n) => n.at)), items: [...items], total: items.length }];
}

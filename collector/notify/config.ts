// The `notify:` block of the collector config: channels (where messages go) and per-bureau rules (which alarm
// transitions go where, in which language, outside which quiet hours). A JSON Schema for structure, cross-checks
// for references, and the pure rule matcher the alarm lifecycle calls for every transition.
import type { ErrorObject } from 'ajv';
import { compileSchema, describeAjvError } from '../../core/config-file.js';
import { beijingMinuteOfDay } from './time.js';
import { ALARM_KINDS, CHANNEL_TYPES, SEVERITIES, TRANSITIONS, type AlarmKind, type Lang, type SeverityName, type Transition } from './types.js';

interface ChannelBase {
  /** Referenced by rules and named in the delivery log. */
  id: string;
  /** When set, only this bureau's rules may use the channel (a water robot never gets fire alarms by mistake). */
  bureau?: string;
  /** Per request; default 10 000 (SMTP: per connection step). */
  timeoutMs?: number;
}

export interface WebhookChannelConfig extends ChannelBase {
  type: 'webhook';
  url: string;
  /** Environment variable holding the HMAC-SHA256 secret; without it requests are unsigned. */
  secretEnv?: string;
  /** Extra headers (no secrets here: they would sit in the config file). */
  headers?: Record<string, string>;
}

export interface WecomChannelConfig extends ChannelBase {
  type: 'wecom';
  /** Default https://qyapi.weixin.qq.com/cgi-bin/webhook/send (intranets point this at their proxy). */
  url?: string;
  /** Environment variable holding the robot's key (the `key=` of its webhook address). */
  keyEnv: string;
  format?: 'text' | 'markdown';
  /** Text format: phone numbers to @-mention; "@all" mentions everyone. */
  mentionedMobiles?: string[];
  /** Messages per minute to this robot; default 20 (WeCom's limit). */
  ratePerMinute?: number;
}

export interface DingtalkChannelConfig extends ChannelBase {
  type: 'dingtalk';
  /** Default https://oapi.dingtalk.com/robot/send. */
  url?: string;
  /** Environment variable holding the robot's access_token. */
  accessTokenEnv: string;
  /** Environment variable holding the signing secret (SEC…): turns on signed mode (timestamp + sign). */
  secretEnv?: string;
  format?: 'text' | 'markdown';
  atMobiles?: string[];
  atAll?: boolean;
  ratePerMinute?: number;
}

export interface EmailChannelConfig extends ChannelBase {
  type: 'email';
  host: string;
  /** Default 587 (465 with security: tls, 25 with none). */
  port?: number;
  /** starttls (default): upgrade and refuse to send without TLS; tls: TLS from the first byte (465); none: plain (test rigs only). */
  security?: 'starttls' | 'tls' | 'none';
  /** Check the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** PEM file of a private CA that signed the server's certificate. */
  caFile?: string;
  /** SMTP user name (not secret) or the environment variable holding it. */
  user?: string;
  userEnv?: string;
  /** Environment variable holding the SMTP password. */
  passwordEnv?: string;
  from: string;
  to: string[];
  cc?: string[];
}

export interface SmsSuccessCheck {
  /** HTTP statuses that count as accepted; default any 2xx. */
  httpStatus?: number[];
  /** A field of the JSON answer (dotted path) and the value that means accepted, e.g. {path: code, equals: 0}. */
  json?: { path: string; equals: string | number | boolean };
  /** A regular expression the answer body must match. */
  bodyMatches?: string;
}

export interface SmsChannelConfig extends ChannelBase {
  type: 'sms';
  method?: 'POST' | 'GET' | 'PUT';
  /** URL template; placeholder values are URL-encoded. */
  url: string;
  /** Header templates; `{{env.NAME}}` brings a secret from the environment. */
  headers?: Record<string, string>;
  /** json (default): `body` is a mapping whose string leaves are templates; form: a mapping sent urlencoded; raw: `body` is a string template sent as is. */
  bodyEncoding?: 'json' | 'form' | 'raw';
  body?: unknown;
  /** Content type for raw bodies (default text/plain; charset=utf-8). */
  contentType?: string;
  phoneNumbers: string[];
  /** One request per phone number (default true); false: one request with {{phones}} = comma-separated numbers. */
  perRecipient?: boolean;
  /** Longest {{text}} in characters (default 300; gateways split long messages into 70-character parts). */
  maxChars?: number;
  success?: SmsSuccessCheck;
}

export type ChannelConfig = WebhookChannelConfig | WecomChannelConfig | DingtalkChannelConfig | EmailChannelConfig | SmsChannelConfig;

export interface QuietHours {
  /** Beijing time HH:MM; the window may cross midnight (22:00–07:00). */
  from: string;
  to: string;
  /** Critical alarms are sent during quiet hours too (default true). */
  exceptCritical?: boolean;
}

export interface NotifyRule {
  id: string;
  /** The bureau whose alarms this rule covers: only alarms of devices shared with it (共享范围) match. */
  bureau: string;
  /** Severities that match (default all). */
  severities?: SeverityName[];
  kinds?: AlarmKind[];
  /** Site ids / device ids (default all of the bureau's). */
  sites?: string[];
  devices?: string[];
  /** Default raised, escalated, cleared (acknowledgements are not announced unless listed). */
  transitions?: Transition[];
  quietHours?: QuietHours;
  language?: Lang;
  channels: string[];
}

export interface DigestConfig {
  /** More than this many messages for one channel within `windowS` become one digest. Default 5. */
  threshold?: number;
  windowS?: number;
  /** Items listed in a digest (the rest are counted). Default 20. */
  maxItems?: number;
}

export interface NotifyConfig {
  /** Dashboard address used for links in messages, e.g. https://yiwang.city.gov.cn/dashboard/. */
  dashboardUrl?: string;
  channels: ChannelConfig[];
  rules: NotifyRule[];
  digest?: DigestConfig;
}

const ENV_NAME = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' };
const ID = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' };
const HTTP_URL = { type: 'string', pattern: '^https?://[^\\s]+$' };
const HHMM = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' };
const PHONE = { type: 'string', pattern: '^(\\+?[0-9]{5,15}|@all)$' };
const EMAIL = { type: 'string', pattern: '^[^\\s@<>]+@[^\\s@<>]+$' };
const FROM = { type: 'string', pattern: '^([^<>]*<[^\\s@<>]+@[^\\s@<>]+>|[^\\s@<>]+@[^\\s@<>]+)$' };
const BUREAU = { type: 'string', pattern: '^[a-z][a-z0-9_]*$' };
const base = {
  id: ID,
  bureau: BUREAU,
  timeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 },
};
const channel = (type: string, props: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', ...required],
  properties: { ...base, type: { const: type }, ...props },
});

/** JSON Schema of the `notify:` block (draft-07, ajv). */
export const NOTIFY_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'yiwang collector notify block',
  type: 'object',
  additionalProperties: false,
  properties: {
    dashboardUrl: HTTP_URL,
    channels: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: [...CHANNEL_TYPES] } },
        // Dispatch on `type` so errors name the fields of the right channel kind.
        allOf: [
          { if: { properties: { type: { const: 'webhook' } } }, then: channel('webhook', { url: HTTP_URL, secretEnv: ENV_NAME, headers: { type: 'object', additionalProperties: { type: 'string' } } }, ['url']) },
          {
            if: { properties: { type: { const: 'wecom' } } },
            then: channel('wecom', { url: HTTP_URL, keyEnv: ENV_NAME, format: { enum: ['text', 'markdown'] }, mentionedMobiles: { type: 'array', items: PHONE }, ratePerMinute: { type: 'integer', minimum: 1, maximum: 600 } }, ['keyEnv']),
          },
          {
            if: { properties: { type: { const: 'dingtalk' } } },
            then: channel('dingtalk', { url: HTTP_URL, accessTokenEnv: ENV_NAME, secretEnv: ENV_NAME, format: { enum: ['text', 'markdown'] }, atMobiles: { type: 'array', items: PHONE }, atAll: { type: 'boolean' }, ratePerMinute: { type: 'integer', minimum: 1, maximum: 600 } }, ['accessTokenEnv']),
          },
          {
            if: { properties: { type: { const: 'email' } } },
            then: channel(
              'email',
              {
                host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 1, maximum: 65535 }, security: { enum: ['starttls', 'tls', 'none'] },
                rejectUnauthorized: { type: 'boolean' }, caFile: { type: 'string', minLength: 1 }, user: { type: 'string', minLength: 1 }, userEnv: ENV_NAME, passwordEnv: ENV_NAME,
                from: FROM, to: { type: 'array', minItems: 1, items: EMAIL }, cc: { type: 'array', items: EMAIL },
              },
              ['host', 'from', 'to'],
            ),
          },
          {
            if: { properties: { type: { const: 'sms' } } },
            then: channel(
              'sms',
              {
                method: { enum: ['POST', 'GET', 'PUT'] }, url: HTTP_URL, headers: { type: 'object', additionalProperties: { type: 'string' } },
                bodyEncoding: { enum: ['json', 'form', 'raw'] }, body: {}, contentType: { type: 'string', minLength: 1 },
                phoneNumbers: { type: 'array', minItems: 1, items: PHONE }, perRecipient: { type: 'boolean' }, maxChars: { type: 'integer', minimum: 20, maximum: 2000 },
                success: {
                  type: 'object', additionalProperties: false,
                  properties: {
                    httpStatus: { type: 'array', items: { type: 'integer', minimum: 100, maximum: 599 } },
                    json: { type: 'object', additionalProperties: false, required: ['path', 'equals'], properties: { path: { type: 'string', minLength: 1 }, equals: { type: ['string', 'number', 'boolean'] } } },
                    bodyMatches: { type: 'string', minLength: 1 },
                  },
                },
              },
              ['url', 'phoneNumbers'],
            ),
          },
        ],
      },
    },
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'bureau', 'channels'],
        properties: {
          id: ID,
          bureau: BUREAU,
          severities: { type: 'array', minItems: 1, items: { enum: [...SEVERITIES] } },
          kinds: { type: 'array', minItems: 1, items: { enum: [...ALARM_KINDS] } },
          sites: { type: 'array', items: { type: 'string', minLength: 1 } },
          devices: { type: 'array', items: { type: 'string', minLength: 1 } },
          transitions: { type: 'array', minItems: 1, items: { enum: [...TRANSITIONS] } },
          quietHours: { type: 'object', additionalProperties: false, required: ['from', 'to'], properties: { from: HHMM, to: HHMM, exceptCritical: { type: 'boolean' } } },
          language: { enum: ['zh', 'en'] },
          channels: { type: 'array', minItems: 1, items: ID },
        },
      },
    },
    digest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        threshold: { type: 'integer', minimum: 1, maximum: 1000 },
        windowS: { type: 'integer', minimum: 1, maximum: 3600 },
        maxItems: { type: 'integer', minimum: 1, maximum: 200 },
      },
    },
  },
} as const;

const validateSchema = compileSchema(NOTIFY_CONFIG_SCHEMA);

export interface ConfigProblem {
  /** Dotted path inside the notify block, e.g. `rules[0].channels[1]`. */
  path: string;
  message: string;
}

// ajv reports a failed if/then as a separate "must match then schema" error next to the real one.
const useful = (e: ErrorObject) => e.keyword !== 'if' && !(e.keyword === 'const' && e.instancePath.endsWith('/type'));

const toPath = (p: string) => p.replace(/\.(\d+)(?=\.|$)/g, '[$1]');

/** Checks a parsed `notify:` block; returns its problems (empty when it is usable). */
export function validateNotifyConfig(doc: unknown): ConfigProblem[] {
  if (!validateSchema(doc)) {
    const seen = new Set<string>();
    return (validateSchema.errors ?? []).filter(useful).map(describeAjvError).map((p) => ({ path: toPath(p.path), message: p.message })).filter((p) => {
      const k = `${p.path}|${p.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
  }
  const c = doc as NotifyConfig;
  const problems: ConfigProblem[] = [];
  const byId = new Map<string, ChannelConfig>();
  (c.channels ?? []).forEach((ch, i) => {
    if (byId.has(ch.id)) problems.push({ path: `channels[${i}].id`, message: `"${ch.id}" is used by another channel` });
    byId.set(ch.id, ch);
    if (ch.type === 'email' && ch.user && ch.userEnv) problems.push({ path: `channels[${i}]`, message: 'set user or userEnv, not both' });
    if (ch.type === 'sms') {
      const enc = ch.bodyEncoding ?? 'json';
      if (ch.method === 'GET' && ch.body !== undefined) problems.push({ path: `channels[${i}].body`, message: 'a GET request has no body: put the fields in the URL template' });
      if (enc === 'raw' && ch.body !== undefined && typeof ch.body !== 'string') problems.push({ path: `channels[${i}].body`, message: 'with bodyEncoding raw the body must be a string template' });
      if (enc !== 'raw' && ch.body !== undefined && (typeof ch.body !== 'object' || ch.body === null || Array.isArray(ch.body))) problems.push({ path: `channels[${i}].body`, message: `with bodyEncoding ${enc} the body must be a mapping of field: template` });
      if (ch.success?.bodyMatches) {
        try {
          new RegExp(ch.success.bodyMatches);
        } catch (err) {
          problems.push({ path: `channels[${i}].success.bodyMatches`, message: `not a regular expression: ${(err as Error).message}` });
        }
      }
    }
  });
  const ruleIds = new Set<string>();
  (c.rules ?? []).forEach((r, i) => {
    if (ruleIds.has(r.id)) problems.push({ path: `rules[${i}].id`, message: `"${r.id}" is used by another rule` });
    ruleIds.add(r.id);
    r.channels.forEach((id, j) => {
      const ch = byId.get(id);
      if (!ch) problems.push({ path: `rules[${i}].channels[${j}]`, message: `unknown channel "${id}"` });
      else if (ch.bureau && ch.bureau !== r.bureau) problems.push({ path: `rules[${i}].channels[${j}]`, message: `channel "${id}" belongs to bureau ${ch.bureau}, not ${r.bureau}` });
    });
    if (r.quietHours && r.quietHours.from === r.quietHours.to) problems.push({ path: `rules[${i}].quietHours`, message: 'from and to are equal: the window would be empty' });
  });
  return problems;
}

/** Validates and returns the block; throws with every problem listed (`notify.rules[0].channels[1]: unknown channel "x"`). */
export function parseNotifyConfig(doc: unknown, prefix = 'notify'): NotifyConfig {
  const problems = validateNotifyConfig(doc ?? { channels: [], rules: [] });
  if (problems.length) throw new Error(`invalid ${prefix} config:\n  ${problems.map((p) => `${prefix}${p.path === '(top level)' ? '' : `.${p.path}`}: ${p.message}`).join('\n  ')}`);
  const c = (doc ?? {}) as Partial<NotifyConfig>;
  return { ...c, channels: c.channels ?? [], rules: c.rules ?? [] };
}

/** Environment variables the channels name that are not set (checked at start, not at the first alarm). */
export function missingEnv(c: NotifyConfig, env: NodeJS.ProcessEnv = process.env): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  c.channels.forEach((ch, i) => {
    const names: [string, string | undefined][] = [];
    if (ch.type === 'webhook') names.push(['secretEnv', ch.secretEnv]);
    if (ch.type === 'wecom') names.push(['keyEnv', ch.keyEnv]);
    if (ch.type === 'dingtalk') names.push(['accessTokenEnv', ch.accessTokenEnv], ['secretEnv', ch.secretEnv]);
    if (ch.type === 'email') names.push(['userEnv', ch.userEnv], ['passwordEnv', ch.passwordEnv]);
    if (ch.type === 'sms') {
      const text = JSON.stringify([ch.url, ch.headers ?? {}, ch.body ?? '']);
      for (const m of text.matchAll(/\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) names.push([`{{env.${m[1]}}}`, m[1]]);
    }
    for (const [key, name] of names) if (name && !env[name]) out.push({ path: `channels[${i}].${key}`, message: `environment variable ${name} is not set` });
  });
  return out;
}

/** What matchRules needs to know about an alarm transition. */
export interface AlarmFacts {
  /** Bureaus the device is shared with (its 共享范围). */
  bureaus: readonly string[];
  severity: SeverityName;
  kind: AlarmKind;
  transition: Transition;
  deviceId: string;
  siteId?: string;
}

export interface RuleMatch {
  rule: string;
  bureau: string;
  channels: string[];
  language: Lang;
  /** False when quiet hours hold the message back (the delivery log should say so). */
  deliver: boolean;
  reason?: 'quiet_hours';
}

const DEFAULT_TRANSITIONS: readonly Transition[] = ['raised', 'escalated', 'cleared'];
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** True when `now` falls inside the window in Beijing time; `from` inclusive, `to` exclusive; may cross midnight. */
export function inQuietHours(q: QuietHours, now: number): boolean {
  const m = beijingMinuteOfDay(now);
  const from = minutes(q.from);
  const to = minutes(q.to);
  return from < to ? m >= from && m < to : m >= from || m < to;
}

/** The rules an alarm transition matches, each with its channels and language, in rule order. Pure. */
export function matchRules(rules: readonly NotifyRule[], alarm: AlarmFacts, now: number): RuleMatch[] {
  const out: RuleMatch[] = [];
  for (const r of rules) {
    if (!alarm.bureaus.includes(r.bureau)) continue;
    if (r.severities && !r.severities.includes(alarm.severity)) continue;
    if (r.kinds && !r.kinds.includes(alarm.kind)) continue;
    if (!(r.transitions ?? DEFAULT_TRANSITIONS).includes(alarm.transition)) continue;
    if (r.sites?.length && !(alarm.siteId && r.sites.includes(alarm.siteId))) continue;
    if (r.devices?.length && !r.devices.includes(alarm.deviceId)) continue;
    const quiet = !!r.quietHours && inQuietHours(r.quietHours, now) && !((r.quietHours.exceptCritical ?? true) && alarm.severity === 'critical');
    out.push({ rule: r.id, bureau: r.bureau, channels: [...r.channels], language: r.language ?? 'zh', deliver: !quiet, ...(quiet ? { reason: 'quiet_hours' as const } : {}) });
  }
  return out;
}

export interface PlannedDelivery {
  channel: string;
  language: Lang;
  /** Rules that asked for it (several rules may name the same channel: it is sent once). */
  rules: string[];
  deliver: boolean;
  reason?: 'quiet_hours';
}

/**
 * One entry per channel an alarm transition should reach: matchRules' result with duplicate channels merged
 * (a channel is sent to when any rule naming it is outside its quiet hours; the first such rule picks the language).
 */
export function planDeliveries(rules: readonly NotifyRule[], alarm: AlarmFacts, now: number): PlannedDelivery[] {
  const byChannel = new Map<string, PlannedDelivery>();
  for (const m of matchRules(rules, alarm, now)) {
    for (const channel of m.channels) {
      const cur = byChannel.get(channel);
      if (!cur) byChannel.set(channel, { channel, language: m.language, rules: [m.rule], deliver: m.deliver, ...(m.reason ? { reason: m.reason } : {}) });
      else {
        cur.rules.push(m.rule);
        if (m.deliver && !cur.deliver) {
          cur.deliver = true;
          cur.language = m.language;
          delete cur.reason;
        }
      }
    }
  }
  return [...byChannel.values()];
}

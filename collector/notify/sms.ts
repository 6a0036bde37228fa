// SMS through the province's own gateway. Every deployment has a different one (an operator's 短信网关, a cloud
// SMS service behind the city's API gateway, an internal HTTP-to-SMPP bridge), so the request is a template:
// method, URL, headers and body with {{placeholders}}, and a success check on the answer.
//
// Placeholders: {{phone}} (one recipient), {{phones}} (all, comma-separated), {{text}} (the short message),
// {{title}}, {{severity}}, {{transition}}, {{deviceId}}, {{deviceName}}, {{siteName}}, {{time}} (Beijing time),
// {{timestamp}} (ms), {{alarmId}}, {{env.NAME}} (a secret from the environment). Values are URL-encoded in the URL,
// form-encoded in form bodies, JSON-escaped in JSON bodies and inserted as they are in raw bodies.
import type { SmsChannelConfig } from './config.js';
import { deliverHttp, safeTarget, startResult } from './http.js';
import { render, type Rendered } from './render.js';
import { fmtBeijing } from './time.js';
import type { Channel, DeliveryResult, Lang, Message, SendOptions } from './types.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;
const NAMES = new Set(['phone', 'phones', 'text', 'title', 'severity', 'transition', 'deviceId', 'deviceName', 'siteName', 'time', 'timestamp', 'alarmId']);

/** Fills `{{name}}` placeholders; `encode` escapes each value for where it lands. */
export function fillTemplate(template: string, values: Record<string, string>, encode: (v: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_, name: string) => encode(values[name] ?? ''));
}

/** Placeholders a template uses that we do not know (a typo would otherwise send an empty field forever). */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((n) => !NAMES.has(n) && !n.startsWith('env.'));
}

/** The message for a phone screen: title and the lines that matter, "；"-separated, cut to maxChars. */
export function smsText(r: Rendered, lang: Lang, maxChars: number): string {
  const skip = lang === 'zh' ? ['站点', '设备'] : ['Site', 'Device']; // already in the title
  const sep = lang === 'zh' ? '；' : '; ';
  const parts = [r.title, ...r.lines.filter(([k]) => !skip.includes(k)).map(([k, v]) => (/^\d+$/.test(k) || k === '…' ? v : `${k}${lang === 'zh' ? '：' : ': '}${v}`))];
  const text = parts.join(sep);
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

const maskPhone = (p: string) => (p.length > 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : p);

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function fillDeep(v: unknown, values: Record<string, string>): unknown {
  if (typeof v === 'string') return fillTemplate(v, values);
  if (Array.isArray(v)) return v.map((x) => fillDeep(x, values));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillDeep(x, values)]));
  return v;
}

export function createSmsChannel(cfg: SmsChannelConfig, env: NodeJS.ProcessEnv, defaults: { dashboardUrl?: string } = {}): Channel {
  const templates = JSON.stringify([cfg.url, cfg.headers ?? {}, cfg.body ?? '']);
  const unknown = unknownPlaceholders(templates);
  if (unknown.length) throw new Error(`notify channel ${cfg.id}: unknown placeholder(s) ${unknown.map((n) => `{{${n}}}`).join(', ')}`);
  const envValues: Record<string, string> = {};
  for (const m of templates.matchAll(PLACEHOLDER)) {
    if (!m[1]!.startsWith('env.')) continue;
    const name = m[1]!.slice(4);
    const v = env[name];
    if (!v) throw new Error(`notify channel ${cfg.id}: environment variable ${name} is not set`);
    envValues[m[1]!] = v;
  }
  const method = cfg.method ?? 'POST';
  const encoding = cfg.bodyEncoding ?? 'json';
  const maxChars = cfg.maxChars ?? 300;
  const bodyRegex = cfg.success?.bodyMatches ? new RegExp(cfg.success.bodyMatches) : undefined;

  function request(values: Record<string, string>): { url: string; headers: Record<string, string>; body?: string } {
    const url = fillTemplate(cfg.url, values, encodeURIComponent);
    const headers = Object.fromEntries(Object.entries(cfg.headers ?? {}).map(([k, v]) => [k, fillTemplate(v, values)]));
    if (method === 'GET' || cfg.body === undefined) return { url, headers };
    if (encoding === 'raw') return { url, headers: { 'content-type': cfg.contentType ?? 'text/plain; charset=utf-8', ...headers }, body: fillTemplate(cfg.body as string, values) };
    if (encoding === 'form') {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(cfg.body as Record<string, unknown>)) form.set(k, fillTemplate(String(v), values));
      return { url, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers }, body: form.toString() };
    }
    return { url, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(fillDeep(cfg.body, values)) };
  }

  function judge(body: string, status: number): Partial<DeliveryResult> & Pick<DeliveryResult, 'ok'> {
    if (cfg.success?.httpStatus && !cfg.success.httpStatus.includes(status)) return { ok: false, error: `HTTP ${status} is not one of ${cfg.success.httpStatus.join(', ')}`, retryable: false };
    if (cfg.success?.json) {
      let answer: unknown;
      try {
        answer = JSON.parse(body);
      } catch {
        return { ok: false, error: `gateway answer is not JSON: ${body.slice(0, 120)}`, retryable: true };
      }
      const got = get(answer, cfg.success.json.path);
      if (got !== cfg.success.json.equals) return { ok: false, error: `gateway answered ${cfg.success.json.path}=${JSON.stringify(got)} (expected ${JSON.stringify(cfg.success.json.equals)}): ${body.slice(0, 200)}`, retryable: false };
    }
    if (bodyRegex && !bodyRegex.test(body)) return { ok: false, error: `gateway answer does not match ${cfg.success!.bodyMatches}: ${body.slice(0, 200)}`, retryable: false };
    return { ok: true };
  }

  return {
    id: cfg.id,
    type: 'sms',
    async send(message: Message, opts: SendOptions = {}): Promise<DeliveryResult> {
      const lang = opts.lang ?? 'zh';
      const r = render(message, { lang, dashboardUrl: defaults.dashboardUrl });
      const a = message.type === 'alarm' ? message.alarm : undefined;
      const common: Record<string, string> = {
        ...envValues,
        text: smsText(r, lang, maxChars),
        title: r.title,
        severity: a?.severity ?? '',
        transition: message.type === 'alarm' ? message.transition : 'digest',
        deviceId: a?.device.id ?? '',
        deviceName: a?.device.name ?? a?.device.id ?? '',
        siteName: a?.site?.name ?? a?.site?.id ?? '',
        time: fmtBeijing(message.at),
        timestamp: String(message.at),
        alarmId: a?.id ?? '',
        phones: cfg.phoneNumbers.join(','),
      };
      const batches = cfg.perRecipient === false ? [cfg.phoneNumbers] : cfg.phoneNumbers.map((p) => [p]);
      const results: DeliveryResult[] = [];
      for (const phones of batches) {
        const finish = startResult(cfg.id, 'sms', opts.attempt ?? 1, `${safeTarget(cfg.url)} → ${phones.map(maskPhone).join(',')}`);
        const req = request({ ...common, phone: phones[0]! });
        results.push(await deliverHttp(finish, { ...req, method, timeoutMs: cfg.timeoutMs ?? 10_000, signal: opts.signal }, (ans) => judge(ans.body, ans.status)));
      }
      return mergeResults(results);
    },
    close: async () => {},
  };
}

/** One result for several recipients: sent when all were; otherwise failed, naming who did not get it. */
function mergeResults(results: DeliveryResult[]): DeliveryResult {
  if (results.length === 1) return results[0]!;
  const failed = results.filter((r) => !r.ok);
  const first = results[0]!;
  const last = results[results.length - 1]!;
  return {
    ...first,
    ok: failed.length === 0,
    status: failed.length === 0 ? 'sent' : 'failed',
    target: results.map((r) => r.target).join('; '),
    durationMs: last.startedAt + last.durationMs - first.startedAt,
    ...(failed.length
      ? { error: failed.map((r) => `${r.target}: ${r.error}`).join('; '), retryable: failed.some((r) => r.retryable), httpStatus: failed[0]!.httpStatus }
      : {}),
  };
}

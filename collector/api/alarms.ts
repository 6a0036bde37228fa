// Alarms, notification rules and the delivery log over HTTP. Scoped per bureau like every other endpoint: a
// bureau token sees the alarms of devices shared with it (edge alarms: edges with such a device), its bureau's
// rules and its bureau's deliveries; anything else answers 404. Viewers read; operators also acknowledge and manage
// their bureau's rules; admins may do everything.
import { toCsv } from '../../core/csv.js';
import { ALARM_KINDS, SEVERITIES, validateNotifyConfig, type AlarmKind, type NotifyRule } from '../notify/index.js';
import { ALARM_STATES, type AlarmState } from '../store/alarm-plan.js';
import { DELIVERY_STATUSES, type Alarm, type DeliveryStatus } from '../store/alarm-types.js';
import { iso, requireOperator, visibleDevice, type Handler, type Route } from './handler.js';
import { HttpError, notFound, parseTime, readBody, readJson, sendJson, sendText, wantsCsv } from './http.js';

/** A comma-separated list of allowed words (`state=active,acknowledged`). */
function parseList<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[], aliases: Record<string, T[]> = {}): T[] | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  const out: T[] = [];
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (aliases[part]) out.push(...aliases[part]!);
    else if (allowed.includes(part as T)) out.push(part as T);
    else throw new HttpError(400, `${name}: "${part.slice(0, 40)}" is not one of ${[...allowed, ...Object.keys(aliases)].join(', ')}`);
  }
  return [...new Set(out)];
}

function parseLimit(q: URLSearchParams, def: number, max: number): number {
  const v = q.get('limit');
  if (v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, `limit: must be an integer 1-${max}`);
  return n;
}

function parseId(raw: string | undefined): number {
  if (!raw || !/^\d{1,15}$/.test(raw)) throw notFound();
  return Number(raw);
}

const ALARM_CSV_HEADER = [
  'id', 'state', 'severity', 'peak_severity', 'kind', 'code', 'device', 'device_name', 'site', 'site_name', 'edge', 'metric', 'unit', 'value', 'peak',
  'threshold', 'raised_at', 'cleared_at', 'duration_s', 'acknowledged_by', 'acknowledged_at', 'ack_comment', 'message',
];
const alarmCsvRow = (a: Alarm) => [
  a.id, a.state, a.severity, a.peakSeverity, a.kind, a.code, a.device, a.deviceName, a.site, a.siteName, a.edge, a.metric, a.unit, a.value, a.peak,
  a.threshold, iso(a.raisedAt), a.clearedAt !== undefined ? iso(a.clearedAt) : '', Math.round(a.durationMs / 1000), a.acknowledgedBy,
  a.acknowledgedAt !== undefined ? iso(a.acknowledgedAt) : '', a.ackComment, a.message,
];

const listAlarms: Handler = async (ctx, who, req, res, q) => {
  const csv = wantsCsv(req, q);
  const device = q.get('device') || undefined;
  if (device) await visibleDevice(ctx, who, device);
  const severities = parseList(q, 'severity', SEVERITIES)?.map((s) => SEVERITIES.indexOf(s));
  const min = parseList(q, 'minSeverity', SEVERITIES);
  if (min && min.length !== 1) throw new HttpError(400, 'minSeverity: one severity');
  const from = q.get('from') ? parseTime(q.get('from'), 'from', 0) : undefined;
  const to = q.get('to') ? parseTime(q.get('to'), 'to', 0) : undefined;
  if (from !== undefined && to !== undefined && from >= to) throw new HttpError(400, 'from must be before to');
  const list = await ctx.store.alarms.list({
    bureau: who.bureau,
    states: parseList<AlarmState>(q, 'state', ALARM_STATES, { open: ['active', 'acknowledged'] }),
    site: q.get('site') || undefined,
    device,
    severities: severities ?? (min ? SEVERITIES.slice(SEVERITIES.indexOf(min[0]!)).map((s) => SEVERITIES.indexOf(s)) : undefined),
    kinds: parseList<AlarmKind>(q, 'kind', ALARM_KINDS),
    from,
    to,
    limit: parseLimit(q, 1000, 10_000),
  });
  if (csv) {
    return sendText(res, 200, toCsv(ALARM_CSV_HEADER, list.map(alarmCsvRow)), 'text/csv; charset=utf-8', { 'content-disposition': 'attachment; filename="alarms.csv"' });
  }
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<string, number>;
  for (const a of list) if (a.state !== 'cleared') counts[a.severity]!++;
  sendJson(res, 200, { count: list.length, open: counts, alarms: list });
};

const getAlarm: Handler = async (ctx, who, _req, res, _q, [id]) => {
  const a = await ctx.store.alarms.get(parseId(id), who.bureau);
  if (!a) throw notFound();
  sendJson(res, 200, a);
};

const ackAlarm: Handler = async (ctx, who, req, res, _q, [id]) => {
  const alarmId = parseId(id);
  // Visibility first: another bureau's alarm does not exist for this token, whatever its role.
  if (!(await ctx.store.alarms.get(alarmId, who.bureau))) throw notFound();
  requireOperator(who);
  const text = await readBody(req, 16 * 1024);
  let body: unknown = {};
  if (text.trim()) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const comment = (body as { comment?: unknown } | null)?.comment;
  if (comment !== undefined && comment !== null && typeof comment !== 'string') throw new HttpError(400, 'comment: must be a string');
  if (typeof comment === 'string' && comment.length > 500) throw new HttpError(400, 'comment: at most 500 characters');
  const by = who.admin ? `admin:${who.name}` : who.name;
  const out = await ctx.store.alarms.acknowledge(alarmId, by, typeof comment === 'string' && comment.trim() ? comment.trim() : null, who.bureau);
  if (!out.ok && out.reason === 'not_found') throw notFound();
  if (!out.ok) return sendJson(res, 409, { error: `already acknowledged by ${out.alarm?.acknowledgedBy ?? '?'}`, alarm: out.alarm });
  ctx.alarmsChanged?.();
  sendJson(res, 200, out.alarm);
};

// ---- notification rules ----

function channelsFor(ctx: Parameters<Handler>[0], bureau: string | undefined) {
  return (ctx.cfg.notify?.channels ?? []).filter((c) => bureau === undefined || !c.bureau || c.bureau === bureau);
}

const listRules: Handler = async (ctx, who, _req, res) => {
  const rules = await ctx.store.notify.rules(who.bureau);
  sendJson(res, 200, { count: rules.length, rules: rules.map((r) => ({ ...r.rule, source: r.source, updatedAt: r.updatedAt, updatedBy: r.updatedBy })) });
};

const putRule: Handler = async (ctx, who, req, res, _q, [id]) => {
  requireOperator(who);
  const body = await readJson(req, 64 * 1024);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object (a notification rule)');
  const { source: _s, updatedAt: _u, updatedBy: _b, ...fields } = body as Record<string, unknown>;
  if (fields.id !== undefined && fields.id !== id) throw new HttpError(400, `body id "${String(fields.id)}" does not match the URL id "${id}"`);
  if (who.bureau !== undefined && fields.bureau !== undefined && fields.bureau !== who.bureau) throw new HttpError(403, `an operator of ${who.bureau} manages only ${who.bureau}'s rules`);
  const rule = { ...fields, id, bureau: who.bureau ?? fields.bureau } as NotifyRule;
  const existing = await ctx.store.notify.rule(id!);
  if (existing && who.bureau !== undefined && existing.rule.bureau !== who.bureau) throw new HttpError(409, `rule id "${id}" is taken by another bureau's rule: choose another id`);
  const problems = validateNotifyConfig({ channels: ctx.cfg.notify?.channels ?? [], rules: [rule] }).filter((p) => p.path.startsWith('rules') || p.path === '(top level)');
  if (problems.length) return sendJson(res, 400, { error: 'invalid rule', issues: problems.map((p) => ({ path: p.path.replace(/^rules\[0\]\.?/, '') || '(rule)', message: p.message })) });
  const out = await ctx.store.notify.putRule(rule, 'api', who.admin ? `admin:${who.name}` : who.name);
  const stored = (await ctx.store.notify.rule(id!))!;
  sendJson(res, out.created ? 201 : 200, { ...stored.rule, source: stored.source, updatedAt: stored.updatedAt, updatedBy: stored.updatedBy });
};

const deleteRule: Handler = async (ctx, who, _req, res, _q, [id]) => {
  requireOperator(who);
  const existing = await ctx.store.notify.rule(id!);
  if (!existing || (who.bureau !== undefined && existing.rule.bureau !== who.bureau)) throw notFound();
  await ctx.store.notify.removeRule(id!);
  sendJson(res, 200, { deleted: id, note: existing.source === 'config' ? 'this rule comes from collector.yaml: it returns at the next start unless removed there' : undefined });
};

const listChannels: Handler = (ctx, who, _req, res) => {
  const list = channelsFor(ctx, who.bureau).map((c) => ({ id: c.id, type: c.type, bureau: c.bureau ?? null }));
  sendJson(res, 200, { count: list.length, channels: list });
};

// ---- delivery log ----

const DELIVERY_CSV_HEADER = ['id', 'created_at', 'alarm', 'transition', 'device', 'severity', 'channel', 'lang', 'rules', 'status', 'attempts', 'sent_at', 'target', 'http_status', 'errcode', 'error', 'items', 'reason'];

const listDeliveries: Handler = async (ctx, who, req, res, q) => {
  const csv = wantsCsv(req, q);
  const alarm = q.get('alarm');
  if (alarm !== null && !/^\d{1,15}$/.test(alarm)) throw new HttpError(400, 'alarm: an alarm id');
  const list = await ctx.store.notify.deliveries({
    bureau: who.bureau,
    status: parseList<DeliveryStatus>(q, 'status', DELIVERY_STATUSES),
    channel: q.get('channel') || undefined,
    alarm: alarm === null ? undefined : Number(alarm),
    from: q.get('from') ? parseTime(q.get('from'), 'from', 0) : undefined,
    to: q.get('to') ? parseTime(q.get('to'), 'to', 0) : undefined,
    limit: parseLimit(q, 500, 10_000),
  });
  const types = new Map((ctx.cfg.notify?.channels ?? []).map((c) => [c.id, c.type]));
  const withTypes = list.map((d) => ({ ...d, channelType: types.get(d.channel) }));
  if (csv) {
    return sendText(
      res, 200,
      toCsv(DELIVERY_CSV_HEADER, withTypes.map((d) => [d.id, iso(d.createdAt), d.alarmId, d.transition, d.device, d.severity, d.channel, d.lang, d.rules.join(' '), d.status, d.attempts, d.sentAt ? iso(d.sentAt) : '', d.target, d.httpStatus, d.errcode, d.error, d.items, d.reason])),
      'text/csv; charset=utf-8',
      { 'content-disposition': 'attachment; filename="deliveries.csv"' },
    );
  }
  sendJson(res, 200, { count: withTypes.length, deliveries: withTypes });
};

const seg = '([^/]+)';
export const ALARM_ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/api\/v1\/alarms$/, handler: listAlarms },
  { method: 'GET', pattern: new RegExp(`^/api/v1/alarms/${seg}$`), handler: getAlarm },
  { method: 'POST', pattern: new RegExp(`^/api/v1/alarms/${seg}/ack$`), handler: ackAlarm },
  { method: 'GET', pattern: /^\/api\/v1\/notify\/rules$/, handler: listRules },
  { method: 'PUT', pattern: new RegExp(`^/api/v1/notify/rules/${seg}$`), handler: putRule },
  { method: 'DELETE', pattern: new RegExp(`^/api/v1/notify/rules/${seg}$`), handler: deleteRule },
  { method: 'GET', pattern: /^\/api\/v1\/notify\/channels$/, handler: listChannels },
  { method: 'GET', pattern: /^\/api\/v1\/notify\/deliveries$/, handler: listDeliveries },
];

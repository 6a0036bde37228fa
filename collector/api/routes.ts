// The bureau-facing HTTP API and the admin endpoints. A bureau token only ever sees devices whose sharing
// scope includes its bureau; anything else answers 404 exactly as if it did not exist.
import { toCsv } from '../../core/csv.js';
import { CSV_EXPORT_ENCODINGS, csvExportEncoding, recordsToCsvBytes, recordsToJson, validateRecord } from '../../core/records.js';
import { isValidEdgeId } from '../../schema/topics.js';
import type { DeviceRecord } from '../../schema/types.js';
import { createToken } from '../auth/tokens.js';
import { SEVERITY_NAMES } from '../store/sql/events.js';
import { toRecord } from '../store/records.js';
import { AGGS, AGGREGATE_NAMES, type Agg, type AggregateName } from '../store/index.js';
import { ANALYTICS_ROUTES, seriesFor } from './analytics.js';
import { EDGE_CONTROL_ROUTES } from '../control/routes.js';
import { fleet } from '../control/fleet.js';
import { syncRecordEdits } from '../control/edit.js';
import { importRecords } from '../control/import.js';
import { ALARM_ROUTES } from './alarms.js';
import { iso, requireAdmin, visibleDevice, type Handler, type Route } from './handler.js';
import { HttpError, notFound, parseBbox, parseDuration, parseTime, readJson, sendJson, sendText, wantsCsv } from './http.js';
import { serveFeed } from './sse.js';

/** `aggregate=` (sample, avg, min, max, total) and `period=` (seconds or a duration) selecting a series variant. */
function parseVariant(q: URLSearchParams): { aggregate?: AggregateName; periodS?: number } {
  const a = q.get('aggregate') || undefined;
  if (a !== undefined && !AGGREGATE_NAMES.includes(a as AggregateName)) throw new HttpError(400, `aggregate: must be one of ${AGGREGATE_NAMES.join(', ')}`);
  const p = q.get('period');
  let periodS: number | undefined;
  if (p) {
    const ms = /^\d+$/.test(p) ? Number(p) * 1000 : parseDuration(p, 'period');
    periodS = Math.round(ms! / 1000);
  }
  return { aggregate: a as AggregateName | undefined, periodS };
}

const listDevices: Handler = async (ctx, who, _req, res, q) => {
  const devices = await ctx.store.registry.list({
    bureau: who.bureau,
    site: q.get('site') || undefined,
    siteType: q.get('siteType') || q.get('site_type') || undefined,
    kind: q.get('kind') || undefined,
    metric: q.get('metric') || undefined,
    status: q.get('status') || undefined,
    bbox: parseBbox(q.get('bbox')),
    q: q.get('q') || undefined,
  });
  sendJson(res, 200, { count: devices.length, devices });
};

const getDevice: Handler = async (ctx, who, _req, res, _q, [id]) => {
  const record = toRecord(await visibleDevice(ctx, who, id!));
  // One entry per stored series: the metric's samples and, separately, each period aggregate (HJ 212 avg/min/max).
  const metrics = await ctx.store.series.variants(id!);
  sendJson(res, 200, { ...record, metrics });
};

const deviceHistory: Handler = async (ctx, who, _req, res, _q, [id]) => {
  await visibleDevice(ctx, who, id!);
  sendJson(res, 200, { device: id, history: await ctx.store.registry.history(id!) });
};

const series: Handler = async (ctx, who, req, res, q, [id, metric]) => {
  await visibleDevice(ctx, who, id!);
  const csv = wantsCsv(req, q);
  const to = parseTime(q.get('to'), 'to', Date.now());
  const from = parseTime(q.get('from'), 'from', to - 86_400_000);
  if (from >= to) throw new HttpError(400, 'from must be before to');
  const agg = (q.get('agg') ?? 'avg') as Agg;
  if (!AGGS.includes(agg)) throw new HttpError(400, `agg: must be one of ${AGGS.join(', ')}`);
  const step = parseDuration(q.get('step'), 'step');
  const r = await seriesFor(ctx, id!, metric!, {
    from, to, step, agg, rawDays: ctx.cfg.retention.rawDays, minuteDays: ctx.cfg.retention.minuteDays, ...parseVariant(q),
  });
  if (!r) throw notFound();
  if (csv) {
    // Period totals (rainfall agg=sum) also say where each period ends.
    const ends = r.points.some((p) => p.end !== undefined);
    return sendText(
      res, 200,
      toCsv(['ts', 'time', 'value', 'unit', 'quality', 'aggregate', 'period_s', ...(ends ? ['end_time'] : [])], r.points.map((p) => [p.ts, iso(p.ts), p.value, r.unit, p.quality, r.aggregate, r.periodS, ...(ends ? [iso(p.end!)] : [])])),
      'text/csv; charset=utf-8',
      { 'content-disposition': `attachment; filename="${id}-${metric}${r.aggregate === 'sample' ? '' : `-${r.aggregate}`}.csv"` },
    );
  }
  sendJson(res, 200, r);
};

const latest: Handler = async (ctx, who, req, res, q) => {
  const csv = wantsCsv(req, q);
  const { aggregate } = parseVariant(q);
  const rows = await ctx.store.series.latest({ bureau: who.bureau, site: q.get('site') || undefined, device: q.get('device') || undefined, metric: q.get('metric') || undefined, aggregate });
  if (csv) {
    return sendText(
      res, 200,
      toCsv(['device', 'metric', 'aggregate', 'period_s', 'ts', 'time', 'value', 'unit', 'quality'], rows.map((r) => [r.device, r.metric, r.aggregate, r.periodS, r.ts, iso(r.ts), r.value, r.unit, r.quality])),
      'text/csv; charset=utf-8',
      { 'content-disposition': 'attachment; filename="latest.csv"' },
    );
  }
  sendJson(res, 200, { count: rows.length, latest: rows });
};

const events: Handler = async (ctx, who, _req, res, q) => {
  const to = parseTime(q.get('to'), 'to', Date.now() + 1);
  const from = parseTime(q.get('from'), 'from', to - 86_400_000);
  const sev = q.get('severity');
  let minSeverity: number | undefined;
  if (sev) {
    minSeverity = SEVERITY_NAMES.indexOf(sev as (typeof SEVERITY_NAMES)[number]);
    if (minSeverity < 0) throw new HttpError(400, `severity: must be one of ${SEVERITY_NAMES.join(', ')}`);
  }
  const device = q.get('device') || undefined;
  if (device) await visibleDevice(ctx, who, device);
  const list = await ctx.store.events.query({ from, to, minSeverity, bureau: who.bureau, device });
  sendJson(res, 200, { count: list.length, events: list });
};

const sites: Handler = async (ctx, who, _req, res) => {
  const bySite = new Map<string, { site: string; name?: string; type?: string; devices: number; online: number; degraded: number; offline: number; unknown: number; lastSeen?: number }>();
  for (const d of await ctx.store.registry.list({ bureau: who.bureau })) {
    const id = d.site?.id || '';
    let s = bySite.get(id);
    if (!s) bySite.set(id, (s = { site: id, name: d.site?.name, type: d.site?.type, devices: 0, online: 0, degraded: 0, offline: 0, unknown: 0 }));
    s.devices++;
    const st = d.runtimeStatus === 'online' || d.runtimeStatus === 'degraded' || d.runtimeStatus === 'offline' ? d.runtimeStatus : 'unknown';
    s[st]++;
    if (d.lastSeen && (!s.lastSeen || d.lastSeen > s.lastSeen)) s.lastSeen = d.lastSeen;
  }
  const list = [...bySite.values()].map((s) => ({ ...s, status: s.offline === s.devices ? 'offline' : s.offline || s.degraded ? 'degraded' : s.online ? 'online' : 'unknown' }));
  sendJson(res, 200, { count: list.length, sites: list });
};

const exportRecords: Handler = async (ctx, who, req, res, q) => {
  const records = await ctx.store.registry.list({ bureau: who.bureau });
  const format = q.get('format') ?? (/\btext\/csv\b/.test(req.headers.accept ?? '') ? 'csv' : 'json');
  if (format === 'csv') {
    // UTF-8 with a BOM by default (Excel opens it correctly); ?encoding=gb18030 for older Excel and WPS set-ups.
    const encoding = csvExportEncoding(q.get('encoding') ?? 'utf-8');
    if (!encoding) throw new HttpError(400, `encoding: must be ${CSV_EXPORT_ENCODINGS.join(' or ')}, got "${q.get('encoding')}"`);
    const bytes = await recordsToCsvBytes(records, encoding);
    res.writeHead(200, { 'content-type': `text/csv; charset=${encoding}`, 'content-length': bytes.length, 'content-disposition': 'attachment; filename="records.csv"' });
    res.end(bytes);
    return;
  }
  if (format !== 'json') throw new HttpError(400, `format: must be csv or json, got "${format}"`);
  sendText(res, 200, recordsToJson(records), 'application/json; charset=utf-8');
};

/**
 * PUT replaces the record, POST merges fields. The device becomes registrar-managed: `edgeId` in the body assigns
 * it to that edge (null unassigns); until an admin assigns it, no edge can report for it.
 */
const putDevice = (replace: boolean): Handler => async (ctx, who, req, res, _q, [id]) => {
  requireAdmin(who);
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object (a device record)');
  const rec = { ...(body as Record<string, unknown>) } as unknown as DeviceRecord & { edgeId?: string | null };
  if (rec.id !== undefined && rec.id !== id) throw new HttpError(400, `body id "${rec.id}" does not match the URL id "${id}"`);
  rec.id = id!;
  const issues = validateRecord(rec);
  if (issues.length) return sendJson(res, 400, { error: 'invalid record', issues });
  let edgeId: string | null | undefined;
  if ('edgeId' in rec) {
    edgeId = rec.edgeId ?? null;
    if (edgeId !== null && (typeof edgeId !== 'string' || !isValidEdgeId(edgeId))) throw new HttpError(400, `edgeId: "${String(edgeId)}" is not a valid edge id`);
    delete rec.edgeId;
  }
  const configuredOn = await ctx.store.edgeConfigs.edgeOfDevice(id!);
  if (configuredOn && edgeId !== undefined && edgeId !== configuredOn) {
    throw new HttpError(409, `device ${id} is configured on edge ${configuredOn}: move it there with DELETE /api/v1/admin/edges/${configuredOn}/devices/${id} and PUT /api/v1/admin/edges/{edgeId}/devices/${id}`);
  }
  const out = await ctx.store.registry.upsert(rec, `admin:${who.name}`, { replace, edgeId });
  // A device configured on an edge: the edit goes into that edge's configuration too (collector/control).
  for (const edge of await syncRecordEdits(ctx.store, ctx.control.secrets, [id!], `admin:${who.name}`)) await ctx.control.publish(edge);
  sendJson(res, out.created ? 201 : 200, await ctx.store.registry.get(id!));
};

/** The edge list with the fleet view (collector/control/fleet.ts): each edge's ingest state and what it reports. */
const listEdges: Handler = async (ctx, who, _req, res) => {
  requireAdmin(who);
  const edges = await ctx.store.edges.list();
  const view = new Map((await fleet(ctx.store, edges)).map((f) => [f.id, f]));
  const list = [...edges.map((e) => ({ ...e, ...view.get(e.id) })), ...[...view.values()].filter((f) => !edges.some((e) => e.id === f.id))];
  sendJson(res, 200, { count: list.length, edges: list });
};

const addEdge: Handler = async (ctx, who, req, res) => {
  requireAdmin(who);
  const body = (await readJson(req)) as { id?: unknown };
  if (typeof body?.id !== 'string' || !isValidEdgeId(body.id)) throw new HttpError(400, 'id: a valid edge id is required (letters, digits, _ . -)');
  if (await ctx.store.edges.get(body.id)) throw new HttpError(409, `edge ${body.id} already exists`);
  const password = await ctx.addEdge(body.id);
  sendJson(res, 201, { id: body.id, password, note: 'the password is shown only once; the collector keeps a scrypt hash' });
};

const deleteEdge: Handler = async (ctx, who, _req, res, _q, [id]) => {
  requireAdmin(who);
  if (!(await ctx.store.edges.remove(id!))) throw notFound();
  sendJson(res, 200, { deleted: id });
};

const addToken: Handler = async (ctx, who, req, res) => {
  requireAdmin(who);
  const body = (await readJson(req)) as { name?: unknown; bureau?: unknown; admin?: unknown; role?: unknown };
  if (typeof body?.name !== 'string' || !body.name) throw new HttpError(400, 'name: required');
  let token: string;
  try {
    token = await createToken(ctx.store, { name: body.name, bureau: typeof body.bureau === 'string' ? body.bureau : undefined, admin: body.admin === true, role: body.role === undefined ? undefined : String(body.role) });
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  sendJson(res, 201, { name: body.name, token, note: 'the token is shown only once' });
};

const quarantine: Handler = async (ctx, who, _req, res, q) => {
  requireAdmin(who);
  const limit = Number(q.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HttpError(400, 'limit: must be an integer 1-10000');
  const items = await ctx.store.quarantine.list({
    edge: q.get('edge') || undefined,
    device: q.get('device') || undefined,
    reason: q.get('reason') || undefined,
    from: q.get('from') ? parseTime(q.get('from'), 'from', 0) : undefined,
    to: q.get('to') ? parseTime(q.get('to'), 'to', 0) : undefined,
    limit,
  });
  sendJson(res, 200, { count: items.length, items, summary: await ctx.store.quarantine.summary() });
};

const cameraSnapshot: Handler = async (ctx, who, _req, res, _q, [id]) => {
  await visibleDevice(ctx, who, id!);
  const snap = await ctx.store.video.latestSnapshot(id!);
  if (!snap) throw notFound();
  res.writeHead(200, {
    'content-type': 'image/jpeg',
    'content-length': snap.jpeg.length,
    'cache-control': 'no-store',
    'x-snapshot-time': iso(snap.ts),
    ...(snap.width ? { 'x-snapshot-width': String(snap.width), 'x-snapshot-height': String(snap.height ?? '') } : {}),
  });
  res.end(snap.jpeg);
};

const cameraQuality: Handler = async (ctx, who, _req, res, q, [id]) => {
  await visibleDevice(ctx, who, id!);
  const to = parseTime(q.get('to'), 'to', Date.now());
  const from = parseTime(q.get('from'), 'from', 0);
  const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 20) || 20));
  sendJson(res, 200, { device: id, results: await ctx.store.video.quality(id!, { from, to, limit }) });
};

/** Who the token belongs to (the dashboard shows the bureau). */
const whoami: Handler = (_ctx, who, _req, res) => {
  sendJson(res, 200, { name: who.name, bureau: who.bureau ?? null, admin: who.admin, role: who.admin ? 'admin' : (who.role ?? 'viewer') });
};

const seg = '([^/]+)';
/** Every route of the API; feature modules contribute their own lists (alarms, edge configuration, reports). */
export const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/api\/v1\/whoami$/, handler: whoami },
  { method: 'GET', pattern: /^\/api\/v1\/devices$/, handler: listDevices },
  { method: 'GET', pattern: new RegExp(`^/api/v1/devices/${seg}$`), handler: getDevice },
  { method: 'PUT', pattern: new RegExp(`^/api/v1/devices/${seg}$`), handler: putDevice(true) },
  { method: 'POST', pattern: new RegExp(`^/api/v1/devices/${seg}$`), handler: putDevice(false) },
  { method: 'GET', pattern: new RegExp(`^/api/v1/devices/${seg}/history$`), handler: deviceHistory },
  { method: 'GET', pattern: new RegExp(`^/api/v1/devices/${seg}/series/${seg}$`), handler: series },
  { method: 'GET', pattern: /^\/api\/v1\/latest$/, handler: latest },
  { method: 'GET', pattern: new RegExp(`^/api/v1/cameras/${seg}/snapshot$`), handler: cameraSnapshot },
  { method: 'GET', pattern: new RegExp(`^/api/v1/cameras/${seg}/quality$`), handler: cameraQuality },
  { method: 'GET', pattern: /^\/api\/v1\/events$/, handler: events },
  { method: 'GET', pattern: /^\/api\/v1\/sites$/, handler: sites },
  { method: 'GET', pattern: /^\/api\/v1\/feed$/, handler: serveFeed },
  { method: 'GET', pattern: /^\/api\/v1\/records\/export$/, handler: exportRecords },
  { method: 'POST', pattern: /^\/api\/v1\/records\/import$/, handler: importRecords },
  { method: 'GET', pattern: /^\/api\/v1\/(?:admin\/)?edges$/, handler: listEdges },
  { method: 'POST', pattern: /^\/api\/v1\/(?:admin\/)?edges$/, handler: addEdge },
  { method: 'DELETE', pattern: new RegExp(`^/api/v1/(?:admin/)?edges/${seg}$`), handler: deleteEdge },
  { method: 'POST', pattern: /^\/api\/v1\/tokens$/, handler: addToken },
  { method: 'GET', pattern: /^\/api\/v1\/admin\/quarantine$/, handler: quarantine },
  ...ANALYTICS_ROUTES,
  ...EDGE_CONTROL_ROUTES,
  ...ALARM_ROUTES,
];

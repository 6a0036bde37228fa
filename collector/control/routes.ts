// Admin API of edge–cloud coordination. Every route needs an admin token: a bureau token gets 403 and never sees
// a configuration (they carry device connections). Passwords are never in an answer: they show as ********, and
// sending ******** back keeps the stored one.
//
//   GET    /api/v1/admin/edges/{edge}                       one edge of the fleet view
//   GET    /api/v1/admin/edges/{edge}/config                desired configuration, what the edge applied/refused
//   PUT    /api/v1/admin/edges/{edge}/config                replace the desired configuration
//   GET    /api/v1/admin/edges/{edge}/config/history        versions: who changed what, when
//   PUT    /api/v1/admin/edges/{edge}/devices/{device}      add or replace a device (an edge config device entry)
//   DELETE /api/v1/admin/edges/{edge}/devices/{device}
//   PUT    /api/v1/admin/sites/{site}/thresholds            {metric: {warning, alarm, …}} for every edge with the site's devices
//   PUT    /api/v1/admin/devices/{device}/thresholds        … for the device, on its edge (DELETE removes either)
//   POST   /api/v1/admin/edges/{edge}/devices/{device}/test remote test read: raw and normalized values
//   POST   /api/v1/admin/edges/{edge}/doctor                the edge's doctor report
//   GET    /api/v1/admin/edges/{edge}/logs?limit=           its recent warn/error log lines
//   GET    /api/v1/admin/audit?from=&to=&actor=&q=&format=csv   the audit log
import type { ServerResponse } from 'node:http';
import { toCsv } from '../../core/csv.js';
import { formatTestResult, type DeviceTestResult } from '../../edge/device-test.js';
import type { DeviceConfig } from '../../edge/config.js';
import type { ThresholdLevels } from '../../edge/thresholds.js';
import type { CentralConfig } from '../../edge/central-config.js';
import type { ApiContext } from '../api/context.js';
import { iso, noteForAudit, requireAdmin, type Caller, type Handler, type Route } from '../api/handler.js';
import { HttpError, notFound, parseTime, readJson, sendJson, sendText, wantsCsv } from '../api/http.js';
import { DeviceOnOtherEdgeError } from '../store/sql/edge-configs.js';
import { parseDesired, withDevice, withoutDevice, withThresholds } from './desired.js';
import { EdgeNotEditableError, editDesired, InvalidConfigError, requireEditableEdge } from './edit.js';
import { fleet } from './fleet.js';
import { EdgeTimeoutError, EdgeUnavailableError } from './plane.js';
import { maskSecrets } from './secrets.js';

const actorOf = (who: Caller) => `admin:${who.name}`;

/** Runs a change of an edge's configuration and answers with its outcome (the new version, whether it went out). */
async function change(ctx: ApiContext, res: ServerResponse, edgeId: string, who: Caller, fn: (doc: CentralConfig) => CentralConfig | undefined, register: string[] = [], created?: boolean): Promise<void> {
  let result;
  try {
    await requireEditableEdge(ctx.store, edgeId);
    result = await editDesired(ctx.store, ctx.control.secrets, edgeId, actorOf(who), fn, register);
  } catch (err) {
    if (err instanceof InvalidConfigError) return sendJson(res, 400, { error: 'invalid configuration', issues: err.problems });
    if (err instanceof EdgeNotEditableError) throw new HttpError(err.status, err.message);
    if (err instanceof DeviceOnOtherEdgeError) throw new HttpError(409, err.message);
    throw err;
  }
  const version = result.desired?.version ?? 0;
  noteForAudit(res, { edge: edgeId, version, changed: result.changed });
  const notPublished = result.changed ? await ctx.control.publish(edgeId) : undefined;
  sendJson(res, created && result.changed ? 201 : 200, {
    edgeId,
    version,
    changed: result.changed,
    published: result.changed && !notPublished,
    ...(notPublished ? { note: notPublished } : {}),
  });
}

const edgeRow: Handler = async (ctx, who, _req, res, _q, [edgeId]) => {
  requireAdmin(who);
  const row = (await fleet(ctx.store)).find((e) => e.id === edgeId);
  if (!row) throw notFound();
  sendJson(res, 200, row);
};

const getConfig: Handler = async (ctx, who, _req, res, _q, [edgeId]) => {
  requireAdmin(who);
  const desired = await ctx.store.edgeConfigs.get(edgeId!);
  const state = await ctx.store.edgeConfigs.state(edgeId!);
  if (!desired && !state && !(await ctx.store.edges.get(edgeId!))) throw notFound();
  sendJson(res, 200, {
    edgeId,
    managed: state?.managed ?? null,
    version: desired?.version ?? 0,
    updatedAt: desired ? iso(desired.updatedAt) : null,
    updatedBy: desired?.updatedBy ?? null,
    config: maskSecrets(parseDesired(desired)),
    edge: {
      appliedVersion: state?.appliedVersion ?? 0,
      appliedAt: state?.appliedAt ? iso(state.appliedAt) : null,
      failedVersion: state?.failedVersion ?? null,
      errors: state?.errors ?? [],
      reportAt: state?.reportAt ? iso(state.reportAt) : null,
    },
    // Unmanaged edges report their own configuration (secrets masked at the edge): read-only here.
    ...(state?.localConfig ? { reported: JSON.parse(state.localConfig) as CentralConfig } : {}),
  });
};

function objectBody(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `body must be a JSON object (${what})`);
  return body as Record<string, unknown>;
}

const putConfig: Handler = async (ctx, who, req, res, _q, [edgeId]) => {
  requireAdmin(who);
  const body = objectBody(await readJson(req, 8 * 1024 * 1024), 'a configuration: devices, profiles, customMetrics, thresholds, protocols') as CentralConfig;
  await change(ctx, res, edgeId!, who, () => body, (body.devices ?? []).map((d) => d?.id).filter((id): id is string => typeof id === 'string'));
};

const configHistory: Handler = async (ctx, who, _req, res, q, [edgeId]) => {
  requireAdmin(who);
  const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
  const history = await ctx.store.edgeConfigs.history(edgeId!, limit);
  sendJson(res, 200, { edgeId, history: history.map((h) => ({ version: h.version, time: iso(h.ts), actor: h.actor, changes: h.changes })) });
};

const putDevice: Handler = async (ctx, who, req, res, _q, [edgeId, deviceId]) => {
  requireAdmin(who);
  const body = objectBody(await readJson(req), 'a device entry: profile, connection, and 一机一档 record fields');
  if (body.id !== undefined && body.id !== deviceId) throw new HttpError(400, `body id "${String(body.id)}" does not match the URL id "${deviceId}"`);
  const entry = { id: deviceId, ...body } as unknown as DeviceConfig;
  const existed = (await ctx.store.edgeConfigs.edgeOfDevice(deviceId!)) === edgeId;
  await change(ctx, res, edgeId!, who, (doc) => withDevice(doc, entry), [deviceId!], !existed);
};

const deleteDevice: Handler = async (ctx, who, _req, res, _q, [edgeId, deviceId]) => {
  requireAdmin(who);
  if ((await ctx.store.edgeConfigs.edgeOfDevice(deviceId!)) !== edgeId) throw new HttpError(404, `device ${deviceId} is not in edge ${edgeId}'s configuration`);
  await change(ctx, res, edgeId!, who, (doc) => withoutDevice(doc, deviceId!));
};

/** {metric: {warning, alarm, direction, hysteresis, when}} from a request body. */
async function levelsBody(req: Parameters<Handler>[2]): Promise<Record<string, ThresholdLevels>> {
  const body = objectBody(await readJson(req), 'metric → {warning, alarm, direction, hysteresis, when}');
  for (const [metric, v] of Object.entries(body)) objectBody(v, `levels of ${metric}`);
  return body as Record<string, ThresholdLevels>;
}

const siteThresholds = (remove: boolean): Handler => async (ctx, who, req, res, _q, [siteId]) => {
  requireAdmin(who);
  const levels = remove ? undefined : await levelsBody(req);
  // The edges with devices of this site (as the registry knows them) and those whose configuration already has levels for it.
  const edges = new Set((await ctx.store.registry.list({ site: siteId })).map((d) => d.edgeId).filter((e): e is string => !!e));
  for (const { edgeId } of await ctx.store.edgeConfigs.versions()) {
    if (parseDesired(await ctx.store.edgeConfigs.get(edgeId)).thresholds?.sites?.[siteId!]) edges.add(edgeId);
  }
  if (!edges.size) throw new HttpError(404, `no edge has devices of site ${siteId}`);
  const results: unknown[] = [];
  for (const edgeId of [...edges].sort()) {
    const state = await ctx.store.edgeConfigs.state(edgeId);
    if (state?.managed === false) {
      results.push({ edgeId, changed: false, note: 'not managed from the collector: set thresholds in its edge.yaml' });
      continue;
    }
    try {
      const r = await editDesired(ctx.store, ctx.control.secrets, edgeId, actorOf(who), (doc) => withThresholds(doc, 'sites', siteId!, levels));
      const note = r.changed ? await ctx.control.publish(edgeId) : undefined;
      results.push({ edgeId, version: r.desired?.version ?? 0, changed: r.changed, published: r.changed && !note, ...(note ? { note } : {}) });
    } catch (err) {
      if (err instanceof InvalidConfigError) return sendJson(res, 400, { error: `invalid thresholds for edge ${edgeId}`, issues: err.problems, applied: results });
      throw err;
    }
  }
  noteForAudit(res, { site: siteId, edges: [...edges] });
  sendJson(res, 200, { site: siteId, edges: results });
};

const deviceThresholds = (remove: boolean): Handler => async (ctx, who, req, res, _q, [deviceId]) => {
  requireAdmin(who);
  const levels = remove ? undefined : await levelsBody(req);
  const edgeId = await ctx.store.edgeConfigs.edgeOfDevice(deviceId!);
  if (!edgeId) throw new HttpError(404, `device ${deviceId} is in no edge's configuration here (for an unmanaged edge, set thresholds in its edge.yaml)`);
  await change(ctx, res, edgeId, who, (doc) => withThresholds(doc, 'devices', deviceId!, levels));
};

/** Runs a diagnostic; the edge's unavailability and silence get their own status codes. */
async function diagnose<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof EdgeUnavailableError) throw new HttpError(503, err.message);
    if (err instanceof EdgeTimeoutError) throw new HttpError(504, err.message);
    if (err instanceof HttpError) throw err;
    throw new HttpError(502, `the edge could not run it: ${(err as Error).message}`);
  }
}

const testRead: Handler = async (ctx, who, _req, res, _q, [edgeId, deviceId]) => {
  requireAdmin(who);
  const result = (await diagnose(() => ctx.control.request(edgeId!, 'device_test', { deviceId }))) as DeviceTestResult;
  noteForAudit(res, { edge: edgeId, device: deviceId, ok: result.ok });
  sendJson(res, 200, { edgeId, result, text: formatTestResult(result) });
};

const doctor: Handler = async (ctx, who, _req, res, _q, [edgeId]) => {
  requireAdmin(who);
  const result = (await diagnose(() => ctx.control.request(edgeId!, 'doctor'))) as { findings: { ok: boolean }[]; reports: string[] };
  noteForAudit(res, { edge: edgeId, problems: result.findings.filter((f) => !f.ok).length });
  sendJson(res, 200, { edgeId, ...result });
};

const logs: Handler = async (ctx, who, _req, res, q, [edgeId]) => {
  requireAdmin(who);
  const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
  const result = (await diagnose(() => ctx.control.request(edgeId!, 'logs', { limit }))) as { lines: unknown[] };
  noteForAudit(res, { edge: edgeId, lines: result.lines.length });
  sendJson(res, 200, { edgeId, ...result });
};

const audit: Handler = async (ctx, who, req, res, q) => {
  requireAdmin(who);
  const csv = wantsCsv(req, q);
  const limit = Math.min(100_000, Math.max(1, Number(q.get('limit') ?? (csv ? 100_000 : 1000)) || 1000));
  const entries = await ctx.store.audit.list({
    from: q.get('from') ? parseTime(q.get('from'), 'from', 0) : undefined,
    to: q.get('to') ? parseTime(q.get('to'), 'to', 0) : undefined,
    actor: q.get('actor') || undefined,
    q: q.get('q') || undefined,
    limit,
  });
  if (csv) {
    return sendText(
      res, 200,
      toCsv(['time', 'actor', 'action', 'target', 'status', 'detail'], entries.map((e) => [iso(e.ts), e.actor, e.action, e.target, e.status, JSON.stringify(e.detail)])),
      'text/csv; charset=utf-8',
      { 'content-disposition': 'attachment; filename="audit.csv"' },
    );
  }
  sendJson(res, 200, { count: entries.length, entries: entries.map((e) => ({ ...e, time: iso(e.ts) })) });
};

const seg = '([^/]+)';
const edge = `^/api/v1/admin/edges/${seg}`;
export const EDGE_CONTROL_ROUTES: Route[] = [
  { method: 'GET', pattern: new RegExp(`${edge}$`), handler: edgeRow },
  { method: 'GET', pattern: new RegExp(`${edge}/config$`), handler: getConfig },
  { method: 'PUT', pattern: new RegExp(`${edge}/config$`), handler: putConfig },
  { method: 'GET', pattern: new RegExp(`${edge}/config/history$`), handler: configHistory },
  { method: 'PUT', pattern: new RegExp(`${edge}/devices/${seg}$`), handler: putDevice },
  { method: 'DELETE', pattern: new RegExp(`${edge}/devices/${seg}$`), handler: deleteDevice },
  { method: 'POST', pattern: new RegExp(`${edge}/devices/${seg}/test$`), handler: testRead },
  { method: 'POST', pattern: new RegExp(`${edge}/doctor$`), handler: doctor },
  { method: 'GET', pattern: new RegExp(`${edge}/logs$`), handler: logs },
  { method: 'PUT', pattern: new RegExp(`^/api/v1/admin/sites/${seg}/thresholds$`), handler: siteThresholds(false) },
  { method: 'DELETE', pattern: new RegExp(`^/api/v1/admin/sites/${seg}/thresholds$`), handler: siteThresholds(true) },
  { method: 'PUT', pattern: new RegExp(`^/api/v1/admin/devices/${seg}/thresholds$`), handler: deviceThresholds(false) },
  { method: 'DELETE', pattern: new RegExp(`^/api/v1/admin/devices/${seg}/thresholds$`), handler: deviceThresholds(true) },
  { method: 'GET', pattern: /^\/api\/v1\/admin\/audit$/, handler: audit },
];

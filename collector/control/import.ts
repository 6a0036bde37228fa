// POST /api/v1/records/import — the 一机一档 spreadsheet. Plain rows create or update registry records as before;
// rows with 接入网关 (edge), 设备模板 (profile) and 连接参数 (or 接入地址) also configure the device on that edge, so
// one spreadsheet registers devices across many edges: one new configuration version per edge, pushed at once.
// Every row that cannot be used gets its own error (row number and why); the other rows are imported.
import { AddressError, parseConnection } from '../../core/connection-address.js';
import { recordsFromCsv, type CsvPlacement } from '../../core/records.js';
import type { DeviceRecord } from '../../schema/types.js';
import type { DeviceConfig } from '../../edge/config.js';
import type { ApiContext } from '../api/context.js';
import { requireAdmin, type Handler } from '../api/handler.js';
import { readBytes, sendJson } from '../api/http.js';
import { checkDesired, parseDesired, profileIn, withDevice } from './desired.js';
import { editDesired, EdgeNotEditableError, InvalidConfigError, requireEditableEdge, syncRecordEdits } from './edit.js';

const MAX_BYTES = 32 * 1024 * 1024;

/** A device entry of an edge configuration from an imported record (runtime and registry-only fields left out). */
export function entryOfRecord(r: DeviceRecord, profile: string, connection: Record<string, unknown>): DeviceConfig {
  const { profileId: _p, edgeId: _e, runtimeStatus: _r, lastSeen: _l, statusReason: _s, seq: _q, updatedAt: _u, customMetrics: _c, thresholds: _t, schedules: _d, ...fields } = r;
  const entry = { ...fields, profile, connection } as DeviceConfig;
  if (entry.site && !entry.site.id) {
    const { id: _id, ...site } = entry.site;
    entry.site = Object.keys(site).length ? (site as DeviceConfig['site']) : undefined;
    if (!entry.site) delete entry.site;
  }
  return entry;
}

interface RowError {
  row: number;
  message: string;
}

/** Checks one placement against its edge; the device entry, or why the row cannot be used. */
async function placementEntry(ctx: ApiContext, p: CsvPlacement, record: DeviceRecord, editable: Map<string, string | undefined>): Promise<DeviceConfig | string> {
  if (!editable.has(p.edgeId)) {
    try {
      await requireEditableEdge(ctx.store, p.edgeId);
      editable.set(p.edgeId, undefined);
    } catch (err) {
      if (!(err instanceof EdgeNotEditableError)) throw err;
      editable.set(p.edgeId, err.message);
    }
  }
  const refusal = editable.get(p.edgeId);
  if (refusal) return `接入网关: ${refusal}`;
  const elsewhere = await ctx.store.edgeConfigs.edgeOfDevice(p.id);
  if (elsewhere && elsewhere !== p.edgeId) return `接入网关: device ${p.id} is configured on edge ${elsewhere}; remove it there first`;
  const doc = parseDesired(await ctx.store.edgeConfigs.get(p.edgeId));
  const profile = profileIn(doc, p.profile);
  if (!profile) return `设备模板: unknown profile "${p.profile}"`;
  let connection: Record<string, unknown>;
  try {
    connection = parseConnection(profile.protocol, p.connection);
  } catch (err) {
    if (err instanceof AddressError) return `连接参数: ${err.message.replace(/^--address: /, '')}`;
    throw err;
  }
  const entry = entryOfRecord(record, p.profile, connection);
  const problems = checkDesired({ ...doc, devices: [entry] });
  if (problems.length) return problems.map((x) => `${x.path.replace(/^devices\[0\]\./, '')}: ${x.message}`).join('; ');
  return entry;
}

export const importRecords: Handler = async (ctx, who, req, res) => {
  requireAdmin(who);
  // Raw bytes: the file may be GB18030 (Excel's "CSV (逗号分隔)" on Chinese Windows), not UTF-8.
  const parsed = recordsFromCsv(await readBytes(req, MAX_BYTES));
  const actor = `import:${who.name}`;
  const errors: RowError[] = [...parsed.errors];
  const byId = new Map(parsed.records.map((r) => [r.id, r]));
  const rowOf = new Map(parsed.records.map((r, i) => [r.id, parsed.recordRows[i]!]));
  const failed = new Set<string>();

  // Rows that name an edge: the edge must exist here (an assignment alone, or a configuration too).
  const knownEdges = new Set((await ctx.store.edges.list()).map((e) => e.id));
  for (const r of parsed.records) {
    if (r.edgeId && !knownEdges.has(r.edgeId)) {
      failed.add(r.id);
      errors.push({ row: rowOf.get(r.id) ?? 0, message: `接入网关: no edge ${r.edgeId} at this collector (yiwang collector edge add --id ${r.edgeId})` });
    }
  }
  const editable = new Map<string, string | undefined>();
  const perEdge = new Map<string, { row: number; entry: DeviceConfig }[]>();
  for (const p of parsed.placements) {
    if (failed.has(p.id)) continue;
    const entry = await placementEntry(ctx, p, byId.get(p.id)!, editable);
    if (typeof entry === 'string') {
      failed.add(p.id);
      errors.push({ row: p.row, message: entry });
      continue;
    }
    let list = perEdge.get(p.edgeId);
    if (!list) perEdge.set(p.edgeId, (list = []));
    list.push({ row: p.row, entry });
  }

  for (const r of parsed.records) {
    const on = r.edgeId && !failed.has(r.id) ? await ctx.store.edgeConfigs.edgeOfDevice(r.id) : undefined;
    if (on && on !== r.edgeId) {
      failed.add(r.id);
      errors.push({ row: rowOf.get(r.id) ?? 0, message: `接入网关: device ${r.id} is configured on edge ${on}; remove it there first` });
    }
  }
  const placedIds = new Set(parsed.placements.map((p) => p.id));
  const plain = parsed.records.filter((r) => !failed.has(r.id) && !placedIds.has(r.id));
  const before = new Set((await ctx.store.registry.rows(parsed.records.map((r) => r.id))).map((r) => r.id));
  const { created, updated } = await ctx.store.registry.upsertMany(plain, actor);
  // Plain rows of devices configured on an edge update that edge's configuration too.
  for (const edge of await syncRecordEdits(ctx.store, ctx.control.secrets, plain.map((r) => r.id), actor)) await ctx.control.publish(edge);

  let placedCreated = 0;
  let placedUpdated = 0;
  const configured: { edgeId: string; version: number; devices: number; published: boolean; note?: string }[] = [];
  for (const [edgeId, rows] of perEdge) {
    try {
      const r = await editDesired(ctx.store, ctx.control.secrets, edgeId, actor, (doc) => rows.reduce((d, x) => withDevice(d, x.entry), doc), rows.map((x) => x.entry.id));
      const note = r.changed ? await ctx.control.publish(edgeId) : undefined;
      configured.push({ edgeId, version: r.desired?.version ?? 0, devices: rows.length, published: r.changed && !note, ...(note ? { note } : {}) });
      for (const x of rows) {
        if (before.has(x.entry.id)) placedUpdated++;
        else placedCreated++;
      }
    } catch (err) {
      const why = err instanceof InvalidConfigError ? err.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : (err as Error).message;
      for (const x of rows) errors.push({ row: x.row, message: `not configured on edge ${edgeId}: ${why}` });
    }
  }
  errors.sort((a, b) => a.row - b.row);
  const imported = plain.length + configured.reduce((n, c) => n + c.devices, 0);
  sendJson(res, errors.length && !imported ? 400 : 200, {
    imported,
    created: created + placedCreated,
    updated: updated + placedUpdated,
    configured,
    encoding: parsed.encoding,
    errors,
  });
};

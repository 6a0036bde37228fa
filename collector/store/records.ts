// 一机一档 record rules shared by both store engines: what is stored of a record, how a change is merged and
// diffed for the history, and who decides what. The registrar (admin API, CSV import) owns the sharing scope
// (共享范围) and the edge assignment of the devices they register; an edge can claim only devices nobody
// registered, and its records can never widen a scope the registrar set.
import { redactRecordSecrets } from '../../core/records.js';
import type { DeviceRecord } from '../../schema/types.js';
import type { DeviceRow } from './types.js';

const RUNTIME_FIELDS = ['runtimeStatus', 'lastSeen', 'statusReason', 'seq', 'updatedAt', 'edgeId'] as const;

/** Strips runtime fields and secrets: they never enter the stored record or its history. */
export function recordBody(r: DeviceRecord): DeviceRecord {
  const copy: Record<string, unknown> = { ...redactRecordSecrets(r) };
  for (const k of RUNTIME_FIELDS) delete copy[k];
  return JSON.parse(JSON.stringify(copy)) as DeviceRecord; // drops undefined members
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) out.set(prefix, v);
}

export function diffRecords(before: DeviceRecord | undefined, after: DeviceRecord): Record<string, [unknown, unknown]> {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, '', a);
  flatten(after, '', b);
  const changes: Record<string, [unknown, unknown]> = {};
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    if (JSON.stringify(x) !== JSON.stringify(y)) changes[key] = [x ?? null, y ?? null];
  }
  return changes;
}

/** Deep merge of a partial record onto a stored one (present fields win; nested objects merge). */
export function mergeRecords(base: DeviceRecord, patch: DeviceRecord): DeviceRecord {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = { ...(cur as object), ...(v as object) };
    } else out[k] = v;
  }
  return out as unknown as DeviceRecord;
}

/** The sharing scope as ",water,fire," so one bureau is matched exactly by looking for ",water,". */
export const scopeColumn = (scope: string[] | undefined) => `,${(scope ?? []).join(',')}${scope?.length ? ',' : ''}`;
const sameScope = (a: string[] | undefined, b: string[] | undefined) => scopeColumn([...(a ?? [])].sort()) === scopeColumn([...(b ?? [])].sort());

export function toRecord(row: DeviceRow): DeviceRecord {
  const r = JSON.parse(row.record) as DeviceRecord;
  r.runtimeStatus = row.runtime_status;
  if (row.last_seen !== null) r.lastSeen = row.last_seen;
  if (row.status_reason) r.statusReason = row.status_reason;
  if (row.edge_id) r.edgeId = row.edge_id;
  r.updatedAt = row.updated_at;
  return r;
}

/** Whether a bureau may see a device (admins pass `undefined`). */
export function visibleTo(row: Pick<DeviceRow, 'scope'> | undefined, bureau: string | undefined): boolean {
  if (!row) return false;
  return bureau === undefined || row.scope.includes(`,${bureau},`);
}

/** The persisted, non-runtime columns of a device row. */
export interface DeviceValues {
  id: string;
  edge_id: string | null;
  registered: number;
  scope_source: string;
  edge_scope_claim: string | null;
  record: string;
  name: string | null;
  kind: string | null;
  site_id: string | null;
  site_type: string | null;
  lon: number | null;
  lat: number | null;
  scope: string;
  updated_at: number;
}

export interface RecordChange {
  values: DeviceValues;
  created: boolean;
  /** What changed, for the history (empty: nothing to record). */
  changes: Record<string, [unknown, unknown]>;
  /** The row as it is after the change (for later checks in the same transaction). */
  row: DeviceRow;
}

function valuesOf(body: DeviceRecord, base: Pick<DeviceValues, 'edge_id' | 'registered' | 'scope_source' | 'edge_scope_claim'>, ts: number): DeviceValues {
  return {
    id: body.id,
    ...base,
    record: JSON.stringify(body),
    name: body.name ?? null,
    kind: body.kind ?? null,
    site_id: body.site?.id || null,
    site_type: body.site?.type ?? null,
    lon: body.location?.longitude ?? null,
    lat: body.location?.latitude ?? null,
    scope: scopeColumn(body.sharingScope),
    updated_at: ts,
  };
}

function rowOf(v: DeviceValues, prev: DeviceRow | undefined): DeviceRow {
  return {
    id: v.id,
    edge_id: v.edge_id,
    registered: v.registered,
    scope_source: v.scope_source,
    edge_scope_claim: v.edge_scope_claim,
    record: v.record,
    site_id: v.site_id,
    scope: v.scope,
    runtime_status: prev?.runtime_status ?? 'unknown',
    status_ts: prev?.status_ts ?? null,
    status_reason: prev?.status_reason ?? null,
    last_seen: prev?.last_seen ?? null,
    updated_at: v.updated_at,
  };
}

/**
 * A change made at the collector (admin API or CSV import). The device becomes registrar-managed; a sharing
 * scope in `incoming` becomes the registrar's. `edgeId`: assign (string), unassign (null) or keep (undefined).
 */
export function registrarChange(
  row: DeviceRow | undefined,
  incoming: DeviceRecord,
  opts: { edgeId?: string | null; replace?: boolean; ts: number },
): RecordChange | undefined {
  const before = row ? (JSON.parse(row.record) as DeviceRecord) : undefined;
  const body = recordBody(opts.replace || !before ? incoming : mergeRecords(before, incoming));
  const changes = diffRecords(before, body);
  const edgeId = opts.edgeId !== undefined ? opts.edgeId : (row?.edge_id ?? null);
  if (row && row.edge_id !== edgeId) changes.edgeId = [row.edge_id, edgeId];
  const scopeGiven = incoming.sharingScope !== undefined || opts.replace === true;
  const scopeSource = scopeGiven ? 'registrar' : (row?.scope_source ?? 'registrar');
  if (row && Object.keys(changes).length === 0 && row.registered === 1 && row.scope_source === scopeSource) return undefined;
  const values = valuesOf(body, { edge_id: edgeId, registered: 1, scope_source: scopeSource, edge_scope_claim: row?.edge_scope_claim ?? null }, opts.ts);
  return { values, created: !row, changes, row: rowOf(values, row) };
}

export interface EdgeRecordChange extends RecordChange {
  /** The edge sent a sharing scope different from the registrar's; the registrar's was kept. Set once per claimed value. */
  scopeConflict?: { claimed: string[]; kept: string[] };
}

/**
 * A record announced by the edge that owns the device (ownership checked by the caller), or a first record of a
 * device nobody registered (`row` undefined: the edge claims it). The registrar's sharing scope always wins.
 */
export function edgeRecordChange(row: DeviceRow | undefined, incoming: DeviceRecord, edgeId: string, ts: number): EdgeRecordChange | undefined {
  const before = row ? (JSON.parse(row.record) as DeviceRecord) : undefined;
  let patch = recordBody(incoming);
  let conflict: EdgeRecordChange['scopeConflict'];
  let claim = row?.edge_scope_claim ?? null;
  if (row && row.scope_source === 'registrar' && patch.sharingScope !== undefined) {
    const kept = before?.sharingScope ?? [];
    if (!sameScope(patch.sharingScope, kept)) {
      const claimed = scopeColumn([...patch.sharingScope].sort());
      if (claimed !== claim) conflict = { claimed: patch.sharingScope, kept };
      claim = claimed;
    } else claim = null;
    patch = { ...patch, sharingScope: kept };
  }
  const body = recordBody(before ? mergeRecords(before, patch) : patch);
  const changes = diffRecords(before, body);
  if (row && row.edge_id !== edgeId) changes.edgeId = [row.edge_id, edgeId];
  if (row && Object.keys(changes).length === 0 && claim === row.edge_scope_claim) return undefined;
  const values = valuesOf(body, { edge_id: edgeId, registered: row?.registered ?? 0, scope_source: row?.scope_source ?? 'edge', edge_scope_claim: claim }, ts);
  return { values, created: !row, changes, row: rowOf(values, row), scopeConflict: conflict };
}

export type OwnershipRefusal = 'foreign_device' | 'unassigned_device' | 'unknown_device';

/**
 * Whether `edgeId` may report for the device in `row`: undefined when it may (it owns the device, or nobody
 * registered it and claiming is allowed), else why not.
 */
export function ownershipRefusal(row: DeviceRow | undefined, edgeId: string, unknownDevices: 'claim' | 'refuse'): OwnershipRefusal | undefined {
  if (!row) return unknownDevices === 'claim' ? undefined : 'unknown_device';
  if (row.edge_id === edgeId) return undefined;
  if (row.edge_id !== null) return 'foreign_device';
  return row.registered ? 'unassigned_device' : unknownDevices === 'claim' ? undefined : 'unknown_device';
}

export const REFUSAL_TEXT: Record<OwnershipRefusal, (row: DeviceRow | undefined) => string> = {
  foreign_device: (row) => `device belongs to edge ${row?.edge_id}`,
  unassigned_device: () => 'device is registered at the collector but assigned to no edge: an admin must assign it (edgeId)',
  unknown_device: () => 'device is not registered (ingest.unknownDevices: refuse)',
};

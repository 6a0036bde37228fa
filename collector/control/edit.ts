// Changing an edge's desired configuration, the same way for the admin API, the CSV import and the collector
// CLI: the change is applied to the current document inside the store's transaction, its passwords encrypted,
// the result checked (collector/control/desired.ts), a new version stored with what changed, and the devices it
// places registered to the edge in the registry (registrar-managed) in the same transaction.
import type { SecretBox } from '../../core/seal.js';
import type { ConfigProblem, DeviceRecord } from '../../schema/types.js';
import type { CentralConfig } from '../../edge/central-config.js';
import type { CollectorStore, DesiredConfig } from '../store/index.js';
import { checkDesired, describeDesiredChanges, parseDesired, profileIn, recordOfEntry } from './desired.js';
import { encryptSecrets } from './secrets.js';

/** The change would make an invalid configuration; nothing was stored. */
export class InvalidConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** Refused because of the edge itself (unknown, or not managed from here). */
export class EdgeNotEditableError extends Error {
  constructor(message: string, readonly status: 404 | 409) {
    super(message);
  }
}

/** An edge the collector knows: registered here, or seen on the broker (external broker mode). */
export async function requireEditableEdge(store: CollectorStore, edgeId: string): Promise<void> {
  const known = (await store.edges.get(edgeId)) || (await store.edges.list()).some((e) => e.id === edgeId);
  if (!known) throw new EdgeNotEditableError(`no edge ${edgeId} (register it first: yiwang collector edge add --id ${edgeId})`, 404);
  const state = await store.edgeConfigs.state(edgeId);
  if (state?.managed === false) {
    throw new EdgeNotEditableError(
      `edge ${edgeId} is not managed from the collector (its edge.yaml has no edge.managed: true): its devices are edited on the box, and it reports them here read-only (GET /api/v1/admin/edges/${edgeId}/config)`,
      409,
    );
  }
}

export interface EditResult {
  desired: DesiredConfig | undefined;
  /** False when the change left the document as it was (no new version). */
  changed: boolean;
}

/**
 * Applies `change` to the edge's current desired configuration. `register`: ids of devices whose 一机一档 records
 * to (re)register to this edge alongside. Throws InvalidConfigError (nothing stored) or the store's errors.
 */
export async function editDesired(
  store: CollectorStore,
  secrets: () => SecretBox,
  edgeId: string,
  actor: string,
  change: (doc: CentralConfig) => CentralConfig | undefined,
  register: string[] = [],
): Promise<EditResult> {
  let changed = false;
  const desired = await store.edgeConfigs.update(edgeId, actor, (current) => {
    const before = parseDesired(current);
    const wanted = change(structuredClone(before));
    if (!wanted) return undefined;
    const { doc, problems } = encryptSecrets(wanted, before, secrets);
    problems.push(...checkDesired(doc));
    if (problems.length) throw new InvalidConfigError(problems);
    const text = JSON.stringify(doc);
    if (current && text === current.doc) return undefined;
    changed = true;
    const records: DeviceRecord[] = register.flatMap((id) => {
      const entry = doc.devices?.find((d) => d.id === id);
      return entry ? [recordOfEntry(entry, profileIn(doc, entry.profile))] : [];
    });
    return { doc: text, changes: describeDesiredChanges(before, doc), devices: (doc.devices ?? []).map((d) => d.id), register: records };
  });
  return { desired, changed };
}

/** The 一机一档 fields a device entry shares with the registry record (a registrar's edit of them reaches the edge). */
const SHARED_FIELDS = [
  'name', 'kind', 'manufacturer', 'model', 'serialNumber', 'firmware', 'address', 'location', 'site', 'scenario', 'industry',
  'sharingScope', 'installedDate', 'maintainer', 'maintainerContact', 'lifecycle', 'camera', 'waterBody',
] as const;

/**
 * After registrar edits of registry records (PUT /api/v1/devices/{id}, the CSV import): for devices configured on
 * an edge, the same fields go into that edge's configuration — the edge announces its records from it, and would
 * otherwise undo the edit. One new version per edge; returns the edges changed.
 */
export async function syncRecordEdits(store: CollectorStore, secrets: () => SecretBox, ids: string[], actor: string): Promise<string[]> {
  const byEdge = new Map<string, string[]>();
  for (const id of new Set(ids)) {
    const edgeId = await store.edgeConfigs.edgeOfDevice(id);
    if (!edgeId) continue;
    let list = byEdge.get(edgeId);
    if (!list) byEdge.set(edgeId, (list = []));
    list.push(id);
  }
  const changed: string[] = [];
  for (const [edgeId, list] of byEdge) {
    const records = new Map<string, DeviceRecord>();
    for (const id of list) {
      const r = await store.registry.get(id);
      if (r) records.set(id, r);
    }
    const r = await editDesired(store, secrets, edgeId, actor, (doc) => ({
      ...doc,
      devices: (doc.devices ?? []).map((d) => {
        const rec = records.get(d.id);
        if (!rec) return d;
        const { id, profile, connection, enabled } = d;
        const shared = Object.fromEntries(SHARED_FIELDS.filter((k) => rec[k] !== undefined).map((k) => [k, rec[k]]));
        return { id, profile, connection, ...(enabled === undefined ? {} : { enabled }), ...shared } as typeof d;
      }),
    }));
    if (r.changed) changed.push(edgeId);
  }
  return changed;
}

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

// Desired edge configurations on SQL (edge–cloud coordination): the current document per edge (edge_config),
// every version with who made it and what changed (edge_config_history), which edge each configured device is on
// (edge_config_devices: a device is configured on one edge at most), and what each edge last reported about
// itself (edge_control_state). Changes run in one transaction per edge, together with the registry records they
// register, under an advisory lock on PostgreSQL so two nodes never hand out the same version.
import { registrarChange } from '../records.js';
import type { ConfigChange, ConfigVersion, DesiredConfig, EdgeConfigStore, EdgeControlState } from '../types.js';
import type { DeviceRow } from '../types.js';
import type { Sql, SqlDb } from './driver.js';
import { HISTORY_COLUMNS, writeDevices } from './registry.js';

/** A device the change places on this edge is configured on another one. */
export class DeviceOnOtherEdgeError extends Error {
  constructor(readonly deviceId: string, readonly edgeId: string) {
    super(`device ${deviceId} is configured on edge ${edgeId}: remove it there first (DELETE /api/v1/admin/edges/${edgeId}/devices/${deviceId})`);
  }
}

interface DesiredRow {
  edge_id: string;
  version: number;
  doc: string;
  updated_at: number;
  updated_by: string;
}

interface StateRow {
  edge_id: string;
  config_key: string | null;
  managed: number | null;
  applied_version: number | null;
  software_version: string | null;
  report: string | null;
  local_config: string | null;
  report_at: number | null;
  clock_offset_ms: number | null;
}

const desired = (r: DesiredRow): DesiredConfig => ({ edgeId: r.edge_id, version: Number(r.version), doc: r.doc, updatedAt: Number(r.updated_at), updatedBy: r.updated_by });
const opt = <T>(v: T | null) => (v === null ? undefined : v);

function state(r: StateRow): EdgeControlState {
  const report = r.report ? (JSON.parse(r.report) as Partial<EdgeControlState>) : {};
  return {
    ...report,
    edgeId: r.edge_id,
    configKey: opt(r.config_key),
    managed: r.managed === null ? undefined : r.managed === 1,
    appliedVersion: opt(r.applied_version) ?? undefined,
    softwareVersion: opt(r.software_version),
    errors: report.errors ?? [],
    localConfig: opt(r.local_config),
    reportAt: opt(r.report_at),
    clockOffsetMs: opt(r.clock_offset_ms),
  };
}

export class SqlEdgeConfigs implements EdgeConfigStore {
  constructor(private readonly db: SqlDb) {}

  async get(edgeId: string): Promise<DesiredConfig | undefined> {
    const r = await this.db.get<DesiredRow>('SELECT * FROM edge_config WHERE edge_id = $1', [edgeId]);
    return r ? desired(r) : undefined;
  }

  update(edgeId: string, actor: string, change: (current: DesiredConfig | undefined) => ConfigChange | undefined, now = Date.now()): Promise<DesiredConfig | undefined> {
    return this.db.tx(
      async (tx) => {
        const row = await tx.get<DesiredRow>('SELECT * FROM edge_config WHERE edge_id = $1', [edgeId]);
        const current = row ? desired(row) : undefined;
        const next = change(current);
        if (!next) return current;
        await checkPlacement(tx, edgeId, next.devices);
        const version = (current?.version ?? 0) + 1;
        await tx.run(
          `INSERT INTO edge_config (edge_id, version, doc, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (edge_id) DO UPDATE SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          [edgeId, version, next.doc, now, actor],
        );
        await tx.run('INSERT INTO edge_config_history (edge_id, version, ts, actor, changes, doc) VALUES ($1, $2, $3, $4, $5, $6)', [
          edgeId, version, now, actor, JSON.stringify(next.changes), next.doc,
        ]);
        await tx.run('DELETE FROM edge_config_devices WHERE edge_id = $1', [edgeId]);
        await tx.insertMany('edge_config_devices', [{ name: 'device_id', type: 'text' }, { name: 'edge_id', type: 'text' }], [...new Set(next.devices)].sort().map((d) => [d, edgeId]));
        for (const rec of next.register ?? []) {
          const dev = await tx.get<DeviceRow>('SELECT * FROM devices WHERE id = $1', [rec.id]);
          const c = registrarChange(dev, rec, { edgeId, ts: now });
          if (!c) continue;
          await writeDevices(tx, [c.values]);
          if (Object.keys(c.changes).length) await tx.insertMany('record_history', HISTORY_COLUMNS, [[rec.id, now, actor, JSON.stringify(c.changes)]]);
        }
        return { edgeId, version, doc: next.doc, updatedAt: now, updatedBy: actor };
      },
      { lockKeys: [`edgecfg:${edgeId}`] },
    );
  }

  async versions(): Promise<{ edgeId: string; version: number }[]> {
    const rows = await this.db.all<{ edge_id: string; version: number }>('SELECT edge_id, version FROM edge_config ORDER BY edge_id');
    return rows.map((r) => ({ edgeId: r.edge_id, version: Number(r.version) }));
  }

  async history(edgeId: string, limit = 100): Promise<ConfigVersion[]> {
    const rows = await this.db.all<{ version: number; ts: number; actor: string; changes: string }>(
      'SELECT version, ts, actor, changes FROM edge_config_history WHERE edge_id = $1 ORDER BY version DESC LIMIT $2',
      [edgeId, limit],
    );
    return rows.map((r) => ({ edgeId, version: Number(r.version), ts: Number(r.ts), actor: r.actor, changes: JSON.parse(r.changes) as string[] }));
  }

  async edgeOfDevice(deviceId: string): Promise<string | undefined> {
    return (await this.db.get<{ edge_id: string }>('SELECT edge_id FROM edge_config_devices WHERE device_id = $1', [deviceId]))?.edge_id;
  }

  async noteStatus(edgeId: string, s: { configKey?: string; managed?: boolean; appliedVersion?: number; softwareVersion?: string }): Promise<void> {
    await this.db.run(
      `INSERT INTO edge_control_state (edge_id, config_key, managed, applied_version, software_version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (edge_id) DO UPDATE SET config_key = coalesce(excluded.config_key, edge_control_state.config_key),
         managed = coalesce(excluded.managed, edge_control_state.managed),
         applied_version = coalesce(excluded.applied_version, edge_control_state.applied_version),
         software_version = coalesce(excluded.software_version, edge_control_state.software_version)`,
      [edgeId, s.configKey ?? null, s.managed === undefined ? null : s.managed ? 1 : 0, s.appliedVersion ?? null, s.softwareVersion ?? null],
    );
  }

  async noteReport(edgeId: string, r: Omit<EdgeControlState, 'edgeId' | 'configKey'>): Promise<void> {
    const { managed, appliedVersion, softwareVersion, localConfig, reportAt, clockOffsetMs, ...rest } = r;
    await this.db.run(
      `INSERT INTO edge_control_state (edge_id, managed, applied_version, software_version, report, local_config, report_at, clock_offset_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (edge_id) DO UPDATE SET managed = excluded.managed, applied_version = excluded.applied_version,
         software_version = coalesce(excluded.software_version, edge_control_state.software_version), report = excluded.report,
         local_config = CASE WHEN excluded.managed = 1 THEN NULL ELSE coalesce(excluded.local_config, edge_control_state.local_config) END,
         report_at = excluded.report_at, clock_offset_ms = excluded.clock_offset_ms`,
      [
        edgeId, managed ? 1 : 0, appliedVersion ?? 0, softwareVersion ?? null, JSON.stringify(rest), localConfig || null,
        reportAt ?? Date.now(), clockOffsetMs ?? null,
      ],
    );
  }

  async state(edgeId: string): Promise<EdgeControlState | undefined> {
    const r = await this.db.get<StateRow>('SELECT * FROM edge_control_state WHERE edge_id = $1', [edgeId]);
    return r ? state(r) : undefined;
  }

  async states(): Promise<EdgeControlState[]> {
    return (await this.db.all<StateRow>('SELECT * FROM edge_control_state ORDER BY edge_id')).map(state);
  }
}

async function checkPlacement(tx: Sql, edgeId: string, devices: string[]): Promise<void> {
  if (!devices.length) return;
  const rows = await tx.allForRows<{ device_id: string; edge_id: string }>(
    [{ name: 'device_id', type: 'text' }, { name: 'here', type: 'text' }],
    [...new Set(devices)].sort().map((d) => [d, edgeId]),
    'SELECT c.device_id, c.edge_id FROM edge_config_devices c JOIN u ON c.device_id = u.device_id WHERE c.edge_id <> u.here',
  );
  if (rows[0]) throw new DeviceOnOtherEdgeError(rows[0].device_id, rows[0].edge_id);
}

// `yiwang collector device add|remove` and `yiwang collector edge list`: the registrar's and operator's view of
// edge–cloud coordination from the collector's command line. They act on the store the running collector uses
// (like `token create`); the running collector publishes a new configuration version within a few seconds.
import { AddressError, parseConnection } from '../../core/connection-address.js';
import type { DeviceConfig } from '../../edge/config.js';
import { UsageError } from '../../cli/args.js';
import { RECORD_FLAGS_HELP, recordFieldsFromFlags } from '../../cli/edge-shared.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorStore } from '../store/index.js';
import { DeviceOnOtherEdgeError } from '../store/sql/edge-configs.js';
import { parseDesired, profileIn, withDevice, withoutDevice } from './desired.js';
import { editDesired, requireEditableEdge } from './edit.js';
import { fleet, type FleetEdge } from './fleet.js';
import { secretsKeyLoader } from './secrets.js';

export const DEVICE_ADD_HELP = `Usage: yiwang collector device add --edge EDGE --profile ID --id CODE --address ADDR [record fields] [--config FILE] [--data-dir DIR]

Configures a device on a managed edge (edge.managed: true in its edge.yaml) from the city, without SSH to the box:
a new version of the edge's configuration is stored (who and what in its history, the audit log) and the running
collector pushes it over the edge's uplink; the edge applies it live or reports why not
(yiwang collector edge list). The device is registered in the 一机一档 registry and assigned to the edge.

  --edge EDGE           the edge that reaches the device
  --profile ID          device profile (built-in, or one of the edge configuration's profiles)
  --id CODE             GB/T 28181 20-digit code or a site-scoped id
  --address ADDR        modbus: host[:port][#unit] | serial path#unit; opcua: opc.tcp://...; mqtt: topic id;
                        hj212: MN; sl651: station address; onvif: host[:port]
  --connection JSON     connection fields as JSON (merged over --address); a "password" is stored encrypted
${RECORD_FLAGS_HELP}
  --replace             the device is configured on this edge already: replace its entry`;

type Flags = Record<string, string | boolean | undefined>;
const str = (v: Flags, k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

export async function deviceAddCli(store: CollectorStore, cfg: CollectorConfig, actor: string, v: Flags, out: (s: string) => void): Promise<number> {
  const edgeId = str(v, 'edge');
  const id = str(v, 'id');
  const profileId = str(v, 'profile');
  if (!edgeId || !id || !profileId || (!str(v, 'address') && !str(v, 'connection'))) throw new UsageError(`--edge, --profile, --id and --address (or --connection) are required\n\n${DEVICE_ADD_HELP}`);
  await requireEditableEdge(store, edgeId);
  const doc = parseDesired(await store.edgeConfigs.get(edgeId));
  const profile = profileIn(doc, profileId);
  if (!profile) throw new UsageError(`unknown profile "${profileId}"`);
  const existing = doc.devices?.find((d) => d.id === id);
  if (existing && !v.replace) {
    throw new UsageError(`device ${id} is already configured on edge ${edgeId} (${existing.profile}); nothing was changed. Add --replace to replace its entry.`);
  }
  let connection: Record<string, unknown>;
  try {
    connection = { ...(str(v, 'address') ? parseConnection(profile.protocol, str(v, 'address')!) : {}), ...(str(v, 'connection') ? parseConnection(profile.protocol, str(v, 'connection')!) : {}) };
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(err.message);
    throw err;
  }
  const entry: DeviceConfig = { id, profile: profileId, connection, ...recordFieldsFromFlags(v as Parameters<typeof recordFieldsFromFlags>[0]) };
  let r;
  try {
    r = await editDesired(store, secretsKeyLoader(cfg), edgeId, actor, (d) => withDevice(d, entry), [id]);
  } catch (err) {
    if (err instanceof DeviceOnOtherEdgeError) throw new UsageError(err.message);
    throw err;
  }
  await store.audit.add({ ts: Date.now(), actor, action: 'cli device add', target: `${edgeId}/${id}`, status: 0, detail: { edge: edgeId, version: r.desired?.version ?? 0, changed: r.changed } });
  out(r.changed
    ? `device ${id} (${profileId}) configured on edge ${edgeId}: configuration version ${r.desired!.version}; the running collector pushes it to the edge within a few seconds (see: yiwang collector edge list)\n`
    : `device ${id}: nothing changed (configuration version ${r.desired?.version ?? 0})\n`);
  return 0;
}

export async function deviceRemoveCli(store: CollectorStore, cfg: CollectorConfig, actor: string, v: Flags, out: (s: string) => void): Promise<number> {
  const edgeId = str(v, 'edge');
  const id = str(v, 'id');
  if (!edgeId || !id) throw new UsageError('device remove needs --edge and --id');
  await requireEditableEdge(store, edgeId);
  const r = await editDesired(store, secretsKeyLoader(cfg), edgeId, actor, (d) => withoutDevice(d, id));
  if (!r.changed) throw new UsageError(`device ${id} is not in edge ${edgeId}'s configuration`);
  await store.audit.add({ ts: Date.now(), actor, action: 'cli device remove', target: `${edgeId}/${id}`, status: 0, detail: { edge: edgeId, version: r.desired?.version } });
  out(`device ${id} removed from edge ${edgeId}'s configuration (version ${r.desired!.version}); its record stays in the registry\n`);
  return 0;
}

const ago = (ms: number | undefined) => {
  if (!ms) return '-';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${(s / 3600).toFixed(1)}h ago`;
};

function configCell(e: FleetEdge): string {
  const c = e.config;
  if (c.state === 'none') return e.managed === false ? 'local (unmanaged)' : '-';
  const base = `v${c.appliedVersion}/${c.desiredVersion}`;
  if (c.state === 'in_sync') return `${base} ok`;
  if (c.state === 'failed') return `${base} FAILED`;
  return `${base} ${c.keyKnown ? 'pending' : 'waiting for the edge'}`;
}

export async function edgeListCli(store: CollectorStore, out: (s: string) => void, json: boolean): Promise<number> {
  const rows = await fleet(store);
  if (json) {
    out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const header = ['edge', 'conn', 'last seen', 'version', 'config (applied/desired)', 'clock', 'buffer', 'backlog', 'dropped', 'devices (on/deg/off/?)', 'seq committed/missing'];
  const table = rows.map((e) => [
    e.id,
    e.connected ? 'up' : 'down',
    ago(e.lastSeen),
    e.softwareVersion ?? '-',
    configCell(e),
    e.clockOffsetMs === undefined ? '-' : `${e.clockOffsetMs >= 0 ? '+' : ''}${(e.clockOffsetMs / 1000).toFixed(1)}s`,
    e.buffer.fill === undefined ? '-' : `${(e.buffer.fill * 100).toFixed(1)}%`,
    String(e.buffer.backlogItems ?? '-'),
    String(e.droppedReadings ?? '-'),
    e.devices ? `${e.devices.online ?? 0}/${e.devices.degraded ?? 0}/${e.devices.offline ?? 0}/${e.devices.unknown ?? 0}` : '-',
    `${e.committedThrough}/${e.missing}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out(`${line(header)}\n${table.map(line).join('\n')}${table.length ? '\n' : ''}`);
  for (const e of rows.filter((x) => x.config.state === 'failed')) {
    out(`\n${e.id}: configuration v${e.config.failedVersion} refused by the edge (it runs v${e.config.appliedVersion}):\n${e.config.errors.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`);
  }
  return 0;
}

// The fleet view: per edge its software version, desired vs applied configuration version and last apply problems,
// last seen, clock offset, buffer backlog and fill, drops and device counts by health — for the admin API, the
// collector CLI, the dashboard's admin page and /metrics. Joins what the ingest knows (connection, batch stats,
// committed sequence) with what the edge reports about itself.
import type { ConfigProblem, DeviceHealthCounts } from '../../schema/types.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore, EdgeInfo } from '../store/index.js';

export interface FleetEdge {
  id: string;
  /** config | admin | unregistered */
  source: string;
  connected: boolean;
  /** Newest of its status, last batch and last report (ms). */
  lastSeen?: number;
  softwareVersion?: string;
  /** Takes its devices from this collector (edge.managed); undefined until it reported. */
  managed?: boolean;
  config: {
    desiredVersion: number;
    appliedVersion: number;
    /** The newest version the edge refused, with its problems (cleared when a newer one applies). */
    failedVersion?: number;
    errors: ConfigProblem[];
    /** desired = applied: in sync; waiting: not applied yet; failed: the edge refused the desired version. */
    state: 'none' | 'in_sync' | 'pending' | 'failed';
    /** Whether the collector knows the key to seal configurations to (the edge connected with this software). */
    keyKnown: boolean;
  };
  /** Edge clock minus collector clock, ms (± the network's one-way delay). */
  clockOffsetMs?: number;
  buffer: { rows?: number; bytes?: number; fill?: number; maxBytes?: number; backlogItems?: number; lagMs: number };
  droppedReadings?: number;
  devices?: DeviceHealthCounts;
  committedThrough: number;
  missing: number;
  reportAt?: number;
}

const maxOf = (...xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number' && x > 0);
  return v.length ? Math.max(...v) : undefined;
};

export async function fleet(store: CollectorStore, edges?: EdgeInfo[]): Promise<FleetEdge[]> {
  const [infos, versions, states] = await Promise.all([edges ?? store.edges.list(), store.edgeConfigs.versions(), store.edgeConfigs.states()]);
  const desiredOf = new Map(versions.map((v) => [v.edgeId, v.version]));
  const stateOf = new Map(states.map((s) => [s.edgeId, s]));
  const ids = [...new Set([...infos.map((e) => e.id), ...desiredOf.keys()])].sort();
  const infoOf = new Map(infos.map((e) => [e.id, e]));
  return ids.map((id) => {
    const e = infoOf.get(id);
    const s = stateOf.get(id);
    const desired = desiredOf.get(id) ?? 0;
    const applied = s?.appliedVersion ?? 0;
    const failed = s?.failedVersion && s.failedVersion > applied ? s.failedVersion : undefined;
    return {
      id,
      source: e?.source ?? 'unregistered',
      connected: e?.connected ?? false,
      lastSeen: maxOf(e?.statusTs, e?.lastBatchAt, s?.reportAt),
      softwareVersion: s?.softwareVersion ?? e?.version,
      managed: s?.managed,
      config: {
        desiredVersion: desired,
        appliedVersion: applied,
        failedVersion: failed,
        errors: failed ? s!.errors : [],
        state: desired === 0 ? 'none' : applied === desired ? 'in_sync' : failed === desired ? 'failed' : 'pending',
        keyKnown: !!s?.configKey,
      },
      clockOffsetMs: s?.clockOffsetMs,
      buffer: { rows: e?.bufferRows, bytes: s?.bufferBytes ?? e?.bufferBytes, fill: s?.bufferFill, maxBytes: s?.bufferMaxBytes, backlogItems: s?.backlogItems ?? e?.backlogItems, lagMs: e?.lagMs ?? 0 },
      droppedReadings: s?.droppedReadings ?? e?.droppedReadings,
      devices: s?.devices,
      committedThrough: e?.committedThrough ?? 0,
      missing: e?.missing ?? 0,
      reportAt: s?.reportAt,
    };
  });
}

/** Per-edge fleet gauges on /metrics (the fleet read at most once a second however many gauges ask). */
export function registerFleetMetrics(metrics: CollectorMetrics, store: CollectorStore): void {
  let at = 0;
  let last: Promise<FleetEdge[]> = Promise.resolve([]);
  const rows = () => {
    if (Date.now() - at > 1000) {
      at = Date.now();
      last = fleet(store).catch(() => []);
    }
    return last;
  };
  const per = (name: string, help: string, value: (e: FleetEdge) => number | undefined) =>
    metrics.asyncGauge(name, help, async () => (await rows()).flatMap((e) => {
      const v = value(e);
      return v === undefined ? [] : [[{ edge: e.id }, v] as [Record<string, string>, number]];
    }));
  per('yiwang_collector_edge_config_desired_version', 'Desired configuration version per edge (0: none)', (e) => e.config.desiredVersion);
  per('yiwang_collector_edge_config_applied_version', 'Configuration version the edge reports in effect', (e) => e.config.appliedVersion);
  per('yiwang_collector_edge_config_failed', 'The edge refused its desired configuration (1) or not (0)', (e) => (e.config.state === 'failed' ? 1 : 0));
  per('yiwang_collector_edge_clock_offset_seconds', 'Edge clock minus collector clock at its last report', (e) => (e.clockOffsetMs === undefined ? undefined : e.clockOffsetMs / 1000));
  per('yiwang_collector_edge_last_seen_age_seconds', 'Seconds since the edge was last heard from', (e) => (e.lastSeen ? (Date.now() - e.lastSeen) / 1000 : undefined));
  per('yiwang_collector_edge_buffer_fill_ratio', 'Edge buffer fill (0-1 of its byte limit) at its last report', (e) => e.buffer.fill);
  per('yiwang_collector_edge_backlog_items', 'Items waiting in the edge buffer', (e) => e.buffer.backlogItems);
  per('yiwang_collector_edge_dropped_readings', 'Readings the edge dropped (buffer full or past retention) since it started counting', (e) => e.droppedReadings);
  metrics.asyncGauge('yiwang_collector_edge_devices', 'Devices per edge by health, as the edge last reported', async () =>
    (await rows()).flatMap((e) => (e.devices ? (['online', 'degraded', 'offline', 'unknown'] as const).map((state) => [{ edge: e.id, state }, e.devices![state] ?? 0] as [Record<string, string>, number]) : [])),
  );
  metrics.asyncGauge('yiwang_collector_edge_software_info', 'Software version each edge runs (value 1)', async () =>
    (await rows()).flatMap((e) => (e.softwareVersion ? [[{ edge: e.id, version: e.softwareVersion }, 1] as [Record<string, string>, number]] : [])),
  );
}

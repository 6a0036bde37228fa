// Device registry of the edge: validates configured devices (profile, 一机一档 record, connection), loads
// protocol adapters lazily (node-opcua alone costs ~120 MB) and applies config changes live.
import { join } from 'node:path';
import type { AdapterFactory, AdapterLogger, DeviceBinding, ProtocolAdapter } from '../protocols/adapter.js';
import { ConfigError } from '../core/config-file.js';
import type { Logger } from '../core/log.js';
import type { AlarmDef, DeviceProfile, ProfileCatalog, ProtocolName } from '../core/profiles.js';
import { validateRecord } from '../core/records.js';
import { customMetricDef, type CustomMetricDecl } from '../schema/metrics.js';
import type { DataSchedule, DeviceRecord, MetricDefinition } from '../schema/types.js';
import type { DeviceConfig, EdgeConfig } from './config.js';
import type { EdgePipeline } from './pipeline.js';
import { dataSchedules } from './schedule.js';
import { effectiveThresholds, unmatchedDeviceThresholds } from './thresholds.js';

const ADAPTER_MODULES: Record<ProtocolName, () => Promise<{ default: AdapterFactory }>> = {
  modbus: () => import('../protocols/modbus/index.js'),
  mqtt: () => import('../protocols/mqtt/index.js'),
  opcua: () => import('../protocols/opcua/index.js'),
  onvif: () => import('../protocols/onvif/index.js'),
  hj212: () => import('../protocols/hj212/index.js'),
  sl651: () => import('../protocols/sl651/index.js'),
};

export interface ConfiguredDevice {
  config: DeviceConfig;
  profile: DeviceProfile;
  record: DeviceRecord;
  /** metric → alarm levels that replace the profile's (site and device thresholds); empty for most devices. */
  thresholds?: Map<string, AlarmDef>;
}

/** Builds a device's 一机一档 record from its config entry, its profile and the edge's site. */
export function recordFor(d: DeviceConfig, profile: DeviceProfile, cfg: EdgeConfig): DeviceRecord {
  const { profile: _p, connection, enabled: _e, ...fields } = d;
  return {
    ...fields,
    kind: d.kind ?? profile.kind,
    profileId: profile.id,
    manufacturer: d.manufacturer ?? profile.manufacturer,
    model: d.model ?? profile.model,
    address: d.address ?? describeConnection(connection),
    site: { id: cfg.site.id, name: cfg.site.name, type: cfg.site.type, ...d.site },
    location: d.location ?? cfg.site.location,
    lifecycle: d.lifecycle ?? 'in_use',
    edgeId: cfg.edge.id,
    ...(profile.customMetrics?.length ? { customMetrics: profile.customMetrics.map(metricDefinition) } : {}),
    ...withSchedules(dataSchedules(profile, connection)),
  };
}

const withSchedules = (schedules: DataSchedule[]) => (schedules.length ? { schedules } : {});

/** A custom metric as the 一机一档 record carries it to the collector. */
function metricDefinition(d: CustomMetricDecl): MetricDefinition {
  const m = customMetricDef(d);
  return { name: m.name, unit: m.unit, zh: m.zh, en: m.en, type: m.type, ...(m.range ? { rangeMin: m.range[0], rangeMax: m.range[1] } : {}) };
}

/** A short human-readable connection address for the record (never includes credentials). */
export function describeConnection(c: Record<string, unknown>): string {
  const s = (k: string) => (typeof c[k] === 'string' || typeof c[k] === 'number' ? String(c[k]) : undefined);
  if (s('endpoint')) return s('endpoint')!;
  if (s('serialPort')) return `${s('serialPort')}${s('unitId') ? `#${s('unitId')}` : ''}`;
  if (s('host')) return `${s('host')}${s('port') ? `:${s('port')}` : ''}${s('unitId') ? `#${s('unitId')}` : ''}`;
  if (s('mn')) return `MN ${s('mn')}`;
  if (s('station')) return `station ${s('station')}`;
  if (s('topicId')) return `topic id ${s('topicId')}`;
  return '';
}

/** An adapter that is constructed but not started: it can validate connections without binding or connecting. */
export async function unstartedAdapter(protocol: ProtocolName, dataDir: string, settings: EdgeConfig['protocols'] = {}): Promise<ProtocolAdapter> {
  const mod = await ADAPTER_MODULES[protocol]();
  return mod.default({ dataDir: join(dataDir, 'protocols', protocol), settings: settings?.[protocol] });
}

/**
 * Validates every device of `cfg` — known profile, valid 一机一档 record, connection accepted by its adapter — and
 * returns them, or throws ConfigError listing every problem as "devices[i].field: reason".
 */
export async function validateDevices(
  cfg: EdgeConfig,
  file: string,
  catalog: ProfileCatalog,
  adapterFor: (protocol: ProtocolName) => Promise<ProtocolAdapter>,
): Promise<Map<string, ConfiguredDevice>> {
  const problems: { path: string; message: string }[] = [];
  const out = new Map<string, ConfiguredDevice>();
  for (const [i, d] of cfg.devices.entries()) {
    const at = `devices[${i}]`;
    if (d.enabled === false) continue;
    if (out.has(d.id)) {
      problems.push({ path: `${at}.id`, message: `duplicate device id ${d.id}` });
      continue;
    }
    const profile = catalog.get(d.profile);
    if (!profile) {
      problems.push({ path: `${at}.profile`, message: `unknown profile "${d.profile}" (yiwang profile list shows the known ones)` });
      continue;
    }
    const record = recordFor(d, profile, cfg);
    for (const issue of validateRecord(record)) problems.push({ path: `${at}.${issue.path}`, message: issue.message });
    const levels = effectiveThresholds(profile, record.site?.id, d.id, cfg.thresholds);
    problems.push(...levels.problems);
    if (levels.list.length) record.thresholds = levels.list;
    let adapter: ProtocolAdapter;
    try {
      adapter = await adapterFor(profile.protocol);
    } catch (err) {
      problems.push({ path: `${at}.profile`, message: `cannot start the ${profile.protocol} adapter: ${(err as Error).message}` });
      continue;
    }
    for (const m of adapter.validateConnection(d.connection, profile)) {
      const { path, message } = splitMessage(m);
      problems.push({ path: `${at}.${path.startsWith('connection') ? path : `connection.${path}`}`, message });
    }
    out.set(d.id, { config: d, profile, record, ...(levels.overrides.size ? { thresholds: levels.overrides } : {}) });
  }
  problems.push(...unmatchedDeviceThresholds(cfg.thresholds, new Set(cfg.devices.map((d) => d.id))));
  if (problems.length) throw new ConfigError(file, problems);
  return out;
}

export class DeviceManager {
  private readonly adapters = new Map<ProtocolName, ProtocolAdapter>();
  private readonly loading = new Map<ProtocolName, Promise<ProtocolAdapter>>();
  private current = new Map<string, ConfiguredDevice>();

  constructor(
    private catalog: ProfileCatalog,
    private readonly pipeline: EdgePipeline,
    private readonly log: Logger,
    private readonly dataDir: string,
    private settings: EdgeConfig['protocols'] = {},
  ) {}

  /** Loads (once) and starts the adapter for a protocol. */
  async adapter(protocol: ProtocolName): Promise<ProtocolAdapter> {
    const ready = this.adapters.get(protocol);
    if (ready) return ready;
    let p = this.loading.get(protocol);
    if (!p) {
      p = (async () => {
        const mod = await ADAPTER_MODULES[protocol]();
        const adapter = mod.default({ dataDir: join(this.dataDir, 'protocols', protocol), settings: this.settings?.[protocol] });
        await adapter.start(this.pipeline, this.log.child({ protocol }) as AdapterLogger);
        this.adapters.set(protocol, adapter);
        this.log.info({ protocol }, 'protocol adapter started');
        return adapter;
      })();
      this.loading.set(protocol, p);
      p.catch(() => this.loading.delete(protocol));
    }
    return p;
  }

  /**
   * An adapter instance to validate connections with: the running one, or an unstarted one, so that
   * `yiwang edge device add` can check a device without binding ports or connecting anywhere.
   */
  private async validator(protocol: ProtocolName, settings: EdgeConfig['protocols']): Promise<ProtocolAdapter> {
    const running = this.adapters.get(protocol);
    if (running && sameSettings(this.settings, settings, protocol)) return running;
    return unstartedAdapter(protocol, this.dataDir, settings);
  }

  setCatalog(catalog: ProfileCatalog): void {
    this.catalog = catalog;
  }

  loadedProtocols(): ProtocolName[] {
    return [...this.adapters.keys()];
  }

  getAdapter(protocol: ProtocolName): ProtocolAdapter | undefined {
    return this.adapters.get(protocol);
  }

  devices(): ConfiguredDevice[] {
    return [...this.current.values()];
  }

  /** Validates every device of `cfg` (see validateDevices) with this manager's adapters (or `cfg.protocols`' settings). */
  validate(cfg: EdgeConfig, file: string, catalog = this.catalog): Promise<Map<string, ConfiguredDevice>> {
    return validateDevices(cfg, file, catalog, (protocol) => this.validator(protocol, cfg.protocols ?? {}));
  }

  /**
   * New protocol settings: a started adapter whose settings changed is stopped, and its devices are added again
   * by the next apply() on a fresh one (field devices reconnect; buffered data is not touched). Returns the
   * protocols restarted.
   */
  async setSettings(settings: EdgeConfig['protocols'] = {}): Promise<ProtocolName[]> {
    const restarted: ProtocolName[] = [];
    for (const [protocol, adapter] of [...this.adapters]) {
      if (sameSettings(this.settings, settings, protocol)) continue;
      await adapter.stop().catch((err: Error) => this.log.warn({ protocol, err: err.message }, 'adapter stop failed'));
      this.adapters.delete(protocol);
      this.loading.delete(protocol);
      for (const [id, d] of this.current) if (d.profile.protocol === protocol) this.current.delete(id);
      restarted.push(protocol);
    }
    this.settings = settings;
    if (restarted.length) this.log.info({ protocols: restarted }, 'protocol settings changed: adapters restarted');
    return restarted;
  }

  /** Applies a validated device set: adds new devices, updates changed ones, removes the rest. */
  async apply(next: Map<string, ConfiguredDevice>): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    for (const [id, cur] of this.current) {
      const n = next.get(id);
      if (!n || n.profile.protocol !== cur.profile.protocol) {
        await this.adapters.get(cur.profile.protocol)?.removeDevice(id);
        this.pipeline.dropRecord(id);
        if (!n) removed.push(id);
      }
    }
    for (const [id, n] of next) {
      const cur = this.current.get(id);
      const binding: DeviceBinding = { id, profile: n.profile, connection: n.config.connection, record: n.record };
      const adapter = await this.adapter(n.profile.protocol);
      const sameProtocol = cur && cur.profile.protocol === n.profile.protocol;
      if (sameProtocol && JSON.stringify(cur.config) === JSON.stringify(n.config) && JSON.stringify(cur.profile) === JSON.stringify(n.profile)) {
        // Only its alarm levels changed (site or device thresholds): the adapter keeps polling as it was.
        if (JSON.stringify(cur.record) !== JSON.stringify(n.record)) {
          this.track(n);
          updated.push(id);
        }
        continue;
      }
      this.track(n);
      if (sameProtocol) {
        await adapter.updateDevice(binding);
        updated.push(id);
      } else {
        await adapter.addDevice(binding);
        added.push(id);
      }
    }
    this.current = next;
    return { added, updated, removed };
  }

  private track(n: ConfiguredDevice): void {
    const p = n.profile;
    this.pipeline.normalizer.setDevice(n.record.id, p);
    this.pipeline.normalizer.setThresholds(n.record.id, n.thresholds);
    const pollMs = (n.config.connection.pollIntervalMs as number | undefined) ?? p.modbus?.pollIntervalMs;
    const expected = p.health?.expectedIntervalS ? p.health.expectedIntervalS * 1000 : undefined;
    this.pipeline.health.track(n.record.id, {
      offlineAfterFailures: p.health?.offlineAfterMissed ?? 3,
      expectedIntervalMs: expected ?? (p.protocol === 'mqtt' || p.protocol === 'hj212' || p.protocol === 'sl651' ? 300_000 : pollMs ? pollMs * 3 : undefined),
    });
    this.pipeline.putRecord(n.record, p.protocol);
  }

  async stop(): Promise<void> {
    for (const [protocol, a] of this.adapters) {
      try {
        await a.stop();
      } catch (err) {
        this.log.warn({ protocol, err: (err as Error).message }, 'adapter stop failed');
      }
    }
    this.adapters.clear();
    this.loading.clear();
  }
}

const sameSettings = (a: EdgeConfig['protocols'], b: EdgeConfig['protocols'], protocol: ProtocolName) => JSON.stringify(a?.[protocol]) === JSON.stringify(b?.[protocol]);

/** Adapter messages look like "connection.port: must be ..."; keep their path and reason apart. */
function splitMessage(s: string): { path: string; message: string } {
  const i = s.indexOf(': ');
  return i < 0 ? { path: s, message: 'invalid' } : { path: s.slice(0, i), message: s.slice(i + 2) };
}

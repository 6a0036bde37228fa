// The edge agent: config -> devices/adapters -> pipeline -> durable buffer -> uplink, plus admin HTTP.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/config-file.js';
import { createLogger, droppedLogLines, type Logger } from '../core/log.js';
import { LogRing } from '../core/log-ring.js';
import { Registry } from '../core/prom.js';
import { loadOrCreateEdgeKey } from '../core/seal.js';
import type { ConfigProblem, DeviceHealthCounts } from '../schema/types.js';
import { EdgeBuffer } from './buffer/index.js';
import { Uplink } from './uplink/index.js';
import { centralPart, centralStructureProblems, loadLastGood, mergeCentral, saveLastGood, type AppliedCentral, type CentralConfig } from './central-config.js';
import { checkEdgeConfig, DEFAULT_ADMIN_PORT, DEFAULT_BUFFER_MAX_BYTES, loadEdgeConfig, profilesFor, resolvePaths, timestampWindow, uplinkPassword, type EdgeConfig } from './config.js';
import { EdgeControl, DiagnosticError, type ControlHost } from './control.js';
import { DeviceManager } from './devices.js';
import { AlarmLevels } from './alarm-levels.js';
import { EdgePipeline } from './pipeline.js';
import { loadOrCreateAdminToken, startAdminServer } from './admin.js';
import { tuneForSmallMemory } from './memory.js';
import type { Gb28181Northbound } from './gb28181.js';

export const EDGE_VERSION = '0.1.0';

export interface EdgeAgentOptions {
  configFile: string;
  /** Overrides admin.port (0 = ephemeral, for tests). */
  adminPort?: number;
  log?: Logger;
  /** The ring `log` keeps its warn/error lines in (createLogger's `ring`), for remote log reads. */
  logRing?: LogRing;
}

const HEALTH_TICK_MS = 5_000;
/** Longest wait for the adapters to stop (a device link that hangs must not hold the shutdown). */
const ADAPTER_STOP_MS = 2_000;

export { resolvePaths, uplinkPassword } from './config.js';

export class EdgeAgent {
  readonly metrics = new Registry();
  readonly log: Logger;
  /** Recent warn/error log lines (remote diagnostics read them); empty when a caller's logger has no ring. */
  readonly logRing: LogRing;
  buffer!: EdgeBuffer;
  uplink!: Uplink;
  pipeline!: EdgePipeline;
  devices!: DeviceManager;
  /** The GB/T 28181 northbound service, once a config has had a `gb28181:` block. */
  gb28181?: Gb28181Northbound;
  adminPort = 0;
  adminToken = '';
  control!: EdgeControl;
  /** The effective configuration: the local file, with the collector's part over it when managed. */
  private cfg!: EdgeConfig;
  /** The local file as last loaded. */
  private local!: EdgeConfig;
  /** The collector's configuration in effect (managed edges). */
  private central?: AppliedCentral;
  /** Reloads and configuration pushes run one at a time. */
  private configLock: Promise<unknown> = Promise.resolve();
  private bufferDir = '';
  private closeAdmin?: () => Promise<void>;
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(private readonly opts: EdgeAgentOptions) {
    this.logRing = opts.logRing ?? new LogRing();
    this.log = opts.log ?? createLogger('yiwang-edge', undefined, { ring: this.logRing });
  }

  get config(): EdgeConfig {
    return this.cfg;
  }

  async start(): Promise<this> {
    tuneForSmallMemory();
    const file = this.opts.configFile;
    this.local = loadEdgeConfig(file);
    const { bufferDir, rel } = resolvePaths(this.local, file);
    this.bufferDir = bufferDir;
    this.central = this.local.edge.managed ? loadLastGood(bufferDir) : undefined;
    let startupProblems: ConfigProblem[] | undefined;
    const lastGood = this.central;
    let cfg: EdgeConfig;
    try {
      cfg = this.effective(this.local, this.central);
    } catch (err) {
      if (!(err instanceof ConfigError) || !this.central) throw err;
      startupProblems = err.problems;
      cfg = this.effective(this.local, (this.central = undefined));
    }
    this.cfg = cfg;
    const timestamps = timestampWindow(cfg, file);
    this.buffer = EdgeBuffer.open({
      dir: bufferDir,
      maxBytes: cfg.buffer?.maxBytes ?? DEFAULT_BUFFER_MAX_BYTES,
      retentionMs: cfg.buffer?.retentionHours ? cfg.buffer.retentionHours * 3_600_000 : undefined,
      commitIntervalMs: cfg.buffer?.commitIntervalMs ?? 500,
      groupCommitDelayMs: cfg.buffer?.groupCommitDelayMs,
      logger: this.log,
    });
    this.pipeline = new EdgePipeline(this.buffer, this.log, this.metrics, cfg.edge.id, Date.now, timestamps);
    this.pipeline.persistAlarmLevels(AlarmLevels.open(join(bufferDir, 'alarm-levels.json'), (seq) => this.buffer.whenCommitted(seq), this.log));
    try {
      this.devices = new DeviceManager(profilesFor(cfg, file), this.pipeline, this.log, bufferDir, cfg.protocols);
      await this.devices.apply(await this.devices.validate(cfg, file));
      await this.applyNorthbound(cfg, file);
    } catch (err) {
      await this.gb28181?.stop();
      await this.devices?.stop();
      if (!(err instanceof ConfigError) || !this.central) {
        this.buffer.close();
        throw err;
      }
      // The collector's last good configuration no longer validates here (a local change): run without it and
      // say so upstream; the next push replaces it.
      startupProblems = err.problems;
      this.central = undefined;
      this.cfg = cfg = this.effective(this.local, undefined);
      this.devices = new DeviceManager(profilesFor(cfg, file), this.pipeline, this.log, bufferDir, cfg.protocols);
      await this.devices.apply(await this.devices.validate(cfg, file));
      await this.applyNorthbound(cfg, file);
    }
    if (startupProblems) this.log.error({ errors: startupProblems.map((p) => `${p.path}: ${p.message}`) }, 'the configuration from the collector no longer validates here: started without its devices');
    this.control = new EdgeControl(cfg.edge.id, EDGE_VERSION, this.controlHost(), loadOrCreateEdgeKey(join(bufferDir, 'config-key.pem')), this.log);
    if (startupProblems && lastGood) this.control.refused(lastGood.version, startupProblems);
    const u = cfg.uplink;
    this.uplink = new Uplink({
      edgeId: cfg.edge.id,
      url: u.url,
      username: u.username ?? cfg.edge.id,
      password: uplinkPassword(cfg, rel),
      ca: u.ca ? readFileSync(rel(u.ca)) : undefined,
      cert: u.cert ? readFileSync(rel(u.cert)) : undefined,
      key: u.key ? readFileSync(rel(u.key)) : undefined,
      rejectUnauthorized: u.rejectUnauthorized,
      backlogRateLimit: u.backlogRateLimit,
      maxBatchItems: u.maxBatchItems,
      buffer: this.buffer,
      version: EDGE_VERSION,
      logger: this.log,
      control: this.control,
    });
    this.control.attach(this.uplink);
    this.registerGauges();
    await this.uplink.start();
    this.timer = setInterval(() => this.pipeline.health.tick(), HEALTH_TICK_MS);
    this.timer.unref();
    this.adminToken = loadOrCreateAdminToken(join(bufferDir, 'admin.token'));
    const admin = await startAdminServer({
      host: cfg.admin?.host ?? '127.0.0.1',
      port: this.opts.adminPort ?? cfg.admin?.port ?? DEFAULT_ADMIN_PORT,
      token: this.adminToken,
      metrics: this.metrics,
      log: this.log,
      handlers: {
        health: () => ({ ok: true, edgeId: cfg.edge.id, uplinkConnected: this.uplink.state().connected, devices: this.devices.devices().length }),
        status: () => this.status(),
        devices: () => this.deviceViews(),
        device: (id) => this.deviceViews().find((d) => d.record.id === id),
        lastMessage: (id) => (this.devices.devices().some((d) => d.record.id === id) ? { deviceId: id, startedAt: this.started, message: this.pipeline.lastMessages.get(id) ?? null } : undefined),
        reload: () => this.reload(),
        parked: () => ({ ...this.buffer.parkedSummary(), list: this.buffer.parkedChunks() }),
        retryParked: (ids) => this.uplink.retryParked(ids),
      },
    });
    this.adminPort = admin.port;
    this.closeAdmin = admin.close;
    this.log.info({ edgeId: cfg.edge.id, managed: !!cfg.edge.managed, centralVersion: this.central?.version, devices: this.devices.devices().length, adminPort: this.adminPort, bufferDir }, 'edge agent started');
    return this;
  }

  /** The effective configuration of a local file and (managed edges) the collector's part, checked as one. */
  private effective(local: EdgeConfig, central: AppliedCentral | undefined): EdgeConfig {
    if (!local.edge.managed) return local;
    return checkEdgeConfig(central ? `collector config v${central.version}` : this.opts.configFile, mergeCentral(local, central?.config));
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.configLock.then(fn, fn);
    this.configLock = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies an effective configuration live: validates every device first (nothing changes when that fails),
   * then restarts adapters whose protocol settings changed and adds, updates and removes devices. Buffered data
   * is never touched.
   */
  private async applyConfig(next: EdgeConfig): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    const file = this.opts.configFile;
    const catalog = profilesFor(next, file);
    const validated = await this.devices.validate(next, file, catalog);
    this.devices.setCatalog(catalog);
    await this.devices.setSettings(next.protocols);
    const result = await this.devices.apply(validated);
    await this.applyNorthbound(next, file);
    this.cfg = next;
    return result;
  }

  /** Re-reads the config and applies device changes live; buffered data is never touched. */
  reload(): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    return this.serially(async () => {
      const next = loadEdgeConfig(this.opts.configFile);
      if (next.edge.id !== this.local.edge.id || JSON.stringify(next.uplink) !== JSON.stringify(this.local.uplink) || JSON.stringify(next.buffer) !== JSON.stringify(this.local.buffer)) {
        this.log.warn({}, 'edge id, uplink and buffer settings change only on restart; applying device changes now');
      }
      const central = next.edge.managed ? this.central : undefined;
      const result = await this.applyConfig(this.effective(next, central));
      const modeChanged = !!next.edge.managed !== !!this.local.edge.managed;
      this.local = next;
      this.central = central;
      this.control?.changed();
      this.log.info({ ...result, ...(modeChanged ? { managed: !!next.edge.managed } : {}) }, 'configuration reloaded');
      return result;
    });
  }

  /** Applies the collector's configuration (a managed edge); its problems, or [] when it is in effect. */
  private applyCentral(version: number, config: CentralConfig, meta: { issuedAt?: number; issuedBy?: string }): Promise<ConfigProblem[]> {
    return this.serially(async () => {
      if (!this.local.edge.managed) {
        return [{ path: 'edge.managed', message: `this edge is not managed by the collector (edge.managed is not true in ${this.opts.configFile}): its devices are edited on the box` }];
      }
      const structure = centralStructureProblems(config);
      if (structure.length) return structure;
      const applied: AppliedCentral = { version, appliedAt: Date.now(), ...meta, config };
      try {
        const result = await this.applyConfig(this.effective(this.local, applied));
        this.log.info({ version, ...result }, 'collector configuration applied');
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        return [{ path: '(apply)', message: (err as Error).message }];
      }
      this.central = applied;
      saveLastGood(this.bufferDir, applied);
      return [];
    });
  }

  /** Loads the GB/T 28181 service only when a config asks for it, and applies the config's block. */
  private async applyNorthbound(cfg: EdgeConfig, file: string): Promise<void> {
    if (!cfg.gb28181 && !this.gb28181) return;
    if (!this.gb28181) {
      const { Gb28181Northbound } = await import('./gb28181.js');
      this.gb28181 = new Gb28181Northbound({ pipeline: this.pipeline, devices: this.devices, metrics: this.metrics, log: this.log, version: EDGE_VERSION });
    }
    await this.gb28181.apply(cfg, file);
  }

  private controlHost(): ControlHost {
    return {
      managed: () => !!this.local.edge.managed,
      applyCentral: (v, c, meta) => this.applyCentral(v, c, meta),
      applied: () => this.central,
      localConfig: () => centralPart(this.local),
      deviceCounts: () => {
        const counts: Required<DeviceHealthCounts> = { online: 0, degraded: 0, offline: 0, unknown: 0 };
        for (const d of this.devices.devices()) counts[this.pipeline.health.get(d.record.id)?.state ?? 'unknown']++;
        return counts;
      },
      buffer: () => {
        const st = this.buffer.stats();
        const es = this.buffer.edgeStats();
        return { fill: st.fillRatio, maxBytes: this.cfg.buffer?.maxBytes ?? DEFAULT_BUFFER_MAX_BYTES, bytes: st.bytes, backlogItems: es.backlogItems ?? 0, dropped: es.droppedReadings ?? 0 };
      },
      deviceTest: async (deviceId, timeoutMs) => {
        const device = this.devices.devices().find((d) => d.record.id === deviceId);
        if (!device) throw new DiagnosticError(`no device ${deviceId} at edge ${this.cfg.edge.id}`);
        const { testDevice } = await import('./device-test.js');
        return testDevice({
          cfg: this.cfg,
          bufferDir: this.bufferDir,
          device,
          timeoutMs,
          agent: { lastMessage: async (id) => ({ startedAt: this.started, message: this.pipeline.lastMessages.get(id) ?? null }) },
          log: this.log,
        });
      },
      doctor: async (timeoutMs) => {
        const { runDoctor } = await import('./doctor.js');
        return runDoctor(this.opts.configFile, timeoutMs, this.log);
      },
      logs: (limit) => this.logRing.recent(limit),
    };
  }

  deviceViews() {
    return this.devices.devices().map((d) => {
      const h = this.pipeline.health.get(d.record.id);
      return {
        record: this.pipeline.getRecord(d.record.id) ?? d.record,
        profile: d.profile.id,
        protocol: d.profile.protocol,
        health: h ? { state: h.state, reason: h.reason, detail: h.detail, lastSeen: h.lastSeen, lastLatencyMs: h.lastLatencyMs, failuresTotal: h.failuresTotal } : undefined,
      };
    });
  }

  status() {
    const mem = process.memoryUsage();
    return {
      edgeId: this.cfg.edge.id,
      version: EDGE_VERSION,
      uptimeS: Math.round((Date.now() - this.started) / 1000),
      rssBytes: mem.rss,
      uplink: this.uplink.state(),
      buffer: this.buffer.stats(),
      parked: this.buffer.parkedSummary(),
      protocols: this.devices.loadedProtocols(),
      devices: this.deviceViews().map((d) => ({ id: d.record.id, protocol: d.protocol, state: d.health?.state ?? 'unknown', reason: d.health?.reason, lastSeen: d.health?.lastSeen })),
      gb28181: this.gb28181?.status(),
    };
  }

  private registerGauges(): void {
    const m = this.metrics;
    const b = () => this.buffer.stats();
    m.gauge('yiwang_edge_buffer_rows', 'Chunks held in the on-disk buffer', () => [[{}, b().rows]]);
    m.gauge('yiwang_edge_buffer_bytes', 'Bytes held in the on-disk buffer', () => [[{}, b().bytes]]);
    m.gauge('yiwang_edge_buffer_fill_ratio', 'Buffer fill level (0-1) of its byte limit', () => [[{}, b().fillRatio]]);
    m.gauge('yiwang_edge_buffer_seconds_to_full', 'Estimated seconds until the buffer is full at the recent fill rate (-1: not filling)', () => [[{}, b().estimatedSecondsToFull ?? -1]]);
    m.gauge('yiwang_edge_buffer_oldest_age_seconds', 'Age of the oldest buffered item', () => {
      const o = b().oldestTs;
      return [[{}, o ? (Date.now() - o) / 1000 : 0]];
    });
    m.gauge('yiwang_edge_buffer_dropped_readings', 'Readings dropped because the buffer was full or past retention, by device', () =>
      Object.entries(b().droppedByDevice).map(([device, n]) => [{ device }, n] as [Record<string, string>, number]),
    );
    m.gauge('yiwang_edge_uplink_connected', 'Whether the uplink to the collector is connected', () => [[{}, this.uplink.state().connected ? 1 : 0]]);
    m.gauge('yiwang_edge_uplink_in_flight', 'Batches sent and not yet acknowledged', () => [[{}, this.uplink.state().inFlight]]);
    m.gauge('yiwang_edge_uplink_acked_batches', 'Batches acknowledged by the collector since start', () => [[{}, this.uplink.state().ackedBatches]]);
    m.gauge('yiwang_edge_uplink_rejected_batches', 'Batches the collector rejected since start (each is parked)', () => [[{}, this.uplink.state().rejectedBatches]]);
    m.gauge('yiwang_edge_uplink_unattributed_rejections', 'Rejections with batch_id 0 (the collector could not tell which batch) since start', () => [[{}, this.uplink.state().unattributedRejections]]);
    m.gauge('yiwang_edge_uplink_parked_chunks', 'Chunks parked after a rejection, kept until an operator retries them, by reason', () => {
      const byReason = Object.entries(this.buffer.parkedSummary().byReason);
      return byReason.length ? byReason.map(([reason, n]) => [{ reason }, n] as [Record<string, string>, number]) : [[{}, 0]];
    });
    m.gauge('yiwang_edge_uplink_parked_items', 'Items in parked chunks', () => [[{}, this.buffer.parkedSummary().items]]);
    m.gauge('yiwang_edge_log_lines_dropped', 'Log lines dropped because the log destination could not keep up', () => [[{}, droppedLogLines()]]);
    m.gauge('yiwang_edge_device_up', 'Device health: 1 online, 0.5 degraded, 0 offline/unknown', () =>
      this.pipeline.health.all().map((h) => [{ device: h.deviceId, state: h.state }, h.state === 'online' ? 1 : h.state === 'degraded' ? 0.5 : 0]),
    );
    m.gauge('yiwang_edge_device_poll_latency_ms', 'Latency of the last successful exchange with the device', () =>
      this.pipeline.health.all().filter((h) => h.lastLatencyMs !== undefined).map((h) => [{ device: h.deviceId }, h.lastLatencyMs!]),
    );
    m.gauge('yiwang_edge_device_errors', 'Failed exchanges with the device since start', () =>
      this.pipeline.health.all().map((h) => [{ device: h.deviceId }, h.failuresTotal]),
    );
    m.gauge('yiwang_edge_process_rss_bytes', 'Resident set size of the edge process', () => [[{}, process.memoryUsage.rss()]]);
  }

  /**
   * Stops within a few seconds whatever the devices and the network do (each step is bounded: admin 0.5 s,
   * adapters 2 s, uplink 2 s), then commits what is pending and closes the buffer: nothing accepted is lost.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.control?.stop();
    await this.closeAdmin?.();
    const stopping = (async () => {
      await this.gb28181?.stop();
      await this.devices?.stop();
      return true;
    })();
    const stopped = await Promise.race([stopping, new Promise<false>((r) => setTimeout(() => r(false), ADAPTER_STOP_MS).unref())]);
    if (!stopped) this.log.warn({ waitedMs: ADAPTER_STOP_MS }, 'protocol adapters did not stop in time; closing the buffer anyway');
    this.buffer?.flush();
    await this.uplink?.stop();
    this.buffer?.close();
    this.log.info({}, 'edge agent stopped');
  }
}

export async function startEdge(opts: EdgeAgentOptions): Promise<EdgeAgent> {
  return new EdgeAgent(opts).start();
}

// The edge agent: config -> devices/adapters -> pipeline -> durable buffer -> uplink, plus admin HTTP.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, droppedLogLines, type Logger } from '../core/log.js';
import { BUILTIN_PROFILE_DIR, ProfileCatalog } from '../core/profiles.js';
import { Registry } from '../core/prom.js';
import { EdgeBuffer } from './buffer/index.js';
import { Uplink } from './uplink/index.js';
import { DEFAULT_ADMIN_PORT, DEFAULT_BUFFER_MAX_BYTES, loadEdgeConfig, resolvePaths, timestampWindow, uplinkPassword, type EdgeConfig } from './config.js';
import { DeviceManager } from './devices.js';
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
}

const HEALTH_TICK_MS = 5_000;
/** Longest wait for the adapters to stop (a device link that hangs must not hold the shutdown). */
const ADAPTER_STOP_MS = 2_000;

export { resolvePaths, uplinkPassword } from './config.js';

export class EdgeAgent {
  readonly metrics = new Registry();
  readonly log: Logger;
  buffer!: EdgeBuffer;
  uplink!: Uplink;
  pipeline!: EdgePipeline;
  devices!: DeviceManager;
  /** The GB/T 28181 northbound service, once a config has had a `gb28181:` block. */
  gb28181?: Gb28181Northbound;
  adminPort = 0;
  adminToken = '';
  private cfg!: EdgeConfig;
  private closeAdmin?: () => Promise<void>;
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(private readonly opts: EdgeAgentOptions) {
    this.log = opts.log ?? createLogger('yiwang-edge');
  }

  get config(): EdgeConfig {
    return this.cfg;
  }

  async start(): Promise<this> {
    tuneForSmallMemory();
    const file = this.opts.configFile;
    this.cfg = loadEdgeConfig(file);
    const cfg = this.cfg;
    const { bufferDir, profileDirs, rel } = resolvePaths(cfg, file);
    const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...profileDirs]);
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
    this.devices = new DeviceManager(catalog, this.pipeline, this.log, bufferDir, cfg.protocols);
    try {
      await this.devices.apply(await this.devices.validate(cfg, file));
      await this.applyNorthbound(cfg, file);
    } catch (err) {
      await this.gb28181?.stop();
      await this.devices.stop();
      this.buffer.close();
      throw err;
    }
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
    });
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
    this.log.info({ edgeId: cfg.edge.id, devices: this.devices.devices().length, adminPort: this.adminPort, bufferDir }, 'edge agent started');
    return this;
  }

  /** Re-reads the config and applies device changes live; buffered data is never touched. */
  async reload(): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    const file = this.opts.configFile;
    const next = loadEdgeConfig(file);
    if (next.edge.id !== this.cfg.edge.id || JSON.stringify(next.uplink) !== JSON.stringify(this.cfg.uplink) || JSON.stringify(next.buffer) !== JSON.stringify(this.cfg.buffer)) {
      this.log.warn({}, 'edge id, uplink and buffer settings change only on restart; applying device changes now');
    }
    const { profileDirs } = resolvePaths(next, file);
    const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...profileDirs]);
    this.devices.setCatalog(catalog);
    const result = await this.devices.apply(await this.devices.validate(next, file));
    await this.applyNorthbound(next, file);
    this.cfg = { ...this.cfg, devices: next.devices, site: next.site, gb28181: next.gb28181 };
    this.log.info(result, 'configuration reloaded');
    return result;
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

// SL 651-2014 adapter: the edge is the centre station; hydrological stations push over TCP (and UDP).
// Loaded by the edge with a dynamic import() when a device uses protocol sl651.
import type { AdapterFactory, AdapterLogger, AdapterOptions, AdapterSink, DeviceBinding, ProtocolAdapter } from '../adapter.js';
import type { DeviceProfile } from '../../core/profiles.js';
import { isPort, parseListenAddress, parseStationLimits, type StationLimits } from '../common/station-listener.js';
import { StationRegistry } from '../common/station-registry.js';
import { ProblemLog } from '../../core/problem-log.js';
import { HistoryTracker } from '../common/history-periods.js';
import { join } from 'node:path';
import { backfillPlan } from './backfill.js';
import { EOT, ESC } from './framer.js';
import { elementIndex } from './map.js';
import { PROTOCOL, Sl651TcpServer, Sl651UdpServer, type SessionContext, type StationEntry } from './server.js';

export interface Sl651Connection {
  /** Station address (遥测站地址): 10 hex digits. */
  station: string;
  /** Password (密码): 4 hex digits; when set, frames with another password are refused. */
  password?: string;
  /** Centre address (中心站地址) as hex, 01-FF; when set, frames for another centre are refused. */
  centre?: string;
}

export interface Sl651Settings {
  host: string;
  port: number;
  udpPort?: number;
  confirm: boolean;
  confirmEnd: 'ESC' | 'EOT';
  limits: StationLimits;
  /** Ask stations for report intervals they never delivered, with time-range queries (default true). */
  backfill: boolean;
}

export const DEFAULT_PORT = 9651;

export function parseSettings(raw: Record<string, unknown> | undefined): Sl651Settings {
  const s = raw ?? {};
  const { host, port } = parseListenAddress(PROTOCOL, s, DEFAULT_PORT);
  if (s.udpPort !== undefined && !isPort(s.udpPort)) throw new Error('protocols.sl651.udpPort: must be an integer 0-65535');
  if (s.confirm !== undefined && typeof s.confirm !== 'boolean') throw new Error('protocols.sl651.confirm: must be true or false');
  if (s.confirmEnd !== undefined && s.confirmEnd !== 'ESC' && s.confirmEnd !== 'EOT') throw new Error('protocols.sl651.confirmEnd: must be ESC or EOT');
  if (s.backfill !== undefined && typeof s.backfill !== 'boolean') throw new Error('protocols.sl651.backfill: must be true or false');
  return {
    host,
    port,
    ...(s.udpPort !== undefined ? { udpPort: s.udpPort as number } : {}),
    confirm: (s.confirm as boolean | undefined) ?? true,
    confirmEnd: (s.confirmEnd as 'ESC' | 'EOT' | undefined) ?? 'ESC',
    limits: parseStationLimits(PROTOCOL, s),
    backfill: (s.backfill as boolean | undefined) ?? true,
  };
}

export class Sl651Adapter implements ProtocolAdapter<Sl651Connection> {
  readonly protocol = PROTOCOL;
  readonly settings: Sl651Settings;
  private readonly stations = new StationRegistry<StationEntry>('station');
  private tcp: Sl651TcpServer | undefined;
  private udp: Sl651UdpServer | undefined;
  private bound: { tcp?: number; udp?: number } = {};
  private resolveListening!: (ports: { tcp?: number; udp?: number }) => void;
  /** Resolves with the bound ports once start() has bound them. */
  readonly listening: Promise<{ tcp?: number; udp?: number }>;
  private readonly history: HistoryTracker | undefined;
  private stopSaving: (() => void) | undefined;
  private log: AdapterLogger | undefined;

  constructor(options: AdapterOptions) {
    this.settings = parseSettings(options.settings);
    this.listening = new Promise((r) => (this.resolveListening = r));
    // Report times seen, on disk so that holes survive an edge restart ('' data directory: memory only).
    if (this.settings.backfill) this.history = new HistoryTracker({ file: options.dataDir ? join(options.dataDir, 'history-periods.json') : undefined });
  }

  ports(): { tcp?: number; udp?: number } {
    return { ...this.bound };
  }

  validateConnection(connection: unknown, profile: DeviceProfile): string[] {
    const issues: string[] = [];
    if (profile.protocol !== PROTOCOL) issues.push(`profile ${profile.id}: protocol is ${profile.protocol}, not sl651`);
    if (typeof connection !== 'object' || connection === null) return [...issues, 'connection: must be an object with station'];
    const c = connection as Record<string, unknown>;
    if (typeof c.station !== 'string' || !/^[0-9A-Fa-f]{10}$/.test(c.station)) issues.push('connection.station: must be 10 hex digits (the station address)');
    if (c.password !== undefined && (typeof c.password !== 'string' || !/^[0-9A-Fa-f]{4}$/.test(c.password))) {
      issues.push('connection.password: must be 4 hex digits');
    }
    if (c.centre !== undefined && (typeof c.centre !== 'string' || !/^[0-9A-Fa-f]{1,2}$/.test(c.centre) || parseInt(c.centre, 16) === 0)) {
      issues.push('connection.centre: must be a hex centre address 01-FF');
    }
    for (const k of Object.keys(c)) if (!['station', 'password', 'centre'].includes(k)) issues.push(`connection.${k}: unknown field`);
    return issues;
  }

  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    if (this.tcp) return;
    const ctx: SessionContext = {
      sink,
      log,
      station: (address) => this.stations.get(address),
      confirm: this.settings.confirm,
      confirmEnd: this.settings.confirmEnd === 'EOT' ? EOT : ESC,
      limits: this.settings.limits,
      problems: new ProblemLog(log),
      history: this.history,
    };
    this.log = log;
    this.stopSaving = this.history?.autosave((err) => log.warn({ protocol: PROTOCOL, err: err.message }, 'sl651: cannot save the report times seen (backfill)'));
    this.tcp = new Sl651TcpServer(ctx);
    this.bound.tcp = await this.tcp.listen(this.settings.host, this.settings.port);
    if (this.settings.udpPort !== undefined) {
      this.udp = new Sl651UdpServer(ctx);
      this.bound.udp = await this.udp.listen(this.settings.host, this.settings.udpPort);
    }
    log.info({ protocol: PROTOCOL, host: this.settings.host, ...this.bound }, 'sl651 listening');
    this.resolveListening(this.ports());
  }

  async stop(): Promise<void> {
    await Promise.all([this.tcp?.close(), this.udp?.close()]);
    this.tcp = undefined;
    this.udp = undefined;
    this.stopSaving?.();
    this.stopSaving = undefined;
  }

  async addDevice(device: DeviceBinding<Sl651Connection>): Promise<void> {
    const issues = this.validateConnection(device.connection, device.profile);
    if (issues.length) throw new Error(`device ${device.id}: ${issues.join('; ')}`);
    const c = device.connection;
    const { plan, reason } = this.history ? backfillPlan(device.profile) : {};
    if (reason) this.log?.info({ protocol: PROTOCOL, deviceId: device.id, reason }, 'sl651: no backfill for this station');
    this.stations.set(c.station.toUpperCase(), {
      id: device.id,
      ...(c.password !== undefined ? { password: c.password.toUpperCase() } : {}),
      ...(c.centre !== undefined ? { centre: parseInt(c.centre, 16) } : {}),
      elements: elementIndex(device.profile),
      ...(plan ? { backfill: plan } : {}),
    });
  }

  updateDevice(device: DeviceBinding<Sl651Connection>): Promise<void> {
    return this.addDevice(device);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.stations.remove(deviceId);
  }
}

// The edge hands every adapter Record<string, unknown> connections and validates them through
// validateConnection before addDevice, so the narrower connection type is safe to widen here.
const factory: AdapterFactory = (options) => new Sl651Adapter(options) as unknown as ProtocolAdapter;
export default factory;

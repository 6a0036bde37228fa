// HJ 212-2017 adapter: the edge listens on TCP, environmental stations connect and push data.
// Loaded by the edge with a dynamic import() when a device uses protocol hj212.
import type { AdapterFactory, AdapterLogger, AdapterOptions, AdapterSink, DeviceBinding, ProtocolAdapter } from '../adapter.js';
import type { DeviceProfile } from '../../core/profiles.js';
import { parseListenAddress, parseStationLimits, type StationLimits } from '../common/station-listener.js';
import { StationRegistry } from '../common/station-registry.js';
import { join } from 'node:path';
import { HistoryTracker, type PeriodKind } from '../common/history-periods.js';
import { factorIndex } from './map.js';
import { Hj212Server, PROTOCOL, type StationEntry } from './server.js';

export interface Hj212Connection {
  /** Station MN (设备唯一标识, up to 24 letters/digits). */
  mn: string;
  /** PW the station sends (access password). */
  password: string;
}

export interface Hj212Settings {
  host: string;
  port: number;
  limits: StationLimits;
  /** Ask stations for minute / hourly periods they never delivered (default true). */
  backfill: boolean;
}

export const DEFAULT_PORT = 9212;

export function parseSettings(raw: Record<string, unknown> | undefined): Hj212Settings {
  const backfill = raw?.backfill ?? true;
  if (typeof backfill !== 'boolean') throw new Error(`protocols.${PROTOCOL}.backfill: must be true or false`);
  return { ...parseListenAddress(PROTOCOL, raw ?? {}, DEFAULT_PORT), limits: parseStationLimits(PROTOCOL, raw ?? {}), backfill };
}

/** What the edge asks a station for again: the minute and hourly data its profile says it sends. */
export function backfillKinds(profile: DeviceProfile): PeriodKind[] {
  const out: PeriodKind[] = [];
  if (profile.hj212?.hourlyData) out.push({ key: '2061', intervalMs: 3_600_000 });
  if (profile.hj212?.minuteIntervalS) out.push({ key: '2051', intervalMs: profile.hj212.minuteIntervalS * 1000 });
  return out;
}

const MN_RE = /^[A-Za-z0-9]{1,24}$/;
const PW_RE = /^[^;,=&\r\n]{1,32}$/;

export class Hj212Adapter implements ProtocolAdapter<Hj212Connection> {
  readonly protocol = PROTOCOL;
  private readonly settings: Hj212Settings;
  private readonly stations = new StationRegistry<StationEntry>('MN');
  private server: Hj212Server | undefined;
  private port: number | undefined;
  private readonly history: HistoryTracker | undefined;
  private stopSaving: (() => void) | undefined;
  private resolveListening!: (port: number) => void;
  /** Resolves with the bound TCP port once start() has bound it. */
  readonly listening: Promise<number>;

  constructor(options: AdapterOptions) {
    this.settings = parseSettings(options.settings);
    this.listening = new Promise((r) => (this.resolveListening = r));
    if (this.settings.backfill) this.history = new HistoryTracker({ file: join(options.dataDir, 'history-periods.json') });
  }

  /** Bound port(s); undefined before start(). */
  ports(): { tcp?: number } {
    return { tcp: this.port };
  }

  validateConnection(connection: unknown, profile: DeviceProfile): string[] {
    const issues: string[] = [];
    if (profile.protocol !== PROTOCOL) issues.push(`profile ${profile.id}: protocol is ${profile.protocol}, not hj212`);
    if (typeof connection !== 'object' || connection === null) return [...issues, 'connection: must be an object with mn and password'];
    const c = connection as Record<string, unknown>;
    if (typeof c.mn !== 'string' || !MN_RE.test(c.mn)) issues.push('connection.mn: must be 1-24 letters or digits (the station MN)');
    if (typeof c.password !== 'string' || !PW_RE.test(c.password)) {
      issues.push('connection.password: must be 1-32 characters without ; , = & (the station PW)');
    }
    for (const k of Object.keys(c)) if (k !== 'mn' && k !== 'password') issues.push(`connection.${k}: unknown field`);
    return issues;
  }

  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    if (this.server) return;
    this.server = new Hj212Server({ sink, log, station: (mn) => this.stations.get(mn), limits: this.settings.limits, history: this.history });
    this.stopSaving = this.history?.autosave((err) => log.warn({ protocol: PROTOCOL, err: err.message }, 'hj212: cannot save the periods seen (backfill)'));
    this.port = await this.server.listen(this.settings.host, this.settings.port);
    log.info({ protocol: PROTOCOL, host: this.settings.host, port: this.port }, 'hj212 listening');
    this.resolveListening(this.port);
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.stopSaving?.();
    this.stopSaving = undefined;
  }

  async addDevice(device: DeviceBinding<Hj212Connection>): Promise<void> {
    const issues = this.validateConnection(device.connection, device.profile);
    if (issues.length) throw new Error(`device ${device.id}: ${issues.join('; ')}`);
    const { mn, password } = device.connection;
    this.stations.set(mn, { id: device.id, password, factors: factorIndex(device.profile), backfill: backfillKinds(device.profile) });
  }

  updateDevice(device: DeviceBinding<Hj212Connection>): Promise<void> {
    return this.addDevice(device);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.stations.remove(deviceId);
  }
}

// The edge hands every adapter Record<string, unknown> connections and validates them through
// validateConnection before addDevice, so the narrower connection type is safe to widen here.
const factory: AdapterFactory = (options) => new Hj212Adapter(options) as unknown as ProtocolAdapter;
export default factory;

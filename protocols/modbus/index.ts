// Modbus TCP / RTU / RTU-over-TCP adapter: polls registers and bits per the device profile and emits
// decoded raw values (scaling and units are the edge normalizer's job).
import { join } from 'node:path';
import type { DeviceProfile } from '../../core/profiles.js';
import type {
  AdapterFactory,
  AdapterLogger,
  AdapterOptions,
  AdapterSink,
  DeviceBinding,
  ProtocolAdapter,
} from '../adapter.js';
import { plannedPoints, resolveSettings, validateConnection, type DeviceSettings, type ModbusConnection } from './config.js';
import { Line, type LineStats } from './line.js';
import { DevicePoller, type DeviceStats } from './poller.js';
import { SplitMemory } from './splits.js';

export { validateConnection, resolveSettings } from './config.js';
export type { ModbusConnection, DeviceSettings } from './config.js';
export type { DeviceStats } from './poller.js';
export type { LineStats } from './line.js';

export interface ModbusStats {
  devices: Record<string, DeviceStats>;
  lines: Record<string, LineStats & { devices: string[] }>;
}

/** File (in options.dataDir) where learned block splits survive restarts. */
export const SPLITS_FILE = 'modbus-splits.json';

const LINE_PARAMS = ['transport', 'baudRate', 'parity', 'dataBits', 'stopBits'] as const;

export class ModbusAdapter implements ProtocolAdapter<ModbusConnection> {
  readonly protocol = 'modbus';
  private sink?: AdapterSink;
  private log?: AdapterLogger;
  private splits?: SplitMemory;
  private readonly pollers = new Map<string, DevicePoller>();
  private readonly lines = new Map<string, { line: Line; devices: Set<string> }>();

  constructor(private readonly options: AdapterOptions) {}

  validateConnection(connection: unknown, profile: DeviceProfile): string[] {
    return validateConnection(connection, profile);
  }

  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    this.sink = sink;
    this.log = log;
    const file = this.options.dataDir ? join(this.options.dataDir, SPLITS_FILE) : undefined;
    this.splits = new SplitMemory(file, (detail) => {
      sink.error('modbus', 'state_file', detail);
      log.warn({ detail }, 'modbus split memory');
    });
  }

  async stop(): Promise<void> {
    const pollers = [...this.pollers.values()];
    this.pollers.clear();
    const stopping = pollers.map((p) => p.stop());
    // Closing the lines fails queued requests at once, so stopping never waits on a dead device's timeouts.
    await Promise.all([...this.lines.values()].map((l) => l.line.close()));
    this.lines.clear();
    await Promise.all(stopping);
  }

  async addDevice(device: DeviceBinding<ModbusConnection>): Promise<void> {
    const { sink, log, splits } = this.started();
    const problems = validateConnection(device.connection, device.profile);
    if (problems.length) {
      const detail = problems.join('; ');
      sink.error('modbus', 'config', detail, device.id);
      log.error({ deviceId: device.id, problems }, 'modbus device not added: invalid connection');
      throw new Error(`device ${device.id}: ${detail}`);
    }
    if (this.pollers.has(device.id)) await this.removeDevice(device.id);
    const settings = resolveSettings(device.connection, device.profile);
    const line = this.lineFor(device.id, settings);
    const poller = new DevicePoller(device.id, settings, plannedPoints(device.profile), { line, sink, log, splits });
    this.pollers.set(device.id, poller);
    poller.start();
    log.info(
      { deviceId: device.id, line: settings.lineKey, unitId: settings.unitId, blocks: poller.blocks().length, pollIntervalMs: settings.pollIntervalMs },
      'modbus device added',
    );
  }

  async updateDevice(device: DeviceBinding<ModbusConnection>): Promise<void> {
    await this.addDevice(device);
  }

  async removeDevice(deviceId: string): Promise<void> {
    const poller = this.pollers.get(deviceId);
    if (!poller) return;
    this.pollers.delete(deviceId);
    const entry = this.lines.get(poller.settings.lineKey);
    entry?.devices.delete(deviceId);
    if (entry && entry.devices.size === 0) {
      this.lines.delete(poller.settings.lineKey);
      await entry.line.close();
    }
    await poller.stop();
  }

  /** Polls a device now and resolves when done (CLI "read now", tests). */
  async pollNow(deviceId: string): Promise<void> {
    const poller = this.pollers.get(deviceId);
    if (!poller) throw new Error(`unknown modbus device ${deviceId}`);
    await poller.pollNow();
  }

  /** Per-device and per-line counters for the edge's /metrics. */
  stats(): ModbusStats {
    const devices: Record<string, DeviceStats> = {};
    for (const [id, p] of this.pollers) devices[id] = p.stats();
    const lines: ModbusStats['lines'] = {};
    for (const [key, { line, devices: ids }] of this.lines) lines[key] = { ...line.stats(), devices: [...ids].sort() };
    return { devices, lines };
  }

  private lineFor(deviceId: string, settings: DeviceSettings): Line {
    let entry = this.lines.get(settings.lineKey);
    if (!entry) {
      entry = { line: new Line(settings), devices: new Set() };
      this.lines.set(settings.lineKey, entry);
    } else {
      // One port has one set of serial parameters: the first device on the line sets them.
      const differs = LINE_PARAMS.filter((k) => entry?.line.params[k] !== settings[k]);
      if (differs.length && settings.transport === 'rtu') {
        const detail = `${settings.lineKey}: ${differs.join(', ')} differ from the line's other devices; using the line's settings`;
        this.sink?.error('modbus', 'config', detail, deviceId);
        this.log?.warn({ deviceId, detail }, 'modbus line settings conflict');
      }
    }
    entry.devices.add(deviceId);
    return entry.line;
  }

  private started(): { sink: AdapterSink; log: AdapterLogger; splits: SplitMemory } {
    if (!this.sink || !this.log || !this.splits) throw new Error('modbus adapter: start() must be called before adding devices');
    return { sink: this.sink, log: this.log, splits: this.splits };
  }
}

const createModbusAdapter: AdapterFactory = (options) => new ModbusAdapter(options);
export default createModbusAdapter;

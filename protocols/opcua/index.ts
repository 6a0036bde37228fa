// OPC UA client adapter: subscriptions with monitored items (no polling), one session per device.
// node-opcua is loaded in start(), not at import: validating a config (every CLI call) needs only config.ts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua';
import type { DeviceProfile } from '../../core/profiles.js';
import type { AdapterFactory, AdapterLogger, AdapterOptions, AdapterSink, DeviceBinding, ProtocolAdapter } from '../adapter.js';
import {
  parseSettings,
  resolveConnection,
  subscriptionSpec,
  validateConnection,
  type OpcuaConnection,
  type OpcuaSettings,
} from './config.js';
import { routeNodeOpcuaLogs } from './logging.js';
import type { DeviceSession } from './session.js';

export { validateConnection } from './config.js';
export type { OpcuaConnection, OpcuaSettings } from './config.js';

export class OpcuaAdapter implements ProtocolAdapter {
  readonly protocol = 'opcua';
  private readonly settings: OpcuaSettings;
  private readonly pkiDir: string;
  private readonly sessions = new Map<string, DeviceSession>();
  private certificateManager: OPCUACertificateManager | undefined;
  private sink: AdapterSink | undefined;
  private log: AdapterLogger | undefined;
  private Session: typeof DeviceSession | undefined;

  constructor(options: AdapterOptions) {
    this.settings = parseSettings(options.settings);
    this.pkiDir = join(options.dataDir, 'opcua', 'pki');
  }

  validateConnection(connection: unknown, profile: DeviceProfile): string[] {
    return validateConnection(connection, profile);
  }

  /** Creates/opens the client PKI under dataDir (the first start generates a key pair: seconds). */
  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    this.sink = sink;
    this.log = log;
    routeNodeOpcuaLogs(log);
    const [{ OPCUACertificateManager }, { DeviceSession }] = await Promise.all([import('node-opcua'), import('./session.js')]);
    this.Session = DeviceSession;
    mkdirSync(this.pkiDir, { recursive: true });
    this.certificateManager = new OPCUACertificateManager({
      rootFolder: this.pkiDir,
      automaticallyAcceptUnknownCertificate: this.settings.acceptUnknownCertificates,
    });
    await this.certificateManager.initialize();
  }

  async stop(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.stop()));
    await this.certificateManager?.dispose();
    this.certificateManager = undefined;
  }

  /** Starts the device's session in the background; connection problems arrive as sink.status reports. */
  async addDevice(device: DeviceBinding): Promise<void> {
    const { sink, log, certificateManager, Session } = this;
    if (!sink || !log || !certificateManager || !Session) throw new Error('opcua adapter: addDevice before start()');
    const problems = validateConnection(device.connection, device.profile);
    if (problems.length) {
      const detail = problems.join('; ');
      sink.error(this.protocol, 'config', detail, device.id);
      log.error({ protocol: this.protocol, deviceId: device.id, problems }, 'opcua device rejected');
      throw new Error(`device ${device.id}: ${detail}`);
    }
    await this.removeDevice(device.id);
    const session = new Session(device.id, resolveConnection(device.connection as unknown as OpcuaConnection) /* validated above */, subscriptionSpec(device.profile), {
      sink,
      log,
      settings: this.settings,
      certificateManager,
    });
    this.sessions.set(device.id, session);
    session.start();
  }

  /** A changed device gets a fresh session: simpler and as fast as diffing monitored items. */
  async updateDevice(device: DeviceBinding): Promise<void> {
    await this.addDevice(device);
  }

  async removeDevice(deviceId: string): Promise<void> {
    const s = this.sessions.get(deviceId);
    if (!s) return;
    this.sessions.delete(deviceId);
    await s.stop();
  }
}

const createOpcuaAdapter: AdapterFactory = (options) => new OpcuaAdapter(options);
export default createOpcuaAdapter;

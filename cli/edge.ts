// `yiwang edge ...`: run the agent and the installer's tools around it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/config-file.js';
import { createLogger } from '../core/log.js';
import { BUILTIN_PROFILE_DIR, ProfileCatalog } from '../core/profiles.js';
import { SITE_TYPES, type SiteType } from '../schema/types.js';
import { DEFAULT_ADMIN_PORT, loadEdgeConfig, parseEdgeConfig, type DeviceConfig } from '../edge/config.js';
import { readDoc, withDevice, withoutDevice, writeConfigAtomically } from '../edge/config-edit.js';
import { unstartedAdapter, validateDevices } from '../edge/devices.js';
import { starterConfig } from '../edge/init/templates.js';
import { resolvePaths, startEdge } from '../edge/agent.js';
import { dispatch, parse, UsageError, type Command } from './args.js';

const DEFAULT_CONFIG = process.env.YIWANG_EDGE_CONFIG ?? 'edge.yaml';
export const configOpt = { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG } } as const;

export function requireConfig(file: string): void {
  if (!existsSync(file)) throw new UsageError(`config file ${file} not found (create one with: yiwang edge init --site-type village --out ${file})`);
}

/** Calls the running agent's admin API with the local admin token. */
async function admin(file: string, method: string, path: string): Promise<unknown> {
  const cfg = loadEdgeConfig(file);
  const { bufferDir } = resolvePaths(cfg, file);
  const tokenFile = join(bufferDir, 'admin.token');
  const token = process.env.YIWANG_ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new Error(`no admin token at ${tokenFile}: has the agent ever started with this config?`);
  const host = cfg.admin?.host && cfg.admin.host !== '0.0.0.0' ? cfg.admin.host : '127.0.0.1';
  const url = `http://${host}:${cfg.admin?.port ?? DEFAULT_ADMIN_PORT}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new Error(`the edge agent is not answering on ${url} (${(err as Error).cause ?? (err as Error).message}); is it running?`);
  }
  const body = (await res.json()) as { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

const run: Command = {
  name: 'run',
  summary: 'run the edge agent (default when no command is given)',
  usage: `Usage: yiwang edge [--config edge.yaml] [--admin-port N]

Runs the edge agent: reads the site's devices, normalizes readings, buffers them on disk and ships them
to the collector. SIGHUP (or \`yiwang edge reload\`) applies device changes without a restart.
Logs are JSON lines on stdout. Environment: YIWANG_EDGE_CONFIG (default config path), YIWANG_LOG_LEVEL.`,
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'admin-port': { type: 'string' } }, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const log = createLogger('yiwang-edge');
    let agent;
    try {
      agent = await startEdge({ configFile: a.values.config, adminPort: a.values['admin-port'] ? Number(a.values['admin-port']) : undefined, log });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`configuration errors:\n${err.message}\n`);
        return 1;
      }
      throw err;
    }
    process.on('SIGHUP', () => {
      agent.reload().catch((err: Error) => log.error({ err: err.message }, 'reload rejected; still running the previous configuration'));
    });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await agent.stop();
    return 0;
  },
};

const status: Command = {
  name: 'status',
  summary: 'show the running agent: uplink, buffer, devices',
  usage: 'Usage: yiwang edge status [--config edge.yaml] [--json]\n\nAsks the running agent (admin HTTP, local token) and prints its state.',
  async run(argv) {
    const a = parse(argv, { ...configOpt, json: { type: 'boolean' } }, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const s = (await admin(a.values.config, 'GET', '/api/v1/status')) as {
      edgeId: string; uptimeS: number; rssBytes: number;
      uplink: { connected: boolean; inFlight: number; ackedBatches: number };
      buffer: { rows: number; bytes: number; fillRatio: number; oldestTs?: number; droppedReadings: number };
      devices: { id: string; protocol: string; state: string; reason?: string; lastSeen?: number }[];
    };
    if (a.values.json) {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    const age = s.buffer.oldestTs ? `${Math.round((Date.now() - s.buffer.oldestTs) / 1000)} s` : '-';
    process.stdout.write(
      `edge ${s.edgeId}  up ${s.uptimeS} s  RSS ${(s.rssBytes / 1048576).toFixed(0)} MB\n` +
        `uplink   ${s.uplink.connected ? 'connected' : 'DISCONNECTED'}  in flight ${s.uplink.inFlight}  acked batches ${s.uplink.ackedBatches}\n` +
        `buffer   ${s.buffer.rows} chunks, ${(s.buffer.bytes / 1048576).toFixed(1)} MB (${(s.buffer.fillRatio * 100).toFixed(1)}% full), oldest ${age}, dropped readings ${s.buffer.droppedReadings}\n` +
        `devices  ${s.devices.length}\n` +
        s.devices
          .map((d) => `  ${d.state === 'online' ? '●' : d.state === 'degraded' ? '◐' : '○'} ${d.id.padEnd(24)} ${d.protocol.padEnd(7)} ${d.state}${d.reason ? ` (${d.reason})` : ''}${d.lastSeen ? `  last seen ${new Date(d.lastSeen).toISOString()}` : ''}\n`)
          .join(''),
    );
    return 0;
  },
};

const reload: Command = {
  name: 'reload',
  summary: 'apply config changes to the running agent (same as SIGHUP)',
  usage: 'Usage: yiwang edge reload [--config edge.yaml]',
  async run(argv) {
    const a = parse(argv, configOpt, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const r = (await admin(a.values.config, 'POST', '/api/v1/reload')) as { added: string[]; updated: string[]; removed: string[] };
    process.stdout.write(`reloaded: ${r.added.length} added, ${r.updated.length} updated, ${r.removed.length} removed\n`);
    return 0;
  },
};

const init: Command = {
  name: 'init',
  summary: 'write a commented starter config for a site type',
  usage: `Usage: yiwang edge init --site-type village|street|water_station|other [--edge-id ID] [--out edge.yaml] [--force]`,
  async run(argv) {
    const a = parse(argv, { 'site-type': { type: 'string', default: 'village' }, 'edge-id': { type: 'string' }, out: { type: 'string', default: 'edge.yaml' }, force: { type: 'boolean' } }, this.usage);
    if (!a) return 0;
    const t = a.values['site-type'] as SiteType;
    if (!SITE_TYPES.includes(t)) throw new UsageError(`--site-type must be one of ${SITE_TYPES.join(', ')}`);
    if (existsSync(a.values.out) && !a.values.force) throw new UsageError(`${a.values.out} exists; pass --force to overwrite`);
    writeFileSync(a.values.out, starterConfig(t, a.values['edge-id'] ?? `edge-${t.replace('_', '-')}-01`));
    process.stdout.write(`wrote ${a.values.out}: edit the site, uplink and devices, then run: yiwang edge doctor --config ${a.values.out}\n`);
    return 0;
  },
};

/** Validates a candidate config's devices exactly as the agent will (profile, record, connection). */
async function validateCandidate(file: string, text: string) {
  const cfg = parseEdgeConfig(file, text);
  const { bufferDir, profileDirs } = resolvePaths(cfg, file);
  const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...profileDirs]);
  await validateDevices(cfg, file, catalog, (protocol) => unstartedAdapter(protocol, bufferDir, cfg.protocols));
}

/** Flags for the 一机一档 record fields that `device add` and `camera add` both take. */
export const recordFlags = {
  name: { type: 'string' }, share: { type: 'string' }, lon: { type: 'string' }, lat: { type: 'string' },
  'install-address': { type: 'string' }, division: { type: 'string' }, scenario: { type: 'string' }, industry: { type: 'string' },
} as const;

type RecordFlagValues = { [K in keyof typeof recordFlags]?: string } & { installed?: string; maintainer?: string; contact?: string; serial?: string };

/** The record fields the installer gave as flags; fields without a flag are left out. */
export function recordFieldsFromFlags(v: RecordFlagValues): Partial<DeviceConfig> {
  const r: Partial<DeviceConfig> = {};
  if (v.name) r.name = v.name;
  if (v.share) r.sharingScope = v.share.split(',').map((s) => s.trim()).filter(Boolean);
  if (v.lon || v.lat || v['install-address'] || v.division) {
    r.location = {
      ...(v.lon ? { longitude: Number(v.lon) } : {}),
      ...(v.lat ? { latitude: Number(v.lat) } : {}),
      ...(v['install-address'] ? { address: v['install-address'] } : {}),
      ...(v.division ? { divisionCode: v.division } : {}),
    };
  }
  if (v.installed) r.installedDate = v.installed;
  if (v.maintainer) r.maintainer = v.maintainer;
  if (v.contact) r.maintainerContact = v.contact;
  if (v.serial) r.serialNumber = v.serial;
  if (v.scenario) r.scenario = v.scenario;
  if (v.industry) r.industry = v.industry;
  return r;
}

const deviceAdd: Command = {
  name: 'add',
  summary: 'register a device: validate, write the config, apply live',
  usage: `Usage: yiwang edge device add --profile ID --id CODE --address ADDR [record fields] [--config edge.yaml]

  --profile ID          device profile (yiwang profile list)
  --id CODE             GB/T 28181 20-digit code or a site-scoped id
  --address ADDR        modbus: host[:port][#unit] | serial path#unit; opcua: opc.tcp://...; mqtt: topic id;
                        hj212: MN; sl651: station address (10 hex digits)
  --connection JSON     full connection object instead of --address (e.g. '{"transport":"rtu","serialPort":"/dev/ttyUSB0","unitId":3}')
  --name TEXT  --share water,fire  --lon N --lat N --install-address TEXT --division CODE
  --installed YYYY-MM-DD --maintainer TEXT --contact TEXT --serial TEXT --scenario TEXT --industry TEXT
  --no-apply            only write the config`,
  async run(argv) {
    const a = parse(
      argv,
      {
        ...configOpt,
        ...recordFlags,
        profile: { type: 'string' }, id: { type: 'string' }, address: { type: 'string' }, connection: { type: 'string' },
        installed: { type: 'string' }, maintainer: { type: 'string' }, contact: { type: 'string' }, serial: { type: 'string' },
        'no-apply': { type: 'boolean' },
      },
      this.usage,
    );
    if (!a) return 0;
    const v = a.values;
    requireConfig(v.config);
    if (!v.profile || !v.id || (!v.address && !v.connection)) throw new UsageError(`--profile, --id and --address (or --connection) are required\n\n${this.usage}`);
    const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...resolvePaths(loadEdgeConfig(v.config), v.config).profileDirs]);
    const profile = catalog.get(v.profile);
    if (!profile) throw new UsageError(`unknown profile "${v.profile}"; known: ${catalog.list().map((p) => p.id).join(', ')}`);
    let connection: Record<string, unknown>;
    try {
      connection = v.connection ? (JSON.parse(v.connection) as Record<string, unknown>) : connectionFromAddress(profile.protocol, v.address!);
    } catch (err) {
      throw new UsageError(`--connection is not valid JSON: ${(err as Error).message}`);
    }
    const device: DeviceConfig = { id: v.id, profile: v.profile, connection, ...recordFieldsFromFlags(v) };
    await registerDevice(v.config, device, !v['no-apply']);
    return 0;
  },
};

/** Validates a device exactly as the agent will, writes it into the config and applies it to the running agent. */
export async function registerDevice(configFile: string, device: DeviceConfig, apply: boolean): Promise<void> {
  const { text } = withDevice(readDoc(configFile), configFile, device);
  await validateCandidate(configFile, text);
  writeConfigAtomically(configFile, text);
  process.stdout.write(`device ${device.id} (${device.profile}) written to ${configFile}\n`);
  if (apply) await applyLive(configFile);
}

async function applyLive(file: string): Promise<void> {
  try {
    const r = (await admin(file, 'POST', '/api/v1/reload')) as { added: string[]; updated: string[]; removed: string[] };
    process.stdout.write(`applied to the running agent: ${r.added.length} added, ${r.updated.length} updated, ${r.removed.length} removed\n`);
  } catch (err) {
    process.stdout.write(`not applied live (${(err as Error).message}); it takes effect when the agent starts\n`);
  }
}

/** Turns the installer's --address into the protocol's connection object. */
export function connectionFromAddress(protocol: string, address: string): Record<string, unknown> {
  switch (protocol) {
    case 'modbus': {
      const [hostPort, unit] = address.split('#');
      if (hostPort!.startsWith('/dev/')) return { transport: 'rtu', serialPort: hostPort, unitId: Number(unit ?? 1) };
      const [host, port] = hostPort!.split(':');
      return { transport: 'tcp', host, port: Number(port ?? 502), unitId: Number(unit ?? 1) };
    }
    case 'opcua':
      return { endpoint: address };
    case 'mqtt':
      return { broker: 'local', topicId: address };
    case 'hj212':
      return { mn: address };
    case 'sl651':
      return { station: address };
    case 'onvif': {
      const [host, port] = address.split(':');
      return { host, port: Number(port ?? 80) };
    }
    default:
      return { address };
  }
}

const deviceList: Command = {
  name: 'list',
  summary: 'list configured devices (with live health when the agent runs)',
  usage: 'Usage: yiwang edge device list [--config edge.yaml]',
  async run(argv) {
    const a = parse(argv, configOpt, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const cfg = loadEdgeConfig(a.values.config);
    let live = new Map<string, string>();
    try {
      const r = (await admin(a.values.config, 'GET', '/api/v1/devices')) as { devices: { record: { id: string }; health?: { state: string; reason?: string } }[] };
      live = new Map(r.devices.map((d) => [d.record.id, `${d.health?.state ?? 'unknown'}${d.health?.reason ? ` (${d.health.reason})` : ''}`]));
    } catch {
      /* agent not running: config only */
    }
    for (const d of cfg.devices) {
      process.stdout.write(`${d.id.padEnd(24)} ${d.profile.padEnd(30)} ${(d.name ?? '').padEnd(16)} ${d.enabled === false ? 'disabled' : (live.get(d.id) ?? '-')}\n`);
    }
    return 0;
  },
};

const deviceShow: Command = {
  name: 'show',
  summary: 'show one device: config, 一机一档 record and health',
  usage: 'Usage: yiwang edge device show ID [--config edge.yaml]',
  async run(argv) {
    const a = parse(argv, configOpt, this.usage);
    if (!a) return 0;
    const id = a.positionals[0];
    if (!id) throw new UsageError(this.usage);
    requireConfig(a.values.config);
    const d = loadEdgeConfig(a.values.config).devices.find((x) => x.id === id);
    if (!d) throw new Error(`no device ${id} in ${a.values.config}`);
    let live: unknown;
    try {
      live = await admin(a.values.config, 'GET', `/api/v1/devices/${encodeURIComponent(id)}`);
    } catch {
      live = undefined;
    }
    const redacted = { ...d, connection: Object.fromEntries(Object.entries(d.connection).map(([k, v]) => [k, /password|secret/i.test(k) ? '***' : v])) };
    process.stdout.write(`${JSON.stringify({ config: redacted, live }, null, 2)}\n`);
    return 0;
  },
};

const deviceRemove: Command = {
  name: 'remove',
  summary: 'remove a device from the config and the running agent',
  usage: 'Usage: yiwang edge device remove ID [--config edge.yaml] [--no-apply]',
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'no-apply': { type: 'boolean' } }, this.usage);
    if (!a) return 0;
    const id = a.positionals[0];
    if (!id) throw new UsageError(this.usage);
    requireConfig(a.values.config);
    const r = withoutDevice(readDoc(a.values.config), a.values.config, id);
    if (!r) throw new Error(`no device ${id} in ${a.values.config}`);
    writeConfigAtomically(a.values.config, r.text);
    process.stdout.write(`device ${id} removed from ${a.values.config} (its buffered data stays and is still delivered)\n`);
    if (!a.values['no-apply']) await applyLive(a.values.config);
    return 0;
  },
};

const device: Command = {
  name: 'device',
  summary: 'register and inspect devices: add, list, show, remove',
  usage: '',
  run: (argv) => dispatch([deviceAdd, deviceList, deviceShow, deviceRemove], argv, 'Usage: yiwang edge device <command>'),
};

const mqttUser: Command = {
  name: 'mqtt-user',
  summary: 'add a field-device login to the embedded MQTT broker (stored hashed)',
  usage: 'Usage: yiwang edge mqtt-user add NAME [--password P] [--config edge.yaml]\n\nWithout --password a random one is generated and printed once.',
  async run(argv) {
    const a = parse(argv, { ...configOpt, password: { type: 'string' } }, this.usage);
    if (!a) return 0;
    const [verb, name] = a.positionals;
    if (verb !== 'add' || !name) throw new UsageError(this.usage);
    requireConfig(a.values.config);
    const { DEVICE_ACCOUNT_COST, hashSecret } = await import('../core/secrets.js');
    const { randomBytes } = await import('node:crypto');
    const password = a.values.password ?? randomBytes(12).toString('base64url');
    const doc = readDoc(a.values.config);
    const users = (doc.getIn(['protocols', 'mqtt', 'localBroker', 'users']) as { items?: unknown[] } | undefined)?.items ?? [];
    doc.setIn(['protocols', 'mqtt', 'localBroker', 'users'], doc.createNode([...users, { username: name, passwordHash: hashSecret(password, DEVICE_ACCOUNT_COST) }]));
    writeConfigAtomically(a.values.config, doc.toString());
    process.stdout.write(`MQTT user ${name} added.${a.values.password ? '' : ` Password (shown once): ${password}`}\nRestart the agent for broker logins to change.\n`);
    return 0;
  },
};

const lazy = (name: string, summary: string, load: () => Promise<Command>): Command => ({ name, summary, usage: '', run: async (argv) => (await load()).run(argv) });

export const edgeCommand: Command = {
  name: 'edge',
  summary: 'edge agent',
  usage: '',
  run: async (argv) => {
    // `yiwang edge --config x` (no sub-command) runs the agent.
    if (!argv.length || argv[0]!.startsWith('-') && argv[0] !== '--help' && argv[0] !== '-h') return run.run(argv);
    return dispatch(
      [
        run, status, reload, device, init, mqttUser,
        lazy('doctor', 'check config, device reachability and uplink, in plain words', async () => (await import('./edge-doctor.js')).doctorCommand),
        lazy('discover', 'find ONVIF cameras on the site LAN (WS-Discovery)', async () => (await import('./edge-camera.js')).discoverCommand),
        lazy('camera', 'register an ONVIF camera with its 一机一档 fields', async () => (await import('./edge-camera.js')).cameraCommand),
      ],
      argv,
      'Usage: yiwang edge [command] [--config edge.yaml]\n\nWithout a command, runs the agent.',
    );
  },
};

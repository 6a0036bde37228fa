// `yiwang edge device add|update|test|list|show|remove`: register devices with validation, change fields in
// place, and check a device with one real exchange through its profile.
import { loadEdgeConfig, profilesFor, type DeviceConfig } from '../edge/config.js';
import { adminCall } from '../edge/admin-client.js';
import { deviceEntry, mergeDevice, readDoc, removeDeviceEntry, replaceDeviceEntry, writeConfigAtomically } from '../edge/config-edit.js';
import { AddressError, connectionFromAddress as addressToConnection } from '../core/connection-address.js';
import { dispatch, parse, UsageError, type Command } from './args.js';
import {
  applyLive, cameraFieldsFromFlags, cameraFlags, configOpt, passwordToEnv, RECORD_FLAGS_HELP,
  recordFieldsFromFlags, recordFlags, refuseIfManaged, registerDevice, reportChanges, requireConfig, writeDeviceDoc,
} from './edge-shared.js';
import { loadEffectiveConfig } from '../edge/central-config.js';

/** Turns the installer's --address into the protocol's connection object (a malformed one is a usage error). */
export function connectionFromAddress(protocol: string, address: string): Record<string, unknown> {
  try {
    return addressToConnection(protocol, address);
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(err.message);
    throw err;
  }
}

/** Connection keys that say where a device is; `--address` on update replaces these and keeps the rest. */
const ADDRESS_KEYS = ['transport', 'host', 'port', 'unitId', 'serialPort', 'endpoint', 'topicId', 'mn', 'station'];

const ADDRESS_HELP = `  --address ADDR        modbus: host[:port][#unit] | serial path#unit; opcua: opc.tcp://...; mqtt: topic id;
                        hj212: MN; sl651: station address (10 hex digits); onvif: host[:port]
  --connection JSON     connection fields as JSON (e.g. '{"transport":"rtu","serialPort":"/dev/ttyUSB0","unitId":3}');
                        a "password" in it is moved to edge.env (the YAML gets passwordEnv)`;

function parseConnectionJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('must be a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`--connection is not a valid JSON object: ${(err as Error).message}`);
  }
}

const deviceAdd: Command = {
  name: 'add',
  summary: 'register a device: validate, write the config, apply live',
  usage: `Usage: yiwang edge device add --profile ID --id CODE --address ADDR [record fields] [--config edge.yaml]

  --profile ID          device profile (yiwang profile list)
  --id CODE             GB/T 28181 20-digit code or a site-scoped id
${ADDRESS_HELP}
${RECORD_FLAGS_HELP}
  --replace             the id is registered already: replace its entry and print what changed
  --no-apply            only write the config

An id that is already registered is refused unless --replace; to change some fields use \`device update\`.
Then check the device: yiwang edge device test ID`,
  async run(argv) {
    const a = parse(
      argv,
      {
        ...configOpt, ...recordFlags,
        profile: { type: 'string' }, id: { type: 'string' }, address: { type: 'string' }, connection: { type: 'string' },
        replace: { type: 'boolean' }, 'no-apply': { type: 'boolean' },
      },
      this.usage,
    );
    if (!a) return 0;
    const v = a.values;
    refuseIfManaged(v.config, 'add a device');
    if (!v.profile || !v.id || (!v.address && !v.connection)) throw new UsageError(`--profile, --id and --address (or --connection) are required\n\n${this.usage}`);
    const catalog = profilesFor(loadEdgeConfig(v.config), v.config);
    const profile = catalog.get(v.profile);
    if (!profile) throw new UsageError(`unknown profile "${v.profile}"; known: ${catalog.list().map((p) => p.id).join(', ')}`);
    const connection = { ...(v.address ? connectionFromAddress(profile.protocol, v.address) : {}), ...(v.connection ? parseConnectionJson(v.connection) : {}) };
    const device: DeviceConfig = { id: v.id, profile: v.profile, connection, ...recordFieldsFromFlags(v) };
    await registerDevice(v.config, device, { protocol: profile.protocol, replace: v.replace, apply: !v['no-apply'] });
    return 0;
  },
};

const deviceUpdate: Command = {
  name: 'update',
  summary: 'change some fields of a registered device in place',
  usage: `Usage: yiwang edge device update ID [fields to change] [--config edge.yaml]

${ADDRESS_HELP.replace('  --address ADDR        ', '  --address ADDR        new address (other connection settings are kept); ')}
  --profile ID          another device profile
${RECORD_FLAGS_HELP}
  --camera-type T --fill-light L --direction D --retention-days N     camera record fields
  --enable | --disable  poll/accept the device or not
  --no-apply            only write the config

Only the given fields change; comments and the layout of the entry stay as they are. Prints what changed.`,
  async run(argv) {
    const a = parse(
      argv,
      {
        ...configOpt, ...recordFlags, ...cameraFlags,
        profile: { type: 'string' }, address: { type: 'string' }, connection: { type: 'string' },
        enable: { type: 'boolean' }, disable: { type: 'boolean' }, 'no-apply': { type: 'boolean' },
      },
      this.usage,
    );
    if (!a) return 0;
    const v = a.values;
    const id = a.positionals[0];
    if (!id) throw new UsageError(`which device? ${this.usage}`);
    refuseIfManaged(v.config, `change device ${id}`);
    const doc = readDoc(v.config);
    const before = deviceEntry(doc, id);
    if (!before) throw new UsageError(`no device ${id} in ${v.config} (register it with: yiwang edge device add --id ${id} ...)`);
    const catalog = profilesFor(loadEdgeConfig(v.config), v.config);
    const profileId = v.profile ?? before.profile;
    const profile = catalog.get(profileId);
    if (!profile) throw new UsageError(`unknown profile "${profileId}"; known: ${catalog.list().map((p) => p.id).join(', ')}`);
    const patch: Partial<DeviceConfig> = { ...recordFieldsFromFlags(v) };
    if (v.profile) patch.profile = v.profile;
    const camera = cameraFieldsFromFlags(v);
    if (camera) patch.camera = camera;
    if (v.enable && v.disable) throw new UsageError('--enable or --disable, not both');
    if (v.enable) patch.enabled = true;
    if (v.disable) patch.enabled = false;
    let after = mergeDevice(before, patch);
    if (v.address || v.connection) {
      const kept = v.address ? Object.fromEntries(Object.entries(before.connection).filter(([k]) => !ADDRESS_KEYS.includes(k))) : before.connection;
      after = { ...after, connection: { ...kept, ...(v.address ? connectionFromAddress(profile.protocol, v.address) : {}), ...(v.connection ? parseConnectionJson(v.connection) : {}) } };
    }
    if (after.connection.password !== undefined && after.connection.passwordEnv !== undefined) delete after.connection.passwordEnv; // a new password replaces the old variable
    const secret = passwordToEnv(v.config, after, profile.protocol);
    replaceDeviceEntry(doc, after);
    await writeDeviceDoc(v.config, doc, secret);
    reportChanges(id, before, after);
    if (!v['no-apply']) await applyLive(v.config);
    return 0;
  },
};

const deviceTest: Command = {
  name: 'test',
  summary: 'one real exchange with a device through its profile: raw and normalized values',
  usage: `Usage: yiwang edge device test ID [--config edge.yaml] [--timeout-ms N] [--json]

Like \`telegraf --test\`: reads the device once through its profile and prints, per point, where it is read
from, the raw value in the profile's source unit, the normalized value in the catalog unit, and its quality —
with a plain warning when a value is outside the metric's plausible range (a wrong source unit or register map).
  modbus   a read of each register block        opcua  a read of each node (subscription's first values)
  onvif    GetDeviceInformation + a stream probe (needs ffmpeg)
  mqtt, hj212, sl651   the age and content of the device's last message, from the running agent; without a
                       running agent, waits here for one message (--timeout-ms, default 15000)
Exits 1 unless every point was read with good quality.`,
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' } }, this.usage);
    if (!a) return 0;
    const id = a.positionals[0];
    if (!id) throw new UsageError(`which device? ${this.usage}`);
    requireConfig(a.values.config);
    const timeoutMs = a.values['timeout-ms'] === undefined ? undefined : Number(a.values['timeout-ms']);
    if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError('--timeout-ms must be a positive number');
    const { formatTestResult, testConfiguredDevices } = await import('../edge/device-test.js');
    const [r] = await testConfiguredDevices(a.values.config, { only: id, timeoutMs });
    if (!r) throw new UsageError(`no device ${id} in ${a.values.config}`);
    process.stdout.write(a.values.json ? `${JSON.stringify(r, null, 2)}\n` : formatTestResult(r));
    return r.ok ? 0 : 1;
  },
};

const deviceList: Command = {
  name: 'list',
  summary: 'list configured devices (with live health when the agent runs)',
  usage: 'Usage: yiwang edge device list [--config edge.yaml]',
  async run(argv) {
    const a = parse(argv, configOpt, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const cfg = loadEffectiveConfig(a.values.config);
    let live = new Map<string, string>();
    try {
      const r = (await adminCall(a.values.config, 'GET', '/api/v1/devices')) as { devices: { record: { id: string }; health?: { state: string; reason?: string } }[] };
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
    const d = loadEffectiveConfig(a.values.config).devices.find((x) => x.id === id);
    if (!d) throw new UsageError(`no device ${id} in ${a.values.config}`);
    let live: unknown;
    try {
      live = await adminCall(a.values.config, 'GET', `/api/v1/devices/${encodeURIComponent(id)}`);
    } catch {
      live = undefined;
    }
    const redacted = { ...d, connection: Object.fromEntries(Object.entries(d.connection ?? {}).map(([k, v]) => [k, /^password$|secret/i.test(k) ? '***' : v])) };
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
    refuseIfManaged(a.values.config, `remove device ${id}`);
    const doc = readDoc(a.values.config);
    if (!removeDeviceEntry(doc, id)) throw new UsageError(`no device ${id} in ${a.values.config}`);
    writeConfigAtomically(a.values.config, doc.toString());
    process.stdout.write(`device ${id} removed from ${a.values.config} (its buffered data stays and is still delivered)\n`);
    if (!a.values['no-apply']) await applyLive(a.values.config);
    return 0;
  },
};

export const deviceCommand: Command = {
  name: 'device',
  summary: 'register, change, test and inspect devices',
  usage: '',
  run: (argv) => dispatch([deviceAdd, deviceUpdate, deviceTest, deviceList, deviceShow, deviceRemove], argv, 'Usage: yiwang edge device <command>'),
};

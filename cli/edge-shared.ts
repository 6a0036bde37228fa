// What the `yiwang edge ...` commands share: the config option, the running agent's admin API, record flags,
// and validating + writing a device exactly as the agent will read it. Imports stay light (no adapters, no
// buffer): every edge command loads this module.
import { existsSync } from 'node:fs';
import { writeFilePreservingMode, setEnvFileVar } from '../core/env.js';
import { describeBureaus, parseSharingScope } from '../core/records.js';
import { envFileFor, loadEdgeConfig, parseEdgeConfig, profilesFor, resolvePaths, type DeviceConfig } from '../edge/config.js';
import { adminCall } from '../edge/admin-client.js';
import { addDeviceEntry, deviceEntry, describeChanges, docText, readDoc, replaceDeviceEntry, writeConfigAtomically } from '../edge/config-edit.js';
import { unstartedAdapter, validateDevices } from '../edge/devices.js';
import type { Document } from 'yaml';
import { UsageError } from './args.js';

export const DEFAULT_CONFIG = process.env.YIWANG_EDGE_CONFIG ?? 'edge.yaml';
export const configOpt = { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG } } as const;

export function requireConfig(file: string): void {
  if (!existsSync(file)) throw new UsageError(`config file ${file} not found (create one with: yiwang edge init --site-type village --out ${file})`);
}

/** The collector's host of an uplink URL (mqtts://collector.example:8883 → collector.example:8883). */
const collectorOf = (url: string) => url.replace(/^[a-z]+:\/\//, '').replace(/^[^@/]*@/, '').replace(/\/.*$/, '');

/**
 * A managed edge takes its devices from the collector: a local device edit is refused with where to make it.
 * `action` says what was asked ("add a device").
 */
export function refuseIfManaged(file: string, action: string): void {
  requireConfig(file);
  const cfg = loadEdgeConfig(file);
  if (!cfg.edge.managed) return;
  const edge = cfg.edge.id;
  throw new UsageError(
    `cannot ${action} here: edge ${edge} is managed by the collector at ${collectorOf(cfg.uplink.url)} (edge.managed: true in ${file}), ` +
      'which owns its devices, profiles and thresholds. Make the change there:\n' +
      `  yiwang collector device add --edge ${edge} --profile ID --id CODE --address ADDR ...   (on the collector)\n` +
      `  or the admin API: PUT/DELETE /api/v1/admin/edges/${edge}/devices/ID\n` +
      `(\`yiwang edge device list\` and \`device test\` still work here.)`,
  );
}


/** Flags for the 一机一档 record fields that `device add/update` and `camera add` take. */
export const recordFlags = {
  name: { type: 'string' }, share: { type: 'string' }, lon: { type: 'string' }, lat: { type: 'string' },
  'install-address': { type: 'string' }, division: { type: 'string' }, scenario: { type: 'string' }, industry: { type: 'string' },
  installed: { type: 'string' }, maintainer: { type: 'string' }, contact: { type: 'string' }, serial: { type: 'string' },
} as const;

export const RECORD_FLAGS_HELP = `  --name TEXT  --share 水务,应急 (or water,emergency)  --lon N --lat N --install-address TEXT --division CODE
  --installed YYYY-MM-DD --maintainer TEXT --contact TEXT --serial TEXT --scenario TEXT --industry TEXT`;

type RecordFlagValues = { [K in keyof typeof recordFlags]?: string };

/** "--share 水务,应急" → ["water", "emergency"]; an unknown bureau name is a usage error listing the known ones. */
export function shareFlag(text: string): string[] {
  const { codes, custom, unknown } = parseSharingScope(text);
  if (unknown.length) throw new UsageError(`--share: ${unknown.map((u) => `"${u}"`).join(', ')} ${unknown.length > 1 ? 'are not known bureaus' : 'is not a known bureau'}; use ${describeBureaus()}`);
  if (custom.length) process.stderr.write(`note: --share ${custom.join(', ')}: not one of the standard bureaus (${describeBureaus()}); kept as given\n`);
  return codes;
}

function numberFlag(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: "${v}" is not a number`);
  return n;
}

/** The record fields the installer gave as flags; fields without a flag are left out. */
export function recordFieldsFromFlags(v: RecordFlagValues): Partial<DeviceConfig> {
  const r: Partial<DeviceConfig> = {};
  if (v.name) r.name = v.name;
  if (v.share) r.sharingScope = shareFlag(v.share);
  if (v.lon || v.lat || v['install-address'] || v.division) {
    r.location = {
      ...(v.lon ? { longitude: numberFlag(v.lon, 'lon') } : {}),
      ...(v.lat ? { latitude: numberFlag(v.lat, 'lat') } : {}),
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

/** Validates a candidate config text's devices exactly as the agent will (profile, record, connection). */
export async function validateCandidate(file: string, text: string): Promise<void> {
  const cfg = parseEdgeConfig(file, text);
  const { bufferDir } = resolvePaths(cfg, file);
  await validateDevices(cfg, file, profilesFor(cfg, file), (protocol) => unstartedAdapter(protocol, bufferDir, cfg.protocols));
}

/** The env variable a device's password is kept in: YIWANG_DEVICE_<ID>_PASSWORD. */
export const devicePasswordVar = (id: string) => `YIWANG_DEVICE_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;

/** Protocols whose connection takes passwordEnv (HJ 212 and SL 651 "passwords" are access codes sent in every frame). */
const PASSWORD_ENV_PROTOCOLS = new Set(['onvif', 'opcua']);

/**
 * Moves a password given on the command line out of the device's connection: the YAML gets `passwordEnv`,
 * edge.env (mode 0600) gets the value once the config is known to be valid (`commit`).
 */
export function passwordToEnv(configFile: string, device: DeviceConfig, protocol: string): { commit(): void } {
  const c = device.connection;
  if (typeof c.password !== 'string' || !PASSWORD_ENV_PROTOCOLS.has(protocol)) return { commit() {} };
  const name = devicePasswordVar(device.id);
  const value = c.password;
  delete c.password;
  c.passwordEnv = name;
  process.env[name] = value; // validation checks that the variable is set
  return {
    commit() {
      const envFile = envFileFor(configFile);
      setEnvFileVar(envFile, name, value);
      process.stdout.write(`password stored in ${envFile} as ${name} (the config names only the variable)\n`);
    },
  };
}

/** Writes a new config file (mode 0600: it may come to hold secrets). */
export function writeNewConfig(file: string, text: string): void {
  writeFilePreservingMode(file, text);
}

/** Asks the running agent to reload; says so plainly when it is not running. */
export async function applyLive(file: string): Promise<void> {
  try {
    const r = (await adminCall(file, 'POST', '/api/v1/reload')) as { added: string[]; updated: string[]; removed: string[] };
    process.stdout.write(`applied to the running agent: ${r.added.length} added, ${r.updated.length} updated, ${r.removed.length} removed\n`);
  } catch (err) {
    process.stdout.write(`not applied live (${(err as Error).message}); it takes effect when the agent starts\n`);
  }
}

/** Flags for a camera's 一机一档 camera block (`camera add`, `device update`). */
export const cameraFlags = {
  'camera-type': { type: 'string' }, 'fill-light': { type: 'string' }, direction: { type: 'string' }, 'retention-days': { type: 'string' },
} as const;

export function cameraFieldsFromFlags(v: { [K in keyof typeof cameraFlags]?: string }): Record<string, unknown> | undefined {
  const camera: Record<string, unknown> = {};
  if (v['camera-type']) camera.cameraType = v['camera-type'];
  if (v['fill-light']) camera.fillLight = v['fill-light'];
  if (v.direction) camera.direction = v.direction;
  if (v['retention-days']) camera.recordRetentionDays = numberFlag(v['retention-days'], 'retention-days');
  return Object.keys(camera).length ? camera : undefined;
}

/**
 * Registers a device: refuses an id that is taken unless `replace` (then prints what changed), keeps a password
 * given on the command line out of the YAML, validates exactly as the agent will, writes atomically and applies.
 */
export async function registerDevice(configFile: string, device: DeviceConfig, o: { protocol: string; replace?: boolean; apply: boolean }): Promise<void> {
  const doc = readDoc(configFile);
  const existing = deviceEntry(doc, device.id);
  if (existing && !o.replace) {
    throw new UsageError(
      `device ${device.id} is already registered (${[existing.name, existing.profile].filter(Boolean).join(', ')}); nothing was changed.\n` +
        `  To replace the whole entry with what you gave now, add --replace (fields you did not give are dropped).\n` +
        `  To change some fields only: yiwang edge device update ${device.id} --name ... --share ...`,
    );
  }
  const secret = passwordToEnv(configFile, device, o.protocol);
  if (existing) replaceDeviceEntry(doc, device);
  else addDeviceEntry(doc, device);
  await writeDeviceDoc(configFile, doc, secret);
  if (existing) reportChanges(device.id, existing, device);
  else process.stdout.write(`device ${device.id} (${device.profile}) written to ${configFile}\n`);
  if (o.apply) await applyLive(configFile);
}

/** Validates the edited document as the agent will, then stores the secret (if any) and the config. */
export async function writeDeviceDoc(configFile: string, doc: Document, secret: { commit(): void } = { commit() {} }): Promise<void> {
  const { text } = docText(doc, configFile);
  await validateCandidate(configFile, text);
  secret.commit();
  writeConfigAtomically(configFile, text);
}

export function reportChanges(id: string, before: unknown, after: unknown): void {
  const changes = describeChanges(before, after);
  process.stdout.write(changes.length ? `device ${id} changed:\n${changes.map((c) => `  ${c}\n`).join('')}` : `device ${id}: nothing changed\n`);
}

// Edge agent configuration (one YAML file). Structure is checked by JSON Schema; devices are then checked
// against their profile, the 一机一档 rules and their adapter's connection rules (in edge/devices.ts).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ConfigError, compileSchema, describeAjvError, loadYamlConfig, parseYamlConfig } from '../core/config-file.js';
import { applyEnvFile, expandEnvReferences } from '../core/env.js';
import { BUILTIN_PROFILE_DIR, CUSTOM_METRICS_SCHEMA, ProfileCatalog, validateProfile, type DeviceProfile } from '../core/profiles.js';
import { GB28181_CONFIG_SCHEMA, gb28181Problems, type Gb28181Config } from '../protocols/gb28181/config.js';
import { THRESHOLDS_SCHEMA, type ThresholdOverrides } from './thresholds.js';
import type { CustomMetricDecl } from '../schema/metrics.js';
import type { DeviceRecord, Location, SiteType } from '../schema/types.js';

export interface UplinkConfig {
  url: string;                 // mqtt:// or mqtts://
  username?: string;           // defaults to the edge id
  password?: string;           // or passwordEnv / passwordFile
  passwordEnv?: string;
  passwordFile?: string;
  ca?: string;                 // file paths (PEM)
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  backlogRateLimit?: number;   // items/s when draining the backlog
  maxBatchItems?: number;
}

export interface DeviceConfig extends Omit<DeviceRecord, 'profileId' | 'runtimeStatus' | 'lastSeen' | 'statusReason' | 'seq' | 'updatedAt' | 'edgeId'> {
  profile: string;
  connection: Record<string, unknown>;
  enabled?: boolean;
}

export interface EdgeConfig {
  /** managed: devices, profiles, custom metrics and thresholds come from the collector (edge–cloud coordination). */
  edge: { id: string; managed?: boolean };
  site: { id: string; name?: string; type?: SiteType; location?: Location };
  uplink: UplinkConfig;
  buffer?: { dir?: string; maxBytes?: number; retentionHours?: number; commitIntervalMs?: number; groupCommitDelayMs?: number };
  admin?: { host?: string; port?: number };
  /** When a device's own timestamp is trusted (see edge/normalize.ts). */
  timestamps?: { maxAheadS?: number; notBefore?: string };
  protocols?: Record<string, Record<string, unknown>>;
  profileDirs?: string[];
  /** Metrics the catalog lacks (x_ names), usable by every profile at this edge. */
  customMetrics?: CustomMetricDecl[];
  /** Installer-defined profiles, inline (same form as a profile file); they win over profileDirs by id. */
  profiles?: DeviceProfile[];
  /** Alarm levels per site and per device that override the profiles' (edge/thresholds.ts). */
  thresholds?: ThresholdOverrides;
  devices: DeviceConfig[];
  /** Northbound GB/T 28181: the edge as a device of an upper video platform (protocols/gb28181). */
  gb28181?: Gb28181Config;
}

const str = { type: 'string', minLength: 1 };
const location = {
  type: 'object',
  additionalProperties: false,
  properties: {
    longitude: { type: 'number', minimum: -180, maximum: 180 },
    latitude: { type: 'number', minimum: -90, maximum: 90 },
    address: { type: 'string' },
    divisionCode: { type: 'string', pattern: '^\\d{6}(\\d{3}|\\d{6})?$' },
  },
};

export const EDGE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['edge', 'site', 'uplink'],
  properties: {
    edge: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }, managed: { type: 'boolean' } },
    },
    site: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: { id: str, name: { type: 'string' }, type: { enum: ['village', 'street', 'water_station', 'other'] }, location },
    },
    uplink: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^mqtts?://' },
        username: str,
        password: { type: 'string' },
        passwordEnv: str,
        passwordFile: str,
        ca: str,
        cert: str,
        key: str,
        rejectUnauthorized: { type: 'boolean' },
        backlogRateLimit: { type: 'integer', minimum: 1 },
        maxBatchItems: { type: 'integer', minimum: 1, maximum: 100000 },
      },
    },
    buffer: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: str,
        maxBytes: { type: 'integer', minimum: 1048576 },
        retentionHours: { type: 'number', exclusiveMinimum: 0 },
        commitIntervalMs: { type: 'integer', minimum: 10, maximum: 1000 },
        groupCommitDelayMs: { type: 'integer', minimum: 0, maximum: 100 },
      },
    },
    timestamps: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxAheadS: { type: 'integer', minimum: 1 },
        notBefore: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$' },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      properties: { host: str, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    protocols: {
      type: 'object',
      additionalProperties: false,
      properties: {
        modbus: { type: 'object' },
        mqtt: { type: 'object' },
        opcua: { type: 'object' },
        onvif: { type: 'object' },
        hj212: { type: 'object' },
        sl651: { type: 'object' },
      },
    },
    profileDirs: { type: 'array', items: str },
    customMetrics: CUSTOM_METRICS_SCHEMA,
    gb28181: GB28181_CONFIG_SCHEMA,
    profiles: { type: 'array', items: { type: 'object' } }, // each checked by validateProfile (profilesFor)
    thresholds: THRESHOLDS_SCHEMA,
    devices: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'profile', 'connection'],
        properties: {
          id: str,
          profile: str,
          connection: { type: 'object' },
          enabled: { type: 'boolean' },
          name: { type: 'string' },
          kind: { enum: ['sensor', 'camera', 'station'] },
          manufacturer: { type: 'string' },
          model: { type: 'string' },
          serialNumber: { type: 'string' },
          firmware: { type: 'string' },
          address: { type: 'string' },
          location,
          site: {
            type: 'object',
            additionalProperties: false,
            properties: { id: str, name: { type: 'string' }, type: { enum: ['village', 'street', 'water_station', 'other'] } },
          },
          scenario: { type: 'string' },
          industry: { type: 'string' },
          sharingScope: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
          installedDate: { type: 'string' },
          maintainer: { type: 'string' },
          maintainerContact: { type: 'string' },
          lifecycle: { enum: ['in_use', 'under_repair', 'removed'] },
          waterBody: { enum: ['river', 'lake', 'reservoir'] },
          camera: { type: 'object' },
        },
      },
    },
  },
} as const;

/**
 * Expands `${VAR}` in every string before the schema check, so the schema (and the agent) see the values
 * that will be used; an unset variable is reported like any other config problem.
 */
function expandingValidator(validate: ValidateFunction): ValidateFunction {
  const v = ((data: unknown) => {
    const problems = expandEnvReferences(data);
    const ok = validate(data);
    const errors: ErrorObject[] = [
      ...problems.map((p) => ({ instancePath: `/${p.path.replace(/\./g, '/')}`, keyword: 'env', message: p.message, params: {}, schemaPath: '' })),
      ...(validate.errors ?? []),
    ];
    v.errors = errors.length ? errors : null;
    return ok && !problems.length;
  }) as ValidateFunction;
  return v;
}

const validateStructure = compileSchema(EDGE_CONFIG_SCHEMA);
const validateEdgeConfig = expandingValidator(validateStructure);

/** What a managed edge takes from the collector: it may not also be set in the local file. */
export const CENTRAL_KEYS = ['devices', 'profiles', 'customMetrics', 'thresholds'] as const;

/** Checks JSON Schema cannot express (GB/T 28181 id structure), and defaults. */
function semanticChecks(source: string, c: EdgeConfig): EdgeConfig {
  c.devices ??= [];
  const problems = c.gb28181 ? gb28181Problems(c.gb28181) : [];
  if (problems.length) throw new ConfigError(source, problems);
  return c;
}

function withDefaults(file: string, c: EdgeConfig): EdgeConfig {
  if (c.edge.managed) {
    const local = CENTRAL_KEYS.filter((k) => c[k] !== undefined && !(Array.isArray(c[k]) && (c[k] as unknown[]).length === 0));
    if (local.length) {
      throw new ConfigError(file, local.map((k) => ({
        path: k,
        message: `this edge is managed by the collector (edge.managed: true): its ${k} come from the collector at ${c.uplink.url}; remove them here (register devices there: yiwang collector device add --edge ${c.edge.id} ...)`,
      })));
    }
  }
  return semanticChecks(file, c);
}

/**
 * Checks a config object (not a file): the effective configuration of a managed edge, its local file merged with
 * the collector's part, goes through the same schema as a local file. Throws ConfigError naming `source`. No
 * `${VAR}` expansion here: the local part was expanded when its file was read, and the collector's part names
 * the box's variables with passwordEnv instead.
 */
export function checkEdgeConfig(source: string, data: unknown): EdgeConfig {
  if (!validateStructure(data)) {
    const seen = new Set<string>();
    const problems = (validateStructure.errors ?? []).map(describeAjvError).filter((p) => (seen.has(`${p.path}|${p.message}`) ? false : (seen.add(`${p.path}|${p.message}`), true)));
    throw new ConfigError(source, problems);
  }
  return semanticChecks(source, data as EdgeConfig);
}

/** The env file next to a config (`/etc/yiwang/edge.yaml` → `/etc/yiwang/edge.env`): the systemd unit's EnvironmentFile. */
export function envFileFor(configFile: string): string {
  return join(dirname(resolve(configFile)), 'edge.env');
}

/**
 * Reads the config. First loads `edge.env` next to it into the environment (so `${VAR}` and `passwordEnv`
 * work the same for the agent, its reloads and every CLI command, whoever runs them), then expands and checks.
 */
export function loadEdgeConfig(file: string): EdgeConfig {
  applyEnvFile(envFileFor(file));
  return withDefaults(file, loadYamlConfig<EdgeConfig>(file, validateEdgeConfig));
}

export function parseEdgeConfig(file: string, text: string): EdgeConfig {
  applyEnvFile(envFileFor(file));
  return withDefaults(file, parseYamlConfig<EdgeConfig>(file, text, validateEdgeConfig));
}

/** Paths in the config are relative to the config file's directory. */
export function resolvePaths(cfg: EdgeConfig, configFile: string): { bufferDir: string; profileDirs: string[]; rel: (p: string) => string } {
  const base = dirname(resolve(configFile));
  const rel = (p: string) => (isAbsolute(p) ? p : join(base, p));
  return {
    bufferDir: rel(cfg.buffer?.dir ?? `data/edge-${cfg.edge.id}`),
    profileDirs: (cfg.profileDirs ?? []).map(rel),
    rel,
  };
}

/** The configured trust window for device timestamps, in ms (defaults: 1 day ahead, not before 2000-01-01 UTC). */
export function timestampWindow(cfg: EdgeConfig, file = 'edge config'): { maxAheadMs: number; notBeforeMs: number } {
  const t = cfg.timestamps ?? {};
  const notBeforeMs = t.notBefore === undefined ? Date.UTC(2000, 0, 1) : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(t.notBefore) ? `${t.notBefore}T00:00:00Z` : t.notBefore);
  if (!Number.isFinite(notBeforeMs)) throw new ConfigError(file, [{ path: 'timestamps.notBefore', message: `"${t.notBefore}" is not a date` }]);
  return { maxAheadMs: (t.maxAheadS ?? 86_400) * 1000, notBeforeMs };
}

export const DEFAULT_BUFFER_MAX_BYTES = 2 * 1024 ** 3; // 2 GiB: days of a site's telemetry on an SD card
export const DEFAULT_ADMIN_PORT = 9180;

/** The uplink password: inline, from an environment variable, or from a file (one line). */
export function uplinkPassword(cfg: EdgeConfig, rel: (p: string) => string): string | undefined {
  const u = cfg.uplink;
  if (u.passwordEnv) return process.env[u.passwordEnv];
  if (u.passwordFile) return readFileSync(rel(u.passwordFile), 'utf8').trim();
  return u.password;
}


/** "profiles[2].points[0].unit" for a problem at /points/0/unit of the config's third inline profile. */
export const inlineProfilePath = (i: number, path: string) => `profiles[${i}]${path === '/' ? '' : path.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}`;

/**
 * The profiles an edge config sees: the built-in ones, its profileDirs, its inline `profiles` (checked like
 * files; problems as `profiles[i].points[0].unit: …`), and its custom metrics.
 */
export function profilesFor(cfg: EdgeConfig, file: string): ProfileCatalog {
  const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...resolvePaths(cfg, file).profileDirs], { customMetrics: cfg.customMetrics });
  const problems: { path: string; message: string }[] = [];
  for (const [i, p] of (cfg.profiles ?? []).entries()) {
    const issues = validateProfile(p, cfg.customMetrics ?? []);
    for (const issue of issues) problems.push({ path: inlineProfilePath(i, issue.path), message: issue.message });
    if (issues.length) continue;
    const own = new Set((p.customMetrics ?? []).map((m) => m.name));
    const used = (cfg.customMetrics ?? []).filter((m) => !own.has(m.name) && p.points.some((pt) => pt.metric === m.name));
    catalog.add(used.length ? { ...p, customMetrics: [...(p.customMetrics ?? []), ...used] } : p);
  }
  if (problems.length) throw new ConfigError(file, problems);
  return catalog;
}

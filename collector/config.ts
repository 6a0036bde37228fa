// Collector configuration: collector.yaml (optional) + defaults + command-line overrides. Checked like the edge's
// config (core/config-file.ts: JSON Schema, `file: path: reason` errors); `${VAR}` references are expanded from
// the environment and from `collector.env` next to the file (the service's EnvironmentFile), so secrets stay
// out of the YAML. The `notify:` and `dashboard:` blocks are checked by their own modules.
import { dirname, join, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { compileSchema, describeAjvError } from '../core/config-file.js';
import { applyEnvFile, expandEnvReferences } from '../core/env.js';
import { closest } from '../core/suggest.js';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ALARMS_CONFIG_SCHEMA, DEFAULT_ALARMS_CONFIG, type AlarmsConfig } from './alarms/config.js';
import { DASHBOARD_CONFIG_SCHEMA, validateDashboardConfig, type DashboardConfig } from './dashboard/config.js';
import { isPostgresUrl } from './store/url.js';
import { NOTIFY_CONFIG_SCHEMA, validateNotifyConfig, type NotifyConfig } from './notify/config.js';

export interface TlsFiles {
  cert: string; // PEM file path
  key: string;  // PEM file path
}

export interface EmbeddedMqtt {
  host: string;
  port: number;
  tls?: TlsFiles;
}

export interface ExternalMqtt {
  url: string;
  username?: string;
  password?: string;
  /** Name of an environment variable holding the password (keeps it out of the YAML). */
  passwordEnv?: string;
  ca?: string;          // PEM file path of the broker's CA
  sharedGroup?: string; // subscribe through $share/<group>/... so several collectors split the load
  clientId?: string;
}

export interface EdgeCredential {
  id: string;
  passwordHash: string; // from hashSecret() / `yiwang collector edge hash`
}

export interface CollectorConfig {
  dataDir: string;
  /** "sqlite" (default: collector.db in dataDir) or a postgres:// URL (cluster mode). */
  store: string;
  http: { host: string; port: number; tls?: TlsFiles };
  mqtt: { embedded?: EmbeddedMqtt; external?: ExternalMqtt };
  edges: EdgeCredential[];
  ingest: {
    maxQueue: number;        // batches waiting for storage before consumption pauses
    maxPayloadBytes: number; // larger batches are rejected
    maxItemsPerBatch: number;
    unknownDevices: 'claim' | 'refuse'; // readings for a device nobody registered: register it to the sender, or refuse
    commitIntervalMs: number; // group-commit window
    /** Group commits in flight at once (PostgreSQL; SQLite always 1). Default 4. */
    parallelCommits?: number;
  };
  retention: { rawDays: number; minuteDays: number; hourDays: number };
  influx?: { url: string; token: string; org: string; bucket: string; flushIntervalMs: number; batchLines: number };
  feed: { ringSize: number; keepMinutes: number };
  notify?: NotifyConfig;
  dashboard?: DashboardConfig;
  /** Bureau analytics: a station missing `missedReports` reports of its primary schedule in a row raises an event (checked every `checkIntervalS`). */
  analytics?: { missedReports?: number; checkIntervalS?: number };
  /**
   * The key that encrypts device passwords in edge configurations at rest (AES-256-GCM): a file holding 32 random
   * bytes in base64, or an environment variable with that value. Default: `<dataDir>/secrets.key`, created on
   * first use (a PostgreSQL store needs one set explicitly: every collector node must have the same key).
   */
  secrets?: { keyFile?: string; keyEnv?: string };
  /** Conditions only the collector sees (silent edges/devices) and the notification worker. */
  alarms: AlarmsConfig;
  /** Directory relative paths in the config are resolved against (the config file's). */
  baseDir: string;
}

export class ConfigError extends Error {}

export function defaultConfig(): CollectorConfig {
  return {
    dataDir: './data/collector',
    store: 'sqlite',
    http: { host: '0.0.0.0', port: 8080 },
    mqtt: { embedded: { host: '0.0.0.0', port: 1883 } },
    edges: [],
    ingest: { maxQueue: 1000, maxPayloadBytes: 4 * 1024 * 1024, maxItemsPerBatch: 50_000, unknownDevices: 'claim', commitIntervalMs: 5 },
    retention: { rawDays: 30, minuteDays: 365, hourDays: 3650 },
    feed: { ringSize: 10_000, keepMinutes: 60 },
    alarms: { ...DEFAULT_ALARMS_CONFIG },
    baseDir: process.cwd(),
  };
}

const str = { type: 'string', minLength: 1 } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const tls = { type: 'object', additionalProperties: false, required: ['cert', 'key'], properties: { cert: str, key: str } } as const;
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;
const num = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum }) as const;
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, required, properties }) as const;

export const COLLECTOR_CONFIG_SCHEMA = obj({
  dataDir: str,
  store: { type: 'string', pattern: '^(sqlite|postgres(ql)?://.+)$' },
  http: obj({ host: str, port, tls }),
  mqtt: {
    ...obj({
      embedded: obj({ host: str, port, tls }),
      external: obj(
        {
          url: { type: 'string', pattern: '^(mqtts?|wss?|tcp|tls)://' },
          username: str,
          password: str,
          passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          ca: str,
          sharedGroup: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
          clientId: str,
        },
        ['url'],
      ),
    }),
    not: { required: ['embedded', 'external'] },
  },
  edges: {
    type: 'array',
    items: obj({ id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }, passwordHash: { type: 'string', pattern: '^scrypt\\$' } }, ['id', 'passwordHash']),
  },
  ingest: obj({
    maxQueue: int(1, 1_000_000),
    maxPayloadBytes: int(1024, 256 * 1024 * 1024),
    maxItemsPerBatch: int(1, 10_000_000),
    unknownDevices: { enum: ['claim', 'refuse'] },
    commitIntervalMs: int(0, 10_000),
    parallelCommits: int(1, 64),
  }),
  retention: obj({ rawDays: num(1, 100_000), minuteDays: num(1, 100_000), hourDays: num(1, 100_000) }),
  influx: obj(
    { url: { type: 'string', pattern: '^https?://' }, token: { type: 'string' }, org: str, bucket: str, flushIntervalMs: int(10, 600_000), batchLines: int(1, 1_000_000) },
    ['url'],
  ),
  feed: obj({ ringSize: int(1, 10_000_000), keepMinutes: int(1, 10_080) }),
  analytics: obj({ missedReports: int(1, 10_000), checkIntervalS: int(1, 86_400) }),
  secrets: obj({ keyFile: str, keyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }),
  alarms: ALARMS_CONFIG_SCHEMA,
  // Checked by their own modules (with cross-field rules); only their type here.
  notify: { type: 'object' },
  dashboard: { type: 'object' },
});

const validate = compileSchema(COLLECTOR_CONFIG_SCHEMA);

/** Allowed keys of the mapping at an ajv instance path (for "did you mean"). */
function keysAt(path: string): string[] {
  let node: { properties?: Record<string, unknown> } = COLLECTOR_CONFIG_SCHEMA as never;
  for (const part of path.split('/').filter(Boolean)) {
    if (/^\d+$/.test(part)) node = (node as { items?: never }).items ?? {};
    else node = (node.properties?.[part] as never) ?? {};
  }
  return Object.keys(node.properties ?? {});
}

const dotted = (p: string) => p.replace(/\.(\d+)(?=\.|$)/g, '[$1]');

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const where = e.instancePath ? `${dotted(e.instancePath.slice(1).replace(/\//g, '.'))}.${key}` : key;
    const allowed = keysAt(e.instancePath);
    const guess = closest(key, allowed);
    return `${where}: unknown key${guess ? ` (did you mean "${guess}"?)` : ''} (allowed: ${allowed.join(', ')})`;
  }
  if (e.keyword === 'not' && e.instancePath === '/mqtt') return 'mqtt: set either embedded or external, not both';
  const d = describeAjvError(e);
  const path = d.path === '(top level)' ? 'config' : dotted(d.path);
  if (e.keyword === 'pattern' && /passwordHash$/.test(path)) return `${path}: must be a scrypt$... hash (from \`yiwang collector edge hash\`), never the password`;
  if (e.keyword === 'pattern' && path === 'store') return 'store: must be sqlite or a postgres:// URL';
  return `${path}: ${d.message}`;
}

/** Deep merge of a validated document onto the defaults (present values win; arrays replace). */
function merge<T>(base: T, doc: unknown): T {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return (doc ?? base) as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? merge(cur, v) : v;
  }
  return out as T;
}

/** Validates a parsed config document (already-parsed YAML/JSON; `${VAR}` expanded in place) on top of the defaults. */
/** YAML `key:` with nothing after it (or only comments) is null: treat it as not set, as people mean it. */
function dropNulls(node: unknown): void {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return;
  const o = node as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (o[k] === null) delete o[k];
    else dropNulls(o[k]);
  }
}

export function parseConfig(doc: unknown, baseDir = process.cwd()): CollectorConfig {
  const root = (doc ?? {}) as Record<string, unknown>;
  dropNulls(root);
  const errors: string[] = expandEnvReferences(root).map((p) => `${p.path}: ${p.message.replace('edge.env', 'collector.env')}`);
  if (!validate(root)) errors.push(...new Set((validate.errors ?? []).map(describe)));
  else {
    if (root.notify !== undefined) errors.push(...validateNotifyConfig(root.notify).map((p) => `notify${p.path === '(top level)' ? '' : `.${p.path}`}: ${p.message}`));
    if (root.dashboard !== undefined) errors.push(...validateDashboardConfig(root.dashboard).map((p) => `dashboard${p.path === '(top level)' ? '' : `.${p.path}`}: ${p.message}`));
  }
  if (errors.length) throw new ConfigError(`invalid collector config:\n  ${errors.join('\n  ')}`);
  const c = merge(defaultConfig(), root);
  // A config naming the external broker replaces the embedded default instead of adding to it.
  const mqtt = root.mqtt as CollectorConfig['mqtt'] | undefined;
  if (mqtt?.external) c.mqtt = { external: mqtt.external };
  const influxDefaults = { token: '', org: 'yiwang', bucket: 'yiwang', flushIntervalMs: 1000, batchLines: 5000 };
  if (c.influx) c.influx = { ...influxDefaults, ...(c.influx as Partial<NonNullable<CollectorConfig['influx']>>) } as CollectorConfig['influx'];
  c.baseDir = baseDir;
  return c;
}

export interface ConfigOverrides {
  dataDir?: string;
  store?: string;
  httpPort?: number;
  mqttPort?: number;
}

/** The env file next to a config (`/etc/yiwang/collector.yaml` → `/etc/yiwang/collector.env`). */
export function envFileFor(configFile: string): string {
  return join(dirname(resolve(configFile)), 'collector.env');
}

/** Reads the YAML file (if any), validates it and applies command-line overrides. */
export function loadConfig(path: string | undefined, overrides: ConfigOverrides = {}): CollectorConfig {
  let doc: unknown = {};
  if (path) {
    applyEnvFile(envFileFor(path));
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      doc = YAML.parse(text) ?? {};
    } catch (err) {
      throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return applyOverrides(parseConfig(doc, path ? dirname(resolve(path)) : process.cwd()), overrides);
  } catch (err) {
    if (err instanceof ConfigError && path && err.message.startsWith('invalid collector config')) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

export function applyOverrides(c: CollectorConfig, o: ConfigOverrides): CollectorConfig {
  if (o.dataDir !== undefined) c.dataDir = o.dataDir;
  if (o.store !== undefined) {
    if (o.store !== 'sqlite' && !isPostgresUrl(o.store)) throw new ConfigError(`--store: "${o.store}" must be sqlite or a postgres:// URL`);
    c.store = o.store;
  }
  if (o.httpPort !== undefined) c.http.port = o.httpPort;
  if (o.mqttPort !== undefined) {
    if (!c.mqtt.embedded) throw new ConfigError('--mqtt-port applies to the embedded broker, but mqtt.external is configured');
    c.mqtt.embedded.port = o.mqttPort;
  }
  return c;
}

export { NOTIFY_CONFIG_SCHEMA, DASHBOARD_CONFIG_SCHEMA };

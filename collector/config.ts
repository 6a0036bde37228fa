// Collector configuration: YAML file (optional) + defaults + command-line overrides, validated with paths.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

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
  };
  retention: { rawDays: number; minuteDays: number; hourDays: number };
  influx?: { url: string; token: string; org: string; bucket: string; flushIntervalMs: number; batchLines: number };
  feed: { ringSize: number; keepMinutes: number };
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
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks a parsed document, checking types and refusing unknown keys; every error names its path. */
class Reader {
  readonly errors: string[] = [];
  obj(v: unknown, path: string, allowed: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.errors.push(`${path}: must be a mapping`);
      return undefined;
    }
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.errors.push(`${path}.${k}: unknown key (allowed: ${allowed.join(', ')})`);
    return v;
  }
  str(v: unknown, path: string, def?: string): string | undefined {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || v === '') {
      this.errors.push(`${path}: must be a non-empty string`);
      return def;
    }
    return v;
  }
  num(v: unknown, path: string, def: number, min: number, max: number, integer = true): number {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      this.errors.push(`${path}: must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  }
  tls(v: unknown, path: string): TlsFiles | undefined {
    const o = this.obj(v, path, ['cert', 'key']);
    if (!o) return undefined;
    const cert = this.str(o.cert, `${path}.cert`);
    const key = this.str(o.key, `${path}.key`);
    if (!cert) this.errors.push(`${path}.cert: is required`);
    if (!key) this.errors.push(`${path}.key: is required`);
    return cert && key ? { cert, key } : undefined;
  }
}

/** Validates a parsed config document (already-parsed YAML/JSON) on top of the defaults. */
export function parseConfig(doc: unknown): CollectorConfig {
  const c = defaultConfig();
  const r = new Reader();
  const root = r.obj(doc ?? {}, 'config', ['dataDir', 'store', 'http', 'mqtt', 'edges', 'ingest', 'retention', 'influx', 'feed']) ?? {};
  c.dataDir = r.str(root.dataDir, 'dataDir', c.dataDir)!;
  c.store = r.str(root.store, 'store', c.store)!;
  if (c.store !== 'sqlite' && !/^postgres(ql)?:\/\//.test(c.store)) r.errors.push(`store: "${c.store}" must be sqlite or a postgres:// URL`);

  const http = r.obj(root.http, 'http', ['host', 'port', 'tls']);
  if (http) {
    c.http.host = r.str(http.host, 'http.host', c.http.host)!;
    c.http.port = r.num(http.port, 'http.port', c.http.port, 0, 65535);
    c.http.tls = r.tls(http.tls, 'http.tls');
  }

  const mqtt = r.obj(root.mqtt, 'mqtt', ['embedded', 'external']);
  if (mqtt) {
    if (mqtt.embedded !== undefined && mqtt.external !== undefined) r.errors.push('mqtt: set either embedded or external, not both');
    const emb = r.obj(mqtt.embedded, 'mqtt.embedded', ['host', 'port', 'tls']);
    if (emb) {
      c.mqtt.embedded = {
        host: r.str(emb.host, 'mqtt.embedded.host', '0.0.0.0')!,
        port: r.num(emb.port, 'mqtt.embedded.port', 1883, 0, 65535),
        tls: r.tls(emb.tls, 'mqtt.embedded.tls'),
      };
    }
    const ext = r.obj(mqtt.external, 'mqtt.external', ['url', 'username', 'password', 'passwordEnv', 'ca', 'sharedGroup', 'clientId']);
    if (ext) {
      const url = r.str(ext.url, 'mqtt.external.url');
      if (!url) r.errors.push('mqtt.external.url: is required');
      else if (!/^(mqtts?|wss?|tcp|tls):\/\//.test(url)) r.errors.push(`mqtt.external.url: "${url}" must start with mqtt://, mqtts://, ws:// or wss://`);
      const group = r.str(ext.sharedGroup, 'mqtt.external.sharedGroup');
      if (group && !/^[A-Za-z0-9_-]+$/.test(group)) r.errors.push('mqtt.external.sharedGroup: letters, digits, _ and - only');
      c.mqtt = {
        external: {
          url: url ?? '',
          username: r.str(ext.username, 'mqtt.external.username'),
          password: r.str(ext.password, 'mqtt.external.password'),
          passwordEnv: r.str(ext.passwordEnv, 'mqtt.external.passwordEnv'),
          ca: r.str(ext.ca, 'mqtt.external.ca'),
          sharedGroup: group,
          clientId: r.str(ext.clientId, 'mqtt.external.clientId'),
        },
      };
    }
  }

  if (root.edges !== undefined && root.edges !== null) {
    if (!Array.isArray(root.edges)) r.errors.push('edges: must be a list');
    else {
      root.edges.forEach((e, i) => {
        const o = r.obj(e, `edges[${i}]`, ['id', 'passwordHash']);
        if (!o) return;
        const id = r.str(o.id, `edges[${i}].id`);
        const passwordHash = r.str(o.passwordHash, `edges[${i}].passwordHash`);
        if (!id) r.errors.push(`edges[${i}].id: is required`);
        else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) r.errors.push(`edges[${i}].id: "${id}" is not a valid edge id`);
        if (!passwordHash) r.errors.push(`edges[${i}].passwordHash: is required (a scrypt hash, never the password)`);
        else if (!passwordHash.startsWith('scrypt$')) r.errors.push(`edges[${i}].passwordHash: must be a scrypt$... hash`);
        if (id && passwordHash) c.edges.push({ id, passwordHash });
      });
    }
  }

  const ing = r.obj(root.ingest, 'ingest', ['maxQueue', 'maxPayloadBytes', 'maxItemsPerBatch', 'unknownDevices', 'commitIntervalMs']);
  if (ing) {
    c.ingest.maxQueue = r.num(ing.maxQueue, 'ingest.maxQueue', c.ingest.maxQueue, 1, 1_000_000);
    c.ingest.maxPayloadBytes = r.num(ing.maxPayloadBytes, 'ingest.maxPayloadBytes', c.ingest.maxPayloadBytes, 1024, 256 * 1024 * 1024);
    c.ingest.maxItemsPerBatch = r.num(ing.maxItemsPerBatch, 'ingest.maxItemsPerBatch', c.ingest.maxItemsPerBatch, 1, 10_000_000);
    c.ingest.commitIntervalMs = r.num(ing.commitIntervalMs, 'ingest.commitIntervalMs', c.ingest.commitIntervalMs, 0, 10_000);
    if (ing.unknownDevices !== undefined) {
      if (ing.unknownDevices === 'claim' || ing.unknownDevices === 'refuse') c.ingest.unknownDevices = ing.unknownDevices;
      else r.errors.push(`ingest.unknownDevices: must be claim or refuse, got ${JSON.stringify(ing.unknownDevices)}`);
    }
  }

  const ret = r.obj(root.retention, 'retention', ['rawDays', 'minuteDays', 'hourDays']);
  if (ret) {
    c.retention.rawDays = r.num(ret.rawDays, 'retention.rawDays', c.retention.rawDays, 1, 100_000, false);
    c.retention.minuteDays = r.num(ret.minuteDays, 'retention.minuteDays', c.retention.minuteDays, 1, 100_000, false);
    c.retention.hourDays = r.num(ret.hourDays, 'retention.hourDays', c.retention.hourDays, 1, 100_000, false);
  }

  const inf = r.obj(root.influx, 'influx', ['url', 'token', 'org', 'bucket', 'flushIntervalMs', 'batchLines']);
  if (inf) {
    const url = r.str(inf.url, 'influx.url');
    if (!url) r.errors.push('influx.url: is required');
    else if (!/^https?:\/\//.test(url)) r.errors.push(`influx.url: "${url}" must be an http(s) URL`);
    c.influx = {
      url: url ?? '',
      token: r.str(inf.token, 'influx.token', '')!,
      org: r.str(inf.org, 'influx.org', 'yiwang')!,
      bucket: r.str(inf.bucket, 'influx.bucket', 'yiwang')!,
      flushIntervalMs: r.num(inf.flushIntervalMs, 'influx.flushIntervalMs', 1000, 10, 600_000),
      batchLines: r.num(inf.batchLines, 'influx.batchLines', 5000, 1, 1_000_000),
    };
  }

  const feed = r.obj(root.feed, 'feed', ['ringSize', 'keepMinutes']);
  if (feed) {
    c.feed.ringSize = r.num(feed.ringSize, 'feed.ringSize', c.feed.ringSize, 1, 10_000_000);
    c.feed.keepMinutes = r.num(feed.keepMinutes, 'feed.keepMinutes', c.feed.keepMinutes, 1, 10_080);
  }

  if (r.errors.length) throw new ConfigError(`invalid collector config:\n  ${r.errors.join('\n  ')}`);
  return c;
}

export interface ConfigOverrides {
  dataDir?: string;
  store?: string;
  httpPort?: number;
  mqttPort?: number;
}

/** Reads the YAML file (if any), validates it and applies command-line overrides. */
export function loadConfig(path: string | undefined, overrides: ConfigOverrides = {}): CollectorConfig {
  let doc: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
    }
  }
  return applyOverrides(parseConfig(doc), overrides);
}

export function applyOverrides(c: CollectorConfig, o: ConfigOverrides): CollectorConfig {
  if (o.dataDir !== undefined) c.dataDir = o.dataDir;
  if (o.store !== undefined) {
    if (o.store !== 'sqlite' && !/^postgres(ql)?:\/\//.test(o.store)) throw new ConfigError(`--store: "${o.store}" must be sqlite or a postgres:// URL`);
    c.store = o.store;
  }
  if (o.httpPort !== undefined) c.http.port = o.httpPort;
  if (o.mqttPort !== undefined) {
    if (!c.mqtt.embedded) throw new ConfigError('--mqtt-port applies to the embedded broker, but mqtt.external is configured');
    c.mqtt.embedded.port = o.mqttPort;
  }
  return c;
}

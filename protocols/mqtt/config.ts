// The `protocols.mqtt` settings block and the per-device `connection` block, parsed with precise errors.
import { passwordEnvProblems, passwordOf } from '../../core/env.js';
import { hashProblem } from '../../core/secrets.js';

export interface BrokerUser {
  username: string;
  passwordHash: string; // scrypt$N$r$p$salt$hash (see core/secrets.ts)
}

export interface LocalBrokerSettings {
  enabled: boolean;
  host: string;
  port: number;
  users: BrokerUser[];
  allowAnonymous: boolean;
  /** Largest MQTT packet a device may send (bytes); a bigger one closes the connection. Default 1 MiB. */
  maxPacketBytes: number;
  /** Concurrent device connections. Default 1024. */
  maxConnections: number;
}

export interface SiteBrokerSettings {
  url: string;
  username?: string;
  password?: string;    // resolved from passwordEnv when that is given
  ca?: string;          // PEM text of the CA that signed the site broker's certificate (mqtts)
  clientId?: string;
}

export interface MqttSettings {
  localBroker?: LocalBrokerSettings;
  siteBroker?: SiteBrokerSettings;
}

export type BrokerChoice = 'local' | 'site';

export interface MqttConnection {
  broker?: BrokerChoice;
  topicId?: string;     // the {deviceId} value in topics when it differs from the record id
}

export class MqttConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid protocols.mqtt settings:\n${problems.join('\n')}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(obj: Record<string, unknown>, allowed: string[], at: string, out: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) out.push(`${at}.${k}: unknown field (allowed: ${allowed.join(', ')})`);
}

function parseLocal(v: unknown, out: string[]): LocalBrokerSettings | undefined {
  const at = 'protocols.mqtt.localBroker';
  if (!isObj(v)) {
    out.push(`${at}: must be an object`);
    return undefined;
  }
  unknownKeys(v, ['enabled', 'host', 'port', 'users', 'allowAnonymous', 'maxPacketBytes', 'maxConnections'], at, out);
  const s: LocalBrokerSettings = { enabled: true, host: '0.0.0.0', port: 1883, users: [], allowAnonymous: false, maxPacketBytes: 1 << 20, maxConnections: 1024 };
  for (const key of ['maxPacketBytes', 'maxConnections'] as const) {
    if (v[key] === undefined) continue;
    if (!Number.isInteger(v[key]) || (v[key] as number) < 1) out.push(`${at}.${key}: must be a positive integer`);
    else s[key] = v[key] as number;
  }
  if (v.enabled !== undefined) {
    if (typeof v.enabled !== 'boolean') out.push(`${at}.enabled: must be true or false`);
    else s.enabled = v.enabled;
  }
  if (v.host !== undefined) {
    if (typeof v.host !== 'string' || !v.host) out.push(`${at}.host: must be a host name or address`);
    else s.host = v.host;
  }
  if (v.port !== undefined) {
    if (!Number.isInteger(v.port) || (v.port as number) < 0 || (v.port as number) > 65535) out.push(`${at}.port: must be an integer 0..65535`);
    else s.port = v.port as number;
  }
  if (v.allowAnonymous !== undefined) {
    if (typeof v.allowAnonymous !== 'boolean') out.push(`${at}.allowAnonymous: must be true or false`);
    else s.allowAnonymous = v.allowAnonymous;
  }
  if (v.users !== undefined) {
    if (!Array.isArray(v.users)) out.push(`${at}.users: must be a list of { username, passwordHash }`);
    else {
      const seen = new Set<string>();
      v.users.forEach((u: unknown, i) => {
        const ua = `${at}.users[${i}]`;
        if (!isObj(u)) return out.push(`${ua}: must be { username, passwordHash }`);
        unknownKeys(u, ['username', 'passwordHash'], ua, out);
        if (typeof u.username !== 'string' || !u.username) return out.push(`${ua}.username: is required`);
        if (seen.has(u.username)) return out.push(`${ua}.username: duplicate user "${u.username}"`);
        seen.add(u.username);
        if (typeof u.passwordHash !== 'string') {
          return out.push(`${ua}.passwordHash: is required (create one with: yiwang edge mqtt-user add NAME)`);
        }
        const bad = hashProblem(u.passwordHash);
        if (bad) return out.push(`${ua}.passwordHash: ${bad}`);
        s.users.push({ username: u.username, passwordHash: u.passwordHash });
      });
    }
  }
  return s;
}

function parseSite(v: unknown, out: string[]): SiteBrokerSettings | undefined {
  const at = 'protocols.mqtt.siteBroker';
  if (!isObj(v)) {
    out.push(`${at}: must be an object`);
    return undefined;
  }
  unknownKeys(v, ['url', 'username', 'password', 'passwordEnv', 'ca', 'clientId'], at, out);
  if (typeof v.url !== 'string' || !/^mqtts?:\/\/[^/]+/.test(v.url)) {
    out.push(`${at}.url: must be mqtt://host[:port] or mqtts://host[:port]`);
    return undefined;
  }
  const s: SiteBrokerSettings = { url: v.url };
  for (const k of ['username', 'password', 'ca', 'clientId'] as const) {
    const x = v[k];
    if (x === undefined) continue;
    if (typeof x !== 'string' || !x) out.push(`${at}.${k}: must be a non-empty string`);
    else s[k] = x;
  }
  out.push(...passwordEnvProblems(v, at));
  if (v.passwordEnv !== undefined) s.password = passwordOf(v);
  return s;
}

/** Parses the adapter settings; throws MqttConfigError listing every problem. */
export function parseSettings(raw: Record<string, unknown> | undefined): MqttSettings {
  const out: string[] = [];
  const s: MqttSettings = {};
  if (raw !== undefined) {
    unknownKeys(raw, ['localBroker', 'siteBroker'], 'protocols.mqtt', out);
    if (raw.localBroker !== undefined) s.localBroker = parseLocal(raw.localBroker, out);
    if (raw.siteBroker !== undefined) s.siteBroker = parseSite(raw.siteBroker, out);
  }
  if (out.length) throw new MqttConfigError(out);
  return s;
}

/** Problems with a device's `connection` block given the adapter's settings (empty = valid). */
export function connectionProblems(raw: unknown, settings: MqttSettings): string[] {
  const out: string[] = [];
  if (raw === undefined || raw === null) raw = {};
  if (!isObj(raw)) return ['connection: must be an object ({ broker?, topicId? })'];
  unknownKeys(raw, ['broker', 'topicId'], 'connection', out);
  const broker = raw.broker ?? 'local';
  if (broker !== 'local' && broker !== 'site') out.push('connection.broker: must be local or site');
  else if (broker === 'local' && !settings.localBroker?.enabled) {
    out.push('connection.broker: local, but the embedded broker is off (protocols.mqtt.localBroker.enabled)');
  } else if (broker === 'site' && !settings.siteBroker) {
    out.push('connection.broker: site, but protocols.mqtt.siteBroker is not configured');
  }
  if (raw.topicId !== undefined && (typeof raw.topicId !== 'string' || !/^[^/+#]+$/.test(raw.topicId))) {
    out.push('connection.topicId: must be a non-empty topic level (no /, + or #)');
  }
  return out;
}

export const brokerOf = (c: MqttConnection | undefined): BrokerChoice => c?.broker ?? 'local';

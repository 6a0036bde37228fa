// OPC UA device connection + protocol settings: validation and the resolved per-point monitoring parameters.
// node-opcua-nodeid, not node-opcua: validating a config (every CLI call) must not load the whole stack (~1.5 s).
import { resolveNodeId } from 'node-opcua-nodeid';
import { passwordEnvProblems, passwordOf } from '../../core/env.js';
import type { DeviceProfile, OpcuaPoint, PointDef } from '../../core/profiles.js';

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export const SECURITY_POLICIES = [
  'None',
  'Basic128Rsa15',
  'Basic256',
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
] as const;
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

/** A device's `connection` block. */
export interface OpcuaConnection {
  endpoint: string;
  securityMode?: SecurityModeName;
  securityPolicy?: SecurityPolicyName;
  username?: string;
  password?: string;
  /** Name of an environment variable holding the password (keeps it out of the config file). */
  passwordEnv?: string;
}

/** Connection with defaults applied (mode and policy always consistent). */
export interface ResolvedConnection {
  endpoint: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  username?: string;
  password?: string;
}

/** Protocol-wide settings from the edge config's `protocols.opcua` block. */
export interface OpcuaSettings {
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  connectTimeoutMs: number;
  /** How often, at most, a healthy device reports ok:true while data/keep-alives keep arriving. */
  okReportIntervalMs: number;
  /** Trust server certificates the client has not seen before (they are stored under pki/trusted). */
  acceptUnknownCertificates: boolean;
}

export const DEFAULT_SETTINGS: OpcuaSettings = {
  reconnectInitialDelayMs: 1000,
  reconnectMaxDelayMs: 30_000,
  connectTimeoutMs: 10_000,
  okReportIntervalMs: 10_000,
  acceptUnknownCertificates: true,
};

export const PROFILE_DEFAULTS = { samplingIntervalMs: 1000, publishingIntervalMs: 1000, queueSize: 10 } as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems with a device's connection block and with the profile's opcua point mappings. */
export function validateConnection(connection: unknown, profile: DeviceProfile): string[] {
  const problems: string[] = [];
  if (!isRecord(connection)) return ['connection: must be an object with an endpoint'];
  const known = new Set(['endpoint', 'securityMode', 'securityPolicy', 'username', 'password', 'passwordEnv']);
  for (const k of Object.keys(connection)) if (!known.has(k)) problems.push(`connection.${k}: unknown field`);

  const { endpoint, securityMode, securityPolicy, username, password, passwordEnv } = connection;
  if (typeof endpoint !== 'string' || !/^opc\.tcp:\/\/[^/:\s]+(:\d{1,5})?(\/\S*)?$/.test(endpoint)) {
    problems.push('connection.endpoint: must be an opc.tcp:// URL (opc.tcp://host:port/path)');
  } else {
    const port = /:(\d+)(\/|$)/.exec(endpoint.slice('opc.tcp://'.length))?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) problems.push('connection.endpoint: port must be 1..65535');
  }
  if (securityMode !== undefined && !SECURITY_MODES.includes(securityMode as SecurityModeName)) {
    problems.push(`connection.securityMode: must be one of ${SECURITY_MODES.join(', ')}`);
  }
  if (securityPolicy !== undefined && !SECURITY_POLICIES.includes(securityPolicy as SecurityPolicyName)) {
    problems.push(`connection.securityPolicy: must be one of ${SECURITY_POLICIES.join(', ')}`);
  }
  if (securityMode === 'None' && securityPolicy !== undefined && securityPolicy !== 'None') {
    problems.push('connection.securityPolicy: must be None (or omitted) when securityMode is None');
  }
  if ((securityMode === 'Sign' || securityMode === 'SignAndEncrypt') && securityPolicy === 'None') {
    problems.push(`connection.securityPolicy: securityMode ${securityMode} needs a policy other than None`);
  }
  if (username !== undefined && (typeof username !== 'string' || username === '')) {
    problems.push('connection.username: must be a non-empty string');
  }
  if (password !== undefined && typeof password !== 'string') problems.push('connection.password: must be a string');
  problems.push(...passwordEnvProblems(connection, 'connection'));
  const hasPassword = password !== undefined || passwordEnv !== undefined;
  if ((username === undefined) !== !hasPassword) {
    problems.push('connection.username/password: give both or neither');
  }

  profile.points.forEach((pt, i) => {
    if (!pt.opcua) return;
    const at = `points[${i}] (${pt.name}).opcua`;
    const problem = nodeIdProblem(pt.opcua.nodeId);
    if (problem) problems.push(`${at}.nodeId: ${problem}`);
    const db = pt.opcua.deadband;
    if (db?.type === 'percent' && (db.value < 0 || db.value > 100)) problems.push(`${at}.deadband.value: percent must be 0..100`);
  });
  if (profile.points.length > 0 && !profile.points.some((p) => p.opcua)) {
    problems.push(`profile ${profile.id}: no point has an opcua mapping`);
  }
  return problems;
}

/** Why a NodeId string cannot be parsed, or undefined when it is fine ("ns=1;s=WQ.pH", "i=2258", ...). */
export function nodeIdProblem(nodeId: string): string | undefined {
  try {
    if (resolveNodeId(nodeId).isEmpty()) return `"${nodeId}" is the null NodeId`;
    return undefined;
  } catch (err) {
    return `"${nodeId}" is not a valid NodeId (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Defaults for mode/policy: a policy implies SignAndEncrypt, a signing mode implies Basic256Sha256. */
export function resolveConnection(c: OpcuaConnection): ResolvedConnection {
  let securityMode: SecurityModeName = c.securityMode ?? 'None';
  let securityPolicy: SecurityPolicyName = c.securityPolicy ?? 'None';
  if (c.securityMode === undefined && securityPolicy !== 'None') securityMode = 'SignAndEncrypt';
  if (securityMode !== 'None' && c.securityPolicy === undefined) securityPolicy = 'Basic256Sha256';
  return { endpoint: c.endpoint, securityMode, securityPolicy, username: c.username, password: passwordOf(c) };
}

export function parseSettings(settings: Record<string, unknown> | undefined): OpcuaSettings {
  const out = { ...DEFAULT_SETTINGS };
  if (!settings) return out;
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof OpcuaSettings)[]) {
    const v = settings[key];
    if (v === undefined) continue;
    if (key === 'acceptUnknownCertificates') {
      if (typeof v !== 'boolean') throw new Error(`protocols.opcua.${key}: must be true or false`);
      out.acceptUnknownCertificates = v;
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`protocols.opcua.${key}: must be a number >= 0`);
      out[key] = v;
    }
  }
  if (out.reconnectMaxDelayMs < out.reconnectInitialDelayMs) out.reconnectMaxDelayMs = out.reconnectInitialDelayMs;
  return out;
}

/** What one monitored item asks the server for. */
export interface MonitorSpec {
  point: string;
  nodeId: string;
  samplingIntervalMs: number;
  queueSize: number;
  deadband?: OpcuaPoint['deadband'];
}

export interface SubscriptionSpec {
  publishingIntervalMs: number;
  items: MonitorSpec[];
}

/** Per-point monitoring parameters: point values override the profile's opcua block, which overrides defaults. */
export function subscriptionSpec(profile: DeviceProfile): SubscriptionSpec {
  const p = { ...PROFILE_DEFAULTS, ...profile.opcua };
  const items = profile.points
    .filter((pt): pt is PointDef & { opcua: OpcuaPoint } => pt.opcua !== undefined)
    .map((pt) => ({
      point: pt.name,
      nodeId: pt.opcua.nodeId,
      samplingIntervalMs: pt.opcua.samplingIntervalMs ?? p.samplingIntervalMs,
      queueSize: pt.opcua.queueSize ?? p.queueSize,
      ...(pt.opcua.deadband && pt.opcua.deadband.value > 0 ? { deadband: pt.opcua.deadband } : {}),
    }));
  return { publishingIntervalMs: p.publishingIntervalMs, items };
}

// The part of an edge's configuration the city owns (edge–cloud coordination, 边云协同): devices, inline
// profiles, custom metrics, thresholds and protocol settings, kept per edge at the collector and pushed over the
// uplink. A managed edge (edge.managed: true) merges it over its local file — which keeps what only the box
// knows: edge id, site, uplink, buffer, admin, profileDirs and its protocols' local settings — and checks the
// result with the same validators as a local config. The last good version is kept on disk (mode 0600: it holds
// device passwords) so a restart comes back on it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSchema, describeAjvError } from '../core/config-file.js';
import { writeFilePreservingMode } from '../core/env.js';
import type { DeviceProfile } from '../core/profiles.js';
import type { CustomMetricDecl } from '../schema/metrics.js';
import type { ConfigProblem } from '../schema/types.js';
import { checkEdgeConfig, EDGE_CONFIG_SCHEMA, loadEdgeConfig, resolvePaths, type DeviceConfig, type EdgeConfig } from './config.js';
import type { ThresholdOverrides } from './thresholds.js';

export interface CentralConfig {
  devices?: DeviceConfig[];
  profiles?: DeviceProfile[];
  customMetrics?: CustomMetricDecl[];
  thresholds?: ThresholdOverrides;
  /** Per protocol: replaces that protocol's block of the local file. */
  protocols?: Record<string, Record<string, unknown>>;
}

export const CENTRAL_CONFIG_KEYS = ['devices', 'profiles', 'customMetrics', 'thresholds', 'protocols'] as const;

const P = EDGE_CONFIG_SCHEMA.properties;

/** JSON Schema of a central configuration: the same blocks (and block schemas) as the edge config file. */
export const CENTRAL_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { devices: P.devices, profiles: P.profiles, customMetrics: P.customMetrics, thresholds: P.thresholds, protocols: P.protocols },
} as const;

const validateCentral = compileSchema(CENTRAL_CONFIG_SCHEMA);

/** Structure problems of a central configuration (as the edge config's schema sees them); [] when well-formed. */
export function centralStructureProblems(doc: unknown): ConfigProblem[] {
  if (validateCentral(doc)) return [];
  const seen = new Set<string>();
  return (validateCentral.errors ?? []).map(describeAjvError).filter((p) => (seen.has(`${p.path}|${p.message}`) ? false : (seen.add(`${p.path}|${p.message}`), true)));
}

/** The effective configuration of a managed edge: its local file with the collector's part over it. */
export function mergeCentral(local: EdgeConfig, central: CentralConfig | undefined): EdgeConfig {
  const c = structuredClone(central ?? {});
  const protocols = { ...(local.protocols ?? {}), ...(c.protocols ?? {}) };
  return {
    ...structuredClone(local),
    devices: c.devices ?? [],
    ...(c.profiles ? { profiles: c.profiles } : {}),
    ...(c.customMetrics ? { customMetrics: c.customMetrics } : {}),
    ...(c.thresholds ? { thresholds: c.thresholds } : {}),
    ...(Object.keys(protocols).length ? { protocols } : {}),
  };
}

/** The central part of a config (what an unmanaged edge reports upstream, read-only). */
export function centralPart(cfg: EdgeConfig): CentralConfig {
  const out: CentralConfig = {};
  for (const k of CENTRAL_CONFIG_KEYS) if (cfg[k] !== undefined) (out as Record<string, unknown>)[k] = structuredClone(cfg[k]);
  return out;
}

/** Keys whose string values are secrets wherever they appear (device connections, protocol settings). */
export const isSecretKey = (key: string) => key === 'password';

/** Calls `fn` on every secret value (string under a secret key) and replaces it with what fn returns. */
export function mapSecrets<T>(doc: T, fn: (value: string, path: string) => string): T {
  const walk = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`));
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = isSecretKey(k) && typeof v === 'string' ? fn(v, path ? `${path}.${k}` : k) : walk(v, path ? `${path}.${k}` : k);
      return out;
    }
    return node;
  };
  return walk(doc, '') as T;
}

/** What a secret shows as wherever it must not be revealed (API answers, reports of unmanaged edges). */
export const SECRET_MASK = '********';

export interface AppliedCentral {
  version: number;
  appliedAt: number;
  issuedAt?: number;
  issuedBy?: string;
  config: CentralConfig;
}

const lastGoodFile = (bufferDir: string) => join(bufferDir, 'central-config.json');

/** The last central configuration this edge applied, or undefined. */
export function loadLastGood(bufferDir: string): AppliedCentral | undefined {
  const file = lastGoodFile(bufferDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as AppliedCentral;
}

/** Keeps the applied configuration (atomically, mode 0600: it holds device passwords). */
export function saveLastGood(bufferDir: string, applied: AppliedCentral): void {
  mkdirSync(bufferDir, { recursive: true });
  writeFilePreservingMode(lastGoodFile(bufferDir), JSON.stringify(applied));
}

/**
 * The configuration the agent runs with: the local file, and for a managed edge the last central configuration
 * it applied merged over it. What `edge doctor`, `device list` and `device test` look at.
 */
export function loadEffectiveConfig(file: string): EdgeConfig {
  const local = loadEdgeConfig(file);
  if (!local.edge.managed) return local;
  const central = loadLastGood(resolvePaths(local, file).bufferDir);
  return central ? checkEdgeConfig(`${file} + collector config v${central.version}`, mergeCentral(local, central.config)) : local;
}

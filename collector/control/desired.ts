// Desired edge configurations at the collector: what is checked here before a version is stored, how a device
// entry, a device's removal or a threshold change turns into the next document, and the change summary the
// history keeps. The collector checks what it can know — structure (the edge config's own schema), profiles, the
// 一机一档 record fields, thresholds — and the edge makes the complete check (its adapters' connection rules,
// passwordEnv variables and protocol settings of the box) and reports precise problems back.
import { BUILTIN_PROFILE_DIR, ProfileCatalog, validateProfile, type DeviceProfile } from '../../core/profiles.js';
import { validateRecord } from '../../core/records.js';
import { findMetric } from '../../schema/metrics.js';
import type { ConfigProblem, DeviceRecord } from '../../schema/types.js';
import { centralStructureProblems, type CentralConfig } from '../../edge/central-config.js';
import { inlineProfilePath, type DeviceConfig } from '../../edge/config.js';
import { describeChanges } from '../../edge/config-edit.js';
import { describeConnection } from '../../edge/devices.js';
import { effectiveThresholds, unmatchedDeviceThresholds, type ThresholdLevels } from '../../edge/thresholds.js';
import type { DesiredConfig } from '../store/index.js';

let builtin: ProfileCatalog | undefined;
/** The built-in profiles (loaded once). */
export const builtinProfiles = (): ProfileCatalog => (builtin ??= ProfileCatalog.load([BUILTIN_PROFILE_DIR]));

export const parseDesired = (row: DesiredConfig | undefined): CentralConfig => (row ? (JSON.parse(row.doc) as CentralConfig) : {});

/** A profile by id: the document's own (installer-defined) ones first, then the built-in ones. */
export function profileIn(doc: CentralConfig, id: string): DeviceProfile | undefined {
  return doc.profiles?.find((p) => p.id === id) ?? builtinProfiles().get(id);
}

/** The 一机一档 record a device entry registers (the registry's copy; the edge announces the full one). */
export function recordOfEntry(d: DeviceConfig, profile: DeviceProfile | undefined): DeviceRecord {
  const { profile: profileId, connection, enabled: _enabled, ...fields } = d;
  return {
    ...fields,
    profileId,
    kind: d.kind ?? profile?.kind,
    manufacturer: d.manufacturer ?? profile?.manufacturer,
    model: d.model ?? profile?.model,
    address: d.address ?? describeConnection(connection ?? {}),
  };
}

/** Collector-side checks of a whole desired configuration; [] when it may be stored and pushed. */
export function checkDesired(doc: CentralConfig): ConfigProblem[] {
  const structure = centralStructureProblems(doc);
  if (structure.length) return structure;
  const problems: ConfigProblem[] = [];
  for (const [i, p] of (doc.profiles ?? []).entries()) {
    for (const issue of validateProfile(p, doc.customMetrics ?? [])) problems.push({ path: inlineProfilePath(i, issue.path), message: issue.message });
  }
  const seen = new Set<string>();
  for (const [i, d] of (doc.devices ?? []).entries()) {
    const at = `devices[${i}]`;
    if (seen.has(d.id)) problems.push({ path: `${at}.id`, message: `duplicate device id ${d.id}` });
    seen.add(d.id);
    const profile = profileIn(doc, d.profile);
    if (!profile) {
      problems.push({ path: `${at}.profile`, message: `unknown profile "${d.profile}" (built-in: ${builtinProfiles().list().map((p) => p.id).join(', ')}; or define it under profiles)` });
      continue;
    }
    for (const issue of validateRecord({ ...recordOfEntry(d, profile), id: d.id })) problems.push({ path: `${at}.${issue.path}`, message: issue.message });
    problems.push(...effectiveThresholds(profile, d.site?.id, d.id, doc.thresholds).problems);
  }
  problems.push(...unmatchedDeviceThresholds(doc.thresholds, seen));
  for (const [site, byMetric] of Object.entries(doc.thresholds?.sites ?? {})) {
    for (const metric of Object.keys(byMetric)) {
      const custom = doc.customMetrics?.some((m) => m.name === metric) || doc.profiles?.some((p) => p.customMetrics?.some((m) => m.name === metric));
      if (!findMetric(metric) && !custom) problems.push({ path: `thresholds.sites.${site}.${metric}`, message: `unknown metric "${metric}" (yiwang profile metrics lists them)` });
    }
  }
  return problems;
}

/** The document with this device entry added, or replacing the entry with its id. */
export function withDevice(doc: CentralConfig, device: DeviceConfig): CentralConfig {
  const devices = [...(doc.devices ?? [])];
  const i = devices.findIndex((d) => d.id === device.id);
  if (i >= 0) devices[i] = device;
  else devices.push(device);
  return { ...doc, devices };
}

/** The document without this device (and without its device thresholds), or undefined when it is not there. */
export function withoutDevice(doc: CentralConfig, id: string): CentralConfig | undefined {
  if (!doc.devices?.some((d) => d.id === id)) return undefined;
  const next: CentralConfig = { ...doc, devices: doc.devices.filter((d) => d.id !== id) };
  if (next.thresholds?.devices?.[id]) {
    const { [id]: _gone, ...rest } = next.thresholds.devices;
    next.thresholds = { ...next.thresholds, devices: rest };
  }
  return next;
}

/** The document with the levels of a site or device set (levels undefined: removed). */
export function withThresholds(doc: CentralConfig, scope: 'sites' | 'devices', key: string, levels: Record<string, ThresholdLevels> | undefined): CentralConfig {
  const block = { ...(doc.thresholds?.[scope] ?? {}) };
  if (levels && Object.keys(levels).length) block[key] = levels;
  else delete block[key];
  const thresholds = { ...doc.thresholds, [scope]: block };
  if (!Object.keys(thresholds[scope] ?? {}).length) delete thresholds[scope];
  return { ...doc, thresholds };
}

/** What changed between two versions, in words; devices by id, secrets shown as ***. */
export function describeDesiredChanges(before: CentralConfig, after: CentralConfig): string[] {
  const byId = (doc: CentralConfig) => ({ ...doc, devices: Object.fromEntries((doc.devices ?? []).map((d) => [d.id, d])) });
  const a = byId(before);
  const b = byId(after);
  const lines: string[] = [];
  for (const id of new Set([...Object.keys(a.devices), ...Object.keys(b.devices)])) {
    if (!a.devices[id]) lines.push(`devices.${id}: added (${b.devices[id]!.profile})`);
    else if (!b.devices[id]) lines.push(`devices.${id}: removed`);
    else lines.push(...describeChanges(a.devices[id], b.devices[id], `devices.${id}`));
  }
  const { devices: _a, ...restA } = a;
  const { devices: _b, ...restB } = b;
  lines.push(...describeChanges(restA, restB));
  return lines;
}

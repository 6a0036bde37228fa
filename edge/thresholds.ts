// Alarm levels set for a site or a device (at the city, or in the edge config) that override a profile's point
// alarms: "this river gauge's warning line is 2.8 m, not the profile's 3.5 m". The effective levels of a device's
// metric are the profile's, then the site's, then the device's, field by field; the normalizer evaluates them at
// the edge, so alarms work while the uplink is down, and the 一机一档 record carries them to the collector.
import type { AlarmDef, DeviceProfile } from '../core/profiles.js';
import { metricOf } from '../core/profiles.js';
import type { MetricThreshold } from '../schema/types.js';

/** Levels for one metric, in the metric's canonical unit (any subset; unset fields keep the less specific value). */
export type ThresholdLevels = Pick<AlarmDef, 'warning' | 'alarm' | 'direction' | 'hysteresis' | 'when'>;

/** metric name → levels */
export type MetricLevels = Record<string, ThresholdLevels>;

export interface ThresholdOverrides {
  /** site id → metric → levels: every device of the site. */
  sites?: Record<string, MetricLevels>;
  /** device id → metric → levels: one device (wins over its site). */
  devices?: Record<string, MetricLevels>;
}

const levels = {
  type: 'object',
  additionalProperties: false,
  properties: {
    warning: { type: 'number' },
    alarm: { type: 'number' },
    direction: { enum: ['above', 'below'] },
    hysteresis: { type: 'number', minimum: 0 },
    when: { type: 'boolean' },
  },
} as const;
const byMetric = { type: 'object', additionalProperties: levels } as const;

/** JSON Schema of the `thresholds:` block (edge config and the collector's desired configuration). */
export const THRESHOLDS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sites: { type: 'object', additionalProperties: byMetric },
    devices: { type: 'object', additionalProperties: byMetric },
  },
} as const;

export interface EffectiveThresholds {
  /** metric → the full alarm definition the normalizer evaluates (only metrics whose levels were overridden). */
  overrides: Map<string, AlarmDef>;
  /** Every metric of the device with levels (profile or override), as the record carries them. */
  list: MetricThreshold[];
  problems: { path: string; message: string }[];
}

/** Problems with a set of levels for a metric of this profile ("warning 5 must be below the alarm level 4.2"). */
function levelProblems(a: AlarmDef, isBoolean: boolean): string[] {
  const out: string[] = [];
  if (isBoolean && (a.warning !== undefined || a.alarm !== undefined)) out.push('boolean metrics take when, not warning/alarm levels');
  if (!isBoolean && a.when !== undefined) out.push('numeric metrics take warning/alarm levels, not when');
  if (a.warning !== undefined && a.alarm !== undefined) {
    const below = a.direction === 'below';
    if (below ? a.alarm > a.warning : a.alarm < a.warning) out.push(`the alarm level ${a.alarm} must be ${below ? 'below' : 'above'} the warning level ${a.warning}`);
  }
  return out;
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * The effective levels of one device: profile point alarms overridden by `overrides.sites[siteId]` and then
 * `overrides.devices[deviceId]`. Problems name the override that made a metric's levels inconsistent.
 */
export function effectiveThresholds(profile: DeviceProfile, siteId: string | undefined, deviceId: string, overrides: ThresholdOverrides | undefined): EffectiveThresholds {
  const out: EffectiveThresholds = { overrides: new Map(), list: [], problems: [] };
  const site = siteId ? overrides?.sites?.[siteId] : undefined;
  const device = overrides?.devices?.[deviceId];
  const metrics = new Set(profile.points.map((p) => p.metric));
  for (const [source, set] of [['site', site], ['device', device]] as const) {
    for (const metric of Object.keys(set ?? {})) {
      // A site's levels may name metrics only some of its devices have; a device's must be its own.
      if (source === 'device' && !metrics.has(metric)) {
        out.problems.push({ path: `thresholds.devices.${deviceId}.${metric}`, message: `device ${deviceId} (profile ${profile.id}) has no metric ${metric}` });
      }
    }
  }
  for (const metric of metrics) {
    const def = metricOf(profile, metric);
    const fromProfile = profile.points.find((p) => p.metric === metric && p.alarms)?.alarms;
    const s = site?.[metric];
    const d = device?.[metric];
    if (!fromProfile && !s && !d) continue;
    const merged: AlarmDef = { ...fromProfile, ...defined(s ?? {}), ...defined(d ?? {}) };
    const source = d ? 'device' : s ? 'site' : 'profile';
    if (s || d) {
      const problems = levelProblems(merged, def?.type === 'boolean');
      const at = d ? `thresholds.devices.${deviceId}.${metric}` : `thresholds.sites.${siteId}.${metric}`;
      for (const message of problems) {
        out.problems.push({ path: at, message: `${message} (for device ${deviceId}${fromProfile ? `, with profile ${profile.id}'s levels` : ''})` });
      }
      if (problems.length) continue;
      out.overrides.set(metric, merged);
    }
    out.list.push({ metric, ...defined({ warning: merged.warning, alarm: merged.alarm, hysteresis: merged.hysteresis, when: merged.when }), direction: merged.direction ?? 'above', source });
  }
  return out;
}

/**
 * Device keys of a thresholds block that match no device configured here (enabled or not): a typo must not pass
 * silently. Site keys may name a site without devices at this edge (the city sets levels per site).
 */
export function unmatchedDeviceThresholds(overrides: ThresholdOverrides | undefined, deviceIds: Set<string>): { path: string; message: string }[] {
  return Object.keys(overrides?.devices ?? {})
    .filter((device) => !deviceIds.has(device))
    .map((device) => ({ path: `thresholds.devices.${device}`, message: `no device ${device} at this edge` }));
}

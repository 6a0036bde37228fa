// /dashboard/catalog.json: the metric catalog (zh/en names, units, ranges) and each built-in profile's point
// thresholds, so the browser can label metrics and draw warning/alarm lines without knowing the YAML files.
import { ProfileCatalog, type AlarmDef } from '../../core/profiles.js';
import { METRICS, type MetricDef } from '../../schema/metrics.js';
import { RECORD_LABELS_ZH } from '../../core/records.js';

export interface ThresholdDef {
  warning?: number;
  alarm?: number;
  direction: 'above' | 'below';
  when?: boolean; // boolean metrics: the value that means alarm
}

export interface DashboardCatalog {
  metrics: MetricDef[];
  /** profile id → metric → thresholds in the metric's canonical unit. */
  profiles: Record<string, Record<string, ThresholdDef>>;
  /** Chinese labels of the 一机一档 enumerations (the same ones the CSV export uses). */
  labels: { zh: typeof RECORD_LABELS_ZH };
  /** Profiles that failed to load (the rest still serve); empty when all is well. */
  errors: string[];
}

function thresholdOf(a: AlarmDef): ThresholdDef | undefined {
  if (a.warning === undefined && a.alarm === undefined && a.when === undefined) return undefined;
  const t: ThresholdDef = { direction: a.direction ?? 'above' };
  if (a.warning !== undefined) t.warning = a.warning;
  if (a.alarm !== undefined) t.alarm = a.alarm;
  if (a.when !== undefined) t.when = a.when;
  return t;
}

export function buildCatalog(load: () => ProfileCatalog = () => ProfileCatalog.load()): DashboardCatalog {
  const profiles: DashboardCatalog['profiles'] = {};
  const errors: string[] = [];
  let catalog: ProfileCatalog | undefined;
  try {
    catalog = load();
  } catch (err) {
    errors.push((err as Error).message); // a broken profile file must not take the dashboard down
  }
  for (const p of catalog?.list() ?? []) {
    const byMetric: Record<string, ThresholdDef> = {};
    for (const pt of p.points) {
      const t = pt.alarms && thresholdOf(pt.alarms);
      if (t && !byMetric[pt.metric]) byMetric[pt.metric] = t; // the first point of a metric defines its lines
    }
    profiles[p.id] = byMetric;
  }
  return { metrics: METRICS.map((m) => ({ ...m })), profiles, labels: { zh: RECORD_LABELS_ZH }, errors };
}

let cached: string | undefined;

/** The catalog as JSON text, built once per process (profiles are read from disk at most once). */
export function catalogJson(): string {
  cached ??= JSON.stringify(buildCatalog());
  return cached;
}

// Data completeness (到报率): reports received against reports expected by each device's schedule (the
// `schedules` its edge puts into the 一机一档 record), per Beijing calendar day or month, with the missing
// intervals listed; per site, the sums over its devices.
//
// Counting: a schedule expects one report per interval, in slots aligned to Beijing time. Arrivals come from the
// rollups (every accepted reading is counted there), in cells: a cell is one slot when the interval is a multiple
// of the rollup bucket (hourly data over hour buckets, 5-minute reports over minute buckets), else one bucket
// holding bucket/interval slots (a 10-second poll: 6 per minute). A cell's received slots are the largest count of
// any one of the device's series there, capped at its slots. A slot is expected once it has ended and one more
// interval (at most an hour) has passed for the data to arrive — or earlier, if it has data already; and only from
// the device's start: its installation date (安装时间, Beijing midnight) or its first data, whichever is earlier.
import { CHINA_OFFSET_MS, HOUR_MS, periodLabel, periodsBetween, type PeriodKind } from '../../core/china-time.js';
import type { DataSchedule, DeviceRecord } from '../../schema/types.js';
import type { CollectorStore } from '../store/index.js';

const MINUTE_MS = 60_000;
/** Missing intervals listed per row at most (the counts stay exact). */
export const MAX_MISSING_LISTED = 500;

export interface MissingRange {
  from: number;
  to: number;
  /** Expected reports missing in [from, to). */
  slots: number;
}

export interface CompletenessRow {
  period: string;
  start: number;
  end: number;
  expected: number;
  received: number;
  /** received / expected (0..1); null when nothing was expected yet. */
  rate: number | null;
  missing: MissingRange[];
  missingTruncated?: boolean;
}

/** How arrivals of one schedule are counted: rollup, cell width, slots per cell. */
export interface CellPlan {
  resolution: '1m' | '1h';
  cellMs: number;
  slotsPerCell: number;
  intervalMs: number;
}

/**
 * Hour buckets for hourly-or-longer intervals and for months of anything (a month of minute cells per device is
 * too much to list); minute buckets otherwise, while the minute rollups are kept.
 */
export function cellPlan(intervalMs: number, periodKind: 'day' | 'month', minuteRollupsKept: boolean): CellPlan {
  const useHours = intervalMs >= HOUR_MS || periodKind === 'month' || !minuteRollupsKept;
  const unit = useHours ? HOUR_MS : MINUTE_MS;
  if (intervalMs >= unit && intervalMs % unit === 0) return { resolution: useHours ? '1h' : '1m', cellMs: intervalMs, slotsPerCell: 1, intervalMs };
  return { resolution: useHours ? '1h' : '1m', cellMs: unit, slotsPerCell: Math.max(1, Math.floor(unit / intervalMs)), intervalMs };
}

/** Start of the cell holding `ts` (cells are aligned to Beijing time). */
export const cellStart = (ts: number, cellMs: number) => ts - ((((ts + CHINA_OFFSET_MS) % cellMs) + cellMs) % cellMs);

/**
 * One schedule over one period [start, end): expected and received reports and the missing intervals.
 * `arrivals` maps cell start → count. `since`: the device's start (undefined: the whole period).
 */
export function evaluatePeriod(
  plan: CellPlan,
  period: { label: string; start: number; end: number },
  arrivals: Map<number, number>,
  since: number | undefined,
  now: number,
): CompletenessRow {
  const grace = Math.min(plan.intervalMs, HOUR_MS);
  const row: CompletenessRow = { period: period.label, start: period.start, end: period.end, expected: 0, received: 0, rate: null, missing: [] };
  const first = Math.max(period.start, since === undefined ? period.start : cellStart(since, plan.cellMs));
  let open: MissingRange | undefined; // a run of wholly missing cells being merged
  for (let c = cellStart(first, plan.cellMs); c < period.end; c += plan.cellMs) {
    if (c < period.start) continue;
    const got = Math.min(arrivals.get(c) ?? 0, plan.slotsPerCell);
    const due = c + plan.cellMs + grace <= now;
    if (!due && got === 0) continue;
    const expected = due ? plan.slotsPerCell : got;
    row.expected += expected;
    row.received += got;
    const short = expected - got;
    if (short > 0 && got === 0 && open && open.to === c) {
      open.to = c + plan.cellMs;
      open.slots += short;
    } else if (short > 0) {
      open = { from: c, to: c + plan.cellMs, slots: short };
      if (row.missing.length < MAX_MISSING_LISTED) row.missing.push(open);
      else row.missingTruncated = true;
      if (got > 0) open = undefined; // a partly filled cell stands alone
    } else open = undefined;
  }
  row.rate = row.expected ? row.received / row.expected : null;
  return row;
}

export interface DeviceCompleteness {
  device: string;
  name?: string;
  site?: string;
  siteName?: string;
  schedule: DataSchedule;
  /** Where expectation starts: installation date or first data. */
  since?: number;
  rows: CompletenessRow[];
  total: { expected: number; received: number; rate: number | null };
}

export interface SiteCompleteness {
  site: string;
  name?: string;
  devices: number;
  rows: { period: string; start: number; end: number; expected: number; received: number; rate: number | null }[];
  total: { expected: number; received: number; rate: number | null };
}

export interface CompletenessReport {
  from: number;
  to: number;
  period: 'day' | 'month';
  generatedAt: number;
  devices: DeviceCompleteness[];
  sites: SiteCompleteness[];
  /** Devices whose record carries no schedule (their edge predates schedules, or nothing is expected of them). */
  unscheduled: string[];
}

export interface CompletenessQuery {
  from: number;
  to: number;
  period: 'day' | 'month';
  /** `primary` (default): the schedule each device is judged by; `all`; or one schedule name (hourly, poll …). */
  schedule?: string;
  minuteDays: number;
  now?: number;
}

const rate = (received: number, expected: number) => (expected ? received / expected : null);

/** The schedules of a record a query asks about. */
export function schedulesFor(r: DeviceRecord, which = 'primary'): DataSchedule[] {
  const list = (r.schedules ?? []).filter((s) => s.intervalMs > 0);
  if (which === 'all') return list;
  if (which === 'primary') return list.filter((s) => s.primary).slice(0, 1).concat(list.some((s) => s.primary) ? [] : list.slice(0, 1));
  return list.filter((s) => s.name === which);
}

/** The start of expectation: the installation date (Beijing midnight) or the first data, whichever is earlier. */
function startOf(r: DeviceRecord, first: number | undefined): number | undefined {
  const installed = r.installedDate && /^\d{4}-\d{2}-\d{2}$/.test(r.installedDate) ? Date.parse(`${r.installedDate}T00:00:00+08:00`) : undefined;
  const known = [installed, first].filter((x): x is number => x !== undefined && Number.isFinite(x));
  return known.length ? Math.min(...known) : undefined;
}

/** Completeness of the given devices over [from, to) (removed devices are left out). */
export async function completeness(store: CollectorStore, records: DeviceRecord[], q: CompletenessQuery): Promise<CompletenessReport> {
  const now = q.now ?? Date.now();
  const kind: PeriodKind = q.period === 'month' ? 'month' : 'day';
  const periods = periodsBetween(kind, q.from, q.to).map((p) => ({ label: periodLabel(kind, p.start), start: Math.max(p.start, q.from), end: Math.min(p.end, q.to) }));
  const active = records.filter((r) => r.lifecycle !== 'removed');
  const unscheduled = active.filter((r) => !schedulesFor(r, 'all').length).map((r) => r.id);
  const firsts = await store.analytics.firstData(active.map((r) => r.id));
  const minuteRollupsKept = q.from >= now - q.minuteDays * 86_400_000;

  // Devices sharing a schedule shape are read in one query.
  const jobs: { r: DeviceRecord; s: DataSchedule; plan: CellPlan }[] = [];
  for (const r of active) for (const s of schedulesFor(r, q.schedule)) jobs.push({ r, s, plan: cellPlan(s.intervalMs, q.period, minuteRollupsKept) });
  const groups = new Map<string, typeof jobs>();
  for (const j of jobs) {
    const key = `${j.plan.resolution}/${j.plan.cellMs}/${j.s.periodS ?? 0}`;
    groups.set(key, [...(groups.get(key) ?? []), j]);
  }
  const arrivals = new Map<string, Map<number, number>>(); // `${key}\0${device}` → cell → count
  for (const [key, list] of groups) {
    const { plan } = list[0]!;
    const rows = await store.analytics.arrivals({
      devices: [...new Set(list.map((j) => j.r.id))], from: q.from, to: q.to, periodS: list[0]!.s.periodS ?? 0,
      resolution: plan.resolution, cellMs: plan.cellMs, offsetMs: CHINA_OFFSET_MS,
    });
    for (const a of rows) {
      const k = `${key}\u0000${a.device}`;
      const m = arrivals.get(k) ?? new Map<number, number>();
      m.set(a.cell, a.count);
      arrivals.set(k, m);
    }
  }

  const devices: DeviceCompleteness[] = jobs.map(({ r, s, plan }) => {
    const since = startOf(r, firsts.get(r.id));
    const got = arrivals.get(`${plan.resolution}/${plan.cellMs}/${s.periodS ?? 0}\u0000${r.id}`) ?? new Map<number, number>();
    const rows = periods.map((p) => evaluatePeriod(plan, p, got, since, now));
    const expected = rows.reduce((a, x) => a + x.expected, 0);
    const received = rows.reduce((a, x) => a + x.received, 0);
    return { device: r.id, name: r.name, site: r.site?.id, siteName: r.site?.name, schedule: s, since, rows, total: { expected, received, rate: rate(received, expected) } };
  });

  // Per site: the devices' primary schedules (or the asked ones) added up.
  const bySite = new Map<string, SiteCompleteness>();
  const siteDevices = new Map<string, Set<string>>();
  for (const d of devices) {
    const id = d.site ?? '';
    let s = bySite.get(id);
    if (!s) bySite.set(id, (s = { site: id, name: d.siteName, devices: 0, rows: periods.map((p) => ({ period: p.label, start: p.start, end: p.end, expected: 0, received: 0, rate: null })), total: { expected: 0, received: 0, rate: null } }));
    const seen = siteDevices.get(id) ?? new Set<string>();
    siteDevices.set(id, seen.add(d.device));
    s.devices = seen.size;
    d.rows.forEach((row, i) => {
      s.rows[i]!.expected += row.expected;
      s.rows[i]!.received += row.received;
    });
  }
  for (const s of bySite.values()) {
    for (const row of s.rows) row.rate = rate(row.received, row.expected);
    s.total.expected = s.rows.reduce((a, x) => a + x.expected, 0);
    s.total.received = s.rows.reduce((a, x) => a + x.received, 0);
    s.total.rate = rate(s.total.received, s.total.expected);
  }
  return { from: q.from, to: q.to, period: q.period, generatedAt: now, devices, sites: [...bySite.values()].sort((a, b) => a.site.localeCompare(b.site)), unscheduled };
}

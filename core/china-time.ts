// China Standard Time (UTC+8, no daylight saving) periods the bureaus count in, whatever the server's TZ is:
// clock hours, calendar days and months (Beijing time) and the hydrological day (08:00–08:00 Beijing time).
export const CHINA_OFFSET_MS = 8 * 3_600_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * Period kinds: `hour` clock hours; `day` calendar days 00:00–24:00 Beijing time; `hydro_day` hydrological days
 * 08:00 D – 08:00 D+1 Beijing time (日降水量 of date D; 08:00 Beijing is 00:00 UTC, so these are UTC days);
 * `month` calendar months in Beijing time.
 */
export const PERIOD_KINDS = ['hour', 'day', 'hydro_day', 'month'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

/** Start of the period of `kind` that contains `ts` (start inclusive, end exclusive). */
export function periodStart(kind: PeriodKind, ts: number): number {
  switch (kind) {
    case 'hour':
      return ts - mod(ts, HOUR_MS);
    case 'hydro_day':
      return ts - mod(ts, DAY_MS);
    case 'day':
      return ts - mod(ts + CHINA_OFFSET_MS, DAY_MS);
    case 'month': {
      const d = new Date(ts + CHINA_OFFSET_MS);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - CHINA_OFFSET_MS;
    }
  }
}

/** End (exclusive) of the period of `kind` that starts at `start`. */
export function periodEnd(kind: PeriodKind, start: number): number {
  if (kind === 'hour') return start + HOUR_MS;
  if (kind !== 'month') return start + DAY_MS;
  const d = new Date(start + CHINA_OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - CHINA_OFFSET_MS;
}

/** The periods of `kind` overlapping [from, to), each as [start, end). */
export function periodsBetween(kind: PeriodKind, from: number, to: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let s = periodStart(kind, from); s < to; s = periodEnd(kind, s)) out.push({ start: s, end: periodEnd(kind, s) });
  return out;
}

/** `2026-06-01 08:00:00` (Beijing time); `date` 2026-06-01, `minute` 2026-06-01 08:00, `month` 2026-06. */
export function fmtChina(ms: number, parts: 'datetime' | 'date' | 'minute' | 'month' = 'datetime'): string {
  const iso = new Date(ms + CHINA_OFFSET_MS).toISOString();
  if (parts === 'date') return iso.slice(0, 10);
  if (parts === 'month') return iso.slice(0, 7);
  return iso.slice(0, parts === 'minute' ? 16 : 19).replace('T', ' ');
}

/**
 * How a period is named: an hour by its END hour (`2026-06-01 09:00` is 08:00–09:00, the hydrological custom),
 * a calendar or hydrological day by its date (the hydrological day 2026-06-01 runs 06-01 08:00 – 06-02 08:00),
 * a month as YYYY-MM.
 */
export function periodLabel(kind: PeriodKind, start: number): string {
  if (kind === 'hour') return fmtChina(start + HOUR_MS, 'minute');
  return fmtChina(start, kind === 'month' ? 'month' : 'date');
}

/** `YYYY-MM-DD` as a Beijing calendar day → its start (ms); undefined when not a real date. */
export function chinaDayStart(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(utc).toISOString().slice(0, 10) !== date) return undefined;
  return utc - CHINA_OFFSET_MS;
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

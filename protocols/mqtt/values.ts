// Turning raw payload values into PointValues of the type the point's metric expects.
import { findMetric } from '../../schema/metrics.js';
import type { PointDef } from '../../core/profiles.js';
import type { PointValue } from '../adapter.js';

export type ExpectedType = 'number' | 'boolean';

export const expectedTypeOf = (point: PointDef): ExpectedType => findMetric(point.metric)?.type ?? 'number';

export type Coerced = { ok: true; value: PointValue | null } | { ok: false; reason: string };

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['true', '1', 'on', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'off', 'no']);

const show = (raw: unknown) => {
  const s = typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
};

/** null stays null (a bad sample, not a malformed payload); anything else must fit the expected type. */
export function coerce(raw: unknown, expected: ExpectedType): Coerced {
  if (raw === null) return { ok: true, value: null };
  if (expected === 'number') {
    if (typeof raw === 'number') return Number.isFinite(raw) ? { ok: true, value: raw } : { ok: false, reason: `non-finite number ${raw}` };
    if (typeof raw === 'string' && NUMERIC.test(raw.trim())) return { ok: true, value: Number(raw.trim()) };
    return { ok: false, reason: `expected a number, got ${typeof raw} ${show(raw)}` };
  }
  if (typeof raw === 'boolean') return { ok: true, value: raw };
  if (raw === 0 || raw === 1) return { ok: true, value: raw === 1 };
  if (typeof raw === 'string') {
    const w = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return { ok: true, value: true };
    if (FALSE_WORDS.has(w)) return { ok: true, value: false };
  }
  return { ok: false, reason: `expected a boolean, got ${typeof raw} ${show(raw)}` };
}

/** Source timestamps outside 2000..2100 are clock garbage, not data. */
const TS_MIN = Date.UTC(2000, 0, 1);
const TS_MAX = Date.UTC(2100, 0, 1);

/** Converts a payload timestamp to epoch ms. Unit defaults: numbers below 1e11 are seconds, strings are ISO 8601. */
export function toEpochMs(raw: unknown, unit: 'ms' | 's' | 'iso' | undefined): { ok: true; ts: number } | { ok: false; reason: string } {
  let ts: number;
  if (unit === 'iso' || (unit === undefined && typeof raw === 'string' && !NUMERIC.test(raw.trim()))) {
    if (typeof raw !== 'string') return { ok: false, reason: `timestamp: expected an ISO 8601 string, got ${show(raw)}` };
    ts = Date.parse(raw);
  } else {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && NUMERIC.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isFinite(n)) return { ok: false, reason: `timestamp: expected a number, got ${show(raw)}` };
    const seconds = unit === 's' || (unit === undefined && Math.abs(n) < 1e11);
    ts = Math.round(seconds ? n * 1000 : n);
  }
  if (!Number.isFinite(ts)) return { ok: false, reason: `timestamp: cannot parse ${show(raw)}` };
  if (ts < TS_MIN || ts > TS_MAX) return { ok: false, reason: `timestamp: ${show(raw)} is outside 2000..2100` };
  return { ok: true, ts };
}

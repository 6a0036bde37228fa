// Rain-intensity alarms on the right quantity: the rolling 1/3/6/12/24-hour rainfall total of a point (profile
// `totalAlarms`), not a single 10-second increment. Per (device, point) a window of recent amounts — increments as
// sent, or the rises of a cumulative counter, where a decrease (reset, rollover) starts a new run and adds nothing.
// Levels keep hysteresis like point alarms; events name the window's metric (rainfall_1h, rainfall_3h, …) so each
// window is an alarm of its own. Readings older than the newest one seen (a station's backfilled history) update
// nothing here: live intensity alarms are about now; the collector's totals include the history.
import type { TotalAlarmDef } from '../core/profiles.js';
import { findMetric, RAIN_COUNTER_METRICS, RAIN_WINDOW_METRICS } from '../schema/metrics.js';
import { EventKind, Severity, type SensingEvent } from '../schema/types.js';
import { numericLevel } from './alarm-level.js';

type UnsequencedEvent = Omit<SensingEvent, 'seq'>;

const HOUR_MS = 3_600_000;

interface Window {
  lastTs: number;
  /** Last counter value (counters only). */
  last?: number;
  amounts: { ts: number; mm: number }[];
  /** Alarm level per window length (hours). */
  levels: Map<number, 0 | 1 | 2>;
}

export class RainTotals {
  private readonly windows = new Map<string, Window>();

  /** Adds one reading of a rainfall point and returns the alarm changes of its windows. */
  evaluate(deviceId: string, point: string, metric: string, value: number, ts: number, alarms: TotalAlarmDef[]): UnsequencedEvent[] {
    const key = `${deviceId}\u0000${point}`;
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = { lastTs: -Infinity, amounts: [], levels: new Map() }));
    if (ts <= w.lastTs) return [];
    w.lastTs = ts;
    let mm = value;
    if (RAIN_COUNTER_METRICS.includes(metric)) {
      mm = w.last === undefined || value < w.last ? 0 : value - w.last;
      w.last = value;
    }
    if (mm > 0) w.amounts.push({ ts, mm });
    const longest = Math.max(...alarms.map((a) => a.hours)) * HOUR_MS;
    while (w.amounts.length && w.amounts[0]!.ts <= ts - longest) w.amounts.shift();
    const out: UnsequencedEvent[] = [];
    for (const a of alarms) {
      const total = Math.round(w.amounts.reduce((sum, x) => (x.ts > ts - a.hours * HOUR_MS ? sum + x.mm : sum), 0) * 1e6) / 1e6;
      const prev = w.levels.get(a.hours) ?? 0;
      const next = numericLevel({ direction: 'above', warning: a.warning, alarm: a.alarm, hysteresis: a.hysteresis }, total, prev);
      if (next === prev) continue;
      w.levels.set(a.hours, next);
      out.push(event(deviceId, a, total, ts, prev, next));
    }
    return out;
  }

  removeDevice(deviceId: string): void {
    for (const k of [...this.windows.keys()]) if (k.startsWith(`${deviceId}\u0000`)) this.windows.delete(k);
  }
}

function event(deviceId: string, a: TotalAlarmDef, total: number, ts: number, prev: number, next: number): UnsequencedEvent {
  const metric = RAIN_WINDOW_METRICS[a.hours]!;
  const en = findMetric(metric)?.en ?? metric;
  if (next > prev) {
    const level = next === 2 ? 'alarm' : 'warning';
    const threshold = next === 2 ? a.alarm : a.warning;
    return {
      deviceId, kind: EventKind.ALARM_RAISED, severity: next === 2 ? Severity.MAJOR : Severity.WARNING, ts, code: `${metric}.${level}`, metric, value: total, threshold,
      message: `${en} ${total} mm above ${level} level ${threshold}`,
    };
  }
  const cleared = prev === 2 ? 'alarm' : 'warning';
  return {
    deviceId, kind: EventKind.ALARM_CLEARED, severity: Severity.INFO, ts, code: `${metric}.${cleared}`, metric, value: total, threshold: prev === 2 ? a.alarm : a.warning,
    message: `${en} ${cleared} cleared${next === 1 ? ' (still above warning level)' : ''}: ${total} mm`,
  };
}

// Threshold levels with hysteresis, shared by point alarms (normalize.ts) and rolling rain totals (rain-totals.ts).
import type { AlarmDef } from '../core/profiles.js';

/** Alarm level per (device, point): 0 none, 1 warning, 2 alarm. */
export type AlarmLevel = 0 | 1 | 2;

/** Level with hysteresis: entering a level needs the threshold; leaving it needs threshold -/+ hysteresis. */
export function numericLevel(a: AlarmDef, v: number, prev: AlarmLevel): AlarmLevel {
  const below = a.direction === 'below';
  const beyond = (t: number | undefined, h: number) => t !== undefined && (below ? v <= t + h : v >= t - h);
  const hyst = (t: number | undefined) => (t === undefined ? 0 : (a.hysteresis ?? Math.abs(t) * 0.01));
  // Still inside a level we are in: only leave it once past the hysteresis band.
  const stay2 = prev === 2 && beyond(a.alarm, hyst(a.alarm));
  if (beyond(a.alarm, 0) || stay2) return 2;
  const stay1 = prev >= 1 && beyond(a.warning, hyst(a.warning));
  if (beyond(a.warning, 0) || stay1) return 1;
  return 0;
}

// What data a device is expected to send, and how often: carried in its 一机一档 record (`schedules`) so the
// collector can count 到报率 / completeness without knowing profiles or connection settings. Derived here, at the
// edge, because only the edge knows the effective poll interval (connection overrides profile overrides default)
// and the station's configured upload schedule (the profile's hj212 / sl651 block).
import type { DeviceProfile } from '../core/profiles.js';
import { DEFAULTS as MODBUS_DEFAULTS } from '../protocols/modbus/config.js';
import type { DataSchedule } from '../schema/types.js';

const S = 1000;

/**
 * The device's schedules; the primary one is what its 到报率 is judged by:
 * - modbus: one reading per poll interval (`poll`);
 * - hj212: hourly data (2061) when `hourlyData` — primary, as bureaus judge stations by hourly data — real-time
 *   data (2011) every `realtimeIntervalS`, minute data (2051) every `minuteIntervalS`, daily data (2031) when `dailyData`;
 * - sl651: one report per `reportIntervalS` (`report`);
 * - any other protocol: one per `health.expectedIntervalS` when the profile sets it (`expected`).
 */
export function dataSchedules(profile: DeviceProfile, connection: Record<string, unknown>): DataSchedule[] {
  const out: DataSchedule[] = [];
  const add = (name: string, intervalMs: number | undefined, periodS = 0) => {
    if (intervalMs && intervalMs > 0) out.push({ name, intervalMs, ...(periodS ? { periodS } : {}) });
  };
  switch (profile.protocol) {
    case 'modbus': {
      const poll = connection.pollIntervalMs;
      add('poll', typeof poll === 'number' ? poll : (profile.modbus?.pollIntervalMs ?? MODBUS_DEFAULTS.pollIntervalMs));
      break;
    }
    case 'hj212': {
      const h = profile.hj212 ?? {};
      if (h.hourlyData) add('hourly', 3600 * S, 3600);
      add('realtime', h.realtimeIntervalS && h.realtimeIntervalS * S);
      // The adapter stamps minute data (2051) with a 60 s period whatever the station's minute interval is.
      add('minute', h.minuteIntervalS && h.minuteIntervalS * S, 60);
      if (h.dailyData) add('daily', 86_400 * S, 86_400);
      break;
    }
    case 'sl651':
      add('report', profile.sl651?.reportIntervalS && profile.sl651.reportIntervalS * S);
      break;
    default:
      add('expected', profile.health?.expectedIntervalS && profile.health.expectedIntervalS * S);
  }
  if (out[0]) out[0].primary = true;
  return out;
}

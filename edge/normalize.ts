// Normalization: profile point samples -> canonical Readings (metric, canonical unit, scale/offset, quality,
// plausible range) and threshold alarms with hysteresis -> Events. Sequence numbers are assigned by the buffer.
import type { PointSample } from '../protocols/adapter.js';
import { metricOf, type AlarmDef, type DeviceProfile, type PointDef } from '../core/profiles.js';
import type { MetricDef } from '../schema/metrics.js';
import { unitConverter } from '../schema/units.js';
import { Aggregate, EventKind, Quality, Severity, type Reading, type SensingEvent } from '../schema/types.js';
import { numericLevel, type AlarmLevel } from './alarm-level.js';
import { RainTotals } from './rain-totals.js';

export type UnsequencedReading = Omit<Reading, 'seq'>;
export type UnsequencedEvent = Omit<SensingEvent, 'seq'>;

interface CompiledPoint {
  def: PointDef;
  metric: MetricDef;
  convert: (v: number) => number;
  scale: number;
  offset: number;
  alarm?: AlarmDef;
}

interface CompiledDevice {
  profile: DeviceProfile;
  points: Map<string, CompiledPoint>;
  /** Last receive-time stamp per series (metric, or metric/aggregate): bounded by the profile's points. */
  lastReceiveTs: Map<string, number>;
}

/** Source timestamps outside [now - ..., now + maxAheadMs] and before notBeforeMs are not trusted. */
export interface TimestampWindow {
  /** Default 1 day. */
  maxAheadMs: number;
  /** Default 2000-01-01T00:00:00Z. */
  notBeforeMs: number;
}

export const DEFAULT_TIMESTAMP_WINDOW: TimestampWindow = { maxAheadMs: 86_400_000, notBeforeMs: Date.UTC(2000, 0, 1) };

export interface NormalizeProblem {
  deviceId: string;
  point: string;
  reason: string;
}

export interface NormalizeResult {
  readings: UnsequencedReading[];
  events: UnsequencedEvent[];
  problems: NormalizeProblem[];
}

const QUALITY = { good: Quality.GOOD, uncertain: Quality.UNCERTAIN, bad: Quality.BAD } as const;
const AGG = { avg: Aggregate.AVG, min: Aggregate.MIN, max: Aggregate.MAX, total: Aggregate.TOTAL } as const;

export { numericLevel } from './alarm-level.js';

export class Normalizer {
  private readonly devices = new Map<string, CompiledDevice>();
  private readonly byProfile = new WeakMap<DeviceProfile, Map<string, CompiledPoint>>();
  private readonly alarmState = new Map<string, AlarmLevel>();
  /** Rolling rainfall totals of points with `totalAlarms` (rain intensity). */
  private readonly rainTotals = new RainTotals();
  /** device → metric → levels replacing the profile's (site and device thresholds, edge/thresholds.ts). */
  private readonly thresholds = new Map<string, Map<string, AlarmDef>>();

  /** Told of every threshold level change with the event announcing it (the agent persists the levels). */
  onAlarmLevel?: (key: string, level: number, event: UnsequencedEvent) => void;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly window: TimestampWindow = DEFAULT_TIMESTAMP_WINDOW,
  ) {}

  /** Levels saved before a restart (key: device + point): a value still past its line raises nothing new. */
  restoreAlarmLevels(levels: Iterable<[string, number]>): void {
    for (const [k, v] of levels) if (v === 1 || v === 2) this.alarmState.set(k, v);
  }

  setDevice(deviceId: string, profile: DeviceProfile): void {
    const prev = this.devices.get(deviceId);
    this.devices.set(deviceId, { profile, points: this.compiled(profile), lastReceiveTs: prev?.lastReceiveTs ?? new Map() });
  }

  /** A profile's points compiled once and shared by every device of that model (a site has hundreds). */
  private compiled(profile: DeviceProfile): Map<string, CompiledPoint> {
    const cached = this.byProfile.get(profile);
    if (cached) return cached;
    const points = new Map<string, CompiledPoint>();
    for (const def of profile.points) {
      const metric = metricOf(profile, def.metric);
      if (!metric) throw new Error(`profile ${profile.id}: point ${def.name}: unknown metric ${def.metric}`);
      points.set(def.name, {
        def,
        metric,
        convert: unitConverter(def.unit ?? metric.unit, metric.unit),
        scale: def.scale ?? 1,
        offset: def.offset ?? 0,
        alarm: def.alarms,
      });
    }
    this.byProfile.set(profile, points);
    return points;
  }

  /** Alarm levels for this device that replace its profile's, by metric (undefined: the profile's only). */
  setThresholds(deviceId: string, byMetric: Map<string, AlarmDef> | undefined): void {
    if (byMetric?.size) this.thresholds.set(deviceId, byMetric);
    else this.thresholds.delete(deviceId);
  }

  removeDevice(deviceId: string): void {
    this.devices.delete(deviceId);
    this.rainTotals.removeDevice(deviceId);
    this.thresholds.delete(deviceId);
    for (const k of [...this.alarmState.keys()]) if (k.startsWith(`${deviceId}\u0000`)) this.alarmState.delete(k);
  }

  hasDevice(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  normalize(samples: PointSample[]): NormalizeResult {
    const out: NormalizeResult = { readings: [], events: [], problems: [] };
    const receivedAt = this.now();
    for (const s of samples) {
      const dev = this.devices.get(s.deviceId);
      if (!dev) {
        out.problems.push({ deviceId: s.deviceId, point: s.point, reason: 'unknown device' });
        continue;
      }
      const p = dev.points.get(s.point);
      if (!p) {
        out.problems.push({ deviceId: s.deviceId, point: s.point, reason: `profile ${dev.profile.id} has no point ${s.point}` });
        continue;
      }
      const base: UnsequencedReading = {
        deviceId: s.deviceId,
        metric: p.metric.name,
        unit: p.metric.unit,
        ts: 0,
        quality: QUALITY[s.quality],
        qualityReason: s.reason,
      };
      if (s.ts !== undefined && this.trusted(s.ts, receivedAt)) base.ts = s.ts;
      else {
        base.ts = receiveStamp(dev, s.aggregate ? `${p.metric.name}/${s.aggregate}` : p.metric.name, receivedAt);
        if (s.ts !== undefined) {
          // A device clock that is far off: keep the value, stamp it on arrival, and say what the device claimed.
          const clock = `clock: device time ${describeTime(s.ts)}`;
          base.qualityReason = s.reason ? `${clock}; ${s.reason}` : clock;
          if (base.quality === Quality.GOOD) base.quality = Quality.UNCERTAIN;
        }
      }
      if (s.aggregate) {
        base.aggregate = AGG[s.aggregate];
        base.periodS = s.periodS;
      }
      if (s.value === null || s.value === undefined) {
        if (s.quality === 'good') {
          out.problems.push({ deviceId: s.deviceId, point: s.point, reason: 'good sample without a value' });
          continue;
        }
        out.readings.push({ ...base, quality: QUALITY[s.quality] }); // BAD reading with reason, no value
        continue;
      }
      const converted = this.convert(p, s.value);
      if (typeof converted === 'string') {
        out.problems.push({ deviceId: s.deviceId, point: s.point, reason: converted });
        out.readings.push({ ...base, quality: Quality.BAD, qualityReason: converted });
        continue;
      }
      const reading: UnsequencedReading = { ...base };
      if (typeof converted === 'boolean') reading.boolean = converted;
      else {
        reading.number = converted;
        const range = p.metric.range;
        if (range && (converted < range[0] || converted > range[1]) && reading.quality === Quality.GOOD) {
          reading.quality = Quality.UNCERTAIN;
          reading.qualityReason = `outside plausible range ${range[0]}..${range[1]} ${p.metric.unit}`;
        }
      }
      out.readings.push(reading);
      // Only trustworthy live values drive alarms: aggregates and bad data do not.
      const alarm = this.thresholds.get(s.deviceId)?.get(p.metric.name) ?? p.alarm;
      if (alarm && reading.quality !== Quality.BAD && !s.aggregate) {
        const ev = this.evaluateAlarm(s.deviceId, p, alarm, converted, reading.ts);
        if (ev) out.events.push(ev);
      }
      if (p.def.totalAlarms?.length && reading.quality !== Quality.BAD && !s.aggregate && typeof converted === 'number') {
        out.events.push(...this.rainTotals.evaluate(s.deviceId, p.def.name, p.metric.name, converted, reading.ts, p.def.totalAlarms));
      }
    }
    return out;
  }

  private trusted(ts: number, now: number): boolean {
    return Number.isFinite(ts) && ts >= this.window.notBeforeMs && ts <= now + this.window.maxAheadMs;
  }

  /** Returns the canonical value, or a string explaining why the raw value cannot be used. */
  private convert(p: CompiledPoint, raw: number | boolean | string): number | boolean | string {
    if (p.metric.type === 'boolean') {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'number') return raw !== 0;
      const t = raw.trim().toLowerCase();
      if (['true', '1', 'on', 'alarm'].includes(t)) return true;
      if (['false', '0', 'off', 'normal'].includes(t)) return false;
      return `value "${raw}" is not a boolean for metric ${p.metric.name}`;
    }
    let n: number;
    if (typeof raw === 'number') n = raw;
    else if (typeof raw === 'boolean') n = raw ? 1 : 0;
    else {
      n = raw.trim() === '' ? NaN : Number(raw);
    }
    if (!Number.isFinite(n)) return `value ${JSON.stringify(raw)} is not a finite number for metric ${p.metric.name}`;
    return roundFloat(p.convert(n * p.scale + p.offset));
  }

  private evaluateAlarm(deviceId: string, p: CompiledPoint, a: AlarmDef, value: number | boolean, ts: number): UnsequencedEvent | undefined {
    const key = `${deviceId}\u0000${p.def.name}`;
    const prev = this.alarmState.get(key) ?? 0;
    let next: AlarmLevel;
    if (typeof value === 'boolean') {
      next = value === (a.when ?? true) ? 2 : 0;
    } else {
      next = numericLevel(a, value, prev);
    }
    if (next === prev) return undefined;
    this.alarmState.set(key, next);
    const event = this.alarmEvent(deviceId, p, a, value, ts, prev, next);
    this.onAlarmLevel?.(key, next, event);
    return event;
  }

  private alarmEvent(deviceId: string, p: CompiledPoint, a: AlarmDef, value: number | boolean, ts: number, prev: AlarmLevel, next: AlarmLevel): UnsequencedEvent {
    const metricName = p.metric.name;
    if (next > prev) {
      const level = next === 2 ? 'alarm' : 'warning';
      const threshold = next === 2 ? a.alarm : a.warning;
      const boolAlarm = typeof value === 'boolean';
      return {
        deviceId,
        kind: EventKind.ALARM_RAISED,
        severity: boolAlarm ? Severity.CRITICAL : next === 2 ? Severity.MAJOR : Severity.WARNING,
        message: boolAlarm
          ? `${p.metric.en} (${p.metric.zh}) alarm`
          : `${p.metric.en} ${value} ${p.metric.unit} ${a.direction === 'below' ? 'below' : 'above'} ${level} level ${threshold}`,
        ts,
        code: `${metricName}.${level}`,
        metric: metricName,
        value: typeof value === 'number' ? value : value ? 1 : 0,
        threshold,
      };
    }
    const cleared = prev === 2 ? 'alarm' : 'warning';
    return {
      deviceId,
      kind: EventKind.ALARM_CLEARED,
      // The level that remains: the alarm line cleared but the warning line still crossed is WARNING, not over.
      severity: next === 1 ? Severity.WARNING : Severity.INFO,
      message: `${p.metric.en} ${cleared} cleared${next === 1 ? ' (still above warning level)' : ''}: ${String(value)} ${p.metric.unit}`,
      ts,
      code: `${metricName}.${cleared}`,
      metric: metricName,
      value: typeof value === 'number' ? value : value ? 1 : 0,
      threshold: prev === 2 ? a.alarm : a.warning,
    };
  }
}

/**
 * Receive-time stamps are strictly increasing per series: a burst of readings that arrive in the same ms
 * (a QoS 1 queue re-sent after a reconnect) become distinct ms, so no store keyed by (series, ts) can merge
 * them. Source timestamps are never touched. At more than 1,000 readings/s of one series the stamps run
 * ahead of the clock until the burst ends.
 */
function receiveStamp(dev: CompiledDevice, series: string, receivedAt: number): number {
  const last = dev.lastReceiveTs.get(series);
  const ts = last !== undefined && last >= receivedAt ? last + 1 : receivedAt;
  dev.lastReceiveTs.set(series, ts);
  return ts;
}

function describeTime(ts: number): string {
  return Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `invalid (${ts})`;
}

/** Strips binary floating-point noise from scaled values (351 cm * 0.01 = 3.5100000000000002). */
export function roundFloat(v: number): number {
  return Number.isInteger(v) ? v : Number(v.toPrecision(12));
}

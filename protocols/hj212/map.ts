// CP of a data upload → PointSamples of the device's profile points (matched by point.hj212.factor).
// Values are emitted as the station sends them, in the point's source unit; the edge normalizer scales.
import type { PointSample, SampleQuality } from '../adapter.js';
import type { DeviceProfile } from '../../core/profiles.js';
import { CN, toUtcMs, type Hj212Packet } from './parse.js';

type Aggregate = NonNullable<PointSample['aggregate']>;

/** Aggregated uploads: CN → period. */
const PERIOD_S: Record<string, number> = { [CN.MINUTE]: 60, [CN.HOURLY]: 3600, [CN.DAILY]: 86400 };
/** CP field → aggregate of the period. */
const AGG_FIELDS: [string, Aggregate][] = [
  ['Avg', 'avg'],
  ['Min', 'min'],
  ['Max', 'max'],
  ['Cou', 'total'],
];

/** HJ 212-2017 data flags (数据标记) and how much a value carrying them can be trusted. */
export const DATA_FLAGS: Record<string, { meaning: string; quality: SampleQuality }> = {
  N: { meaning: 'normal', quality: 'good' },
  T: { meaning: 'over upper limit', quality: 'uncertain' },
  S: { meaning: 'manual input', quality: 'uncertain' },
  M: { meaning: 'maintenance', quality: 'bad' },
  C: { meaning: 'calibration', quality: 'bad' },
  F: { meaning: 'stopped', quality: 'bad' },
  D: { meaning: 'fault', quality: 'bad' },
  B: { meaning: 'communication error', quality: 'bad' },
};

export function flagQuality(flag: string | undefined): { quality: SampleQuality; reason?: string } {
  if (flag === undefined || flag === 'N') return { quality: 'good' };
  const known = DATA_FLAGS[flag];
  if (!known) return { quality: 'uncertain', reason: `hj212 flag ${flag} (unknown)` };
  return { quality: known.quality, reason: `hj212 flag ${flag} (${known.meaning})` };
}

/** factor code → names of the points reading it. Built once per device binding. */
export function factorIndex(profile: DeviceProfile): Map<string, string[]> {
  const idx = new Map<string, string[]>();
  for (const p of profile.points) {
    if (!p.hj212) continue;
    const list = idx.get(p.hj212.factor) ?? [];
    list.push(p.name);
    idx.set(p.hj212.factor, list);
  }
  return idx;
}

/** True for CNs that carry factor values. */
export const carriesData = (cn: string): boolean => cn === CN.REALTIME || PERIOD_S[cn] !== undefined;

/**
 * Samples of a data packet. `dataTimeFallback` is the DataTime of an earlier part of a split packet
 * (same QN) when this part carries none. Returns an empty list for CNs without factor values.
 */
export function mapPacket(packet: Hj212Packet, deviceId: string, index: Map<string, string[]>, dataTimeFallback?: string): PointSample[] {
  if (!carriesData(packet.cn)) return [];
  const dt = packet.dataTime ?? dataTimeFallback;
  const ts = dt ? toUtcMs(dt) : undefined;
  const out: PointSample[] = [];
  const periodS = PERIOD_S[packet.cn];
  for (const [factor, fields] of packet.factors) {
    const points = index.get(factor);
    if (!points) continue;
    const { quality, reason } = flagQuality(fields.get('Flag'));
    // Plain object construction (no spreads): this runs once per value on the hot path.
    const make = (point: string, value: string, aggregate?: Aggregate): PointSample => {
      const s: PointSample = { deviceId, point, value: Number(value), quality };
      if (ts !== undefined) s.ts = ts;
      if (reason !== undefined) s.reason = reason;
      if (aggregate !== undefined) {
        s.aggregate = aggregate;
        s.periodS = periodS;
      }
      return s;
    };
    for (const point of points) {
      if (periodS === undefined) {
        const rtd = fields.get('Rtd');
        if (rtd !== undefined) out.push(make(point, rtd));
        continue;
      }
      for (const [field, aggregate] of AGG_FIELDS) {
        const v = fields.get(field);
        if (v !== undefined) out.push(make(point, v, aggregate));
      }
    }
  }
  return out;
}

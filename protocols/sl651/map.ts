// Decoded elements → PointSamples of the device's profile points (matched by point.sl651.element).
// Values are emitted in the element's unit as sent (e.g. water level in m, rainfall in mm).
import type { PointSample } from '../adapter.js';
import type { DeviceProfile } from '../../core/profiles.js';
import type { Sl651Message } from './parse.js';

/** element id (2 upper-case hex digits) → point names. */
export function elementIndex(profile: DeviceProfile): Map<string, string[]> {
  const idx = new Map<string, string[]>();
  for (const p of profile.points) {
    if (!p.sl651) continue;
    const id = p.sl651.element.toUpperCase();
    idx.set(id, [...(idx.get(id) ?? []), p.name]);
  }
  return idx;
}

export function mapMessage(msg: Sl651Message, deviceId: string, index: Map<string, string[]>): PointSample[] {
  const out: PointSample[] = [];
  for (const e of msg.elements) {
    const points = index.get(e.id);
    if (!points) continue;
    for (const point of points) {
      const ts = e.ts !== undefined ? { ts: e.ts } : {};
      out.push(
        e.value === null
          ? { deviceId, point, value: null, ...ts, quality: 'bad', reason: `sl651 element ${e.id} invalid data (FF)` }
          : { deviceId, point, value: e.value, ...ts, quality: 'good' },
      );
    }
  }
  return out;
}

// Plain payloads: one point per topic, the payload is a bare number, true/false (on/off, 1/0) or text.
import type { PointDef } from '../../core/profiles.js';
import type { DecodeResult } from './payload-json.js';
import { coerce, expectedTypeOf } from './values.js';

const MAX_PLAIN_BYTES = 256; // a bare value; anything longer is not what the profile describes

export function decodePlain(payload: Uint8Array, deviceId: string, point: PointDef): DecodeResult {
  if (payload.length === 0) return { samples: [], problems: [`point ${point.name}: empty payload`] };
  if (payload.length > MAX_PLAIN_BYTES) {
    return { samples: [], problems: [`point ${point.name}: ${payload.length}-byte payload is not a bare value`] };
  }
  const text = Buffer.from(payload).toString('utf8').trim();
  const raw = text.toLowerCase() === 'null' ? null : text;
  const c = coerce(raw, expectedTypeOf(point));
  if (!c.ok) return { samples: [], problems: [`point ${point.name}: ${c.reason}`] };
  if (c.value === null) return { samples: [{ deviceId, point: point.name, value: null, quality: 'bad', reason: 'null in payload' }], problems: [] };
  return { samples: [{ deviceId, point: point.name, value: c.value, quality: 'good' }], problems: [] };
}

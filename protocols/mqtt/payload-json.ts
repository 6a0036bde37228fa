// JSON payloads: each point's `mqtt.path` ("a.b", "$.a.b", "a[0].b", "$['odd key']") picks its value.
import type { DeviceProfile, PointDef } from '../../core/profiles.js';
import type { PointSample } from '../adapter.js';
import { coerce, expectedTypeOf, toEpochMs } from './values.js';

export type PathSegment = string | number;

export class JsonPathError extends Error {}

const compiled = new Map<string, PathSegment[]>();

/** Parses a path into property names and array indexes; throws JsonPathError for a malformed path. */
export function parseJsonPath(path: string): PathSegment[] {
  const hit = compiled.get(path);
  if (hit) return hit;
  const segs: PathSegment[] = [];
  let s = path.trim();
  if (s.startsWith('$')) s = s.slice(1);
  else s = `.${s}`;
  const token = /^(?:\.([^.[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;
  while (s.length) {
    const m = token.exec(s);
    if (!m) throw new JsonPathError(`path "${path}": cannot parse at "${s}"`);
    if (m[1] !== undefined) segs.push(m[1]);
    else if (m[2] !== undefined) segs.push(Number(m[2]));
    else segs.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'));
    s = s.slice(m[0].length);
  }
  if (!segs.length) throw new JsonPathError(`path "${path}": selects nothing`);
  compiled.set(path, segs);
  return segs;
}

/** The value at `segs`, or found=false when some level is missing. */
export function valueAt(doc: unknown, segs: PathSegment[]): { found: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const seg of segs) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return { found: false };
      cur = cur[seg];
    } else {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return { found: false };
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return { found: true, value: cur };
}

export interface DecodeResult {
  samples: PointSample[];
  problems: string[]; // each one makes the message malformed (good points still deliver)
}

/** Decodes one JSON publication for one device. */
export function decodeJson(payload: Uint8Array, deviceId: string, profile: DeviceProfile, points: PointDef[]): DecodeResult {
  const out: DecodeResult = { samples: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    out.problems.push(`not valid JSON: ${(err as Error).message}`);
    return out;
  }
  let ts: number | undefined;
  const tsPath = profile.mqtt?.timestampPath;
  if (tsPath) {
    const at = valueAt(doc, parseJsonPath(tsPath));
    if (!at.found) out.problems.push(`timestamp path ${tsPath} not found`);
    else {
      const t = toEpochMs(at.value, profile.mqtt?.timestampUnit);
      if (t.ok) ts = t.ts;
      else out.problems.push(`${tsPath}: ${t.reason}`);
    }
  }
  for (const p of points) {
    const path = p.mqtt?.path;
    if (!path) continue;
    const at = valueAt(doc, parseJsonPath(path));
    if (!at.found) {
      out.problems.push(`point ${p.name}: path ${path} not found`);
      continue;
    }
    const c = coerce(at.value, expectedTypeOf(p));
    if (!c.ok) {
      out.problems.push(`point ${p.name} (${path}): ${c.reason}`);
      continue;
    }
    const s: PointSample = c.value === null
      ? { deviceId, point: p.name, value: null, quality: 'bad', reason: 'null in payload' }
      : { deviceId, point: p.name, value: c.value, quality: 'good' };
    if (ts !== undefined) s.ts = ts;
    out.samples.push(s);
  }
  return out;
}

// Small HTTP helpers: JSON/CSV responses, query parsing with precise 400s, bounded body reading.
import type { IncomingMessage } from 'node:http';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const notFound = () => new HttpError(404, 'not found');

export { sendJson, sendText } from '../../core/http.js';

/** CSV wanted: `?format=csv` or an Accept header preferring text/csv. */
export function wantsCsv(req: IncomingMessage, q: URLSearchParams): boolean {
  const f = q.get('format');
  if (f) {
    if (f !== 'csv' && f !== 'json') throw new HttpError(400, `format: must be csv or json, got "${f}"`);
    return f === 'csv';
  }
  return /\btext\/csv\b/.test(req.headers.accept ?? '');
}

/** Latest time a query may name: year 9999 (beyond it dates stop making sense, and engines stop agreeing). */
const MAX_TIME = 253_402_300_799_999;

/** A time: ms since epoch or an ISO 8601 string. */
export function parseTime(v: string | null, name: string, def: number): number {
  if (v === null || v === '') return def;
  const t = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new HttpError(400, `${name}: "${v.slice(0, 60)}" is neither ms since epoch nor an ISO 8601 time`);
  if (!Number.isSafeInteger(t) || Math.abs(t) > MAX_TIME) throw new HttpError(400, `${name}: out of range (years 0-9999)`);
  return t;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: ms as a plain number, or 10s / 5m / 1h / 1d. */
export function parseDuration(v: string | null, name: string): number | undefined {
  if (v === null || v === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v);
  if (!m) throw new HttpError(400, `${name}: "${v}" must be ms or a duration like 10s, 5m, 1h, 1d`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
  if (!(ms > 0)) throw new HttpError(400, `${name}: must be positive`);
  if (ms > 100 * 365 * 86_400_000) throw new HttpError(400, `${name}: longer than 100 years`);
  return ms;
}

export function parseBbox(v: string | null): [number, number, number, number] | undefined {
  if (!v) return undefined;
  const parts = v.split(',').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isFinite(x))) throw new HttpError(400, 'bbox: must be minLon,minLat,maxLon,maxLat');
  const [a, b, c, d] = parts as [number, number, number, number];
  if (a > c || b > d) throw new HttpError(400, 'bbox: min must not exceed max');
  return [a, b, c, d];
}

/** The raw body, refused with 413 beyond `limit` bytes (files in other encodings than UTF-8, e.g. a GB18030 CSV). */
export async function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const text = (await readBytes(req, limit)).toString('utf8');
  if (text.includes('\u0000')) throw new HttpError(400, 'body contains a NUL character');
  return text;
}

export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const text = await readBody(req, limit);
  if (text.includes('\\u0000')) throw new HttpError(400, 'body contains a NUL character (\\u0000)');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

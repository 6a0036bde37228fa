// Packed BCD helpers (two decimal digits per byte, high nibble first).

/** Digits of `bytes` as a string; undefined when a nibble is not 0-9. */
export function bcdDigits(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    const hi = b >> 4;
    const lo = b & 0x0f;
    if (hi > 9 || lo > 9) return undefined;
    s += String.fromCharCode(48 + hi, 48 + lo);
  }
  return s;
}

/** `digits` (even count, padded by the caller) → packed BCD bytes. */
export function toBcd(digits: string): Buffer {
  if (digits.length % 2 !== 0 || !/^\d*$/.test(digits)) throw new Error(`"${digits}" is not an even run of decimal digits`);
  const out = Buffer.alloc(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = ((digits.charCodeAt(2 * i) - 48) << 4) | (digits.charCodeAt(2 * i + 1) - 48);
  return out;
}

const CHINA_OFFSET_MS = 8 * 3600_000;

/** YYMMDDhhmm[ss] digits in China time (UTC+8) → epoch ms; undefined when not a real date/time. */
export function bcdTimeToMs(digits: string): number | undefined {
  if (!/^\d{10}(\d{2})?$/.test(digits)) return undefined;
  const y = 2000 + Number(digits.slice(0, 2));
  const mo = Number(digits.slice(2, 4));
  const d = Number(digits.slice(4, 6));
  const h = Number(digits.slice(6, 8));
  const mi = Number(digits.slice(8, 10));
  const s = digits.length === 12 ? Number(digits.slice(10, 12)) : 0;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(utc).getUTCDate() !== d) return undefined;
  return utc - CHINA_OFFSET_MS;
}

/** epoch ms → YYMMDDhhmmss (China time); `minutes` drops the seconds (observation time). */
export function msToBcdTime(ms: number, minutes = false): string {
  const d = new Date(ms + CHINA_OFFSET_MS);
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
  return minutes ? s : s + p(d.getUTCSeconds());
}

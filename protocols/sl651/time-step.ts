// The time-step code (时间步长码, SL 651-2014 Appendix C, tables C.2 / C.3) of equal-interval data: equal-interval
// reports (31H) and time-range queries and their answers (38H). HEX: identifier 04H, definition byte 18H (3 bytes,
// no decimals), then d h m as one BCD byte each — days 01-31, hours 01-23 or minutes 01-59, one of them non-zero.
// ASCII: DRxnn, x = D (days), H (hours) or N (minutes). All zero (DRH00) is the fixed pairing with the 1-hour
// 5-minute series DRP / DRZ (F4 / F5), not a step.

export const TIME_STEP_ID = 0x04;
export const TIME_STEP_DEFINITION = 0x18;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UNITS = [
  { letter: 'D', ms: DAY, max: 31 },
  { letter: 'H', ms: HOUR, max: 23 },
  { letter: 'N', ms: MINUTE, max: 59 },
] as const;

/** The unit and count of a step the code can carry; undefined when it has none (90 s, 90 min, 25 h …). */
function unitOf(stepMs: number): { index: number; n: number; letter: string } | undefined {
  for (const [index, u] of UNITS.entries()) {
    const n = stepMs / u.ms;
    if (Number.isInteger(n) && n >= 1 && n <= u.max) return { index, n, letter: u.letter };
  }
  return undefined;
}

export const isTimeStep = (stepMs: number): boolean => unitOf(stepMs) !== undefined;

const two = (n: number) => String(n).padStart(2, '0');

/** d h m as six BCD digits ("000005": 5 minutes). */
export function stepDigits(stepMs: number): string {
  const u = unitOf(stepMs);
  if (!u) throw new Error(`a time step of ${stepMs} ms is not whole days 1-31, hours 1-23 or minutes 1-59`);
  return [0, 1, 2].map((i) => two(i === u.index ? u.n : 0)).join('');
}

/** "DRN05" */
export function stepAscii(stepMs: number): string {
  const u = unitOf(stepMs);
  if (!u) throw new Error(`a time step of ${stepMs} ms is not whole days 1-31, hours 1-23 or minutes 1-59`);
  return `DR${u.letter}${two(u.n)}`;
}

/** ms of six d h m digits; 0 for the all-zero DRP/DRZ pairing; undefined when not a step. */
export function stepFromDigits(digits: string): number | undefined {
  if (!/^\d{6}$/.test(digits)) return undefined;
  const parts = [0, 2, 4].map((i) => Number(digits.slice(i, i + 2)));
  if (parts.some((p, i) => p > UNITS[i]!.max)) return undefined;
  return parts.reduce((sum, p, i) => sum + p * UNITS[i]!.ms, 0);
}

/** ms of "DRxnn"; 0 for DRH00; undefined when the token is not a step code. */
export function stepFromAscii(token: string): number | undefined {
  const m = /^DR([DHN])(\d{2})$/i.exec(token);
  if (!m) return undefined;
  const u = UNITS.find((x) => x.letter === m[1]!.toUpperCase())!;
  const n = Number(m[2]);
  return n <= u.max ? n * u.ms : undefined;
}

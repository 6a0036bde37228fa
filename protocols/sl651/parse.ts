// SL 651 frame body → message: serial number, send time, station/category and observations
// (F0F0 observation time followed by elements). HEX/BCD bodies and ASCII bodies decode to the same shape.
import { bcdDigits, bcdTimeToMs } from './bcd.js';
import { OBSERVATION_TIME, STATION_ADDRESS, elementByAscii, elementById, hexId, type ElementDef } from './elements.js';
import type { Sl651Frame } from './framer.js';
import { TIME_STEP_DEFINITION, TIME_STEP_ID, stepFromAscii, stepFromDigits } from './time-step.js';

export const FN = {
  KEEP_ALIVE: 0x2f,
  TEST: 0x30,
  EQUAL_INTERVAL: 0x31,
  TIMED: 0x32,
  ADDED: 0x33,
  HOURLY: 0x34,
  MANUAL: 0x35,
  PICTURE: 0x36,
  REALTIME_QUERY: 0x37,
  /** Time-range query (中心站查询遥测站时段数据): the centre asks, the station answers with equal-interval data. */
  TIME_RANGE: 0x38,
} as const;

/** Function codes whose body carries observations (F1F1 station + F0F0 time + elements). */
export const REPORT_FNS: ReadonlySet<number> = new Set([FN.TEST, FN.EQUAL_INTERVAL, FN.TIMED, FN.ADDED, FN.HOURLY, FN.REALTIME_QUERY, FN.TIME_RANGE]);
export const SUPPORTED_FNS: ReadonlySet<number> = new Set([FN.KEEP_ALIVE, ...REPORT_FNS]);

export interface ElementValue {
  /** Identifier as 2 upper-case hex digits ("39"). */
  id: string;
  /** Decoded number; null for invalid data (all FF). Series elements (F4/F5) are not decoded. */
  value: number | null;
  /** Observation time (ms) the element belongs to; in equal-interval data, the time of this step. */
  ts?: number;
}

export interface Sl651Message {
  serial: number;
  /** Send time (ms, from China time). */
  sendTime: number;
  /** Station address from F1F1 (HEX) / ST (ASCII) when present. */
  bodyStation?: string;
  /** Station category character (P rainfall, H river, K reservoir, Z gate, Q water quality, G groundwater ...). */
  category?: string;
  elements: ElementValue[];
  /**
   * Equal-interval data (a time-step code before the elements, 31H / 38H): the step; the elements then hold one
   * value per step — a step without data (all F, or M in ASCII) gives none.
   */
  stepMs?: number;
}

export class Sl651ParseError extends Error {
  constructor(
    readonly kind: 'malformed' | 'unsupported_fn',
    detail: string,
  ) {
    super(detail);
  }
}

const bad = (detail: string): never => {
  throw new Sl651ParseError('malformed', detail);
};

/** Decodes a complete (reassembled) body of a supported function code. */
export function parseBody(fn: number, body: Uint8Array, mode: Sl651Frame['mode']): Sl651Message {
  if (!SUPPORTED_FNS.has(fn)) throw new Sl651ParseError('unsupported_fn', `function code ${hexId(fn)} is not supported`);
  return mode === 'hex' ? parseHexBody(fn, body) : parseAsciiBody(fn, Buffer.from(body).toString('latin1'));
}

function parseHexBody(fn: number, b: Uint8Array): Sl651Message {
  if (b.length < 8) bad(`body of ${b.length} bytes is shorter than serial number + send time (8)`);
  const serial = ((b[0] as number) << 8) | (b[1] as number);
  const sendDigits = bcdDigits(b, 2, 8) ?? bad(`send time ${hex(b, 2, 8)} is not BCD`);
  const sendTime = bcdTimeToMs(sendDigits) ?? bad(`send time ${sendDigits} is not a valid YYMMDDhhmmss`);
  const msg: Sl651Message = { serial, sendTime, elements: [] };
  if (!REPORT_FNS.has(fn)) return msg;
  let obsTs: number | undefined;
  let i = 8;
  while (i < b.length) {
    const id = b[i] as number;
    if (id === STATION_ADDRESS && b[i + 1] === STATION_ADDRESS) {
      if (i + 8 > b.length) bad('F1F1 station address truncated');
      msg.bodyStation = hex(b, i + 2, i + 7);
      msg.category = String.fromCharCode(b[i + 7] as number);
      i += 8;
      continue;
    }
    if (id === OBSERVATION_TIME && b[i + 1] === OBSERVATION_TIME) {
      if (i + 7 > b.length) bad('F0F0 observation time truncated');
      const digits = bcdDigits(b, i + 2, i + 7) ?? bad(`observation time ${hex(b, i + 2, i + 7)} is not BCD`);
      obsTs = bcdTimeToMs(digits) ?? bad(`observation time ${digits} is not a valid YYMMDDhhmm`);
      i += 7;
      continue;
    }
    if (id === TIME_STEP_ID && b[i + 1] === TIME_STEP_DEFINITION) {
      if (i + 5 > b.length) bad('time-step code truncated');
      const digits = bcdDigits(b, i + 2, i + 5) ?? bad(`time-step code ${hex(b, i + 2, i + 5)} is not BCD`);
      const stepMs = stepFromDigits(digits) ?? bad(`time-step code ${digits} is not days, hours or minutes`);
      i += 5;
      if (stepMs === 0) continue; // DRP/DRZ pairing: the 5-minute series that follow are skipped as elements
      readSeriesHex(b, i, stepMs, obsTs, msg);
      break;
    }
    if (id === 0xf2 || id === 0xf3) bad(`element ${hexId(id)} (manual data / picture) is not supported in reports`);
    if (i + 1 >= b.length) bad(`element ${hexId(id)} has no definition byte`);
    const def = b[i + 1] as number;
    const len = def >> 3;
    const decimals = def & 0x07;
    if (len === 0) bad(`element ${hexId(id)} definition byte ${hexId(def)} declares 0 data bytes`);
    if (i + 2 + len > b.length) bad(`element ${hexId(id)} needs ${len} data bytes, ${b.length - i - 2} left`);
    const value = decodeValue(id, b.subarray(i + 2, i + 2 + len), decimals);
    if (value !== undefined) msg.elements.push({ id: hexId(id), value, ...(obsTs !== undefined ? { ts: obsTs } : {}) });
    i += 2 + len;
  }
  return msg;
}

/**
 * HEX equal-interval data after the time-step code: one element (identifier + definition byte) and one value per step
 * to the end of the body (SL 651-2014 6.6.4.4: HEX carries one element). All-F values mean no data at that step.
 */
function readSeriesHex(b: Uint8Array, at: number, stepMs: number, obsTs: number | undefined, msg: Sl651Message): void {
  if (obsTs === undefined) bad('equal-interval data without an F0F0 observation time');
  if (at + 2 > b.length) bad('time-step code is not followed by an element identifier');
  const id = b[at] as number;
  const def = b[at + 1] as number;
  const len = def >> 3;
  if (len === 0) bad(`element ${hexId(id)} definition byte ${hexId(def)} declares 0 data bytes`);
  const data = b.length - at - 2;
  if (data === 0 || data % len !== 0) bad(`element ${hexId(id)}: ${data} data bytes are not whole values of ${len} bytes`);
  msg.stepMs = stepMs;
  for (let k = 0; k < data / len; k++) {
    const start = at + 2 + k * len;
    const value = decodeValue(id, b.subarray(start, start + len), def & 0x07);
    if (value !== null && value !== undefined) msg.elements.push({ id: hexId(id), value, ts: obsTs! + k * stepMs });
  }
}

/** BCD value with `decimals`; leading FF = negative; all FF = invalid (null); undefined = not a scalar (series). */
export function decodeValue(id: number, data: Uint8Array, decimals: number): number | null | undefined {
  const def = elementById(id);
  if (def?.special === 'series') return undefined;
  if (data.every((x) => x === 0xff)) return null;
  if (def?.special === 'hex') return Buffer.from(data).readUIntBE(0, Math.min(data.length, 6));
  const negative = data[0] === 0xff;
  const digits = bcdDigits(data, negative ? 1 : 0) ?? bad(`element ${hexId(id)} value ${hex(data, 0, data.length)} is not BCD`);
  const n = Number(digits) / 10 ** decimals;
  return negative ? -n : n;
}

function parseAsciiBody(fn: number, text: string): Sl651Message {
  const tokens = text.trim().split(/\s+/).filter((t) => t !== '');
  let serialText: string;
  let sendText: string;
  let k: number;
  if (tokens[0]?.length === 16) {
    serialText = tokens[0].slice(0, 4);
    sendText = tokens[0].slice(4);
    k = 1;
  } else {
    serialText = tokens[0] ?? '';
    sendText = tokens[1] ?? '';
    k = 2;
  }
  if (!/^[0-9A-Fa-f]{4}$/.test(serialText)) bad(`serial number "${serialText}" is not 4 hex digits`);
  const sendTime = bcdTimeToMs(sendText) ?? bad(`send time "${sendText}" is not a valid YYMMDDhhmmss`);
  const msg: Sl651Message = { serial: parseInt(serialText, 16), sendTime, elements: [] };
  if (!REPORT_FNS.has(fn)) return msg;
  let obsTs: number | undefined;
  while (k < tokens.length) {
    const code = tokens[k] as string;
    const arg = tokens[k + 1];
    if (arg === undefined) bad(`element ${code} has no value`);
    if (code === 'ST') {
      const cat = tokens[k + 2];
      if (!/^[0-9A-Fa-f]{10}$/.test(arg as string) || cat === undefined || cat.length !== 1) bad(`ST needs a 10-digit address and a category letter`);
      msg.bodyStation = (arg as string).toUpperCase();
      msg.category = cat;
      k += 3;
      continue;
    }
    if (code === 'TT') {
      obsTs = bcdTimeToMs(arg as string) ?? bad(`observation time "${arg}" is not a valid YYMMDDhhmm`);
      k += 2;
      continue;
    }
    const stepMs = stepFromAscii(code);
    if (stepMs === 0) {
      k += 1; // DRH00: the DRP/DRZ series that follow are skipped as elements
      continue;
    }
    if (stepMs !== undefined) {
      readSeriesAscii(tokens, k + 1, stepMs, obsTs, msg);
      break;
    }
    const def = elementByAscii(code) ?? bad(`unknown ASCII element code "${code}"`);
    k += 2;
    if (def.special === 'series') continue;
    let value: number | null;
    if (/^F+$/i.test(arg as string)) value = null;
    else if (def.special === 'hex') value = /^[0-9A-Fa-f]{1,12}$/.test(arg as string) ? parseInt(arg as string, 16) : bad(`${code} "${arg}" is not hex`);
    else if (/^-?\d+(\.\d+)?$/.test(arg as string)) value = Number(arg);
    else value = bad(`${code} value "${arg}" is not a decimal number`);
    msg.elements.push({ id: hexId(def.id), value, ...(obsTs !== undefined ? { ts: obsTs } : {}) });
  }
  return msg;
}

/**
 * ASCII equal-interval data after the step code: element codes, then the values grouped by time (one per element
 * per step, SL 651-2014 6.6.4.4 c-d); M (or all F) means no data at that step.
 */
function readSeriesAscii(tokens: string[], at: number, stepMs: number, obsTs: number | undefined, msg: Sl651Message): void {
  if (obsTs === undefined) bad('equal-interval data without a TT observation time');
  const codes: ElementDef[] = [];
  let k = at;
  for (; k < tokens.length; k++) {
    const def = elementByAscii(tokens[k] as string);
    if (!def) break;
    if (def.special) bad(`${def.ascii} cannot be a column of equal-interval data`);
    codes.push(def);
  }
  if (!codes.length) bad('time-step code is not followed by an element code');
  const values = tokens.slice(k);
  if (!values.length || values.length % codes.length !== 0) bad(`${values.length} values are not whole groups of ${codes.length} elements`);
  msg.stepMs = stepMs;
  values.forEach((text, n) => {
    const def = codes[n % codes.length]!;
    if (/^(M|F+)$/i.test(text)) return;
    if (!/^-?\d+(\.\d+)?$/.test(text)) bad(`${def.ascii} value "${text}" is not a decimal number`);
    msg.elements.push({ id: hexId(def.id), value: Number(text), ts: obsTs! + Math.floor(n / codes.length) * stepMs });
  });
}

export interface TimeRangeQueryMessage {
  serial: number;
  sendTime: number;
  /** First and last hour asked for (ms). */
  start: number;
  end: number;
  stepMs: number;
  /** Element identifiers asked for (HEX: with their definition bytes, which the answer repeats). */
  elements: { id: number; definition?: number }[];
}

/** Decodes the centre's time-range query (38H downlink, SL 651-2014 table 44) — what a station (the simulator) reads. */
export function parseTimeRangeQuery(body: Uint8Array, mode: Sl651Frame['mode']): TimeRangeQueryMessage {
  const hourMs = (digits: string) => bcdTimeToMs(`${digits}00`) ?? bad(`time ${digits} is not a valid YYMMDDHH`);
  if (mode === 'ascii') {
    const t = Buffer.from(body).toString('latin1').trim().split(/\s+/);
    const [head, start, end, step, ...codes] = t.length && t[0]!.length === 16 ? t : [`${t[0] ?? ''}${t[1] ?? ''}`, ...t.slice(2)];
    const stepMs = stepFromAscii(step ?? '') || bad(`"${step}" is not a time-step code`);
    const elements = codes.map((c) => ({ id: (elementByAscii(c) ?? bad(`unknown ASCII element code "${c}"`)).id }));
    const sendTime = bcdTimeToMs((head ?? '').slice(4)) ?? bad('bad send time');
    return { serial: parseInt((head ?? '').slice(0, 4), 16), sendTime, start: hourMs(start ?? ''), end: hourMs(end ?? ''), stepMs, elements };
  }
  if (body.length < 23) bad(`time-range query of ${body.length} bytes is shorter than 23`);
  const digits = bcdDigits(body, 2, 16) ?? bad('time-range query times are not BCD');
  if (body[16] !== TIME_STEP_ID || body[17] !== TIME_STEP_DEFINITION) bad('time-range query without a time-step code (04 18)');
  const stepMs = stepFromDigits(bcdDigits(body, 18, 21) ?? '') || bad('time-range query step is not days, hours or minutes');
  const elements = [];
  for (let i = 21; i + 1 < body.length; i += 2) elements.push({ id: body[i] as number, definition: body[i + 1] as number });
  return {
    serial: ((body[0] as number) << 8) | (body[1] as number),
    sendTime: bcdTimeToMs(digits.slice(0, 12)) ?? bad('bad send time'),
    start: hourMs(digits.slice(12, 20)),
    end: hourMs(digits.slice(20, 28)),
    stepMs,
    elements,
  };
}

const hex = (b: Uint8Array, s: number, e: number): string => Buffer.from(b.subarray(s, e)).toString('hex').toUpperCase();

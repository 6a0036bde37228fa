// SL 651 frame body → message: serial number, send time, station/category and observations
// (F0F0 observation time followed by elements). HEX/BCD bodies and ASCII bodies decode to the same shape.
import { bcdDigits, bcdTimeToMs } from './bcd.js';
import { OBSERVATION_TIME, STATION_ADDRESS, elementByAscii, elementById, hexId } from './elements.js';
import type { Sl651Frame } from './framer.js';

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
} as const;

/** Function codes whose body carries observations (F1F1 station + F0F0 time + elements). */
export const REPORT_FNS: ReadonlySet<number> = new Set([FN.TEST, FN.EQUAL_INTERVAL, FN.TIMED, FN.ADDED, FN.HOURLY, FN.REALTIME_QUERY]);
export const SUPPORTED_FNS: ReadonlySet<number> = new Set([FN.KEEP_ALIVE, ...REPORT_FNS]);

export interface ElementValue {
  /** Identifier as 2 upper-case hex digits ("39"). */
  id: string;
  /** Decoded number; null for invalid data (all FF). Series elements (F4/F5) are not decoded. */
  value: number | null;
  /** Observation time (ms) the element belongs to. */
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

const hex = (b: Uint8Array, s: number, e: number): string => Buffer.from(b.subarray(s, e)).toString('hex').toUpperCase();

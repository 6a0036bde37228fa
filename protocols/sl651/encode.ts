// Building SL 651 frames: the centre's confirmations and time-range queries, and the uplink reports and answers of
// the station simulator.
import { msToBcdTime, toBcd } from './bcd.js';
import { crc16Modbus } from './crc.js';
import { OBSERVATION_TIME, STATION_ADDRESS, definitionByte, elementById, hexId } from './elements.js';
import { ENQ, ESC, ETX, STX, SYN, type Sl651Mode } from './framer.js';
import { FN } from './parse.js';
import { TIME_STEP_DEFINITION, TIME_STEP_ID, stepAscii, stepDigits } from './time-step.js';

export interface FrameFields {
  mode: Sl651Mode;
  centre: number;
  station: string; // 10 hex digits
  password: string; // 4 hex digits
  fn: number;
  up: boolean;
  /** HEX: body bytes; ASCII: body text bytes. */
  body: Uint8Array;
  packet?: { total: number; seq: number };
  end: number;
}

/** A complete frame with its CRC. */
export function encodeFrame(f: FrameFields): Buffer {
  const station = f.station.toUpperCase();
  if (!/^[0-9A-F]{10}$/.test(station)) throw new Error(`station address "${f.station}" must be 10 hex digits`);
  if (!/^[0-9A-Fa-f]{4}$/.test(f.password)) throw new Error(`password "${f.password}" must be 4 hex digits`);
  const dir = f.up ? 0 : 8;
  if (f.mode === 'hex') {
    const info = f.packet ? Buffer.from([(f.packet.total >> 4) & 0xff, ((f.packet.total & 0x0f) << 4) | ((f.packet.seq >> 8) & 0x0f), f.packet.seq & 0xff]) : Buffer.alloc(0);
    const len = info.length + f.body.length;
    if (len > 0xfff) throw new Error(`body of ${len} bytes exceeds 4095`);
    const addr = f.up
      ? Buffer.concat([Buffer.from([f.centre]), Buffer.from(station, 'hex')])
      : Buffer.concat([Buffer.from(station, 'hex'), Buffer.from([f.centre])]);
    const lenWord = Buffer.alloc(2);
    lenWord.writeUInt16BE((dir << 12) | len);
    const head = Buffer.concat([Buffer.from([0x7e, 0x7e]), addr, Buffer.from(f.password, 'hex'), Buffer.from([f.fn]), lenWord, Buffer.from([f.packet ? SYN : STX])]);
    const withoutCrc = Buffer.concat([head, info, f.body, Buffer.from([f.end])]);
    const crc = Buffer.alloc(2);
    crc.writeUInt16BE(crc16Modbus(withoutCrc));
    return Buffer.concat([withoutCrc, crc]);
  }
  const h2 = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  const info = f.packet ? h2((f.packet.total << 12) | f.packet.seq, 6) : '';
  const len = info.length + f.body.length;
  if (len > 0xfff) throw new Error(`body of ${len} characters exceeds 4095`);
  const addr = f.up ? h2(f.centre, 2) + station : station + h2(f.centre, 2);
  const head = `\x01${addr}${f.password.toUpperCase()}${h2(f.fn, 2)}${h2(dir, 1)}${h2(len, 3)}`;
  const withoutCrc = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from([f.packet ? SYN : STX]), Buffer.from(info, 'latin1'), f.body, Buffer.from([f.end])]);
  return Buffer.concat([withoutCrc, Buffer.from(h2(crc16Modbus(withoutCrc), 4), 'latin1')]);
}

export interface ElementInput {
  /** Identifier, e.g. 0x39. */
  id: number;
  value: number | null;
  /** Override the table's N(digits, decimals). */
  digits?: number;
  decimals?: number;
}

/** One HEX element: id, definition byte, BCD value (leading FF for negatives, all FF for invalid). */
export function encodeElement(e: ElementInput): Buffer {
  const { definition, bytes } = elementFormat(e);
  return Buffer.concat([Buffer.from([e.id, definition]), encodeValue(e, bytes, definition & 0x07)]);
}

/** The definition byte and data length of an element: the table's N(digits, decimals) unless overridden. */
export function elementFormat(e: Omit<ElementInput, 'value'>): { definition: number; bytes: number } {
  const def = elementById(e.id);
  const digits = e.digits ?? def?.digits;
  const decimals = e.decimals ?? def?.decimals ?? 0;
  if (digits === undefined) throw new Error(`element ${hexId(e.id)}: digits unknown, pass digits`);
  const bytes = Math.ceil(digits / 2);
  return { definition: definitionByte(bytes, decimals), bytes };
}

/** One value's data bytes: BCD, a leading FF for negatives, all FF for invalid / no data (null). */
function encodeValue(e: { id: number; value: number | null }, bytes: number, decimals: number): Buffer {
  if (e.value === null) return Buffer.alloc(bytes, 0xff);
  if (elementById(e.id)?.special === 'hex') {
    const v = Buffer.alloc(bytes);
    v.writeUIntBE(e.value, 0, bytes);
    return v;
  }
  const scaled = Math.round(Math.abs(e.value) * 10 ** decimals);
  const width = (e.value < 0 ? bytes - 1 : bytes) * 2;
  const text = String(scaled).padStart(width, '0');
  if (text.length > width) throw new Error(`element ${hexId(e.id)}: ${e.value} does not fit ${bytes * 2} digits`);
  return Buffer.concat([e.value < 0 ? Buffer.from([0xff]) : Buffer.alloc(0), toBcd(text)]);
}

export interface ReportInput {
  serial: number;
  sendTime: number; // ms
  station: string;
  /** Station category letter: P rainfall, H river, K reservoir, Q water quality ... */
  category: string;
  obsTime: number; // ms
  elements: ElementInput[];
}

/** HEX body of a report (30-34). */
export function reportBodyHex(r: ReportInput): Buffer {
  return Buffer.concat([stationPartHex(r), ...r.elements.map(encodeElement)]);
}

/** Serial number, send time, F1F1 station + category, F0F0 observation time: how every report body starts. */
function stationPartHex(r: Omit<ReportInput, 'elements'>): Buffer {
  return Buffer.concat([
    serialTimeBody('hex', r.serial, r.sendTime),
    Buffer.from([STATION_ADDRESS, STATION_ADDRESS]),
    Buffer.from(r.station, 'hex'),
    Buffer.from(r.category, 'latin1').subarray(0, 1),
    Buffer.from([OBSERVATION_TIME, OBSERVATION_TIME]),
    toBcd(msToBcdTime(r.obsTime, true)),
  ]);
}

/** ASCII body of a report: space-separated fields, elements as "<code> <value>". */
export function reportBodyAscii(r: ReportInput): Buffer {
  const parts = stationPartAscii(r);
  for (const e of r.elements) parts.push(asciiCode(e.id), asciiValue(e));
  return Buffer.from(parts.join(' '), 'latin1');
}

function stationPartAscii(r: Omit<ReportInput, 'elements'>): string[] {
  return [r.serial.toString(16).toUpperCase().padStart(4, '0'), msToBcdTime(r.sendTime), 'ST', r.station.toUpperCase(), r.category, 'TT', msToBcdTime(r.obsTime, true)];
}

function asciiCode(id: number): string {
  const def = elementById(id);
  if (!def) throw new Error(`element ${hexId(id)} has no ASCII code`);
  return def.ascii;
}

/** An ASCII value; `missing` is what null is written as (FFFF: invalid data in a report; M: no data in a series). */
function asciiValue(e: ElementInput, missing = 'FFFF'): string {
  const def = elementById(e.id)!;
  if (e.value === null) return missing;
  return def.special === 'hex' ? e.value.toString(16).toUpperCase().padStart(8, '0') : e.value.toFixed(e.decimals ?? def.decimals);
}

export interface SeriesInput extends Omit<ReportInput, 'elements'> {
  /** Time step between values; `obsTime` is the time of the first value. */
  stepMs: number;
  /** One value per step for each element (null: no data at that time). HEX carries exactly one element. */
  elements: { id: number; values: (number | null)[] }[];
}

/**
 * Body of equal-interval data (31H report, 38H answer; SL 651-2014 tables 30 and 45): station, observation time of the
 * first value, the time-step code, the element identifiers, then the data grouped by time.
 */
export function seriesBody(mode: Sl651Mode, r: SeriesInput): Buffer {
  const n = r.elements[0]?.values.length ?? 0;
  if (r.elements.some((e) => e.values.length !== n)) throw new Error('every element of a series needs the same number of values');
  if (mode === 'ascii') {
    const parts = [...stationPartAscii(r), stepAscii(r.stepMs), ...r.elements.map((e) => asciiCode(e.id))];
    for (let i = 0; i < n; i++) for (const e of r.elements) parts.push(asciiValue({ id: e.id, value: e.values[i]! }, 'M'));
    return Buffer.from(parts.join(' '), 'latin1');
  }
  if (r.elements.length !== 1) throw new Error('a HEX series carries exactly one element (SL 651-2014 6.6.4.4 b)');
  const e = r.elements[0]!;
  const { definition, bytes } = elementFormat(e);
  return Buffer.concat([
    stationPartHex(r),
    Buffer.from([TIME_STEP_ID, TIME_STEP_DEFINITION]),
    toBcd(stepDigits(r.stepMs)),
    Buffer.from([e.id, definition]),
    ...e.values.map((value) => encodeValue({ id: e.id, value }, bytes, definition & 0x07)),
  ]);
}

export interface TimeRangeQuery {
  /** 0 for frames the centre starts (SL 651-2014 6.6.2.4). */
  serial: number;
  sendTime: number;
  /** First and last hour asked for (whole hours, China time; both included). */
  start: number;
  end: number;
  stepMs: number;
  /** HEX: exactly one element (identifier + definition byte); ASCII: one or more with the same step. */
  elements: number[];
}

/** YYMMDDHH digits of a whole hour (China time). */
const hourDigits = (ms: number): string => {
  if (ms % 3_600_000 !== 0) throw new Error(`${new Date(ms).toISOString()} is not a whole hour`);
  return msToBcdTime(ms).slice(0, 8);
};

/**
 * The centre's time-range query (中心站查询遥测站时段数据, function 38H, SL 651-2014 table 44): serial, send time,
 * start and end hour, time-step code, element identifier(s); downlink (direction 1000), ended by ENQ.
 */
export function timeRangeQuery(to: { mode: Sl651Mode; centre: number; station: string; password: string }, q: TimeRangeQuery): Buffer {
  let body: Buffer;
  if (to.mode === 'ascii') {
    body = Buffer.from([q.serial.toString(16).toUpperCase().padStart(4, '0'), msToBcdTime(q.sendTime), hourDigits(q.start), hourDigits(q.end), stepAscii(q.stepMs), ...q.elements.map(asciiCode)].join(' '), 'latin1');
  } else {
    if (q.elements.length !== 1) throw new Error('a HEX time-range query names exactly one element');
    const id = q.elements[0]!;
    body = Buffer.concat([
      serialTimeBody('hex', q.serial, q.sendTime),
      toBcd(hourDigits(q.start) + hourDigits(q.end)),
      Buffer.from([TIME_STEP_ID, TIME_STEP_DEFINITION]),
      toBcd(stepDigits(q.stepMs)),
      // An identifier is two bytes in HEX (6.6.3.2): the guide byte and the definition byte of the element's data.
      Buffer.from([id, elementFormat({ id }).definition]),
    ]);
  }
  return encodeFrame({ ...to, fn: FN.TIME_RANGE, up: false, body, end: ENQ });
}

/** Serial number + send time: the body of a keep-alive (2F) and of a confirmation. */
export function serialTimeBody(mode: Sl651Mode, serial: number, sendTime: number): Buffer {
  if (mode === 'ascii') return Buffer.from(`${serial.toString(16).toUpperCase().padStart(4, '0')}${msToBcdTime(sendTime)}`, 'latin1');
  const b = Buffer.alloc(2);
  b.writeUInt16BE(serial & 0xffff);
  return Buffer.concat([b, toBcd(msToBcdTime(sendTime))]);
}

/** The centre's confirmation of a report: same fn and serial, direction 1000, ended by ESC (stay online) or EOT. */
export function confirmation(
  to: { mode: Sl651Mode; centre: number; station: string; password: string; fn: number },
  serial: number,
  now: number,
  end: number = ESC,
): Buffer {
  const { mode, centre, station, password, fn } = to; // never copy a SYN packet count into the answer
  return encodeFrame({ mode, centre, station, password, fn, up: false, body: serialTimeBody(mode, serial, now), end });
}

/** A complete uplink frame (single packet, ETX). */
export function uplink(mode: Sl651Mode, h: { centre: number; station: string; password: string; fn: number }, body: Uint8Array): Buffer {
  return encodeFrame({ mode, ...h, up: true, body, end: ETX });
}

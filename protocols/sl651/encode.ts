// Building SL 651 frames: the centre's confirmations and the uplink reports of the station simulator.
import { msToBcdTime, toBcd } from './bcd.js';
import { crc16Modbus } from './crc.js';
import { OBSERVATION_TIME, STATION_ADDRESS, definitionByte, elementById, hexId } from './elements.js';
import { ESC, ETX, SOH, STX, SYN, type Sl651Mode } from './framer.js';

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
  const def = elementById(e.id);
  const digits = e.digits ?? def?.digits;
  const decimals = e.decimals ?? def?.decimals ?? 0;
  if (digits === undefined) throw new Error(`element ${hexId(e.id)}: digits unknown, pass digits`);
  const bytes = Math.ceil(digits / 2);
  const head = Buffer.from([e.id, definitionByte(bytes, decimals)]);
  if (e.value === null) return Buffer.concat([head, Buffer.alloc(bytes, 0xff)]);
  if (def?.special === 'hex') {
    const v = Buffer.alloc(bytes);
    v.writeUIntBE(e.value, 0, bytes);
    return Buffer.concat([head, v]);
  }
  const scaled = Math.round(Math.abs(e.value) * 10 ** decimals);
  const width = (e.value < 0 ? bytes - 1 : bytes) * 2;
  const text = String(scaled).padStart(width, '0');
  if (text.length > width) throw new Error(`element ${hexId(e.id)}: ${e.value} does not fit ${digits} digits`);
  return Buffer.concat([head, e.value < 0 ? Buffer.from([0xff]) : Buffer.alloc(0), toBcd(text)]);
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
  const serial = Buffer.alloc(2);
  serial.writeUInt16BE(r.serial & 0xffff);
  return Buffer.concat([
    serial,
    toBcd(msToBcdTime(r.sendTime)),
    Buffer.from([STATION_ADDRESS, STATION_ADDRESS]),
    Buffer.from(r.station, 'hex'),
    Buffer.from(r.category, 'latin1').subarray(0, 1),
    Buffer.from([OBSERVATION_TIME, OBSERVATION_TIME]),
    toBcd(msToBcdTime(r.obsTime, true)),
    ...r.elements.map(encodeElement),
  ]);
}

/** ASCII body of a report: space-separated fields, elements as "<code> <value>". */
export function reportBodyAscii(r: ReportInput): Buffer {
  const parts = [r.serial.toString(16).toUpperCase().padStart(4, '0'), msToBcdTime(r.sendTime), 'ST', r.station.toUpperCase(), r.category, 'TT', msToBcdTime(r.obsTime, true)];
  for (const e of r.elements) {
    const def = elementById(e.id);
    if (!def) throw new Error(`element ${hexId(e.id)} has no ASCII code`);
    const decimals = e.decimals ?? def.decimals;
    parts.push(def.ascii, e.value === null ? 'FFFF' : def.special === 'hex' ? e.value.toString(16).toUpperCase().padStart(8, '0') : e.value.toFixed(decimals));
  }
  return Buffer.from(parts.join(' '), 'latin1');
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

// Byte stream → SL 651 frames, HEX/BCD mode (7E 7E ...) and ASCII mode (SOH ...), told apart per frame.
// HEX:   7E7E | centre 1 | station 5 | password 2 | fn 1 | dir(4 bits)+len(12 bits) 2 | STX or SYN+3 | body | end 1 | CRC 2
// ASCII: SOH  | centre 2 | station 10 | password 4 | fn 2 | dir+len 4 | STX or SYN+6 | body | end 1 | CRC 4 (hex text)
// `len` counts the body including the packet count/sequence that follows SYN.
import { crc16Modbus } from './crc.js';

export const SOH = 0x01;
export const STX = 0x02;
export const ETX = 0x03;
export const EOT = 0x04;
export const ENQ = 0x05;
export const ACK = 0x06;
export const NAK = 0x15;
export const SYN = 0x16;
export const ETB = 0x17;
export const ESC = 0x1b;
const END_CHARS = new Set([ETX, ETB, ENQ, EOT, ACK, NAK, ESC]);

export type Sl651Mode = 'hex' | 'ascii';

export interface Sl651Frame {
  mode: Sl651Mode;
  centre: number;
  /** 10 hex digits, upper case. */
  station: string;
  /** 4 hex digits, upper case. */
  password: string;
  fn: number;
  /** true for station → centre (direction 0000), false for 1000. */
  up: boolean;
  start: number;
  /** Present after SYN: total packets and this packet's sequence (1-based). */
  packet?: { total: number; seq: number };
  /** Body bytes (without the SYN packet info). ASCII mode: the body text's bytes. */
  body: Buffer;
  end: number;
}

export type Sl651FrameErrorKind = 'garbage' | 'bad_header' | 'bad_length' | 'crc';

export type Sl651FramerEvent = { ok: true; frame: Sl651Frame } | { ok: false; kind: Sl651FrameErrorKind; detail: string };

const HEX_HEAD = 14; // through the start character
const ASCII_HEAD = 24;
/** The 12-bit length field caps a frame at ~4.1 KB; more than this held without a frame is garbage. */
const MAX_BUFFER = 64 * 1024;

/** What sits at one offset of the buffer. */
type Probe =
  | { status: 'need' }
  | { status: 'bad'; kind: Sl651FrameErrorKind; detail: string }
  | { status: 'frame'; total: number; crcProblem?: string };

export class Sl651Framer {
  private buf: Buffer = Buffer.alloc(0);
  private garbage = 0;

  push(chunk: Uint8Array): Sl651FramerEvent[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Sl651FramerEvent[] = [];
    for (;;) {
      const ev = this.next();
      if (!ev) break;
      out.push(ev);
    }
    if (this.buf.length > MAX_BUFFER) {
      out.push({ ok: false, kind: 'garbage', detail: `dropped ${this.buf.length} buffered bytes without a complete frame` });
      this.garbage += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
    return out;
  }

  get pending(): number {
    return this.buf.length;
  }

  /** Bytes thrown away as not part of any frame since the last good frame (line noise not counted). */
  get garbageBytes(): number {
    return this.garbage;
  }

  /** Forgets a partial frame (a datagram transport: frames never continue in the next datagram); counted as garbage. */
  discardPartial(): number {
    const n = this.buf.length;
    this.garbage += n;
    this.buf = Buffer.alloc(0);
    return n;
  }

  private next(): Sl651FramerEvent | undefined {
    const buf = this.buf;
    if (buf.length === 0) return undefined;
    const start = findStart(buf);
    if (start !== 0) {
      const cut = start === -1 ? (buf[buf.length - 1] === 0x7e ? buf.length - 1 : buf.length) : start;
      if (cut === 0) return undefined;
      const junk = buf.subarray(0, cut);
      this.buf = buf.subarray(cut);
      if (junk.every((b) => b === 0 || b === 0x0d || b === 0x0a || b === 0x20)) return this.next();
      this.garbage += junk.length;
      return { ok: false, kind: 'garbage', detail: `skipped ${junk.length} bytes before a frame start: ${hexPreview(junk)}` };
    }
    const p = probe(buf, 0);
    if (p.status === 'need') {
      // HEX mode has no terminator: a declared length that is too long would make us wait for bytes that
      // belong to the next frames. A complete, CRC-valid frame starting later in the buffer proves the length
      // wrong; without that proof, wait.
      const ahead = validFrameAhead(buf);
      return ahead === -1 ? undefined : this.resync(ahead, 'bad_length', `declared body length runs into a valid frame ${ahead} bytes after this frame's start`);
    }
    if (p.status === 'bad') return this.resync(findStart(buf, 1), p.kind, p.detail);
    // A CRC mismatch may just as well be a wrong length: search again right after this frame's start, so that
    // a good frame inside the declared length is not thrown away with it.
    if (p.crcProblem) return this.resync(findStart(buf, 1), 'crc', p.crcProblem);
    const raw = buf.subarray(0, p.total);
    this.buf = buf.subarray(p.total);
    this.garbage = 0;
    return buf[0] === SOH ? asciiFrame(raw) : hexFrame(raw);
  }

  /** Rejects the frame at the buffer start and continues at `next` (the next frame start, or -1: none yet). */
  private resync(next: number, kind: Sl651FrameErrorKind, detail: string): Sl651FramerEvent {
    const last = this.buf.length - 1;
    const cut = next !== -1 ? next : this.buf[last] === 0x7e ? last : this.buf.length;
    this.garbage += cut;
    this.buf = this.buf.subarray(cut);
    return { ok: false, kind, detail };
  }
}

function probe(buf: Buffer, at: number): Probe {
  return buf[at] === SOH ? probeAscii(buf, at) : probeHex(buf, at);
}

function probeHex(buf: Buffer, at: number): Probe {
  if (buf.length - at < HEX_HEAD) return { status: 'need' };
  const lenWord = buf.readUInt16BE(at + 11);
  const dir = lenWord >> 12;
  const len = lenWord & 0x0fff;
  if (dir !== 0 && dir !== 8) return { status: 'bad', kind: 'bad_header', detail: `direction bits ${dir.toString(2).padStart(4, '0')} are neither 0000 (up) nor 1000 (down)` };
  const startChar = buf[at + 13] as number;
  if (startChar !== STX && startChar !== SYN) return { status: 'bad', kind: 'bad_header', detail: `start character 0x${hex2(startChar)} is neither STX nor SYN` };
  if (startChar === SYN && len < 3) return { status: 'bad', kind: 'bad_length', detail: `SYN frame body length ${len} cannot hold the packet count` };
  const total = HEX_HEAD + len + 3;
  if (buf.length - at < total) return { status: 'need' };
  const end = buf[at + HEX_HEAD + len] as number;
  if (!END_CHARS.has(end)) {
    return { status: 'bad', kind: 'bad_length', detail: `declared body length ${len} ends on 0x${hex2(end)}, not an end character (ETX/ETB/...)` };
  }
  const want = crc16Modbus(buf, at, at + total - 2);
  const got = buf.readUInt16BE(at + total - 2);
  return want === got ? { status: 'frame', total } : { status: 'frame', total, crcProblem: `CRC ${hex4(got)} does not match computed ${hex4(want)}` };
}

function probeAscii(buf: Buffer, at: number): Probe {
  if (buf.length - at < ASCII_HEAD) return { status: 'need' };
  const head = buf.toString('latin1', at + 1, at + 23);
  if (!/^[0-9A-Fa-f]{22}$/.test(head)) return { status: 'bad', kind: 'bad_header', detail: `ASCII header "${printable(head)}" is not 22 hex digits` };
  const dir = parseInt(head.charAt(18), 16);
  const len = parseInt(head.slice(19, 22), 16);
  if (dir !== 0 && dir !== 8) return { status: 'bad', kind: 'bad_header', detail: `direction digit ${head.charAt(18)} is neither 0 (up) nor 8 (down)` };
  const startChar = buf[at + 23] as number;
  if (startChar !== STX && startChar !== SYN) return { status: 'bad', kind: 'bad_header', detail: `start character 0x${hex2(startChar)} is neither STX nor SYN` };
  if (startChar === SYN && len < 6) return { status: 'bad', kind: 'bad_length', detail: `SYN frame body length ${len} cannot hold the packet count` };
  const total = ASCII_HEAD + len + 1 + 4;
  if (buf.length - at < total) return { status: 'need' };
  const end = buf[at + ASCII_HEAD + len] as number;
  if (!END_CHARS.has(end)) {
    return { status: 'bad', kind: 'bad_length', detail: `declared body length ${len} ends on 0x${hex2(end)}, not an end character (ETX/ETB/...)` };
  }
  const crcText = buf.toString('latin1', at + total - 4, at + total);
  if (!/^[0-9A-Fa-f]{4}$/.test(crcText)) return { status: 'frame', total, crcProblem: `CRC field "${printable(crcText)}" is not 4 hex digits` };
  const want = crc16Modbus(buf, at, at + total - 4);
  const got = parseInt(crcText, 16);
  return want === got ? { status: 'frame', total } : { status: 'frame', total, crcProblem: `CRC ${hex4(got)} does not match computed ${hex4(want)}` };
}

/** Offset of the first later frame start that begins a complete, CRC-valid frame; -1 when there is none. */
function validFrameAhead(buf: Buffer): number {
  for (let j = findStart(buf, 1); j !== -1; j = findStart(buf, j + 1)) {
    const p = probe(buf, j);
    if (p.status === 'frame' && !p.crcProblem) return j;
  }
  return -1;
}

function hexFrame(raw: Buffer): Sl651FramerEvent {
  const lenWord = raw.readUInt16BE(11);
  const dir = lenWord >> 12;
  const len = lenWord & 0x0fff;
  const startChar = raw[13] as number;
  let body = raw.subarray(HEX_HEAD, HEX_HEAD + len);
  let packet: Sl651Frame['packet'];
  if (startChar === SYN) {
    const info = body.readUIntBE(0, 3);
    packet = { total: info >> 12, seq: info & 0xfff };
    body = body.subarray(3);
  }
  return {
    ok: true,
    frame: {
      mode: 'hex',
      // Downlink frames put the station address first, then the centre.
      centre: (dir === 0 ? raw[2] : raw[7]) as number,
      station: raw.subarray(dir === 0 ? 3 : 2, dir === 0 ? 8 : 7).toString('hex').toUpperCase(),
      password: raw.subarray(8, 10).toString('hex').toUpperCase(),
      fn: raw[10] as number,
      up: dir === 0,
      start: startChar,
      ...(packet ? { packet } : {}),
      body: Buffer.from(body),
      end: raw[HEX_HEAD + len] as number,
    },
  };
}

function asciiFrame(raw: Buffer): Sl651FramerEvent {
  const head = raw.toString('latin1', 1, 23);
  const dir = parseInt(head.charAt(18), 16);
  const len = parseInt(head.slice(19, 22), 16);
  const startChar = raw[23] as number;
  let body = raw.subarray(ASCII_HEAD, ASCII_HEAD + len);
  let packet: Sl651Frame['packet'];
  if (startChar === SYN) {
    const infoText = body.toString('latin1', 0, 6);
    if (!/^[0-9A-Fa-f]{6}$/.test(infoText)) return { ok: false, kind: 'bad_header', detail: `packet count "${printable(infoText)}" is not 6 hex digits` };
    const info = parseInt(infoText, 16);
    packet = { total: info >> 12, seq: info & 0xfff };
    body = body.subarray(6);
  }
  return {
    ok: true,
    frame: {
      mode: 'ascii',
      centre: parseInt(dir === 0 ? head.slice(0, 2) : head.slice(10, 12), 16),
      station: (dir === 0 ? head.slice(2, 12) : head.slice(0, 10)).toUpperCase(),
      password: head.slice(12, 16).toUpperCase(),
      fn: parseInt(head.slice(16, 18), 16),
      up: dir === 0,
      start: startChar,
      ...(packet ? { packet } : {}),
      body: Buffer.from(body),
      end: raw[ASCII_HEAD + len] as number,
    },
  };
}

/** Index of the first 7E7E, or SOH followed by hex-digit text (as far as received); -1 when none. */
function findStart(buf: Buffer, from = 0): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x7e && buf[i + 1] === 0x7e) return i;
    if (b === SOH && looksLikeAsciiHeader(buf, i)) return i;
  }
  return -1;
}

function looksLikeAsciiHeader(buf: Buffer, at: number): boolean {
  const end = Math.min(buf.length, at + 23);
  for (let j = at + 1; j < end; j++) {
    const c = buf[j] as number;
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    if (!hex) return false;
  }
  return true;
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
const hexPreview = (b: Uint8Array): string => Buffer.from(b.subarray(0, 24)).toString('hex').toUpperCase() + (b.length > 24 ? '…' : '');
const printable = (s: string): string => JSON.stringify(s).slice(1, -1);

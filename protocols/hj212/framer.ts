// Byte stream → HJ 212 frames: `##` + 4-digit length + data segment + 4 hex CRC + CRLF.
// Copes with partial frames, several frames per chunk and garbage between frames; a wrong length or
// CRC rejects that frame only and the framer resynchronises on the next `##` after the bad frame's start
// (a too-large length must not swallow the good frame that follows). Held bytes are bounded by one
// frame (at most 10,011 bytes: the length field has 4 digits).
import { hj212Crc } from './crc.js';

export const MAX_SEGMENT = 9999; // the length field has 4 decimal digits
const HEADER = 6; // "##" + 4 digits
const TRAILER = 6; // 4 hex CRC + "\r\n"

export type FrameErrorKind = 'garbage' | 'bad_length' | 'crc';

export type FramerEvent =
  | { ok: true; segment: string; raw: string }
  | { ok: false; kind: FrameErrorKind; detail: string };

/** Incremental framer for one connection. Strings are latin1 so one char = one byte. */
export class Hj212Framer {
  private buf = '';
  private garbage = 0;

  /** Feeds bytes; returns every complete frame (or frame error) they finish, in order. */
  push(chunk: Uint8Array | string): FramerEvent[] {
    this.buf += typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    const out: FramerEvent[] = [];
    for (;;) {
      const ev = this.next();
      if (!ev) break;
      out.push(ev);
    }
    return out;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Bytes thrown away as not part of any frame since the last good frame (line noise not counted). */
  get garbageBytes(): number {
    return this.garbage;
  }

  private next(): FramerEvent | undefined {
    const buf = this.buf;
    if (buf.length === 0) return undefined;
    const start = buf.indexOf('##');
    if (start !== 0) {
      // Keep a trailing '#' that may be the first half of the next "##".
      const cut = start > 0 ? start : buf.endsWith('#') ? buf.length - 1 : buf.length;
      if (cut === 0) return undefined;
      const junk = buf.slice(0, cut);
      this.buf = buf.slice(cut);
      // Line noise between frames (stray CR/LF, NULs) is common and harmless: not an error.
      if (/^[\r\n\0 ]*$/.test(junk)) return this.next();
      this.garbage += junk.length;
      return { ok: false, kind: 'garbage', detail: `skipped ${junk.length} bytes before "##": ${preview(junk)}` };
    }
    if (buf.length < HEADER) return undefined;
    const lenText = buf.slice(2, HEADER);
    if (!/^\d{4}$/.test(lenText)) {
      this.drop(2);
      return { ok: false, kind: 'bad_length', detail: `length field "${preview(lenText)}" is not 4 decimal digits` };
    }
    const len = Number(lenText);
    const total = HEADER + len + TRAILER;
    if (buf.length >= total && buf.charCodeAt(total - 2) === 13 && buf.charCodeAt(total - 1) === 10) {
      const segment = buf.slice(HEADER, HEADER + len);
      const crcText = buf.slice(HEADER + len, HEADER + len + 4);
      if (!/^[0-9A-Fa-f]{4}$/.test(crcText)) {
        return this.resync(total, { ok: false, kind: 'crc', detail: `CRC field "${preview(crcText)}" is not 4 hex digits` });
      }
      const want = hj212Crc(segment);
      const got = parseInt(crcText, 16);
      if (want !== got) {
        return this.resync(total, { ok: false, kind: 'crc', detail: `CRC ${crcText.toUpperCase()} does not match computed ${hex4(want)}` });
      }
      this.buf = buf.slice(total);
      this.garbage = 0;
      return { ok: true, segment, raw: buf.slice(0, total) };
    }
    // The declared end is not (yet) there. A CRLF earlier, or a CRLF/"##" where the frame should have
    // ended, means the length field is wrong: reject up to the next frame start.
    const crlf = buf.indexOf('\r\n', HEADER);
    if (crlf === -1) {
      if (buf.length >= total) return this.badLength(len, `no CRLF at byte ${total} where the frame should end`);
      return undefined; // wait for more
    }
    const actual = crlf - 4 - HEADER; // data segment length implied by the terminator
    return this.badLength(len, `frame ends after a ${Math.max(actual, 0)}-byte data segment`, crlf + 2);
  }

  private badLength(declared: number, why: string, end?: number): FramerEvent {
    // Skip to the next "##" inside what we were looking at (a truncated frame followed by a good one),
    // else past the terminator.
    const nextStart = this.buf.indexOf('##', 2);
    this.drop(nextStart !== -1 && (end === undefined || nextStart < end) ? nextStart : (end ?? 2));
    return { ok: false, kind: 'bad_length', detail: `declared data length ${declared} but ${why}` };
  }

  /**
   * A frame that ended on CRLF where its length said but failed its CRC: the length itself may be wrong and
   * the declared span may hold the start of the next good frame, so continue at the next "##" inside it.
   */
  private resync(total: number, ev: FramerEvent): FramerEvent {
    const nextStart = this.buf.indexOf('##', 2);
    this.drop(nextStart !== -1 && nextStart < total ? nextStart : total);
    return ev;
  }

  private drop(n: number): void {
    this.garbage += n;
    this.buf = this.buf.slice(n);
  }
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

function preview(s: string): string {
  const p = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(p).slice(1, -1);
}

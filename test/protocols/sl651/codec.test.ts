import { describe, expect, it } from 'vitest';
import { bcdDigits, bcdTimeToMs, msToBcdTime, toBcd } from '../../../protocols/sl651/bcd.js';
import { crc16Modbus } from '../../../protocols/sl651/crc.js';
import { definitionByte } from '../../../protocols/sl651/elements.js';
import { confirmation, encodeElement, encodeFrame, reportBodyAscii, reportBodyHex, seriesBody, serialTimeBody, timeRangeQuery, uplink } from '../../../protocols/sl651/encode.js';
import { ENQ, ESC, EOT, ETB, ETX, Sl651Framer, type Sl651FramerEvent } from '../../../protocols/sl651/framer.js';
import { FN, SUPPORTED_FNS, decodeValue, parseBody, parseTimeRangeQuery } from '../../../protocols/sl651/parse.js';
import { isTimeStep, stepAscii, stepDigits, stepFromAscii, stepFromDigits } from '../../../protocols/sl651/time-step.js';

describe('sl651 CRC', () => {
  it('is CRC-16/MODBUS arithmetic', () => {
    // The catalogue check value of CRC-16/MODBUS for "123456789" is 0x4B37.
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
  });
  it('is transmitted high byte first', () => {
    const f = uplink('hex', { centre: 1, station: '0012345678', password: '1234', fn: FN.KEEP_ALIVE }, serialTimeBody('hex', 3, Date.UTC(2024, 2, 15, 2, 36)));
    const crc = crc16Modbus(f, 0, f.length - 2);
    expect(f[f.length - 2]).toBe(crc >> 8);
    expect(f[f.length - 1]).toBe(crc & 0xff);
  });
});

describe('sl651 BCD and elements', () => {
  it('decodes BCD digits and rejects non-BCD nibbles', () => {
    expect(bcdDigits(Buffer.from([0x12, 0x34]))).toBe('1234');
    expect(bcdDigits(Buffer.from([0x1a]))).toBeUndefined();
    expect(toBcd('0931')).toEqual(Buffer.from([0x09, 0x31]));
  });
  it('reads times as China time', () => {
    expect(bcdTimeToMs('2403151030')).toBe(Date.parse('2024-03-15T02:30:00Z'));
    expect(bcdTimeToMs('240315103005')).toBe(Date.parse('2024-03-15T02:30:05Z'));
    expect(bcdTimeToMs('2402301030')).toBeUndefined();
    expect(msToBcdTime(Date.parse('2024-03-15T02:30:05Z'))).toBe('240315103005');
  });
  it('uses the definition byte: high 5 bits length, low 3 bits decimals', () => {
    expect(definitionByte(4, 3)).toBe(0x23);
    expect(definitionByte(3, 1)).toBe(0x19);
    expect(encodeElement({ id: 0x39, value: 12.345 })).toEqual(Buffer.from('392300012345', 'hex'));
    expect(encodeElement({ id: 0x39, value: -1.5 })).toEqual(Buffer.from('3923FF001500', 'hex'));
    expect(encodeElement({ id: 0x38, value: null })).toEqual(Buffer.from('3812FFFF', 'hex'));
    expect(decodeValue(0x39, Buffer.from('00012345', 'hex'), 3)).toBe(12.345);
    expect(decodeValue(0x39, Buffer.from('FF001500', 'hex'), 3)).toBe(-1.5);
    expect(decodeValue(0x39, Buffer.from('FFFFFFFF', 'hex'), 3)).toBeNull();
    expect(decodeValue(0x45, Buffer.from('00000102', 'hex'), 0)).toBe(0x102); // ZT status bits are HEX
    expect(decodeValue(0xf4, Buffer.alloc(12), 0)).toBeUndefined(); // 5-minute series are skipped
    expect(() => decodeValue(0x39, Buffer.from('0001AB45', 'hex'), 3)).toThrow('element 39 value 0001AB45 is not BCD');
  });
});

const at = Date.UTC(2024, 2, 15, 2, 30, 5);
const report = (serial: number) => ({
  serial,
  sendTime: at,
  station: '0012345678',
  category: 'H',
  obsTime: Date.UTC(2024, 2, 15, 2, 30),
  elements: [
    { id: 0x20, value: 0.5 },
    { id: 0x39, value: 12.345 },
    { id: 0x27, value: 123.456 },
    { id: 0x38, value: 12.45 },
  ],
});
const head = { centre: 1, station: '0012345678', password: '1234' };

describe('sl651 frames for every supported function code', () => {
  for (const mode of ['hex', 'ascii'] as const) {
    for (const fn of SUPPORTED_FNS) {
      it(`${mode} fn ${fn.toString(16).toUpperCase()} round-trips`, () => {
        const body = fn === FN.KEEP_ALIVE ? serialTimeBody(mode, 7, at) : mode === 'hex' ? reportBodyHex(report(7)) : reportBodyAscii(report(7));
        const evs = new Sl651Framer().push(uplink(mode, { ...head, fn }, body));
        expect(evs).toHaveLength(1);
        const ev = evs[0]!;
        if (!ev.ok) throw new Error(ev.detail);
        expect(ev.frame).toMatchObject({ mode, fn, up: true, centre: 1, station: '0012345678', password: '1234', end: ETX });
        const msg = parseBody(fn, ev.frame.body, mode);
        expect(msg.serial).toBe(7);
        expect(msg.sendTime).toBe(at);
        if (fn === FN.KEEP_ALIVE) return expect(msg.elements).toEqual([]);
        expect(msg.category).toBe('H');
        expect(msg.elements.map((e) => [e.id, e.value])).toEqual([['20', 0.5], ['39', 12.345], ['27', 123.456], ['38', 12.45]]);
        expect(msg.elements[0]!.ts).toBe(Date.parse('2024-03-15T02:30:00Z'));
      });
    }
  }

  it('builds the downlink confirmation: station first, direction 1000, ESC or EOT', () => {
    for (const end of [ESC, EOT]) {
      const c = confirmation({ mode: 'hex', ...head, fn: 0x32 }, 9, at, end);
      expect(c.subarray(0, 10).toString('hex').toUpperCase()).toBe('7E7E0012345678011234');
      expect(c[10]).toBe(0x32);
      expect(c.readUInt16BE(11)).toBe(0x8008);
      const ev = new Sl651Framer().push(c)[0];
      if (!ev?.ok) throw new Error('bad confirmation');
      expect(ev.frame).toMatchObject({ up: false, centre: 1, station: '0012345678', end });
      expect(ev.frame.body.toString('hex')).toBe('0009240315103005');
    }
  });
});

describe('sl651 framer', () => {
  const frames = [
    uplink('hex', { ...head, fn: 0x32 }, reportBodyHex(report(1))),
    uplink('ascii', { ...head, fn: 0x33 }, reportBodyAscii(report(2))),
    uplink('hex', { ...head, fn: FN.KEEP_ALIVE }, serialTimeBody('hex', 3, at)),
    encodeFrame({ mode: 'hex', ...head, fn: 0x31, up: true, body: reportBodyHex(report(4)).subarray(0, 10), packet: { total: 2, seq: 1 }, end: ETB }),
  ];
  const stream = Buffer.concat([frames[0]!, Buffer.from([0x00, 0xaa, 0x7e]), frames[1]!, frames[2]!, Buffer.from('\r\n'), frames[3]!]);
  const good = (evs: Sl651FramerEvent[]) => evs.flatMap((e) => (e.ok ? [`${e.frame.mode}:${e.frame.fn}:${e.frame.body.toString('hex')}`] : []));
  const expected = good(new Sl651Framer().push(stream));

  it('finds every frame and counts the garbage once', () => {
    expect(expected).toHaveLength(4);
    const evs = new Sl651Framer().push(stream);
    expect(evs.filter((e) => !e.ok).map((e) => !e.ok && e.kind)).toEqual(['garbage']);
  });

  it('gives the same frames when the stream is split at EVERY offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new Sl651Framer();
      const evs = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(good(evs), `cut at ${cut}`).toEqual(expected);
      expect(f.pending).toBe(0);
    }
  });

  it('gives the same frames fed one byte at a time', () => {
    const f = new Sl651Framer();
    const evs: Sl651FramerEvent[] = [];
    for (const b of stream) evs.push(...f.push(Buffer.from([b])));
    expect(good(evs)).toEqual(expected);
  });

  it('rejects a flipped body bit by CRC and keeps reading', () => {
    const bad = Buffer.from(frames[0]!);
    bad[20] = (bad[20] as number) ^ 0x01;
    const evs = new Sl651Framer().push(Buffer.concat([bad, frames[2]!]));
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['crc', 'ok']);
  });

  it('rejects an ASCII frame with a bad CRC text', () => {
    const bad = Buffer.from(frames[1]!);
    bad.write('ZZZZ', bad.length - 4, 'latin1');
    const evs = new Sl651Framer().push(Buffer.concat([bad, frames[1]!]));
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['crc', 'ok']);
    expect(evs[0]).toMatchObject({ detail: 'CRC field "ZZZZ" is not 4 hex digits' });
  });

  it('rejects a bad direction or start character and resynchronises', () => {
    const dir = Buffer.from(frames[2]!);
    dir[11] = 0x40;
    const stx = Buffer.from(frames[2]!);
    stx[13] = 0x09;
    const evs = new Sl651Framer().push(Buffer.concat([dir, stx, frames[0]!]));
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['bad_header', 'bad_header', 'ok']);
    expect(evs[0]).toMatchObject({ detail: 'direction bits 0100 are neither 0000 (up) nor 1000 (down)' });
    expect(evs[1]).toMatchObject({ detail: 'start character 0x09 is neither STX nor SYN' });
  });

  /** `f` with its length field `extra` too large, its CRC untouched: a corrupted header as received. */
  const oversized = (f: Buffer, extra: number): Buffer => {
    const b = Buffer.from(f);
    if (b[0] === 0x01) {
      const len = parseInt(b.toString('latin1', 20, 23), 16) + extra;
      b.write(len.toString(16).toUpperCase().padStart(3, '0'), 20, 'latin1');
    } else b.writeUInt16BE(b.readUInt16BE(11) + extra, 11);
    return b;
  };
  const centreEnq = { ...head, centre: 0x05 }; // the case: the next frame's centre address 0x05 reads as ENQ

  for (const mode of ['hex', 'ascii'] as const) {
    it(`${mode}: a length field 1 to 20 bytes too large never costs the good frame that follows`, () => {
      for (const nextHead of [head, centreEnq]) {
        const next = uplink(mode, { ...nextHead, fn: 0x32 }, mode === 'hex' ? reportBodyHex(report(7)) : reportBodyAscii(report(7)));
        const want = `${mode}:50:${new Sl651Framer().push(next).map((e) => (e.ok ? e.frame.body.toString('hex') : '')).join('')}`;
        for (let extra = 1; extra <= 20; extra++) {
          const bad = oversized(uplink(mode, { ...head, fn: FN.KEEP_ALIVE }, serialTimeBody(mode, 3, at)), extra);
          const stream = Buffer.concat([bad, next]);
          // All at once, and byte by byte with nothing after the good frame (it must not wait for more).
          const whole = new Sl651Framer().push(stream);
          const f = new Sl651Framer();
          const trickled: Sl651FramerEvent[] = [];
          for (const b of stream) trickled.push(...f.push(Buffer.from([b])));
          for (const evs of [whole, trickled]) {
            expect(good(evs), `${mode} +${extra} centre ${nextHead.centre}`).toEqual([want]);
            expect(evs.filter((e) => !e.ok).length, `${mode} +${extra}: one rejection for the bad frame`).toBe(1);
          }
          expect(f.pending).toBe(0);
        }
      }
    });
  }

  it('counts framing garbage until a good frame, and a UDP transport can discard a partial frame', () => {
    const f = new Sl651Framer();
    f.push(Buffer.from('junk junk'));
    expect(f.garbageBytes).toBe(9);
    f.push(frames[2]!.subarray(0, 10));
    expect(f.discardPartial()).toBe(10);
    expect(f.garbageBytes).toBe(19);
    f.push(frames[2]!);
    expect(f.garbageBytes).toBe(0);
    f.push(Buffer.from('\r\n\0'));
    expect(f.garbageBytes).toBe(0); // line noise is not garbage
  });

  it('reads the SYN packet count and sequence', () => {
    const ev = new Sl651Framer().push(frames[3]!)[0];
    if (!ev?.ok) throw new Error('bad');
    expect(ev.frame.packet).toEqual({ total: 2, seq: 1 });
    expect(ev.frame.end).toBe(ETB);
    expect(ev.frame.body).toHaveLength(10);
  });
});

describe('sl651 time-step code (Appendix C, tables C.2 / C.3)', () => {
  it('carries days, hours or minutes: one non-zero BCD byte of d h m, DRxnn in ASCII', () => {
    expect([5 * 60_000, 3_600_000, 2 * 3_600_000, 86_400_000].map(stepDigits)).toEqual(['000005', '000100', '000200', '010000']);
    expect([5 * 60_000, 3_600_000, 86_400_000].map(stepAscii)).toEqual(['DRN05', 'DRH01', 'DRD01']);
    expect(stepFromDigits('000005')).toBe(300_000);
    expect(stepFromDigits('000000')).toBe(0); // the DRP/DRZ pairing, not a step
    expect(stepFromDigits('000060')).toBeUndefined();
    expect(stepFromAscii('DRH01')).toBe(3_600_000);
    expect(stepFromAscii('DRH00')).toBe(0);
    expect(stepFromAscii('DRX01')).toBeUndefined();
    for (const ms of [90_000, 90 * 60_000, 25 * 3_600_000]) {
      expect(isTimeStep(ms)).toBe(false);
      expect(() => stepDigits(ms)).toThrow('not whole days 1-31, hours 1-23 or minutes 1-59');
    }
  });
});

describe('sl651 time-range query (38H) and its answer', () => {
  const sendTime = Date.parse('2024-03-15T03:10:05Z'); // 11:10:05 China time
  const start = Date.parse('2024-03-15T02:00:00Z'); // 10:00 China time
  const query = { serial: 0, sendTime, start, end: start + 3_600_000, stepMs: 300_000 };

  it('HEX: serial, send time, start and end hour, 04 18 + d h m, the element identifier (guide + definition byte); down, ENQ', () => {
    const f = timeRangeQuery({ mode: 'hex', ...head }, { ...query, elements: [0x39] });
    // Table 44: 0000 · 240315111005 · 24031510 · 24031511 · 04 18 000005 · 39 23 (Z, N(7,3): 4 bytes, 3 decimals).
    const body = '0000' + '240315111005' + '24031510' + '24031511' + '0418000005' + '3923';
    expect(f.subarray(0, f.length - 2).toString('hex').toUpperCase()).toBe(`7E7E0012345678011234388017${'02'}${body}05`);
    const ev = new Sl651Framer().push(f)[0];
    if (!ev?.ok) throw new Error('query frame invalid');
    expect(ev.frame).toMatchObject({ up: false, fn: FN.TIME_RANGE, end: ENQ, station: '0012345678', centre: 1 });
    expect(parseTimeRangeQuery(ev.frame.body, 'hex')).toEqual({ ...query, elements: [{ id: 0x39, definition: 0x23 }] });
    expect(() => timeRangeQuery({ mode: 'hex', ...head }, { ...query, elements: [0x39, 0x20] })).toThrow('exactly one element');
    expect(() => timeRangeQuery({ mode: 'hex', ...head }, { ...query, start: start + 60_000, elements: [0x39] })).toThrow('not a whole hour');
  });

  it('ASCII: the same fields as text, several elements with one step', () => {
    const f = timeRangeQuery({ mode: 'ascii', ...head }, { ...query, elements: [0x39, 0x20] });
    const ev = new Sl651Framer().push(f)[0];
    if (!ev?.ok) throw new Error('query frame invalid');
    expect(ev.frame).toMatchObject({ mode: 'ascii', up: false, fn: FN.TIME_RANGE, end: ENQ });
    expect(ev.frame.body.toString('latin1')).toBe('0000 240315111005 24031510 24031511 DRN05 Z PJ');
    expect(parseTimeRangeQuery(ev.frame.body, 'ascii')).toEqual({ ...query, elements: [{ id: 0x39 }, { id: 0x20 }] });
  });

  it('HEX answer: one sample per step at start + i × step; all-F steps (no data) give none', () => {
    // Table 45, written out by hand: serial, send time, F1F1 station H, F0F0 10:00, 04 18 5 minutes, 39 23, 4 values.
    const body = Buffer.from('0005240315111009' + 'F1F1001234567848' + 'F0F02403151000' + '0418000005' + '3923' + '00012345' + 'FFFFFFFF' + '00012350' + 'FF001500', 'hex');
    const ev = new Sl651Framer().push(encodeFrame({ mode: 'hex', ...head, fn: FN.TIME_RANGE, up: true, body, end: ETX }))[0];
    if (!ev?.ok) throw new Error('answer frame invalid');
    const msg = parseBody(FN.TIME_RANGE, ev.frame.body, 'hex');
    expect(msg.stepMs).toBe(300_000);
    expect(msg.elements).toEqual([
      { id: '39', value: 12.345, ts: start },
      { id: '39', value: 12.35, ts: start + 600_000 },
      { id: '39', value: -1.5, ts: start + 900_000 },
    ]);
    // The encoder used by the simulator writes the same bytes.
    const built = seriesBody('hex', { serial: 5, sendTime: Date.parse('2024-03-15T03:10:09Z'), station: '0012345678', category: 'H', obsTime: start, stepMs: 300_000, elements: [{ id: 0x39, values: [12.345, null, 12.35, -1.5] }] });
    expect(built).toEqual(body);
  });

  it('ASCII answer: element codes, then values grouped by time; M is no data', () => {
    const text = '0005 240315111009 ST 0012345678 H TT 2403151000 DRN05 Z PJ 12.345 0.5 M 1.0 12.350 M';
    const msg = parseBody(FN.TIME_RANGE, Buffer.from(text, 'latin1'), 'ascii');
    expect(msg.stepMs).toBe(300_000);
    expect(msg.elements).toEqual([
      { id: '39', value: 12.345, ts: start },
      { id: '20', value: 0.5, ts: start },
      { id: '20', value: 1, ts: start + 300_000 },
      { id: '39', value: 12.35, ts: start + 600_000 },
    ]);
    const built = seriesBody('ascii', { serial: 5, sendTime: Date.parse('2024-03-15T03:10:09Z'), station: '0012345678', category: 'H', obsTime: start, stepMs: 300_000, elements: [{ id: 0x39, values: [12.345, null, 12.35] }, { id: 0x20, values: [0.5, 1, null] }] });
    expect(built.toString('latin1')).toBe(text);
  });

  it('an equal-interval report (31H) with a time-step code is read the same way', () => {
    const series = seriesBody('hex', { serial: 7, sendTime: at, station: '0012345678', category: 'P', obsTime: start, stepMs: 3_600_000, elements: [{ id: 0x1a, values: [0.5, 1.9, 0] }] });
    const msg = parseBody(FN.EQUAL_INTERVAL, series, 'hex');
    expect(msg.elements).toEqual([
      { id: '1A', value: 0.5, ts: start },
      { id: '1A', value: 1.9, ts: start + 3_600_000 },
      { id: '1A', value: 0, ts: start + 7_200_000 },
    ]);
  });

  it('reads a public 38H sample frame (5-minute step, F4 series skipped) without error', () => {
    // From the client samples of yu-xiaoyao/sl651-2014-server (Sl651ClientApplication, function 38H).
    const ev = new Sl651Framer().push(Buffer.from('7E7E05001122334403E838002A020035170718110128F1F1001122334448F0F017071810050418000005F4600500000014FFFFFFFFFF000003E8AB', 'hex'))[0];
    if (!ev?.ok) throw new Error('sample frame rejected');
    const msg = parseBody(FN.TIME_RANGE, ev.frame.body, 'hex');
    expect(msg).toMatchObject({ serial: 0x35, bodyStation: '0011223344', stepMs: 300_000, elements: [] });
  });

  it('rejects series that do not add up', () => {
    const bad = (hex: string) => () => parseBody(FN.TIME_RANGE, Buffer.from(hex, 'hex'), 'hex');
    expect(bad('0005240315111009F1F1001234567848F0F02403151000041800000539230001234500')).toThrow('5 data bytes are not whole values of 4 bytes');
    expect(bad('0005240315111009F1F10012345678480418000005392300012345')).toThrow('without an F0F0 observation time');
    expect(bad('0005240315111009F1F1001234567848F0F024031510000418000075392300012345')).toThrow('not days, hours or minutes');
    expect(() => parseBody(FN.TIME_RANGE, Buffer.from('0005 240315111009 ST 0012345678 H TT 2403151000 DRN05 Z PJ 1.0', 'latin1'), 'ascii')).toThrow('1 values are not whole groups of 2 elements');
  });
});

import { describe, expect, it } from 'vitest';
import { hj212Crc, hj212CrcHex } from '../../../protocols/hj212/crc.js';
import { dataAnswer, dataCp, flag2017, frame, qnFor, requestAnswer, segment } from '../../../protocols/hj212/encode.js';
import { Hj212Framer, type FramerEvent } from '../../../protocols/hj212/framer.js';
import { Hj212ParseError, KNOWN_CNS, parseSegment, toUtcMs, wantsAnswer } from '../../../protocols/hj212/parse.js';
import { flagQuality, mapPacket } from '../../../protocols/hj212/map.js';

const EXAMPLE_SEGMENT = 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&';
const EXAMPLE_FRAME = `##0101${EXAMPLE_SEGMENT}1C80\r\n`;

describe('hj212 CRC (Annex A)', () => {
  it('gives 1C80 for the standard example', () => {
    expect(hj212Crc(EXAMPLE_SEGMENT)).toBe(0x1c80);
    expect(hj212CrcHex(Buffer.from(EXAMPLE_SEGMENT, 'latin1'))).toBe('1C80');
  });
  it('is not CRC-16/MODBUS', () => {
    // MODBUS XORs the byte into the low byte; Annex A shifts first. Both differ on the same input.
    let modbus = 0xffff;
    for (const b of Buffer.from(EXAMPLE_SEGMENT)) {
      modbus ^= b;
      for (let i = 0; i < 8; i++) modbus = modbus & 1 ? (modbus >>> 1) ^ 0xa001 : modbus >>> 1;
    }
    expect(modbus).not.toBe(0x1c80);
  });
});

describe('hj212 framer', () => {
  it('decodes the standard example frame exactly', () => {
    const ev = new Hj212Framer().push(EXAMPLE_FRAME);
    expect(ev).toEqual([{ ok: true, segment: EXAMPLE_SEGMENT, raw: EXAMPLE_FRAME }]);
    const p = parseSegment(EXAMPLE_SEGMENT);
    expect(p).toMatchObject({ qn: '20160801085857223', st: '32', cn: '1062', pw: '100000', mn: '010000A8900016F000169DC0', flag: 5 });
    expect(p.params.get('RtdInterval')).toBe('30');
    expect(wantsAnswer(p)).toBe(true);
  });

  it('accepts a lower-case CRC', () => {
    const ev = new Hj212Framer().push(EXAMPLE_FRAME.replace('1C80', '1c80'));
    expect(ev[0]?.ok).toBe(true);
  });

  const now = Date.UTC(2024, 2, 15, 2, 30, 0);
  const frames = [
    frame(segment({ qn: qnFor(now), st: '21', cn: '2011', pw: '123456', mn: 'A1', flag: 5, cp: dataCp(now, { w01018: { Rtd: 16.2, Flag: 'N' } }) })),
    EXAMPLE_FRAME,
    frame(segment({ qn: qnFor(now), st: '22', cn: '2051', pw: '123456', mn: 'B2', flag: 5, cp: dataCp(now, { a34004: { Avg: 0.03, Min: 0.02, Max: 0.04, Flag: 'N' } }) })),
  ];
  const stream = `${frames[0]}\r\n${frames[1]}garbage!${frames[2]}`;
  const goodSegments = (evs: FramerEvent[]) => evs.flatMap((e) => (e.ok ? [e.segment] : []));
  const expected = goodSegments(new Hj212Framer().push(stream));

  it('finds every frame of a stream with noise and garbage', () => {
    expect(expected).toHaveLength(3);
    const evs = new Hj212Framer().push(stream);
    expect(evs.filter((e) => !e.ok).map((e) => !e.ok && e.kind)).toEqual(['garbage']);
  });

  it('gives the same frames when the stream is split at EVERY offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new Hj212Framer();
      const evs = [...f.push(stream.slice(0, cut)), ...f.push(stream.slice(cut))];
      expect(goodSegments(evs), `cut at ${cut}`).toEqual(expected);
      expect(f.pending).toBe(0);
    }
  });

  it('gives the same frames fed one byte at a time', () => {
    const f = new Hj212Framer();
    const evs = [...stream].flatMap((ch) => f.push(ch));
    expect(goodSegments(evs)).toEqual(expected);
  });

  it('rejects a corrupted CRC and reads the next frame', () => {
    const bad = EXAMPLE_FRAME.replace('1C80', '1C8F');
    const evs = new Hj212Framer().push(bad + EXAMPLE_FRAME);
    expect(evs[0]).toEqual({ ok: false, kind: 'crc', detail: 'CRC 1C8F does not match computed 1C80' });
    expect(evs[1]?.ok).toBe(true);
  });

  it('rejects a corrupted payload byte (CRC catches it)', () => {
    const evs = new Hj212Framer().push(EXAMPLE_FRAME.replace('RtdInterval=30', 'RtdInterval=31'));
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ ok: false, kind: 'crc' });
  });

  it('rejects a too-long declared length without swallowing the next frame', () => {
    const bad = EXAMPLE_FRAME.replace('##0101', '##0150');
    const evs = new Hj212Framer().push(bad + EXAMPLE_FRAME);
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['bad_length', 'ok']);
    expect(evs[0]).toMatchObject({ detail: 'declared data length 150 but frame ends after a 101-byte data segment' });
  });

  it('rejects a too-short declared length and a non-numeric length', () => {
    const evs = new Hj212Framer().push(EXAMPLE_FRAME.replace('##0101', '##0090') + EXAMPLE_FRAME.replace('##0101', '##01x1') + EXAMPLE_FRAME);
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['bad_length', 'bad_length', 'garbage', 'ok']);
  });

  it('a length field 1 to 20 bytes too large never costs the good frame that follows (with or without its CRLF)', () => {
    const good = frames[0]!;
    for (let extra = 1; extra <= 20; extra++) {
      const bad = EXAMPLE_FRAME.replace('##0101', `##${String(101 + extra).padStart(4, '0')}`);
      for (const stream of [bad + good, bad.slice(0, -2) + good, bad.slice(0, -6) + good]) {
        const f = new Hj212Framer();
        const trickled = [...stream].flatMap((ch) => f.push(ch));
        for (const evs of [new Hj212Framer().push(stream), trickled]) {
          expect(goodSegments(evs), `+${extra}: ${JSON.stringify(stream.slice(0, 12))}`).toEqual([good.slice(6, -6)]);
          expect(evs.filter((e) => !e.ok)).toHaveLength(1);
        }
        expect(f.pending).toBe(0);
      }
    }
  });

  it('a CRC failure resynchronises inside the bad frame, and garbage is counted until a good frame', () => {
    // A wrong length that still ends on CRLF: the declared span swallows the start of the next frame.
    const short = frames[0]!;
    const merged = `##${String(EXAMPLE_SEGMENT.length + 4 + 6 + short.length - 6 - 4).padStart(4, '0')}${EXAMPLE_SEGMENT}1C80\r\n${short}`;
    const f = new Hj212Framer();
    const evs = f.push(merged);
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['crc', 'ok']);
    expect(f.garbageBytes).toBe(0);
    f.push('noise without a frame');
    expect(f.garbageBytes).toBe(21);
  });

  it('rejects a truncated frame followed by a complete one', () => {
    const evs = new Hj212Framer().push(EXAMPLE_FRAME.slice(0, 50) + EXAMPLE_FRAME);
    expect(evs.map((e) => (e.ok ? 'ok' : e.kind))).toEqual(['bad_length', 'ok']);
  });
});

describe('hj212 parse', () => {
  const at = Date.UTC(2024, 2, 15, 2, 30, 0);
  const cases: [string, string][] = [
    ['2011', dataCp(at, { w01018: { Rtd: 1.5, Flag: 'N' } })],
    ['2051', dataCp(at, { w01018: { Avg: 1.5, Min: 1, Max: 2, Flag: 'N' } })],
    ['2061', dataCp(at, { w01018: { Avg: 1.5, Min: 1, Max: 2, Flag: 'N' } })],
    ['2031', dataCp(at, { w01018: { Avg: 1.5, Min: 1, Max: 2, Cou: 36, Flag: 'N' } })],
    ['2021', dataCp(at, { w01018: { 'SB1-RS': 1 } })],
    ['2041', dataCp(at, { w01018: { RT: 24 } })],
    ['2081', 'DataTime=20240315103000;RestartTime=20240315090000'],
    ['1011', 'SystemTime=20240315103000'],
    ['1013', ''],
    ['1061', 'RtdInterval=30'],
    ['1062', 'RtdInterval=30'],
    ['9011', 'QnRtn=1'],
    ['9012', 'ExeRtn=1'],
    ['9013', ''],
    ['9014', ''],
  ];
  it('covers every supported CN', () => expect(new Set(cases.map((c) => c[0]))).toEqual(KNOWN_CNS));
  for (const [cn, cp] of cases) {
    it(`round-trips CN ${cn}`, () => {
      const seg = segment({ qn: qnFor(at), st: '21', cn, pw: '123456', mn: 'STATION1', flag: flag2017(true), cp });
      const evs = new Hj212Framer().push(frame(seg));
      expect(evs).toHaveLength(1);
      const e = evs[0]!;
      if (!e.ok) throw new Error(e.detail);
      const p = parseSegment(e.segment);
      expect(p).toMatchObject({ cn, st: '21', mn: 'STATION1', pw: '123456', flag: 5, qn: '20240315103000000' });
    });
  }

  it('reads split-packet fields and the Flag bits', () => {
    const p = parseSegment(segment({ qn: '20240315103000000', st: '21', cn: '2011', pw: 'x', mn: 'M', flag: flag2017(true, true), pnum: 2, pno: 1, cp: 'DataTime=20240315103000;w01018-Rtd=1' }));
    expect(p).toMatchObject({ flag: 7, pnum: 2, pno: 1 });
  });

  const err = (seg: string): Hj212ParseError => {
    try {
      parseSegment(seg);
    } catch (e) {
      return e as Hj212ParseError;
    }
    throw new Error('expected a parse error');
  };
  it('rejects with precise reasons', () => {
    expect(err('QN=20240315103000000;ST=21;CN=2011;PW=1;MN=M;Flag=5')).toMatchObject({ kind: 'malformed', message: 'no "CP=&&" in data segment' });
    expect(err('ST=21;CN=2011;PW=1;Flag=5;CP=&&&&')).toMatchObject({ kind: 'malformed', message: 'missing MN' });
    expect(err('ST=21;CN=2011;PW=1;MN=M;CP=&&DataTime=20240315103000;w01018-Rtd=1')).toMatchObject({ kind: 'malformed_cp', message: 'CP does not end with "&&"' });
    expect(err('ST=21;CN=2011;PW=1;MN=M;CP=&&DataTime=20240230103000&&')).toMatchObject({ kind: 'malformed_cp', mn: 'M' });
    expect(err('ST=21;CN=2011;PW=1;MN=M;CP=&&w01018-Rtd&&').message).toBe('CP item "w01018-Rtd" has no key=value');
    expect(err('ST=21;CN=2011;PW=1;MN=M;Flag=x;CP=&&&&').message).toBe('Flag "x" is not a byte');
    expect(err('ST=21;CN=7777;PW=1;MN=M;CP=&&&&')).toMatchObject({ kind: 'unknown_cn', mn: 'M' });
  });

  it('reads DataTime as China time (UTC+8)', () => {
    expect(toUtcMs('20240315103000')).toBe(Date.parse('2024-03-15T02:30:00Z'));
    expect(toUtcMs('20240101000000')).toBe(Date.parse('2023-12-31T16:00:00Z'));
  });
});

describe('hj212 map', () => {
  it('maps flags to quality', () => {
    expect(flagQuality('N')).toEqual({ quality: 'good' });
    expect(flagQuality(undefined)).toEqual({ quality: 'good' });
    for (const f of ['T', 'S']) expect(flagQuality(f).quality).toBe('uncertain');
    for (const f of ['F', 'M', 'D', 'C', 'B']) expect(flagQuality(f).quality).toBe('bad');
    expect(flagQuality('F').reason).toBe('hj212 flag F (stopped)');
    expect(flagQuality('Z')).toEqual({ quality: 'uncertain', reason: 'hj212 flag Z (unknown)' });
  });

  it('uses the first part DataTime for later parts of a split packet', () => {
    const p = parseSegment('QN=20240315103000000;ST=21;CN=2011;PW=1;MN=M;Flag=7;PNUM=2;PNO=2;CP=&&w01018-Rtd=2.5&&');
    const s = mapPacket(p, 'd', new Map([['w01018', ['cod']]]), '20240315103000');
    expect(s).toEqual([{ deviceId: 'd', point: 'cod', value: 2.5, ts: Date.parse('2024-03-15T02:30:00Z'), quality: 'good' }]);
  });

  it('builds answers with the request QN', () => {
    const a = new Hj212Framer().push(dataAnswer({ qn: '20240315103000123', pw: 'p', mn: 'M' }))[0];
    if (!a?.ok) throw new Error('bad answer');
    expect(a.segment).toBe('QN=20240315103000123;ST=91;CN=9014;PW=p;MN=M;Flag=4;CP=&&&&');
    const r = new Hj212Framer().push(requestAnswer({ qn: '20240315103000123', pw: 'p', mn: 'M' }))[0];
    if (!r?.ok) throw new Error('bad answer');
    expect(r.segment).toBe('QN=20240315103000123;ST=91;CN=9011;PW=p;MN=M;Flag=4;CP=&&QnRtn=1&&');
  });
});

describe('hj212 CRC table form', () => {
  it('equals the Annex A bit loop on many inputs', () => {
    const bitLoop = (s: string): number => {
      let crc = 0xffff;
      for (const ch of Buffer.from(s, 'latin1')) {
        crc = (crc >> 8) ^ ch;
        for (let i = 0; i < 8; i++) {
          const lsb = crc & 1;
          crc >>= 1;
          if (lsb) crc ^= 0xa001;
        }
      }
      return crc;
    };
    for (let n = 0; n < 300; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 37 + n * 11) % 95))).join('');
      expect(hj212Crc(s), s).toBe(bitLoop(s));
    }
  });
});

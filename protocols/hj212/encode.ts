// Building HJ 212 frames: answers sent by the edge and uploads sent by the test/demo station simulator.
import { hj212CrcHex } from './crc.js';
import { CN, fromUtcMs, type Hj212Header, type Hj212Packet } from './parse.js';

/** Wraps a data segment into a frame: ## + length + segment + CRC + CRLF. */
export function frame(segment: string): string {
  const len = Buffer.byteLength(segment, 'latin1');
  if (len > 9999) throw new Error(`HJ 212 data segment of ${len} bytes exceeds 9999`);
  return `##${String(len).padStart(4, '0')}${segment}${hj212CrcHex(segment)}\r\n`;
}

export interface SegmentFields extends Hj212Header {
  /** CP body without the surrounding && (already joined). */
  cp: string;
}

export function segment(f: SegmentFields): string {
  const parts: string[] = [];
  if (f.qn !== undefined) parts.push(`QN=${f.qn}`);
  parts.push(`ST=${f.st}`, `CN=${f.cn}`, `PW=${f.pw}`, `MN=${f.mn}`);
  if (f.flag !== undefined) parts.push(`Flag=${f.flag}`);
  if (f.pnum !== undefined) parts.push(`PNUM=${f.pnum}`, `PNO=${f.pno ?? 1}`);
  return `${parts.join(';')};CP=&&${f.cp}&&`;
}

/** Flag of a 2017 packet: version 000001 in bits 2..7, bit0 = answer wanted, bit1 = split packet. */
export const flag2017 = (answer: boolean, split = false): number => 4 | (answer ? 1 : 0) | (split ? 2 : 0);

/** 9014 data answer to an upload (same QN). */
export function dataAnswer(p: Pick<Hj212Packet, 'qn' | 'pw' | 'mn'>): string {
  return frame(segment({ qn: p.qn, st: '91', cn: CN.DATA_ANSWER, pw: p.pw, mn: p.mn, flag: flag2017(false), cp: '' }));
}

/** 9011 request answer (QnRtn=1: ready to execute) to a request (same QN). */
export function requestAnswer(p: Pick<Hj212Packet, 'qn' | 'pw' | 'mn'>, qnRtn = 1): string {
  return frame(segment({ qn: p.qn, st: '91', cn: CN.REQUEST_ANSWER, pw: p.pw, mn: p.mn, flag: flag2017(false), cp: `QnRtn=${qnRtn}` }));
}

export interface FactorValues {
  /** Field → value, e.g. { Rtd: 12.3, Flag: 'N' } or { Avg: 1, Min: 0.5, Max: 2, Flag: 'N' }. */
  [field: string]: number | string;
}

/** CP body of a data upload: DataTime then one group per factor. */
export function dataCp(dataTimeMs: number, factors: Record<string, FactorValues>): string {
  const groups = [`DataTime=${fromUtcMs(dataTimeMs)}`];
  for (const [code, fields] of Object.entries(factors)) {
    groups.push(Object.entries(fields).map(([k, v]) => `${code}-${k}=${v}`).join(','));
  }
  return groups.join(';');
}

/** QN for `ms` (YYYYMMDDhhmmssSSS, China time). */
export const qnFor = (ms: number): string => fromUtcMs(ms, true);

/**
 * A history request from the platform (上位机) to a station: the data CN itself (2051 minute, 2061 hourly, 2031
 * daily data) with BeginTime / EndTime, answer wanted. The station answers 9011, sends the data packets, then 9012.
 */
export function historyRequest(o: { qn: string; st: string; cn: string; pw: string; mn: string; begin: number; end: number }): string {
  return frame(segment({ qn: o.qn, st: o.st, cn: o.cn, pw: o.pw, mn: o.mn, flag: flag2017(true), cp: `BeginTime=${fromUtcMs(o.begin)};EndTime=${fromUtcMs(o.end)}` }));
}

/** 9012 execution result (ExeRtn=1: success) a station sends after answering a request (same QN). */
export function executionResult(p: Pick<Hj212Packet, 'qn' | 'st' | 'pw' | 'mn'>, exeRtn = 1): string {
  return frame(segment({ qn: p.qn, st: p.st, cn: CN.EXECUTION_RESULT, pw: p.pw, mn: p.mn, flag: flag2017(false), cp: `ExeRtn=${exeRtn}` }));
}

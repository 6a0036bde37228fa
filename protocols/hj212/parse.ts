// HJ 212 data segment → packet: QN/ST/CN/PW/MN/Flag/PNUM/PNO and the CP (command parameters).
// Inside CP: ';' separates groups (one factor each), ',' separates items, '=' splits key and value.

export const CN = {
  REALTIME: '2011',
  MINUTE: '2051',
  HOURLY: '2061',
  DAILY: '2031',
  STATUS: '2021',
  RUNTIME_DAILY: '2041',
  RESTART_TIME: '2081',
  TIME_UPLOAD: '1011',
  TIME_CALIBRATION_REQUEST: '1013',
  INTERVAL_UPLOAD: '1061',
  SET_INTERVAL: '1062',
  REQUEST_ANSWER: '9011',
  EXECUTION_RESULT: '9012',
  NOTIFICATION_ANSWER: '9013',
  DATA_ANSWER: '9014',
} as const;

/** Data uploads: answered with 9014 when Flag asks for an answer. */
export const UPLOAD_CNS: ReadonlySet<string> = new Set([CN.REALTIME, CN.MINUTE, CN.HOURLY, CN.DAILY, CN.STATUS, CN.RUNTIME_DAILY, CN.RESTART_TIME, CN.TIME_UPLOAD, CN.INTERVAL_UPLOAD]);
/** Requests a station may send up (answered with 9011). */
export const REQUEST_CNS: ReadonlySet<string> = new Set([CN.TIME_CALIBRATION_REQUEST, CN.SET_INTERVAL]);
/** Answers to our commands: accepted, never answered. */
export const ANSWER_CNS: ReadonlySet<string> = new Set([CN.REQUEST_ANSWER, CN.EXECUTION_RESULT, CN.NOTIFICATION_ANSWER, CN.DATA_ANSWER]);
export const KNOWN_CNS: ReadonlySet<string> = new Set([...UPLOAD_CNS, ...REQUEST_CNS, ...ANSWER_CNS]);

/** Per-factor fields whose values must be numbers. */
const NUMERIC_FIELDS = new Set(['Rtd', 'Min', 'Avg', 'Max', 'Cou', 'ZsRtd', 'ZsMin', 'ZsAvg', 'ZsMax']);

/** The header fields of a data segment (QN ST CN PW MN Flag PNUM PNO), shared by parsing and encoding. */
export interface Hj212Header {
  qn?: string;
  st: string;
  cn: string;
  pw: string;
  mn: string;
  /** Flag byte; undefined for pre-2017 packets that omit it. */
  flag?: number;
  pnum?: number;
  pno?: number;
}

export interface Hj212Packet extends Hj212Header {
  /** CP DataTime (YYYYMMDDhhmmss, China time) when present. */
  dataTime?: string;
  /** factor code → field (Rtd, Avg, Flag, ...) → text value. */
  factors: Map<string, Map<string, string>>;
  /** CP keys without a factor prefix (RtdInterval, SystemTime, QnRtn, ...). */
  params: Map<string, string>;
}

export type ParseErrorKind = 'malformed' | 'malformed_cp' | 'unknown_cn';

export class Hj212ParseError extends Error {
  constructor(
    readonly kind: ParseErrorKind,
    detail: string,
    /** MN when it could be read, so the error can be attributed to a device. */
    readonly mn?: string,
  ) {
    super(detail);
  }
}

const REQUIRED = ['ST', 'CN', 'PW', 'MN'] as const;

/** Parses one data segment; throws Hj212ParseError with a precise reason. */
export function parseSegment(segment: string): Hj212Packet {
  const cpAt = segment.indexOf('CP=&&');
  if (cpAt === -1) throw new Hj212ParseError('malformed', 'no "CP=&&" in data segment', headerField(segment, 'MN'));
  const head: Record<string, string> = {};
  for (const part of segment.slice(0, cpAt).split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Hj212ParseError('malformed', `header field "${clip(part)}" has no key=value`, headerField(segment, 'MN'));
    head[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const mn = head.MN;
  for (const k of REQUIRED) {
    if (head[k] === undefined || head[k] === '') throw new Hj212ParseError('malformed', `missing ${k}`, mn);
  }
  const cn = head.CN as string;
  if (!KNOWN_CNS.has(cn)) throw new Hj212ParseError('unknown_cn', `unknown CN ${clip(cn)}`, mn);
  let flag: number | undefined;
  if (head.Flag !== undefined) {
    if (!/^\d{1,3}$/.test(head.Flag) || Number(head.Flag) > 255) throw new Hj212ParseError('malformed', `Flag "${clip(head.Flag)}" is not a byte`, mn);
    flag = Number(head.Flag);
  }
  if (head.QN !== undefined && !/^\d{17}$/.test(head.QN)) {
    throw new Hj212ParseError('malformed', `QN "${clip(head.QN)}" is not YYYYMMDDhhmmssSSS`, mn);
  }
  const packet: Hj212Packet = {
    qn: head.QN,
    st: head.ST as string,
    cn,
    pw: head.PW as string,
    mn: mn as string,
    flag,
    factors: new Map(),
    params: new Map(),
  };
  if (head.PNUM !== undefined || head.PNO !== undefined) {
    const pnum = Number(head.PNUM);
    const pno = Number(head.PNO);
    if (!Number.isInteger(pnum) || !Number.isInteger(pno) || pnum < 1 || pno < 1 || pno > pnum) {
      throw new Hj212ParseError('malformed', `PNUM/PNO "${clip(head.PNUM ?? '')}"/"${clip(head.PNO ?? '')}" invalid`, mn);
    }
    packet.pnum = pnum;
    packet.pno = pno;
  }
  parseCp(segment.slice(cpAt + 3), packet);
  return packet;
}

function parseCp(cpText: string, packet: Hj212Packet): void {
  const mn = packet.mn;
  if (cpText.length < 4 || !cpText.endsWith('&&')) throw new Hj212ParseError('malformed_cp', 'CP does not end with "&&"', mn);
  const body = cpText.slice(2, -2);
  if (body.includes('&&')) throw new Hj212ParseError('malformed_cp', 'CP contains "&&" inside its body', mn);
  if (body === '') return;
  for (const group of body.split(';')) {
    if (group === '') continue;
    for (const item of group.split(',')) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      if (eq <= 0) throw new Hj212ParseError('malformed_cp', `CP item "${clip(item)}" has no key=value`, mn);
      const key = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (key === 'DataTime') {
        if (!/^\d{14}$/.test(value) || toUtcMs(value) === undefined) {
          throw new Hj212ParseError('malformed_cp', `DataTime "${clip(value)}" is not a valid YYYYMMDDhhmmss`, mn);
        }
        packet.dataTime = value;
        continue;
      }
      const dash = key.lastIndexOf('-');
      if (dash <= 0) {
        packet.params.set(key, value);
        continue;
      }
      const factor = key.slice(0, dash);
      const field = key.slice(dash + 1);
      if (NUMERIC_FIELDS.has(field) && (value === '' || !Number.isFinite(Number(value)))) {
        throw new Hj212ParseError('malformed_cp', `${key}="${clip(value)}" is not a number`, mn);
      }
      let fields = packet.factors.get(factor);
      if (!fields) packet.factors.set(factor, (fields = new Map()));
      fields.set(field, value);
    }
  }
}

const CHINA_OFFSET_MS = 8 * 3600_000;

/** YYYYMMDDhhmmss[SSS] in China time (UTC+8, no DST) → epoch ms; undefined when not a real date. */
export function toUtcMs(t: string): number | undefined {
  const y = Number(t.slice(0, 4));
  const mo = Number(t.slice(4, 6));
  const d = Number(t.slice(6, 8));
  const h = Number(t.slice(8, 10));
  const mi = Number(t.slice(10, 12));
  const s = Number(t.slice(12, 14));
  const ms = t.length >= 17 ? Number(t.slice(14, 17)) : 0;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(utc);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return utc - CHINA_OFFSET_MS;
}

/** epoch ms → YYYYMMDDhhmmss in China time (plus SSS when withMs). */
export function fromUtcMs(ms: number, withMs = false): string {
  const d = new Date(ms + CHINA_OFFSET_MS);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const s = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return withMs ? s + p(d.getUTCMilliseconds(), 3) : s;
}

/** Flag bit 0: the sender wants an answer. */
export const wantsAnswer = (p: Hj212Packet): boolean => p.flag !== undefined && (p.flag & 1) === 1;

function headerField(segment: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)${key}=([^;]*)`).exec(segment);
  return m?.[1] || undefined;
}

const clip = (s: string): string => (s.length > 32 ? `${s.slice(0, 32)}…` : s);

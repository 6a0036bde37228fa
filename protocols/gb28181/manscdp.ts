// MANSCDP (GB/T 28181 §A) message bodies: XML through fast-xml-parser, text encodings through iconv-lite
// (GB2312 by default, as platforms expect; UTF-8 when configured). Incoming bodies are decoded by the encoding
// their XML declaration names, whatever ours is.
import iconv from 'iconv-lite';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

export type Charset = 'GB2312' | 'UTF-8';
export const CONTENT_TYPE = 'Application/MANSCDP+xml';

export type ManscdpRoot = 'Query' | 'Control' | 'Notify' | 'Response';
const ROOTS: ManscdpRoot[] = ['Query', 'Control', 'Notify', 'Response'];

export interface ManscdpMessage {
  root: ManscdpRoot;
  cmdType: string;
  sn: string;
  deviceId: string;
  /** Every child element of the root, as strings / nested objects (tag values are never coerced to numbers). */
  fields: Record<string, unknown>;
  charset: string;
}

export type DecodeResult = { ok: true; message: ManscdpMessage } | { ok: false; error: string };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,      // ids have leading zeros: keep every value a string
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'Item',
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: false,
  processEntities: true,
});

/** The encoding a body declares (`<?xml ... encoding="GB2312"?>`), read as ASCII. */
function declaredEncoding(body: Buffer): string | undefined {
  const head = body.subarray(0, 200).toString('latin1');
  return /<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']/.exec(head)?.[1];
}

/** Decodes a MANSCDP body; malformed input gives a precise error instead of a message. */
export function decodeManscdp(body: Buffer, fallback: Charset = 'GB2312'): DecodeResult {
  if (!body.length) return { ok: false, error: 'empty body' };
  const charset = declaredEncoding(body) ?? fallback;
  if (!iconv.encodingExists(charset)) return { ok: false, error: `unknown encoding "${charset}"` };
  const text = iconv.decode(body, charset);
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { ok: false, error: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})` };
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, error: `XML: ${(err as Error).message}` };
  }
  const root = ROOTS.find((r) => r in doc);
  if (!root) return { ok: false, error: `root element is not one of ${ROOTS.join('/')}` };
  const fields = doc[root];
  if (typeof fields !== 'object' || fields === null) return { ok: false, error: `<${root}> is empty` };
  const f = fields as Record<string, unknown>;
  const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
  const cmdType = str('CmdType');
  if (!cmdType) return { ok: false, error: `<${root}> has no <CmdType>` };
  const sn = str('SN');
  if (!sn || !/^\d{1,10}$/.test(sn)) return { ok: false, error: `<${root}> has no numeric <SN>` };
  const deviceId = str('DeviceID');
  if (!deviceId) return { ok: false, error: `<${root}> has no <DeviceID>` };
  return { ok: true, message: { root, cmdType, sn, deviceId, fields: f, charset } };
}

/** Serialises one MANSCDP message in `charset`; field order is kept as given. */
export function encodeManscdp(root: ManscdpRoot, fields: Record<string, unknown>, charset: Charset): Buffer {
  const xml = builder.build({ '?xml': { '@_version': '1.0', '@_encoding': charset }, [root]: fields }) as string;
  return iconv.encode(xml, charset === 'GB2312' ? 'gb2312' : 'utf8');
}

// ---- message shapes --------------------------------------------------------------------------------------

/** One catalog item (GB/T 28181-2016 §A.2.1 / Table A.x); undefined fields are left out. */
export interface CatalogItem {
  DeviceID: string;
  Name: string;
  Manufacturer?: string;
  Model?: string;
  Owner?: string;
  CivilCode: string;
  Address?: string;
  Parental: 0 | 1;
  ParentID: string;
  SafetyWay: number;
  RegisterWay: number;
  Secrecy: 0 | 1;
  IPAddress?: string;
  Port?: number;
  Status: 'ON' | 'OFF';
  Longitude?: number;
  Latitude?: number;
  Info?: Partial<Record<'PTZType' | 'RoomType' | 'SupplyLightType' | 'DirectionType' | 'Resolution' | 'UseType' | 'PositionType', string | number>>;
  /** Catalog NOTIFY only: ADD, DEL, UPDATE, ON, OFF. */
  Event?: 'ADD' | 'DEL' | 'UPDATE' | 'ON' | 'OFF';
}

function itemFields(item: CatalogItem): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue;
    if (k === 'Info') {
      const info = Object.fromEntries(Object.entries(v as object).filter(([, x]) => x !== undefined));
      if (Object.keys(info).length) out.Info = info;
    } else out[k] = v;
  }
  return out;
}

function catalogBody(sn: string, deviceId: string, sumNum: number, items: CatalogItem[]): Record<string, unknown> {
  return {
    CmdType: 'Catalog',
    SN: sn,
    DeviceID: deviceId,
    SumNum: sumNum,
    DeviceList: { '@_Num': items.length, Item: items.map(itemFields) },
  };
}

/**
 * A catalog as one or more MESSAGE bodies of at most `maxBytes` each (at least one item per body), every body with
 * the same SN and SumNum, as platforms reassemble them.
 */
export function catalogResponses(sn: string, deviceId: string, items: CatalogItem[], charset: Charset, maxBytes: number): Buffer[] {
  if (!items.length) return [encodeManscdp('Response', catalogBody(sn, deviceId, 0, []), charset)];
  const out: Buffer[] = [];
  let page: CatalogItem[] = [];
  let pageBody: Buffer | undefined;
  for (const item of items) {
    const next = [...page, item];
    const body = encodeManscdp('Response', catalogBody(sn, deviceId, items.length, next), charset);
    if (page.length && body.length > maxBytes) {
      out.push(pageBody!);
      page = [item];
      pageBody = encodeManscdp('Response', catalogBody(sn, deviceId, items.length, page), charset);
    } else {
      page = next;
      pageBody = body;
    }
  }
  if (pageBody) out.push(pageBody);
  return out;
}

/** A catalog change NOTIFY body (items carry their Event). */
export function catalogNotify(sn: string, deviceId: string, items: CatalogItem[], charset: Charset): Buffer {
  return encodeManscdp('Notify', catalogBody(sn, deviceId, items.length, items), charset);
}

export function keepalive(sn: string, deviceId: string, charset: Charset): Buffer {
  return encodeManscdp('Notify', { CmdType: 'Keepalive', SN: sn, DeviceID: deviceId, Status: 'OK' }, charset);
}

export interface DeviceInfoFields {
  DeviceName: string;
  Manufacturer: string;
  Model: string;
  Firmware: string;
  Channel: number;
}

export function deviceInfoResponse(sn: string, deviceId: string, info: DeviceInfoFields, charset: Charset): Buffer {
  return encodeManscdp('Response', { CmdType: 'DeviceInfo', SN: sn, DeviceID: deviceId, Result: 'OK', ...info }, charset);
}

export interface DeviceStatusFields {
  online: boolean;
  /** OK, or a short fault text. */
  status: string;
  deviceTime: string;
}

export function deviceStatusResponse(sn: string, deviceId: string, s: DeviceStatusFields, charset: Charset): Buffer {
  return encodeManscdp(
    'Response',
    {
      CmdType: 'DeviceStatus', SN: sn, DeviceID: deviceId, Result: 'OK',
      Online: s.online ? 'ONLINE' : 'OFFLINE', Status: s.status, Encode: 'ON', Record: 'OFF', DeviceTime: s.deviceTime,
      Alarmstatus: { '@_Num': 0 },
    },
    charset,
  );
}

/** An error answer to a query (e.g. DeviceInfo for a channel we do not have). */
export function errorResponse(cmdType: string, sn: string, deviceId: string, reason: string, charset: Charset): Buffer {
  return encodeManscdp('Response', { CmdType: cmdType, SN: sn, DeviceID: deviceId, Result: 'ERROR', Reason: reason }, charset);
}

export interface AlarmFields {
  priority: 1 | 2 | 3 | 4;    // 1 = 一级警情 (most urgent) … 4
  method: number;             // 2 设备报警, 5 视频报警, 6 设备故障报警
  alarmType?: number;         // meaning depends on method (GB/T 28181-2016 §A.2.4.2)
  time: string;               // local time, YYYY-MM-DDThh:mm:ss
  description: string;
  longitude?: number;
  latitude?: number;
}

export function alarmNotify(sn: string, deviceId: string, a: AlarmFields, charset: Charset): Buffer {
  return encodeManscdp(
    'Notify',
    {
      CmdType: 'Alarm', SN: sn, DeviceID: deviceId,
      AlarmPriority: a.priority, AlarmMethod: a.method, AlarmTime: a.time, AlarmDescription: a.description,
      ...(a.longitude !== undefined ? { Longitude: a.longitude } : {}),
      ...(a.latitude !== undefined ? { Latitude: a.latitude } : {}),
      ...(a.alarmType !== undefined ? { Info: { AlarmType: a.alarmType } } : {}),
    },
    charset,
  );
}

/** GB/T 28181 time format: local time without zone, `YYYY-MM-DDThh:mm:ss`. */
export function gbTime(ms: number, tzOffsetMin = -new Date(ms).getTimezoneOffset()): string {
  return new Date(ms + tzOffsetMin * 60_000).toISOString().slice(0, 19);
}

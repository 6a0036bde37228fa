// 一机一档 (one device, one record): validation, and CSV (Chinese headers) / JSON exchange.
import { CAMERA_TYPE_CODES, looksLikeGb28181, parseGb28181Id } from './gb28181.js';
import { parseCsv, toCsv } from './csv.js';
import { SITE_TYPES, type DeviceRecord } from '../schema/types.js';

export const DEVICE_KINDS = ['sensor', 'camera', 'station'] as const;
export const LIFECYCLES = ['in_use', 'under_repair', 'removed'] as const;
export const RUNTIME_STATUSES = ['online', 'degraded', 'offline', 'fault', 'unknown'] as const;
export const CAMERA_TYPES = ['dome', 'half_dome', 'fixed_bullet', 'ptz_bullet', 'checkpoint_bullet', 'unknown'] as const;
export const FILL_LIGHTS = ['none', 'infrared', 'white_light', 'other'] as const;
export const DIRECTIONS = ['E', 'W', 'S', 'N', 'SE', 'NE', 'SW', 'NW', 'omni'] as const;
/** Bureaus a device can be shared with (共享范围). Deployments may add more: any lower-case identifier is accepted. */
export const KNOWN_BUREAUS = ['water', 'environment', 'fire', 'emergency', 'public_security', 'urban_management', 'transport'] as const;

// Chinese labels of the record's enumerations: CSV export/import and the dashboard (via catalog.json) use these.
export const RECORD_LABELS_ZH = {
  kind: { sensor: '传感器', camera: '摄像机', station: '监测站' },
  lifecycle: { in_use: '在用', under_repair: '维修', removed: '拆除' },
  runtime: { online: '在线', degraded: '异常', offline: '离线', fault: '故障', unknown: '未知' },
  cameraType: { dome: '球机', half_dome: '半球', fixed_bullet: '固定枪机', ptz_bullet: '遥控枪机', checkpoint_bullet: '卡口枪机', unknown: '未知' },
  fillLight: { none: '无补光', infrared: '红外', white_light: '白光', other: '其他' },
  direction: { E: '东', W: '西', S: '南', N: '北', SE: '东南', NE: '东北', SW: '西南', NW: '西北', omni: '全向' },
  siteType: { village: '村', street: '街道', water_station: '水务站', other: '其他' },
  waterBody: { river: '河流', lake: '湖泊', reservoir: '水库' },
  bureau: {
    water: '水务', environment: '环保', fire: '消防', emergency: '应急', public_security: '公安',
    urban_management: '城管', transport: '交通',
  },
} as const;
const ZH = RECORD_LABELS_ZH;

/** Other names the bureaus go by (besides their code and the label above), for --share and CSV import. */
const BUREAU_ALIASES_ZH: Record<string, (typeof KNOWN_BUREAUS)[number]> = {
  水利: 'water', 生态环境: 'environment', 环境: 'environment', 应急管理: 'emergency', 城市管理: 'urban_management', 交通运输: 'transport',
};
const BUREAU_BY_NAME = new Map<string, string>([
  ...KNOWN_BUREAUS.map((b) => [b, b] as const),
  ...Object.entries(ZH.bureau).map(([code, zh]) => [zh, code] as const),
  ...Object.entries(BUREAU_ALIASES_ZH),
]);

/** The bureau code for a code or a Chinese name ("水务", "水务局", "生态环境" …), or undefined. */
export function bureauCode(name: string): string | undefined {
  const n = name.trim();
  return BUREAU_BY_NAME.get(n.toLowerCase()) ?? BUREAU_BY_NAME.get(n.replace(/局$/, ''));
}

/** "water (水务), environment (环保/生态环境), …": the known bureaus and the names accepted for them. */
export function describeBureaus(): string {
  return KNOWN_BUREAUS.map((b) => {
    const names = [...BUREAU_BY_NAME].filter(([n, c]) => c === b && n !== b).map(([n]) => n);
    return `${b} (${names.join('/')})`;
  }).join(', ');
}

/**
 * Parses a 共享范围 list ("水务,应急", "water/fire", "水务、环保"): known names become codes; other lower-case
 * identifiers are kept (deployments may add bureaus) and listed in `custom`; anything else is `unknown`.
 */
export function parseSharingScope(text: string): { codes: string[]; custom: string[]; unknown: string[] } {
  const out = { codes: [] as string[], custom: [] as string[], unknown: [] as string[] };
  for (const part of text.split(/[,，、/;；\s]+/).filter(Boolean)) {
    const code = bureauCode(part);
    if (code) out.codes.push(code);
    else if (/^[a-z][a-z0-9_]*$/.test(part)) {
      out.codes.push(part);
      out.custom.push(part);
    } else out.unknown.push(part);
  }
  out.codes = [...new Set(out.codes)];
  return out;
}

export interface RecordIssue {
  path: string;
  message: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function oneOf(v: string | undefined, allowed: readonly string[], path: string, out: RecordIssue[]): void {
  if (v !== undefined && v !== '' && !allowed.includes(v)) out.push({ path, message: `"${v}" is not one of ${allowed.join(', ')}` });
}

/** Validates a record's fields. GB/T 28181-looking ids are checked structurally; other ids must be site-scoped tokens. */
export function validateRecord(r: DeviceRecord): RecordIssue[] {
  const out: RecordIssue[] = [];
  if (!r.id) out.push({ path: 'id', message: 'is required' });
  else if (looksLikeGb28181(r.id)) {
    const g = parseGb28181Id(r.id);
    if (!g.ok) out.push({ path: 'id', message: g.error });
    else if (r.kind === 'camera' && !CAMERA_TYPE_CODES.has(g.value.typeCode)) {
      out.push({ path: 'id', message: `type code ${g.value.typeCode} (${g.value.typeName}) is not a camera (131/132)` });
    }
  } else if (!ID_RE.test(r.id)) {
    out.push({ path: 'id', message: `"${r.id}" must be a GB/T 28181 code or 1-64 letters, digits, _ . : -` });
  }
  oneOf(r.kind, DEVICE_KINDS, 'kind', out);
  oneOf(r.lifecycle, LIFECYCLES, 'lifecycle', out);
  oneOf(r.runtimeStatus, RUNTIME_STATUSES, 'runtimeStatus', out);
  if (r.site?.type !== undefined) oneOf(r.site.type, SITE_TYPES, 'site.type', out);
  oneOf(r.waterBody, Object.keys(ZH.waterBody), 'waterBody', out);
  for (const [i, s] of (r.schedules ?? []).entries()) {
    if (!(Number.isSafeInteger(s.intervalMs) && s.intervalMs >= 100)) out.push({ path: `schedules[${i}].intervalMs`, message: `${s.intervalMs} must be an interval of at least 100 ms` });
  }
  const loc = r.location;
  if (loc?.longitude !== undefined && (loc.longitude < -180 || loc.longitude > 180)) {
    out.push({ path: 'location.longitude', message: `${loc.longitude} is outside -180..180` });
  }
  if (loc?.latitude !== undefined && (loc.latitude < -90 || loc.latitude > 90)) {
    out.push({ path: 'location.latitude', message: `${loc.latitude} is outside -90..90` });
  }
  if (loc?.divisionCode && !/^\d{6}(\d{3}|\d{6})?$/.test(loc.divisionCode)) {
    out.push({ path: 'location.divisionCode', message: `"${loc.divisionCode}" must be 6, 9 or 12 digits` });
  }
  if (r.installedDate && (!DATE_RE.test(r.installedDate) || Number.isNaN(Date.parse(r.installedDate)))) {
    out.push({ path: 'installedDate', message: `"${r.installedDate}" must be a date YYYY-MM-DD` });
  }
  for (const [i, b] of (r.sharingScope ?? []).entries()) {
    if (!/^[a-z][a-z0-9_]*$/.test(b)) out.push({ path: `sharingScope[${i}]`, message: `"${b}" is not a known bureau: use ${describeBureaus()}, or a lower-case code` });
  }
  if (r.camera) {
    oneOf(r.camera.cameraType, CAMERA_TYPES, 'camera.cameraType', out);
    oneOf(r.camera.fillLight, FILL_LIGHTS, 'camera.fillLight', out);
    oneOf(r.camera.direction, DIRECTIONS, 'camera.direction', out);
    if (r.camera.recordRetentionDays !== undefined && !(r.camera.recordRetentionDays >= 0)) {
      out.push({ path: 'camera.recordRetentionDays', message: 'must be a non-negative number of days' });
    }
  }
  return out;
}

interface Column {
  zh: string;
  get: (r: DeviceRecord) => unknown;
  set?: (r: DeviceRecord, v: string) => void;
}

const reverse = <T extends Record<string, string>>(m: T) => new Map(Object.entries(m).map(([k, v]) => [v, k]));
const label = (m: Record<string, string>, v: string | undefined) => (v === undefined ? '' : (m[v] ?? v));
const unlabel = (m: Record<string, string>) => {
  const rev = reverse(m);
  return (v: string) => rev.get(v) ?? v;
};
const site = (r: DeviceRecord) => (r.site ??= { id: '' });
const loc = (r: DeviceRecord) => (r.location ??= {});
const cam = (r: DeviceRecord) => (r.camera ??= {});
const numOrUndef = (v: string) => (v === '' ? undefined : Number(v));
const fromDate = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : '');

/** CSV columns, in the order bureaus' spreadsheets use. */
export const RECORD_COLUMNS: Column[] = [
  { zh: '设备编码', get: (r) => r.id, set: (r, v) => (r.id = v) },
  { zh: '设备名称', get: (r) => r.name, set: (r, v) => (r.name = v) },
  { zh: '设备类型', get: (r) => label(ZH.kind, r.kind), set: (r, v) => (r.kind = unlabel(ZH.kind)(v)) },
  { zh: '设备模板', get: (r) => r.profileId, set: (r, v) => (r.profileId = v) },
  { zh: '设备厂商', get: (r) => r.manufacturer, set: (r, v) => (r.manufacturer = v) },
  { zh: '设备型号', get: (r) => r.model, set: (r, v) => (r.model = v) },
  { zh: '序列号', get: (r) => r.serialNumber, set: (r, v) => (r.serialNumber = v) },
  { zh: '固件版本', get: (r) => r.firmware, set: (r, v) => (r.firmware = v) },
  { zh: '接入地址', get: (r) => r.address, set: (r, v) => (r.address = v) },
  { zh: '经度', get: (r) => r.location?.longitude, set: (r, v) => (loc(r).longitude = numOrUndef(v)) },
  { zh: '纬度', get: (r) => r.location?.latitude, set: (r, v) => (loc(r).latitude = numOrUndef(v)) },
  { zh: '安装地址', get: (r) => r.location?.address, set: (r, v) => (loc(r).address = v) },
  { zh: '行政区域', get: (r) => r.location?.divisionCode, set: (r, v) => (loc(r).divisionCode = v) },
  { zh: '站点编码', get: (r) => r.site?.id, set: (r, v) => (site(r).id = v) },
  { zh: '站点名称', get: (r) => r.site?.name, set: (r, v) => (site(r).name = v) },
  { zh: '站点类型', get: (r) => label(ZH.siteType, r.site?.type), set: (r, v) => (site(r).type = unlabel(ZH.siteType)(v)) },
  { zh: '水体类型', get: (r) => label(ZH.waterBody, r.waterBody), set: (r, v) => (r.waterBody = v === '' ? undefined : unlabel(ZH.waterBody)(v)) },
  { zh: '应用场景', get: (r) => r.scenario, set: (r, v) => (r.scenario = v) },
  { zh: '行业属性', get: (r) => r.industry, set: (r, v) => (r.industry = v) },
  {
    zh: '共享范围',
    get: (r) => (r.sharingScope ?? []).map((b) => label(ZH.bureau, b)).join('/'),
    set: (r, v) => {
      const { codes, unknown } = parseSharingScope(v);
      r.sharingScope = [...codes, ...unknown]; // unknown names are reported by validateRecord
    },
  },
  { zh: '安装时间', get: (r) => r.installedDate, set: (r, v) => (r.installedDate = v) },
  { zh: '管理单位', get: (r) => r.maintainer, set: (r, v) => (r.maintainer = v) },
  { zh: '管理单位联系方式', get: (r) => r.maintainerContact, set: (r, v) => (r.maintainerContact = v) },
  { zh: '设备状态', get: (r) => label(ZH.lifecycle, r.lifecycle), set: (r, v) => (r.lifecycle = unlabel(ZH.lifecycle)(v)) },
  { zh: '运行状态', get: (r) => label(ZH.runtime, r.runtimeStatus) },
  { zh: '最后在线时间', get: (r) => fromDate(r.lastSeen) },
  { zh: '摄像机类型', get: (r) => label(ZH.cameraType, r.camera?.cameraType), set: (r, v) => (cam(r).cameraType = unlabel(ZH.cameraType)(v)) },
  { zh: '补光属性', get: (r) => label(ZH.fillLight, r.camera?.fillLight), set: (r, v) => (cam(r).fillLight = unlabel(ZH.fillLight)(v)) },
  { zh: '监视方位', get: (r) => label(ZH.direction, r.camera?.direction), set: (r, v) => (cam(r).direction = unlabel(ZH.direction)(v)) },
  { zh: '摄像机编码格式', get: (r) => r.camera?.encoding, set: (r, v) => (cam(r).encoding = v) },
  { zh: '图像分辨率', get: (r) => r.camera?.resolution, set: (r, v) => (cam(r).resolution = v) },
  { zh: '视频流地址', get: (r) => (r.camera?.streamUris ?? []).join(' '), set: (r, v) => (cam(r).streamUris = v.split(/\s+/).filter(Boolean)) },
  { zh: '抓图地址', get: (r) => r.camera?.snapshotUri, set: (r, v) => (cam(r).snapshotUri = v) },
  { zh: '云台', get: (r) => (r.camera ? (r.camera.ptz ? '是' : '否') : ''), set: (r, v) => (cam(r).ptz = v === '是' || v === 'true') },
  { zh: '录像保存天数', get: (r) => r.camera?.recordRetentionDays, set: (r, v) => (cam(r).recordRetentionDays = numOrUndef(v)) },
  // The edge the device is connected through. On import, with 设备模板 and 连接参数 (or 接入地址) it registers the
  // device on that edge's configuration (edge–cloud coordination); without them it only assigns the record.
  { zh: '接入网关', get: (r) => r.edgeId, set: (r, v) => (r.edgeId = v) },
];

/**
 * Import-only column: how the edge reaches the device — a JSON object of connection fields, or the short address
 * form of `yiwang edge device add --address` (modbus host[:port][#unit], opc.tcp://…, MQTT topic id, …). Never
 * exported: connections may hold passwords.
 */
export const CONNECTION_COLUMN = '连接参数';

/** A CSV row that places its device on an edge's configuration. */
export interface CsvPlacement {
  row: number;
  id: string;
  edgeId: string;
  profile: string;
  /** The 连接参数 cell, or else the 接入地址 cell. */
  connection: string;
}

/** Encodings the 一机一档 CSV export offers: UTF-8 with a BOM (Excel opens it correctly) or GB18030. */
export const CSV_EXPORT_ENCODINGS = ['utf-8', 'gb18030'] as const;
export type CsvExportEncoding = (typeof CSV_EXPORT_ENCODINGS)[number];

/** "utf8", "UTF-8", "gbk", "GB2312" … → an export encoding (GBK and GB2312 are subsets of GB18030), or undefined. */
export function csvExportEncoding(name: string): CsvExportEncoding | undefined {
  const n = name.trim().toLowerCase().replace(/[-_]/g, '');
  if (n === 'utf8') return 'utf-8';
  if (n === 'gb18030' || n === 'gbk' || n === 'gb2312') return 'gb18030';
  return undefined;
}

/** The CSV export as bytes: UTF-8 with a BOM, or GB18030 (what Excel's "CSV (逗号分隔)" is on Chinese Windows). */
export async function recordsToCsvBytes(records: DeviceRecord[], encoding: CsvExportEncoding = 'utf-8'): Promise<Buffer> {
  if (encoding === 'utf-8') return Buffer.from(recordsToCsv(records), 'utf8');
  const iconv = (await import('iconv-lite')).default; // loaded only for this export
  return iconv.encode(recordsToCsv(records, { bom: false }), 'gb18030');
}

/**
 * Decodes an uploaded CSV: UTF-8 (with or without a BOM), UTF-16 with a BOM, or else GB18030 (GBK/GB2312 are
 * subsets) — the default of Excel's "CSV (逗号分隔)" on Chinese Windows. Says which one it read.
 */
export function decodeCsvBytes(bytes: Uint8Array): { text: string; encoding: string } {
  const b = bytes;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { text: new TextDecoder('utf-8').decode(b.subarray(3)), encoding: 'UTF-8 with BOM' };
  if (b[0] === 0xff && b[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(b.subarray(2)), encoding: 'UTF-16LE' };
  if (b[0] === 0xfe && b[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(b.subarray(2)), encoding: 'UTF-16BE' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(b), encoding: 'UTF-8' };
  } catch {
    return { text: new TextDecoder('gb18030').decode(b), encoding: 'GB18030' };
  }
}

export function recordsToCsv(records: DeviceRecord[], opts: { bom?: boolean } = {}): string {
  return toCsv(
    RECORD_COLUMNS.map((c) => c.zh),
    records.map((r) => RECORD_COLUMNS.map((c) => c.get(r))),
    opts,
  );
}

export interface CsvImportResult {
  records: DeviceRecord[];
  errors: { row: number; message: string }[]; // row = 1-based line number in the file (header = 1)
  /** The encoding the file was read in (bytes input): "UTF-8", "UTF-8 with BOM", "GB18030", … */
  encoding?: string;
  /** Rows with 接入网关, 设备模板 and a connection: devices to configure on that edge (also in `records`). */
  placements: CsvPlacement[];
  /** The file's line number of each record in `records` (same order). */
  recordRows: number[];
}

/**
 * Parses a CSV of records (Chinese headers, any column order, unknown columns ignored) with row-level errors.
 * Bytes are decoded by decodeCsvBytes (UTF-8, UTF-8 with BOM, GB18030/GBK from Excel on Chinese Windows).
 */
export function recordsFromCsv(input: string | Uint8Array): CsvImportResult {
  const { text, encoding } = typeof input === 'string' ? { text: input, encoding: undefined } : decodeCsvBytes(input);
  const rows = parseCsv(text);
  const result: CsvImportResult = { records: [], errors: [], placements: [], recordRows: [], ...(encoding ? { encoding } : {}) };
  const encodingHint = encoding
    ? ` (the file was read as ${encoding}; if it was saved in another encoding that may be the problem: save it from Excel as "CSV UTF-8 (逗号分隔)" or "CSV (逗号分隔)")`
    : '';
  if (!rows.length) {
    result.errors.push({ row: 1, message: 'empty file: expected a header line' });
    return result;
  }
  const header = rows[0]!.map((h) => h.trim());
  const cols = header.map((h) => RECORD_COLUMNS.find((c) => c.zh === h && c.set));
  const connectionAt = header.indexOf(CONNECTION_COLUMN);
  if (!header.includes('设备编码')) {
    result.errors.push({ row: 1, message: `header has no 设备编码 (device id) column${encodingHint}` });
    return result;
  }
  const seen = new Set<string>();
  rows.slice(1).forEach((cells, i) => {
    const line = i + 2;
    const r: DeviceRecord = { id: '' };
    cells.forEach((cell, j) => {
      const v = cell.trim();
      if (v !== '') cols[j]?.set?.(r, v);
    });
    const issues = validateRecord(r);
    for (const [path, v] of [
      ['location.longitude', r.location?.longitude],
      ['location.latitude', r.location?.latitude],
      ['camera.recordRetentionDays', r.camera?.recordRetentionDays],
    ] as const) {
      if (v !== undefined && Number.isNaN(v)) issues.push({ path, message: 'is not a number' });
    }
    if (r.id && seen.has(r.id)) issues.push({ path: 'id', message: `duplicate device id ${r.id} in this file` });
    const connection = (connectionAt >= 0 ? cells[connectionAt]?.trim() : '') || '';
    if (connection && !r.edgeId) issues.push({ path: CONNECTION_COLUMN, message: 'a connection needs 接入网关 (the edge that reaches the device)' });
    const placed = !!r.edgeId && (!!connection || !!r.profileId);
    if (placed && !r.profileId) issues.push({ path: '设备模板', message: 'is required to configure the device on its edge (接入网关)' });
    if (placed && !connection && !r.address) issues.push({ path: CONNECTION_COLUMN, message: 'is required (or 接入地址) to configure the device on its edge (接入网关)' });
    if (issues.length) {
      result.errors.push({ row: line, message: issues.map((x) => `${x.path}: ${x.message}`).join('; ') });
      return;
    }
    seen.add(r.id);
    result.records.push(r);
    result.recordRows.push(line);
    if (placed) result.placements.push({ row: line, id: r.id, edgeId: r.edgeId!, profile: r.profileId!, connection: connection || r.address! });
  });
  return result;
}

export function recordsToJson(records: DeviceRecord[]): string {
  return JSON.stringify(records, null, 2);
}

/** Removes credentials from a URI (user:password@ and password-like query parameters): records are shared. */
export function withoutCredentials(uri: string): string {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return uri.replace(/\/\/[^/@\s]*@/, '//');
  }
  u.username = '';
  u.password = '';
  for (const k of [...u.searchParams.keys()]) if (/^(pass(word)?|pwd|user(name)?|token|auth)$/i.test(k)) u.searchParams.delete(k);
  return u.toString();
}

/** The record with every URI stripped of credentials (cameras often report rtsp://user:pass@host/...). */
export function redactRecordSecrets<T extends DeviceRecord>(r: T): T {
  if (!r.camera && !r.address) return r;
  const out = { ...r };
  if (out.address && /^[a-z][a-z0-9+.-]*:\/\//i.test(out.address)) out.address = withoutCredentials(out.address);
  if (out.camera) {
    out.camera = { ...out.camera };
    if (out.camera.streamUris) out.camera.streamUris = out.camera.streamUris.map(withoutCredentials);
    if (out.camera.snapshotUri) out.camera.snapshotUri = withoutCredentials(out.camera.snapshotUri);
  }
  return out;
}

// /dashboard/catalog.json: the metric catalog (zh/en names, units, ranges) and each built-in profile's point
// thresholds, so the browser can label metrics and draw warning/alarm lines without knowing the YAML files.
import { ProfileCatalog, type AlarmDef } from '../../core/profiles.js';
import { METRICS, RAIN_WINDOW_METRICS, type MetricDef } from '../../schema/metrics.js';
import { HEALTH_REASON_LABELS, VIDEO_CHECK_LABELS } from '../../core/event-labels.js';
import { RECORD_LABELS_ZH } from '../../core/records.js';

export interface ThresholdDef {
  warning?: number;
  alarm?: number;
  direction: 'above' | 'below';
  when?: boolean; // boolean metrics: the value that means alarm
}

export interface DashboardCatalog {
  metrics: MetricDef[];
  /** profile id → metric → thresholds in the metric's canonical unit. */
  profiles: Record<string, Record<string, ThresholdDef>>;
  /** Chinese labels of the 一机一档 enumerations (the same ones the CSV export uses). */
  labels: {
    zh: typeof RECORD_LABELS_ZH;
    /** Record field paths (as the change history names them) → 一机一档 labels, and the enumeration of their values. */
    fields: Record<string, FieldLabel>;
    /** Video-quality check names and device-health reason codes → zh/en (core/event-labels.ts). */
    checks: typeof VIDEO_CHECK_LABELS;
    reasons: typeof HEALTH_REASON_LABELS;
  };
  /** Profiles that failed to load (the rest still serve); empty when all is well. */
  errors: string[];
}

export interface FieldLabel {
  zh: string;
  en: string;
  /** The enumeration (in labels.zh / the page's English tables) its values belong to. */
  enum?: 'kind' | 'lifecycle' | 'siteType' | 'bureau' | 'cameraType' | 'fillLight' | 'direction' | 'runtime' | 'waterBody';
}

/**
 * Record fields by the dotted path the registry's change history uses. The Chinese labels are the CSV export's
 * column headers (core/records.ts RECORD_COLUMNS), so a bureau reads the same words in the spreadsheet and on the page.
 */
export const RECORD_FIELD_LABELS: Record<string, FieldLabel> = {
  id: { zh: '设备编码', en: 'Device id' },
  name: { zh: '设备名称', en: 'Name' },
  kind: { zh: '设备类型', en: 'Kind', enum: 'kind' },
  profileId: { zh: '设备模板', en: 'Profile' },
  manufacturer: { zh: '设备厂商', en: 'Manufacturer' },
  model: { zh: '设备型号', en: 'Model' },
  serialNumber: { zh: '序列号', en: 'Serial number' },
  firmware: { zh: '固件版本', en: 'Firmware' },
  address: { zh: '接入地址', en: 'Access address' },
  'location.longitude': { zh: '经度', en: 'Longitude' },
  'location.latitude': { zh: '纬度', en: 'Latitude' },
  'location.address': { zh: '安装地址', en: 'Installation address' },
  'location.divisionCode': { zh: '行政区域', en: 'Division code' },
  'site.id': { zh: '站点编码', en: 'Site id' },
  'site.name': { zh: '站点名称', en: 'Site name' },
  'site.type': { zh: '站点类型', en: 'Site type', enum: 'siteType' },
  waterBody: { zh: '水体类型', en: 'Water body', enum: 'waterBody' },
  schedules: { zh: '数据上报计划', en: 'Reporting schedule' },
  scenario: { zh: '应用场景', en: 'Scenario' },
  industry: { zh: '行业属性', en: 'Industry' },
  sharingScope: { zh: '共享范围', en: 'Shared with', enum: 'bureau' },
  installedDate: { zh: '安装时间', en: 'Installed' },
  maintainer: { zh: '管理单位', en: 'Maintainer' },
  maintainerContact: { zh: '管理单位联系方式', en: 'Maintainer contact' },
  lifecycle: { zh: '设备状态', en: 'Lifecycle', enum: 'lifecycle' },
  runtimeStatus: { zh: '运行状态', en: 'Runtime status', enum: 'runtime' },
  'camera.cameraType': { zh: '摄像机类型', en: 'Camera type', enum: 'cameraType' },
  'camera.fillLight': { zh: '补光属性', en: 'Fill light', enum: 'fillLight' },
  'camera.direction': { zh: '监视方位', en: 'Direction', enum: 'direction' },
  'camera.encoding': { zh: '摄像机编码格式', en: 'Encoding' },
  'camera.resolution': { zh: '图像分辨率', en: 'Resolution' },
  'camera.streamUris': { zh: '视频流地址', en: 'Stream URLs' },
  'camera.snapshotUri': { zh: '抓图地址', en: 'Snapshot URL' },
  'camera.ptz': { zh: '云台', en: 'PTZ' },
  'camera.recordRetentionDays': { zh: '录像保存天数', en: 'Recording kept (days)' },
  'camera.frameRate': { zh: '帧率', en: 'Frame rate' },
  'camera.bitrateKbps': { zh: '码率 (kbit/s)', en: 'Bitrate (kbit/s)' },
  'camera.hardwareId': { zh: '硬件编号', en: 'Hardware id' },
  'camera.clockOffsetMs': { zh: '时钟偏差 (ms)', en: 'Clock offset (ms)' },
  edgeId: { zh: '接入网关', en: 'Edge' },
};

function thresholdOf(a: AlarmDef): ThresholdDef | undefined {
  if (a.warning === undefined && a.alarm === undefined && a.when === undefined) return undefined;
  const t: ThresholdDef = { direction: a.direction ?? 'above' };
  if (a.warning !== undefined) t.warning = a.warning;
  if (a.alarm !== undefined) t.alarm = a.alarm;
  if (a.when !== undefined) t.when = a.when;
  return t;
}

export function buildCatalog(load: () => ProfileCatalog = () => ProfileCatalog.load()): DashboardCatalog {
  const profiles: DashboardCatalog['profiles'] = {};
  const errors: string[] = [];
  let catalog: ProfileCatalog | undefined;
  try {
    catalog = load();
  } catch (err) {
    errors.push((err as Error).message); // a broken profile file must not take the dashboard down
  }
  for (const p of catalog?.list() ?? []) {
    const byMetric: Record<string, ThresholdDef> = {};
    for (const pt of p.points) {
      const t = pt.alarms && thresholdOf(pt.alarms);
      if (t && !byMetric[pt.metric]) byMetric[pt.metric] = t; // the first point of a metric defines its lines
      // Rain intensity levels on rolling totals: the lines of hourly (rainfall_1h) and daily (rainfall_24h) bars.
      for (const w of pt.totalAlarms ?? []) {
        const metric = RAIN_WINDOW_METRICS[w.hours];
        if (metric && !byMetric[metric]) byMetric[metric] = thresholdOf({ direction: 'above', warning: w.warning, alarm: w.alarm })!;
      }
    }
    profiles[p.id] = byMetric;
  }
  return { metrics: METRICS.map((m) => ({ ...m })), profiles, labels: { zh: RECORD_LABELS_ZH, fields: RECORD_FIELD_LABELS, checks: VIDEO_CHECK_LABELS, reasons: HEALTH_REASON_LABELS }, errors };
}

let cached: string | undefined;

/** The catalog as JSON text, built once per process (profiles are read from disk at most once). */
export function catalogJson(): string {
  cached ??= JSON.stringify(buildCatalog());
  return cached;
}

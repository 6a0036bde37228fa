// The canonical metric catalog: every reading's `metric` is one of these names, in its unit.
import { findUnit } from './units.js';

export interface MetricDef {
  name: string;
  unit: string;            // canonical unit (see units.ts)
  zh: string;
  en: string;
  type: 'number' | 'boolean';
  range?: [number, number]; // plausible range in the canonical unit; values outside are UNCERTAIN
  category: 'hydrology' | 'water_quality' | 'meteorology' | 'air_quality' | 'fire' | 'device' | 'video' | 'custom';
}

const M = (
  name: string,
  unit: string,
  zh: string,
  en: string,
  category: MetricDef['category'],
  range?: [number, number],
  type: MetricDef['type'] = 'number',
): MetricDef => ({ name, unit, zh, en, type, range, category });

export const METRICS: readonly MetricDef[] = [
  // hydrology
  M('water_level', 'm', '水位', 'Water level', 'hydrology', [-100, 9000]),
  M('rainfall', 'mm', '降雨量', 'Rainfall', 'hydrology', [0, 500]),
  M('rainfall_cumulative', 'mm', '累计降雨量', 'Cumulative rainfall', 'hydrology', [0, 100000]),
  M('rainfall_1h', 'mm', '1小时降雨量', 'Rainfall, last hour', 'hydrology', [0, 300]),
  M('rainfall_daily', 'mm', '日降雨量', 'Daily rainfall', 'hydrology', [0, 1500]),
  // Rolling totals the edge evaluates rain-intensity alarms on (profile `totalAlarms`); events name them.
  M('rainfall_3h', 'mm', '3小时降雨量', 'Rainfall, last 3 hours', 'hydrology', [0, 600]),
  M('rainfall_6h', 'mm', '6小时降雨量', 'Rainfall, last 6 hours', 'hydrology', [0, 800]),
  M('rainfall_12h', 'mm', '12小时降雨量', 'Rainfall, last 12 hours', 'hydrology', [0, 1000]),
  M('rainfall_24h', 'mm', '24小时降雨量', 'Rainfall, last 24 hours', 'hydrology', [0, 1500]),
  M('flow_rate', 'm³/s', '流量', 'Flow rate', 'hydrology', [-100000, 100000]),
  M('flow_velocity', 'm/s', '流速', 'Flow velocity', 'hydrology', [-20, 20]),
  M('flow_total', 'count', '累计流量', 'Totalised flow (m³)', 'hydrology', [0, 1e12]),
  // water quality
  M('water_temperature', '°C', '水温', 'Water temperature', 'water_quality', [-5, 50]),
  M('ph', 'pH', 'pH值', 'pH', 'water_quality', [0, 14]),
  M('dissolved_oxygen', 'mg/L', '溶解氧', 'Dissolved oxygen', 'water_quality', [0, 25]),
  M('turbidity', 'NTU', '浊度', 'Turbidity', 'water_quality', [0, 4000]),
  M('conductivity', 'µS/cm', '电导率', 'Conductivity', 'water_quality', [0, 200000]),
  M('cod', 'mg/L', '化学需氧量', 'Chemical oxygen demand (COD)', 'water_quality', [0, 10000]),
  M('ammonia_nitrogen', 'mg/L', '氨氮', 'Ammonia nitrogen', 'water_quality', [0, 1000]),
  M('total_phosphorus', 'mg/L', '总磷', 'Total phosphorus', 'water_quality', [0, 100]),
  M('total_nitrogen', 'mg/L', '总氮', 'Total nitrogen', 'water_quality', [0, 1000]),
  // meteorology
  M('air_temperature', '°C', '气温', 'Air temperature', 'meteorology', [-60, 60]),
  M('relative_humidity', '%', '相对湿度', 'Relative humidity', 'meteorology', [0, 100]),
  M('air_pressure', 'kPa', '气压', 'Air pressure', 'meteorology', [30, 110]),
  M('wind_speed', 'm/s', '风速', 'Wind speed', 'meteorology', [0, 100]),
  M('wind_direction', '°', '风向', 'Wind direction', 'meteorology', [0, 360]),
  // air quality
  M('pm2_5', 'µg/m³', 'PM2.5', 'PM2.5', 'air_quality', [0, 2000]),
  M('pm10', 'µg/m³', 'PM10', 'PM10', 'air_quality', [0, 5000]),
  M('so2', 'µg/m³', '二氧化硫', 'Sulphur dioxide (SO₂)', 'air_quality', [0, 10000]),
  M('no2', 'µg/m³', '二氧化氮', 'Nitrogen dioxide (NO₂)', 'air_quality', [0, 5000]),
  M('o3', 'µg/m³', '臭氧', 'Ozone (O₃)', 'air_quality', [0, 5000]),
  M('co', 'mg/m³', '一氧化碳', 'Carbon monoxide (CO)', 'air_quality', [0, 200]),
  M('noise', 'dB(A)', '噪声', 'Noise level', 'air_quality', [0, 160]),
  // fire
  M('smoke_alarm', 'bool', '烟感报警', 'Smoke alarm', 'fire', undefined, 'boolean'),
  M('pipe_pressure', 'MPa', '管网/消火栓压力', 'Hydrant / pipe pressure', 'fire', [0, 10]),
  // device
  M('battery', '%', '电池电量', 'Battery', 'device', [0, 100]),
  M('signal_strength', 'dBm', '信号强度', 'Signal strength', 'device', [-140, 0]),
  M('supply_voltage', 'V', '供电电压', 'Supply voltage', 'device', [0, 60]),
  M('pump_running', 'bool', '水泵运行', 'Pump running', 'device', undefined, 'boolean'),
  M('gate_open', 'bool', '闸门开启', 'Gate / valve open', 'device', undefined, 'boolean'),
  M('door_open', 'bool', '箱门开启', 'Cabinet door open', 'device', undefined, 'boolean'),
  // video (stream health of cameras)
  M('video_fps', 'fps', '视频帧率', 'Video frame rate', 'video', [0, 240]),
  M('video_bitrate_kbps', 'kbit/s', '视频码率', 'Video bitrate', 'video', [0, 1e6]),
  M('video_first_frame_ms', 'ms', '首帧时间', 'Time to first frame', 'video', [0, 600000]),
  M('video_decode_errors', 'count', '解码错误数', 'Decode errors', 'video', [0, 1e9]),
  M('video_online', 'bool', '视频在线', 'Stream reachable', 'video', undefined, 'boolean'),
];

const BY_NAME = new Map(METRICS.map((m) => [m.name, m]));

export function findMetric(name: string): MetricDef | undefined {
  return BY_NAME.get(name);
}

/**
 * Custom metrics: a value the catalog lacks (a Sparkplug Counter, a vendor register), declared by a profile or
 * the edge config. The `x_` prefix keeps them apart from today's and tomorrow's catalog names, and the name
 * still fits the collector's metric rule ^[a-z][a-z0-9_]{0,63}$.
 */
export const CUSTOM_METRIC_RE = /^x_[a-z0-9_]{1,62}$/;

/** A custom metric as declared in YAML: `unit` from the unit table (aliases allowed), range in that unit. */
export interface CustomMetricDecl {
  name: string;
  unit: string;
  zh: string;
  en: string;
  type?: 'number' | 'boolean';
  range?: [number, number];
}

/** Problems with one declaration ("name: ..."), empty when it is usable. */
export function customMetricProblems(d: CustomMetricDecl): string[] {
  const out: string[] = [];
  if (!CUSTOM_METRIC_RE.test(d.name)) out.push(`name: "${d.name}" must start with x_ and use lower-case letters, digits and _ (at most 64 characters)`);
  else if (BY_NAME.has(d.name)) out.push(`name: "${d.name}" is a catalog metric`);
  if (!findUnit(d.unit)) out.push(`unit: unknown unit "${d.unit}" (see schema/units.ts; use "count" for counters)`);
  if ((d.type ?? 'number') === 'boolean' && d.range) out.push('range: boolean metrics have no range');
  if (d.range && !(d.range[0] < d.range[1])) out.push(`range: [${d.range.join(', ')}] must be [low, high] with low < high`);
  return out;
}

/** The catalog-shaped definition of a (valid) declaration, its unit spelled canonically. */
export function customMetricDef(d: CustomMetricDecl): MetricDef {
  return { name: d.name, unit: findUnit(d.unit)?.symbol ?? d.unit, zh: d.zh, en: d.en, type: d.type ?? 'number', range: d.range, category: 'custom' };
}

/**
 * Rainfall metrics whose values are amounts fallen over a period ending at the reading (increments, 1-hour and
 * daily rainfall as sent): period totals add them up.
 */
export const RAIN_AMOUNT_METRICS: readonly string[] = ['rainfall', 'rainfall_1h', 'rainfall_daily'];
/** Rainfall metrics that are cumulative counters (tipping-bucket totals, SL 651 PT): period totals add their rises. */
export const RAIN_COUNTER_METRICS: readonly string[] = ['rainfall_cumulative'];
/** Rolling rainfall totals by window, in hours (rain-intensity alarms; the 1-hour one is also a reported element). */
export const RAIN_WINDOW_METRICS: Readonly<Record<number, string>> = { 1: 'rainfall_1h', 3: 'rainfall_3h', 6: 'rainfall_6h', 12: 'rainfall_12h', 24: 'rainfall_24h' };

// The catalog must be self-consistent: checked once at load so a typo never ships.
for (const m of METRICS) {
  if (!findUnit(m.unit)) throw new Error(`metric catalog: ${m.name} has unknown unit ${m.unit}`);
}

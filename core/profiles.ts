// Device profiles: how a device model is read and what its data means in the unified schema.
// One YAML file per model under device-profiles/. Validation = JSON Schema (structure) + catalog
// checks (metric names, unit compatibility, protocol blocks), each error as "file: path: problem".
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ErrorObject } from 'ajv';
import YAML from 'yaml';
import { customMetricDef, customMetricProblems, findMetric, RAIN_AMOUNT_METRICS, RAIN_COUNTER_METRICS, RAIN_WINDOW_METRICS, type CustomMetricDecl, type MetricDef } from '../schema/metrics.js';
import { UnitError, unitConverter } from '../schema/units.js';

export const PROTOCOLS = ['modbus', 'mqtt', 'opcua', 'onvif', 'hj212', 'sl651'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];
export const MODBUS_AREAS = ['coil', 'discrete', 'holding', 'input'] as const;
export type ModbusArea = (typeof MODBUS_AREAS)[number];
export const MODBUS_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
export type ModbusType = (typeof MODBUS_TYPES)[number];
export type ByteOrder = 'BE' | 'LE';

export interface ModbusPoint {
  area: ModbusArea;
  address: number;         // 0-based protocol address
  type: ModbusType;
  byteOrder?: ByteOrder;   // order of the two bytes inside each 16-bit register (default BE)
  wordOrder?: ByteOrder;   // order of registers in 32/64-bit values (default BE = high word first)
  bit?: number;            // for type bool on a register area: which bit (0 = LSB)
}

export interface MqttPoint {
  path?: string;           // JSON: dotted path, "$.a.b" or "a[0].b"; Sparkplug B: the metric name
  topic?: string;          // plain format: topic pattern of this point, with {deviceId}
}

export interface OpcuaPoint {
  nodeId: string;
  samplingIntervalMs?: number;
  queueSize?: number;
  deadband?: { type: 'absolute' | 'percent'; value: number };
}

export interface Hj212Point {
  factor: string;          // e.g. w01018
}

export interface Sl651Point {
  element: string;         // identifier byte as hex, e.g. "39"
}

export interface AlarmDef {
  direction?: 'above' | 'below';   // default above
  warning?: number;                // thresholds in the metric's canonical unit
  alarm?: number;
  hysteresis?: number;             // absolute, canonical unit; default 1% of the threshold
  when?: boolean;                  // boolean metrics: the value that means alarm
}

/** A rain-intensity alarm on the rolling total of a rainfall point over the last `hours` (canonical unit, mm). */
export interface TotalAlarmDef {
  hours: number;                   // 1, 3, 6, 12 or 24
  warning?: number;
  alarm?: number;
  hysteresis?: number;             // default 1% of the threshold
}

export interface PointDef {
  name: string;
  metric: string;
  unit?: string;           // source unit; defaults to the metric's canonical unit
  scale?: number;          // value = raw * scale + offset (before unit conversion)
  offset?: number;
  alarms?: AlarmDef;
  /** Rainfall points (increments or a cumulative counter): alarms on rolling 1/3/6/12/24-hour totals. */
  totalAlarms?: TotalAlarmDef[];
  modbus?: ModbusPoint;
  mqtt?: MqttPoint;
  opcua?: OpcuaPoint;
  hj212?: Hj212Point;
  sl651?: Sl651Point;
}

export interface DeviceProfile {
  id: string;
  manufacturer: string;
  model: string;
  kind: 'sensor' | 'camera' | 'station';
  protocol: ProtocolName;
  description?: string;
  modbus?: {
    pollIntervalMs?: number;
    timeoutMs?: number;
    retries?: number;
    maxGap?: number;       // registers that may be read in between to merge two points into one request
    maxBlock?: number;     // registers per request (<= 125) / coils per request (<= 2000)
    byteOrder?: ByteOrder;
    wordOrder?: ByteOrder;
  };
  mqtt?: {
    topic?: string;        // topic pattern with {deviceId}; MQTT wildcards allowed elsewhere
    format: 'json' | 'plain' | 'sparkplugb';
    timestampPath?: string;
    timestampUnit?: 'ms' | 's' | 'iso';
  };
  opcua?: { samplingIntervalMs?: number; publishingIntervalMs?: number; queueSize?: number };
  onvif?: {
    streamProfile?: string;      // profile token, or "main" (first) / "sub" (second)
    probeIntervalS?: number;
    qualityIntervalS?: number;
    sampleSeconds?: number;
    snapshotMaxBytes?: number;
  };
  /** The station's upload schedule: real-time (2011) interval, minute data (2051) interval, hourly (2061) and daily (2031) data. */
  hj212?: { systemCode?: string; realtimeIntervalS?: number; minuteIntervalS?: number; hourlyData?: boolean; dailyData?: boolean };
  sl651?: { stationCategory?: string; reportIntervalS?: number };
  health?: {
    expectedIntervalS?: number;  // how often data is expected (push protocols)
    offlineAfterMissed?: number; // consecutive misses / failures before offline (default 3)
  };
  /** Metrics the catalog lacks (x_ names). After loading: also the edge config's ones this profile uses. */
  customMetrics?: CustomMetricDecl[];
  points: PointDef[];
}

/** The definition of a metric a profile's point names: its custom metrics first, then the catalog. */
export function metricOf(profile: Pick<DeviceProfile, 'customMetrics'>, name: string): MetricDef | undefined {
  const custom = profile.customMetrics?.find((m) => m.name === name);
  return custom ? customMetricDef(custom) : findMetric(name);
}

const num = { type: 'number' };
const posInt = { type: 'integer', minimum: 1 };

/** JSON Schema of a customMetrics list (profiles and the edge config); semantic checks in customMetricProblems. */
export const CUSTOM_METRICS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'unit', 'zh', 'en'],
    properties: {
      name: { type: 'string' },
      unit: { type: 'string', minLength: 1 },
      zh: { type: 'string', minLength: 1 },
      en: { type: 'string', minLength: 1 },
      type: { enum: ['number', 'boolean'] },
      range: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    },
  },
} as const;
const order = { enum: ['BE', 'LE'] };

/** JSON Schema of a profile file (structure only; catalog checks follow in validateProfile). */
export const PROFILE_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'manufacturer', 'model', 'kind', 'protocol', 'points'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
    manufacturer: { type: 'string', minLength: 1 },
    model: { type: 'string', minLength: 1 },
    kind: { enum: ['sensor', 'camera', 'station'] },
    protocol: { enum: [...PROTOCOLS] },
    description: { type: 'string' },
    modbus: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pollIntervalMs: { type: 'integer', minimum: 100 },
        timeoutMs: { type: 'integer', minimum: 50 },
        retries: { type: 'integer', minimum: 0, maximum: 10 },
        maxGap: { type: 'integer', minimum: 0, maximum: 125 },
        maxBlock: { type: 'integer', minimum: 1, maximum: 2000 },
        byteOrder: order,
        wordOrder: order,
      },
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      required: ['format'],
      properties: {
        topic: { type: 'string', minLength: 1 },
        format: { enum: ['json', 'plain', 'sparkplugb'] },
        timestampPath: { type: 'string' },
        timestampUnit: { enum: ['ms', 's', 'iso'] },
      },
    },
    opcua: {
      type: 'object',
      additionalProperties: false,
      properties: { samplingIntervalMs: { type: 'integer', minimum: 0 }, publishingIntervalMs: posInt, queueSize: posInt },
    },
    onvif: {
      type: 'object',
      additionalProperties: false,
      properties: {
        streamProfile: { type: 'string' },
        probeIntervalS: posInt,
        qualityIntervalS: posInt,
        sampleSeconds: { type: 'number', minimum: 1, maximum: 60 },
        snapshotMaxBytes: { type: 'integer', minimum: 1024 },
      },
    },
    hj212: {
      type: 'object',
      additionalProperties: false,
      properties: {
        systemCode: { type: 'string', pattern: '^\\d{2}$' },
        realtimeIntervalS: posInt,
        minuteIntervalS: posInt,
        hourlyData: { type: 'boolean' },
        dailyData: { type: 'boolean' },
      },
    },
    sl651: {
      type: 'object',
      additionalProperties: false,
      properties: { stationCategory: { type: 'string' }, reportIntervalS: posInt },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      properties: { expectedIntervalS: posInt, offlineAfterMissed: posInt },
    },
    customMetrics: CUSTOM_METRICS_SCHEMA,
    points: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'metric'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
          metric: { type: 'string' },
          unit: { type: 'string' },
          scale: num,
          offset: num,
          alarms: {
            type: 'object',
            additionalProperties: false,
            properties: {
              direction: { enum: ['above', 'below'] },
              warning: num,
              alarm: num,
              hysteresis: { type: 'number', minimum: 0 },
              when: { type: 'boolean' },
            },
          },
          totalAlarms: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['hours'],
              properties: { hours: { enum: Object.keys(RAIN_WINDOW_METRICS).map(Number) }, warning: num, alarm: num, hysteresis: { type: 'number', minimum: 0 } },
            },
          },
          modbus: {
            type: 'object',
            additionalProperties: false,
            required: ['area', 'address', 'type'],
            properties: {
              area: { enum: [...MODBUS_AREAS] },
              address: { type: 'integer', minimum: 0, maximum: 65535 },
              type: { enum: [...MODBUS_TYPES] },
              byteOrder: order,
              wordOrder: order,
              bit: { type: 'integer', minimum: 0, maximum: 15 },
            },
          },
          mqtt: {
            type: 'object',
            additionalProperties: false,
            properties: { path: { type: 'string', minLength: 1 }, topic: { type: 'string', minLength: 1 } },
          },
          opcua: {
            type: 'object',
            additionalProperties: false,
            required: ['nodeId'],
            properties: {
              nodeId: { type: 'string', minLength: 1 },
              samplingIntervalMs: { type: 'integer', minimum: 0 },
              queueSize: posInt,
              deadband: {
                type: 'object',
                additionalProperties: false,
                required: ['type', 'value'],
                properties: { type: { enum: ['absolute', 'percent'] }, value: { type: 'number', minimum: 0 } },
              },
            },
          },
          hj212: {
            type: 'object',
            additionalProperties: false,
            required: ['factor'],
            properties: { factor: { type: 'string', pattern: '^[a-zA-Z0-9]+$' } },
          },
          sl651: {
            type: 'object',
            additionalProperties: false,
            required: ['element'],
            properties: { element: { type: 'string', pattern: '^[0-9A-Fa-f]{2}$' } },
          },
        },
      },
    },
  },
} as const;

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ allErrors: true, strict: false });
const validateStructure = ajv.compile(PROFILE_JSON_SCHEMA);

export interface ProfileIssue {
  path: string;    // JSON-pointer-like path inside the profile, "/points/2/unit"
  message: string;
}

function ajvIssue(e: ErrorObject): ProfileIssue {
  const path = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') {
    return { path, message: `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"` };
  }
  if (e.keyword === 'enum') {
    return { path, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
  }
  return { path, message: e.message ?? e.keyword };
}

const WORDS_OF: Record<ModbusType, number> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 };
export const modbusRegisterCount = (t: ModbusType): number => WORDS_OF[t];

/** Problems of a customMetrics list ("<at>/<i>/<field>: problem"), including duplicate names. */
export function customMetricsIssues(list: CustomMetricDecl[], at: string): ProfileIssue[] {
  const seen = new Set<string>();
  return list.flatMap((m, i) => {
    const issues = customMetricProblems(m).map((p) => {
      const [field, ...rest] = p.split(': ');
      return { path: `${at}/${i}/${field}`, message: rest.join(': ') };
    });
    if (seen.has(m.name)) issues.push({ path: `${at}/${i}/name`, message: `duplicate custom metric "${m.name}"` });
    seen.add(m.name);
    return issues;
  });
}

/**
 * Structure + catalog validation. Returns every issue found (empty = valid). `extraMetrics` are custom
 * metrics declared outside the profile (the edge config's), already checked.
 */
export function validateProfile(data: unknown, extraMetrics: CustomMetricDecl[] = []): ProfileIssue[] {
  if (!validateStructure(data)) {
    // Collapse ajv's noise: for an enum failure inside a oneOf etc. keep the first message per path.
    const seen = new Set<string>();
    return (validateStructure.errors ?? []).map(ajvIssue).filter((i) => {
      const k = `${i.path}|${i.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  const p = data as DeviceProfile;
  const issues: ProfileIssue[] = customMetricsIssues(p.customMetrics ?? [], '/customMetrics');
  const add = (path: string, message: string) => issues.push({ path, message });
  const metrics = { customMetrics: [...(p.customMetrics ?? []), ...extraMetrics] };
  const names = new Set<string>();
  if (p.kind !== 'camera' && p.points.length === 0) add('/points', 'a sensor profile needs at least one point');
  if (p.protocol === 'mqtt' && !p.mqtt) add('/mqtt', 'protocol mqtt needs an mqtt block (format, topic)');
  if (p.protocol === 'mqtt' && p.mqtt && p.mqtt.format !== 'plain' && !p.mqtt.topic) {
    add('/mqtt/topic', `format ${p.mqtt.format} needs a topic pattern`);
  }
  if (p.mqtt?.topic && !p.mqtt.topic.includes('{deviceId}')) {
    add('/mqtt/topic', 'topic pattern must capture the device id with {deviceId}');
  }
  if (p.protocol === 'onvif' && p.kind !== 'camera') add('/kind', 'onvif profiles describe cameras: kind must be camera');
  p.points.forEach((pt, i) => {
    const at = `/points/${i}`;
    if (names.has(pt.name)) add(`${at}/name`, `duplicate point name "${pt.name}"`);
    names.add(pt.name);
    const metric = metricOf(metrics, pt.metric);
    if (!metric) {
      add(`${at}/metric`, `unknown metric "${pt.metric}" (see yiwang profile metrics; a value the catalog lacks can be declared under customMetrics with an x_ name)`);
    } else if (pt.unit !== undefined) {
      try {
        unitConverter(pt.unit, metric.unit);
      } catch (err) {
        if (err instanceof UnitError) add(`${at}/unit`, `${err.message} (metric ${metric.name} is in ${metric.unit})`);
        else throw err;
      }
    }
    if (metric?.type === 'boolean' && pt.alarms && (pt.alarms.warning !== undefined || pt.alarms.alarm !== undefined)) {
      add(`${at}/alarms`, 'boolean metrics take alarms.when, not numeric thresholds');
    }
    if (metric?.type === 'number' && pt.alarms?.when !== undefined) {
      add(`${at}/alarms/when`, 'numeric metrics take warning/alarm thresholds, not when');
    }
    const a = pt.alarms;
    if (a?.warning !== undefined && a.alarm !== undefined) {
      const below = a.direction === 'below';
      if (below ? a.alarm > a.warning : a.alarm < a.warning) {
        add(`${at}/alarms`, `alarm level ${a.alarm} must be ${below ? 'below' : 'above'} the warning level ${a.warning}`);
      }
    }
    if (pt.totalAlarms?.length && !RAIN_AMOUNT_METRICS.includes(pt.metric) && !RAIN_COUNTER_METRICS.includes(pt.metric)) {
      add(`${at}/totalAlarms`, `rolling totals need a rainfall metric (${[...RAIN_AMOUNT_METRICS, ...RAIN_COUNTER_METRICS].join(', ')}), not ${pt.metric}`);
    }
    const windows = new Set<number>();
    pt.totalAlarms?.forEach((t, j) => {
      if (windows.has(t.hours)) add(`${at}/totalAlarms/${j}/hours`, `duplicate ${t.hours}-hour window`);
      windows.add(t.hours);
      if (t.warning === undefined && t.alarm === undefined) add(`${at}/totalAlarms/${j}`, 'needs a warning or an alarm level');
      if (t.warning !== undefined && t.alarm !== undefined && t.alarm < t.warning) add(`${at}/totalAlarms/${j}`, `alarm level ${t.alarm} must be above the warning level ${t.warning}`);
    });
    const key = protocolKey(p.protocol);
    if (key && pt[key] === undefined) add(at, `point "${pt.name}" has no ${key} mapping for protocol ${p.protocol}`);
    if (pt.modbus) {
      const m = pt.modbus;
      const bitArea = m.area === 'coil' || m.area === 'discrete';
      if (bitArea && m.type !== 'bool') add(`${at}/modbus/type`, `${m.area} points are single bits: type must be bool`);
      if (m.bit !== undefined && m.type !== 'bool') add(`${at}/modbus/bit`, 'bit applies only to type bool');
      if (m.address + modbusRegisterCount(m.type) - 1 > 65535) add(`${at}/modbus/address`, 'value runs past register 65535');
    }
    if (p.protocol === 'mqtt' && pt.mqtt) {
      if (p.mqtt?.format === 'plain' && !pt.mqtt.topic && !p.mqtt.topic) {
        add(`${at}/mqtt/topic`, 'plain payloads need a topic per point');
      }
      if (p.mqtt?.format !== 'plain' && !pt.mqtt.path) add(`${at}/mqtt/path`, `format ${p.mqtt?.format} needs a path per point`);
      if (pt.mqtt.topic && !pt.mqtt.topic.includes('{deviceId}')) {
        add(`${at}/mqtt/topic`, 'topic pattern must capture the device id with {deviceId}');
      }
    }
  });
  return issues;
}

function protocolKey(protocol: ProtocolName): 'modbus' | 'mqtt' | 'opcua' | 'hj212' | 'sl651' | undefined {
  return protocol === 'onvif' ? undefined : protocol;
}

export class ProfileError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ProfileIssue[],
  ) {
    super(issues.map((i) => `${file}: ${i.path}: ${i.message}`).join('\n'));
  }
}

/** Parses and validates one profile file; throws ProfileError listing every problem. */
export function loadProfileFile(file: string, extraMetrics: CustomMetricDecl[] = []): DeviceProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError(file, [{ path: '/', message: `cannot read: ${(err as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new ProfileError(file, [{ path: '/', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  const issues = validateProfile(data, extraMetrics);
  if (issues.length) throw new ProfileError(file, issues);
  const profile = data as DeviceProfile;
  // The edge config's custom metrics this profile uses travel with it (normalizer, 一机一档 record).
  const own = new Set((profile.customMetrics ?? []).map((m) => m.name));
  const used = extraMetrics.filter((m) => !own.has(m.name) && profile.points.some((pt) => pt.metric === m.name));
  if (used.length) profile.customMetrics = [...(profile.customMetrics ?? []), ...used];
  const stem = basename(file).replace(/\.ya?ml$/, '');
  if (stem !== profile.id) {
    throw new ProfileError(file, [{ path: '/id', message: `id "${profile.id}" must match the file name "${stem}"` }]);
  }
  return profile;
}

/** The profiles shipped with yiwang. */
export const BUILTIN_PROFILE_DIR = fileURLToPath(new URL('../device-profiles/', import.meta.url));

export function profileFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** A set of profiles by id: the built-in ones plus extra directories (later ones override). */
export class ProfileCatalog {
  private readonly byId = new Map<string, DeviceProfile>();

  /** `customMetrics`: the edge config's declarations, usable by every profile (checked here). */
  static load(dirs: string[] = [BUILTIN_PROFILE_DIR], opts: { customMetrics?: CustomMetricDecl[] } = {}): ProfileCatalog {
    const c = new ProfileCatalog();
    const extra = opts.customMetrics ?? [];
    const extraIssues = customMetricsIssues(extra, 'customMetrics');
    if (extraIssues.length) throw new Error(`invalid custom metrics in the edge config:\n${extraIssues.map((i) => `${i.path.replace(/\/(\d+)\//, '[$1].')}: ${i.message}`).join('\n')}`);
    const errors: string[] = [];
    for (const dir of dirs) {
      for (const f of profileFiles(resolve(dir))) {
        try {
          c.add(loadProfileFile(f, extra));
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
    if (errors.length) throw new Error(`invalid device profiles:\n${errors.join('\n')}`);
    return c;
  }

  add(p: DeviceProfile): void {
    this.byId.set(p.id, p);
  }

  get(id: string): DeviceProfile | undefined {
    return this.byId.get(id);
  }

  list(): DeviceProfile[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}

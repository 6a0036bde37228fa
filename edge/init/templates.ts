// Commented starter configs per site type for `yiwang edge init`. What the installer does not give as a flag
// is written as a recognisable placeholder, and `yiwang edge doctor` flags every one left (starterPlaceholders).
import type { EdgeConfig } from '../config.js';
import type { SiteType } from '../../schema/types.js';

/** The starter's placeholder values: doctor reports any still in a config as "not filled in". */
export const PLACEHOLDERS = {
  siteName: '站点名称',
  address: '安装地址',
  uplinkUrl: 'mqtt://collector.example.gov.cn:1883',
  location: { longitude: 117.2272, latitude: 31.8206, divisionCode: '340102' },
} as const;

/** What `yiwang edge init` can fill in instead of a placeholder. */
export interface StarterValues {
  edgeId: string;
  siteId?: string;
  siteName?: string;
  address?: string;
  longitude?: number;
  latitude?: number;
  divisionCode?: string;
  uplinkUrl?: string;
  bufferDir?: string;
  /** Devices, profiles and thresholds come from the collector (edge–cloud coordination). */
  managed?: boolean;
}

const q = (s: string) => JSON.stringify(s); // a YAML double-quoted scalar is a JSON string

function header(siteType: SiteType, v: StarterValues): string {
  const p = PLACEHOLDERS;
  const lon = v.longitude ?? p.location.longitude;
  const lat = v.latitude ?? p.location.latitude;
  return `# yiwang edge agent configuration (${siteType}).
# Check it with:  yiwang edge doctor --config THIS_FILE
# Run it with:    yiwang edge --config THIS_FILE
# Secrets live in edge.env next to this file (mode 0600), never here: passwordEnv names the variable.
# Every key is documented in the README ("Edge configuration").

edge:
  id: ${v.edgeId}                 # unique per edge box; also its MQTT user name at the collector
${v.managed ? '  managed: true                # devices, profiles and thresholds come from the collector (not from this file)\n' : ''}
site:
  id: ${q(v.siteId ?? v.edgeId.replace(/^edge-/, ''))}
  name: ${q(v.siteName ?? p.siteName)}                  # site name as the bureaus know it
  type: ${siteType}                 # village | street | water_station | other
  location: { longitude: ${lon}, latitude: ${lat}, address: ${q(v.address ?? p.address)}, divisionCode: ${q(v.divisionCode ?? p.location.divisionCode)} }

uplink:
  url: ${v.uplinkUrl ?? p.uplinkUrl}   # mqtts://... for TLS (then set ca:)
  passwordEnv: YIWANG_UPLINK_PASSWORD          # its value is in edge.env
  # ca: /etc/yiwang/ca.pem
  backlogRateLimit: 20000                      # items/s when draining after an outage

buffer:
  dir: ${v.bufferDir ?? '/var/lib/yiwang/buffer'}                  # survives upgrades; keep it on the SSD/SD card
  maxBytes: 2147483648                         # 2 GiB; when full the oldest telemetry is dropped (alarms never)
  retentionHours: 720
  commitIntervalMs: 500

admin:
  host: 127.0.0.1                              # admin HTTP: /healthz, /metrics, /api/v1/devices
  port: 9180
`;
}

const modbusExample = `#  - id: SITE-WL-01
#    name: "河道水位计"
#    profile: radar-level-modbus
#    connection: { transport: tcp, host: 192.168.1.20, port: 502, unitId: 1 }
#    sharingScope: [water, emergency]
#    installedDate: "2026-05-01"
#    maintainer: "区水务局"
`;

const examples: Record<SiteType, string> = {
  water_station: `${modbusExample}#  - id: SITE-RAIN-01
#    name: "雨量计"
#    profile: rain-gauge-modbus
#    connection: { transport: rtu, serialPort: /dev/ttyUSB0, baudRate: 9600, parity: none, unitId: 2 }
#    sharingScope: [water]
#  - id: SITE-WQ-01
#    name: "多参数水质仪"
#    profile: water-quality-opcua
#    connection: { endpoint: "opc.tcp://192.168.1.30:4840", securityMode: None }
#    sharingScope: [water, environment]
`,
  village: `${modbusExample}#  - id: SITE-SMOKE-01
#    name: "村委会烟感"
#    profile: smoke-detector-mqtt
#    connection: { broker: local }
#    sharingScope: [fire, emergency]
`,
  street: `#  - id: SITE-AQ-01
#    name: "街道微型空气站"
#    profile: air-quality-mqtt
#    connection: { broker: local }
#    sharingScope: [environment]
#  - id: SITE-HYD-01
#    name: "消火栓压力"
#    profile: hydrant-pressure-mqtt
#    connection: { broker: local }
#    sharingScope: [fire]
`,
  other: modbusExample,
};

const mqttBroker = `protocols:
  mqtt:
    localBroker:
      enabled: true
      port: 1883
      users: []   # add with: yiwang edge mqtt-user add NAME (stores a scrypt hash)
`;

export function starterConfig(siteType: SiteType, values: StarterValues): string {
  if (values.managed) {
    return `${header(siteType, values)}
${siteType === 'water_station' ? '' : mqttBroker}
# Devices come from the collector (edge.managed: true): register them there, e.g.
#   yiwang collector device add --edge ${values.edgeId} --profile radar-level-modbus --id SITE-WL-01 --address 192.168.1.20:502#1
# or with the 一机一档 spreadsheet (columns 接入网关, 设备模板, 连接参数). \`yiwang edge device list\` shows what arrived.
`;
  }
  return `${header(siteType, values)}
${siteType === 'water_station' ? '' : mqttBroker}
# Devices: register them with \`yiwang edge device add\` / \`yiwang edge camera add\` (validated, applied live),
# then check each with \`yiwang edge device test ID\`. Examples of entries:
${examples[siteType]}devices: []
`;
}

/** Placeholders of the starter config still present in `cfg`, as "path: what to do" lines. */
export function starterPlaceholders(cfg: EdgeConfig): { path: string; message: string }[] {
  const p = PLACEHOLDERS;
  const out: { path: string; message: string }[] = [];
  const loc = cfg.site.location;
  if (cfg.site.name === p.siteName) out.push({ path: 'site.name', message: `still the placeholder "${p.siteName}": the site's name as the bureaus know it` });
  if (loc?.address === p.address) out.push({ path: 'site.location.address', message: `still the placeholder "${p.address}": the installation address` });
  if (loc && loc.longitude === p.location.longitude && loc.latitude === p.location.latitude) {
    out.push({ path: 'site.location', message: `still the starter's example coordinates (${p.location.longitude}, ${p.location.latitude}) and division ${loc.divisionCode}: the site's WGS-84 position and 行政区划 code` });
  }
  if (new URL(cfg.uplink.url).hostname === new URL(p.uplinkUrl).hostname) out.push({ path: 'uplink.url', message: `still the example collector ${p.uplinkUrl}: the collector's broker address` });
  for (const [i, d] of cfg.devices.entries()) {
    if (/^SITE-/.test(d.id)) out.push({ path: `devices[${i}]`, message: `${d.id} is the starter's example device: register the real one (yiwang edge device add) and remove this one` });
  }
  return out;
}

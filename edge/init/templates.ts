// Commented starter configs per site type for `yiwang edge init`.
import type { SiteType } from '../../schema/types.js';

const header = (siteType: SiteType, edgeId: string) => `# yiwang edge agent configuration (${siteType}).
# Check it with:  yiwang edge doctor --config THIS_FILE
# Run it with:    yiwang edge --config THIS_FILE
# Every key is documented in the README ("Edge configuration").

edge:
  id: ${edgeId}                 # unique per edge box; also its MQTT user name at the collector

site:
  id: ${edgeId.replace(/^edge-/, '')}
  name: "站点名称"                  # site name as the bureaus know it
  type: ${siteType}                 # village | street | water_station | other
  location: { longitude: 117.2272, latitude: 31.8206, address: "安装地址", divisionCode: "340102" }

uplink:
  url: mqtt://collector.example.gov.cn:1883   # mqtts://... for TLS (then set ca:)
  passwordEnv: YIWANG_UPLINK_PASSWORD          # or password: / passwordFile:
  # ca: /etc/yiwang/ca.pem
  backlogRateLimit: 20000                      # items/s when draining after an outage

buffer:
  dir: /var/lib/yiwang/buffer                  # survives upgrades; keep it on the SSD/SD card
  maxBytes: 2147483648                         # 2 GiB; when full the oldest telemetry is dropped (alarms never)
  retentionHours: 720
  commitIntervalMs: 500

admin:
  host: 127.0.0.1                              # admin HTTP: /healthz, /metrics, /api/v1/devices
  port: 9180
`;

const modbusDevice = `  - id: SITE-WL-01
    name: "河道水位计"
    profile: radar-level-modbus
    connection: { transport: tcp, host: 192.168.1.20, port: 502, unitId: 1 }
    sharingScope: [water, emergency]
    installedDate: "2026-05-01"
    maintainer: "区水务局"
`;

const mqttBroker = `protocols:
  mqtt:
    localBroker:
      enabled: true
      port: 1883
      users: []   # add with: yiwang edge mqtt-user add NAME (stores a scrypt hash)
`;

export function starterConfig(siteType: SiteType, edgeId: string): string {
  const devices: Record<SiteType, string> = {
    water_station: `${modbusDevice}  - id: SITE-RAIN-01
    name: "雨量计"
    profile: rain-gauge-modbus
    connection: { transport: rtu, serialPort: /dev/ttyUSB0, baudRate: 9600, parity: none, unitId: 2 }
    sharingScope: [water]
  - id: SITE-WQ-01
    name: "多参数水质仪"
    profile: water-quality-opcua
    connection: { endpoint: "opc.tcp://192.168.1.30:4840", securityMode: None }
    sharingScope: [water, environment]
`,
    village: `${modbusDevice}  - id: SITE-SMOKE-01
    name: "村委会烟感"
    profile: smoke-detector-mqtt
    connection: { broker: local }
    sharingScope: [fire, emergency]
`,
    street: `  - id: SITE-AQ-01
    name: "街道微型空气站"
    profile: air-quality-mqtt
    connection: { broker: local }
    sharingScope: [environment]
  - id: SITE-HYD-01
    name: "消火栓压力"
    profile: hydrant-pressure-mqtt
    connection: { broker: local }
    sharingScope: [fire]
`,
    other: modbusDevice,
  };
  return `${header(siteType, edgeId)}
${siteType === 'water_station' ? '' : mqttBroker}
devices:
${devices[siteType]}`;
}

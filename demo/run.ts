// `yiwang demo`: a collector and N simulated sites (village, street, water station, repeating) on this
// machine, each an in-process edge agent with its own rendered config and real-protocol device simulators.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../collector/config.js';
import { startCollector, type Collector } from '../collector/index.js';
import { createLogger, type Logger } from '../core/log.js';
import { freePort } from '../core/net.js';
import { startEdge, type EdgeAgent } from '../edge/agent.js';
import { DEVICE_ACCOUNT_COST, hashSecret } from '../core/secrets.js';
import { startDemoReceiver, type DemoReceiver } from './alarm-receiver.js';
import { Scenario } from './scenario.js';
import { float32Words, startModbusSimulator, uint32Words } from './simulators/modbus-sim.js';
import { startMqttSimulator } from './simulators/mqtt-sim.js';
import type { RtspServer } from './simulators/rtsp-server.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../examples/demo/', import.meta.url));
const SITE_KINDS = ['village', 'street', 'water-station'] as const;
type SiteKind = (typeof SITE_KINDS)[number];
const SITE_NAMES: Record<SiteKind, string[]> = {
  village: ['杨庙村', '吴山村', '岗集村', '庄墓村'],
  street: ['稻香楼街道', '三里庵街道', '琥珀街道', '西园街道'],
  'water-station': ['南淝河水务站', '十五里河水务站', '派河水务站', '塘西河水务站'],
};
const ORIGIN: Record<SiteKind, [number, number]> = { village: [117.13, 31.98], street: [117.25, 31.86], 'water-station': [117.36, 31.76] };
export const DEMO_BUREAUS = ['water', 'environment', 'fire', 'emergency', 'public_security'] as const;

export interface DemoOptions {
  sites: number;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  video: boolean | 'auto';
  rainCycleMs?: number;
  log?: Logger;
  say?: (line: string) => void;
}

export interface Demo {
  collector: Collector;
  edges: EdgeAgent[];
  tokens: Record<string, string>;
  dashboardUrl: string;
  video: { enabled: boolean; reason?: string };
  /** Where the demo's alarm notifications go: a local webhook receiver that prints them. */
  notifications: DemoReceiver;
  stop(): Promise<void>;
}

/** Whether the camera part can run here: ffmpeg for diagnosis and GStreamer's RTSP server for the stream. */
export function videoSupport(): { ok: boolean; reason?: string } {
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: 'ffmpeg is not installed (Debian/Ubuntu: sudo apt-get install ffmpeg)' };
  }
  try {
    execFileSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"], { stdio: 'ignore' });
  } catch {
    return {
      ok: false,
      reason: 'the simulated camera needs GStreamer\'s RTSP server (sudo apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)',
    };
  }
  return { ok: true };
}

/** Fills ${NAME} placeholders; `#CAMERA` lines are kept (uncommented) only when the camera runs. */
export function renderTemplate(text: string, vars: Record<string, string | number>, camera: boolean): string {
  const lines = text.split('\n').flatMap((l) => (l.startsWith('#CAMERA') ? (camera ? [l.slice('#CAMERA'.length)] : []) : [l]));
  const out = lines.join('\n').replace(/\$\{([A-Z0-9_]+)\}/g, (m, k: string) => {
    if (!(k in vars)) throw new Error(`demo template: no value for ${m}`);
    return String(vars[k]);
  });
  return out;
}

type Stoppable = { stop(): Promise<void> | void };

export async function runDemo(o: DemoOptions): Promise<Demo> {
  const log = o.log ?? createLogger('yiwang-demo', process.env.YIWANG_LOG_LEVEL ?? 'warn');
  const say = o.say ?? ((l: string) => process.stdout.write(`${l}\n`));
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const stoppers: Stoppable[] = [];
  const stopAll = async () => {
    for (const s of stoppers.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo: stop failed');
      }
    }
  };
  try {
    // Alarm notifications: every bureau's alarm transitions go to a local webhook receiver that prints them (a
    // real deployment names WeCom/DingTalk robots, SMTP and SMS gateways here: collector/notify/notify.sample.yaml).
    const receiver = await startDemoReceiver(say);
    stoppers.push({ stop: () => receiver.close() });
    process.env.YIWANG_DEMO_WEBHOOK_SECRET = receiver.secret;
    const config = defaultConfig();
    config.notify = {
      ...(o.httpPort ? { dashboardUrl: `http://127.0.0.1:${o.httpPort}/dashboard/` } : {}),
      digest: { threshold: 30, windowS: 60 }, // one receiver for every bureau: a digest only for a real storm
      channels: [{ id: 'demo-webhook', type: 'webhook', url: receiver.url, secretEnv: 'YIWANG_DEMO_WEBHOOK_SECRET' }],
      rules: DEMO_BUREAUS.map((b) => ({ id: `demo-${b}`, bureau: b, transitions: ['raised', 'escalated', 'cleared', 'acknowledged'], channels: ['demo-webhook'] })),
    };
    const collector = await startCollector({ config, overrides: { dataDir: join(dataDir, 'collector'), httpPort: o.httpPort, mqttPort: o.mqttPort }, log });
    stoppers.push(collector);
    const tokens: Record<string, string> = {};
    for (const b of DEMO_BUREAUS) tokens[b] = await collector.createToken({ name: `demo-${b}`, bureau: b });
    tokens['water-operator'] = await collector.createToken({ name: 'demo-water-operator', bureau: 'water', role: 'operator' });
    tokens.admin = await collector.createToken({ name: 'demo-admin', admin: true });

    const vs = o.video === false ? { ok: false, reason: 'disabled with --no-video' } : videoSupport();
    const scenario = new Scenario({ startedAt: Date.now() - 50_000, rainCycleMs: o.rainCycleMs });
    const simPassword = randomBytes(9).toString('base64url');
    const simHash = hashSecret(simPassword, DEVICE_ACCOUNT_COST); // what `yiwang edge mqtt-user add` writes

    // Shared heavy simulators: one OPC UA server and one RTSP server serve every site that needs them.
    let opcuaEndpoint: string | undefined;
    let rtsp: RtspServer | undefined;
    const needsWater = o.sites >= 3;
    if (needsWater) {
      const { startOpcuaServer } = await import('./simulators/opcua-server.js');
      // The simulator is node-opcua too: its console lines go through the demo's logger like the edges' do.
      (await import('../protocols/opcua/logging.js')).routeNodeOpcuaLogs(log);
      const sim = await startOpcuaServer({ pkiDir: join(dataDir, 'opcua-sim-pki') });
      stoppers.push(sim);
      opcuaEndpoint = sim.endpoint;
    }
    if (vs.ok) {
      const { startRtspServer } = await import('./simulators/rtsp-server.js');
      const server = await startRtspServer();
      stoppers.push(server);
      rtsp = server;
    }

    const edges: EdgeAgent[] = [];
    for (let i = 0; i < o.sites; i++) {
      const kind = SITE_KINDS[i % 3]!;
      const round = Math.floor(i / 3);
      const n = String(i + 1).padStart(2, '0');
      const siteId = `${kind === 'water-station' ? 'WS' : kind === 'street' ? 'ST' : 'VL'}${n}`;
      const edgeId = `edge-${kind}-${n}`;
      const [lon0, lat0] = ORIGIN[kind];
      const lon = +(lon0 + round * 0.045).toFixed(5);
      const lat = +(lat0 - round * 0.03).toFixed(5);
      const password = await collector.addEdge(edgeId);
      const vars: Record<string, string | number> = {
        EDGE_ID: edgeId, SITE_ID: siteId, SITE_NAME: SITE_NAMES[kind][round % 4]! + (round >= 4 ? round : ''),
        LON: lon, LAT: lat, LON_E1: +(lon + 0.004).toFixed(5), LON_W1: +(lon - 0.004).toFixed(5), LAT_N1: +(lat + 0.003).toFixed(5), LAT_S1: +(lat - 0.003).toFixed(5),
        COLLECTOR_URL: `mqtt://127.0.0.1:${collector.mqttPort}`, EDGE_PASSWORD: password,
        BUFFER_DIR: join(dataDir, 'edges', edgeId), ADMIN_PORT: await freePort(), PROFILE_DIR: join(EXAMPLES_DIR, 'profiles'),
        MQTT_PORT: await freePort(), MQTT_SIM_HASH: simHash, HJ212_PORT: await freePort(), SL651_PORT: await freePort(),
        MODBUS_PORT: 0, OPCUA_ENDPOINT: opcuaEndpoint ?? '', ONVIF_PORT: 0, CAMERA_ID: `340121000013200${String(i + 1).padStart(5, '0')}`,
        CAMERA_PASSWORD: simPassword, HJ212_AIR_MN: `34010400A${String(i + 1).padStart(15, '0')}`, HJ212_WATER_MN: `34011100W${String(i + 1).padStart(15, '0')}`,
        SL651_STATION: `00${String(34011100 + i).padStart(8, '0')}`,
      };

      if (kind === 'village' || kind === 'water-station') {
        let cumulativeTips = 0;
        let lastT = Date.now();
        const level = (t: number) => ({ holding: { 0: Math.round(scenario.waterLevelM(t) * 100), 1: 1200, 2: 0x10000 - 68, 3: 1236 } });
        const sim = await startModbusSimulator({
          1: level,
          2: (t) => {
            cumulativeTips += (scenario.rainMmPerMin(t) * ((t - lastT) / 60_000)) / 0.1;
            lastT = t;
            const [hi, lo] = uint32Words(Math.floor(cumulativeTips));
            return { input: { 0: hi, 1: lo, 2: Math.round((scenario.rainMmPerMin(t) / 6) / 0.1) } };
          },
          3: (t) => {
            const [a, b] = float32Words(scenario.flowLps(t), true);
            const [c, d] = float32Words(0.8 + (scenario.waterLevelM(t) - 2.8) * 0.5, true);
            const [e, f] = uint32Words(Math.floor((t / 1000) % 1e8));
            return { holding: { 4112: a, 4113: b, 4114: c, 4115: d, 4116: e, 4117: f } };
          },
        });
        stoppers.push(sim);
        vars.MODBUS_PORT = sim.port;
      }
      const camera = kind === 'village' && rtsp !== undefined;
      if (camera) {
        const { startOnvifSimulator } = await import('./simulators/onvif-simulator.js');
        const cam = await startOnvifSimulator({ rtspUrl: rtsp!.url('normal'), username: 'admin', password: simPassword, manufacturer: 'HIKVISION', model: 'DS-2DE4425IW-DE', firmware: 'V5.7.3', serial: `DS2DE-DEMO-${n}` });
        stoppers.push(cam);
        vars.ONVIF_PORT = cam.port;
      }
      const template = readFileSync(join(EXAMPLES_DIR, `${kind}.yaml`), 'utf8');
      const configFile = join(dataDir, 'edges', `${edgeId}.yaml`);
      mkdirSync(join(dataDir, 'edges'), { recursive: true });
      writeFileSync(configFile, renderTemplate(template, vars, camera));
      const agent = await startEdge({ configFile, log: log.child({ edge: edgeId }) });
      stoppers.push(agent);
      edges.push(agent);

      if (kind === 'village' || kind === 'street') {
        const devices =
          kind === 'village'
            ? [{ kind: 'smoke' as const, topicId: `${siteId}-sd1`, salt: i }, { kind: 'smoke' as const, topicId: `${siteId}-sd2`, salt: i + 1 }]
            : [
                { kind: 'air' as const, topicId: `${siteId}-aq1`, salt: i },
                { kind: 'air' as const, topicId: `${siteId}-aq2`, salt: i + 1 },
                { kind: 'hydrant' as const, topicId: `${siteId}-h1`, salt: i },
                { kind: 'hydrant' as const, topicId: `${siteId}-h2`, salt: i + 1 },
              ];
        stoppers.push(await startMqttSimulator({ url: `mqtt://127.0.0.1:${vars.MQTT_PORT}`, username: 'sim', password: simPassword, devices, scenario }));
      }
      if (kind === 'street') {
        const { startHj212Station } = await import('./simulators/hj212-station.js');
        stoppers.push(startHj212Station({ host: '127.0.0.1', port: Number(vars.HJ212_PORT), mn: String(vars.HJ212_AIR_MN), password: '123456', kind: 'air', intervalMs: 10_000, minuteEvery: 6, hourly: true }));
      }
      if (kind === 'water-station') {
        const { startHj212Station } = await import('./simulators/hj212-station.js');
        const { startSl651Station } = await import('./simulators/sl651-station.js');
        stoppers.push(startHj212Station({ host: '127.0.0.1', port: Number(vars.HJ212_PORT), mn: String(vars.HJ212_WATER_MN), password: '123456', kind: 'water', intervalMs: 10_000, minuteEvery: 6, hourly: true }));
        stoppers.push(startSl651Station({ host: '127.0.0.1', port: Number(vars.SL651_PORT), station: String(vars.SL651_STATION), intervalMs: 10_000, keepAliveMs: 30_000 }));
      }
      say(`  site ${siteId} ${vars.SITE_NAME} (${kind}) — edge ${edgeId}, admin http://127.0.0.1:${vars.ADMIN_PORT}, config ${configFile}${camera ? ', with camera' : ''}`);
    }
    const dashboardUrl = `http://127.0.0.1:${collector.httpPort}/dashboard/`;
    return { collector, edges, tokens, dashboardUrl, video: { enabled: vs.ok, reason: vs.reason }, notifications: receiver, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

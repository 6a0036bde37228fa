// The installer's tools against real simulators: help and flag hints, safe config edits, secrets in edge.env,
// device test for every protocol (Modbus in installer-e2e), doctor's site-broker and placeholder checks, and
// JSON-only logs from a running agent with an OPC UA device.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../core/net.js';
import { startHj212Station, type Hj212Station } from '../../demo/simulators/hj212-station.js';
import { startOnvifSimulator, type OnvifSimulator } from '../../demo/simulators/onvif-simulator.js';
import { startOpcuaServer, type OpcuaSim } from '../../demo/simulators/opcua-server.js';
import { startRtspServer, type RtspServer } from '../../demo/simulators/rtsp-server.js';
import { startSl651Station, type Sl651Station } from '../../demo/simulators/sl651-station.js';
import { start, yiwang, type LongRunning } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'yiwang-installer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A config directory with a minimal valid edge.yaml (written here: protocol settings have no CLI flags). */
function site(name: string, extra: Record<string, unknown> = {}): { dir: string; cfg: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, 'edge.yaml');
  writeFileSync(cfg, YAML.stringify({ edge: { id: `edge-${name}` }, site: { id: name, name: '测试站' }, uplink: { url: 'mqtt://127.0.0.1:1', password: 'x' }, buffer: { dir: './buffer' }, ...extra, devices: [] }), { mode: 0o600 });
  return { dir, cfg };
}

describe('CLI help and flags', () => {
  it('prints each sub-command\'s own usage and names the closest valid flag or command', async () => {
    const { dir } = site('help');
    expect((await yiwang(dir, ['collector', 'token', '--help'])).out).toMatch(/^Usage: yiwang collector token create\|list\|revoke/);
    expect((await yiwang(dir, ['collector', 'edge', 'add', '--help'])).out).toMatch(/^Usage: yiwang collector edge add --id EDGE_ID/);
    expect((await yiwang(dir, ['edge', 'device', 'test', '--help'])).out).toMatch(/^Usage: yiwang edge device test ID/);
    expect((await yiwang(dir, ['edge', 'doctor', '--help'])).out).toMatch(/^Usage: yiwang edge doctor/);
    expect((await yiwang(dir, ['edge', 'camera', 'add', '--help'])).out).toMatch(/^Usage: yiwang edge camera add/);
    const typo = await yiwang(dir, ['edge', 'doctor', '--timout-ms', '5']);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^unknown option --timout-ms; did you mean --timeout-ms\?/);
    expect((await yiwang(dir, ['collector', 'token', 'create', '--bureu', 'water'])).out).toMatch(/^unknown option --bureu; did you mean --bureau\?/);
    expect((await yiwang(dir, ['edge', 'devcie', 'list'])).err).toMatch(/unknown command "devcie"; did you mean "device"\?/);
  }, 60_000);
});

describe('registering devices', () => {
  it('takes Chinese bureau names, refuses a taken id, replaces with a change list, updates in place keeping mode and style', async () => {
    const { dir, cfg } = site('reg');
    const add = (...extra: string[]) => yiwang(dir, ['edge', 'device', 'add', '--config', cfg, '--profile', 'radar-level-modbus', '--id', 'WL-1', '--address', '127.0.0.1:1502#1', '--no-apply', ...extra]);
    const bad = await add('--share', '水务,教育');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--share: "教育" is not a known bureau; use water (水务/水利), environment (环保/生态环境/环境)');
    expect((await add('--name', '前池水位', '--share', '水务,应急', '--lon', '117.1', '--lat', '31.8')).code).toBe(0);
    // The installer sets the file to 0640 (group yiwang) and writes a flow-style connection by hand.
    chmodSync(cfg, 0o640);
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/connection:\n(\s+)transport: tcp\n\s+host: 127.0.0.1\n\s+port: 1502\n\s+unitId: 1/, 'connection: { transport: tcp, host: 127.0.0.1, port: 1502, unitId: 1 } # gauge behind the pump house'));

    const again = await add();
    expect(again.code).toBe(2);
    expect(again.err).toContain('device WL-1 is already registered (前池水位, radar-level-modbus); nothing was changed.');
    expect(YAML.parse(readFileSync(cfg, 'utf8')).devices[0]).toMatchObject({ name: '前池水位', sharingScope: ['water', 'emergency'] });

    const update = await yiwang(dir, ['edge', 'device', 'update', 'WL-1', '--config', cfg, '--name', '北池水位', '--address', '127.0.0.1:1503#2', '--install-address', '泵房东侧', '--no-apply']);
    expect(update.code).toBe(0);
    expect(update.out).toContain('name: 前池水位 → 北池水位');
    expect(update.out).toContain('connection.port: 1502 → 1503');
    expect(update.out).toContain('location.address: (none) → 泵房东侧');
    const text = readFileSync(cfg, 'utf8');
    expect(text).toContain('connection: { transport: tcp, host: 127.0.0.1, port: 1503, unitId: 2 } # gauge behind the pump house');
    expect(statSync(cfg).mode & 0o777).toBe(0o640);
    expect(YAML.parse(text).devices[0]).toMatchObject({ sharingScope: ['water', 'emergency'], location: { longitude: 117.1, latitude: 31.8, address: '泵房东侧' } });

    const replaced = await add('--replace', '--share', 'fire');
    expect(replaced.code).toBe(0);
    expect(replaced.out).toContain('name: 北池水位 → (none)');
    expect(replaced.out).toContain('sharingScope: ["water","emergency"] → ["fire"]');
    expect(statSync(cfg).mode & 0o777).toBe(0o640);
  }, 60_000);
});

describe('device test', () => {
  let opcua: OpcuaSim;
  let rtsp: RtspServer;
  let camera: OnvifSimulator;
  beforeAll(async () => {
    opcua = await startOpcuaServer({ simulateIntervalMs: 0 });
    rtsp = await startRtspServer();
    camera = await startOnvifSimulator({ rtspUrl: rtsp.url('normal'), username: 'admin', password: 's3cret', manufacturer: 'Hikvision', model: 'DS-2CD2T47', firmware: 'V5.7.3', serial: 'DS2CD-0001' });
  }, 60_000);
  afterAll(async () => {
    await camera?.stop();
    await rtsp?.stop();
    await opcua?.stop();
  });

  it('OPC UA: reads every node and says when a value is implausible for the profile\'s source unit', async () => {
    const { dir, cfg } = site('opcua');
    // The analyser sends µS/cm (418.879 would be a river); the profile assumes mS/cm.
    opcua.setValue('Conductivity', 418.879);
    expect((await yiwang(dir, ['edge', 'device', 'add', '--config', cfg, '--profile', 'water-quality-opcua', '--id', 'WQ-1', '--address', opcua.endpoint, '--no-apply'])).code).toBe(0);
    const t = await yiwang(dir, ['edge', 'device', 'test', 'WQ-1', '--config', cfg]);
    expect(t.code).toBe(1);
    expect(t.out).toMatch(/ph\s+pH \(pH值\)\s+ns=1;s=WQ\.pH\s+7\.2 pH\s+7\.2 pH\s+good/);
    expect(t.out).toContain("418,879 µS/cm is outside conductivity's plausible range 0–200,000 µS/cm: check the profile's source unit (mS/cm) against what the device sends");
    expect(t.out).toContain('PROBLEM: 1 of');
    expect(t.err).not.toMatch(/NODE-OPCUA|Creating default certificate/); // node-opcua's chatter goes through our logger
  }, 60_000);

  it('ONVIF: camera add keeps the password in edge.env; the test does GetDeviceInformation and a stream probe', async () => {
    const { dir, cfg } = site('onvif');
    const add = await yiwang(dir, ['edge', 'camera', 'add', '--config', cfg, '--id', '34010200001320000001', '--host', '127.0.0.1', '--port', String(camera.port), '--user', 'admin', '--password', 's3cret', '--name', '泵站球机', '--no-apply']);
    expect(add.code).toBe(0);
    expect(readFileSync(cfg, 'utf8')).not.toContain('s3cret');
    expect(readFileSync(join(dir, 'edge.env'), 'utf8')).toBe('YIWANG_DEVICE_34010200001320000001_PASSWORD=s3cret\n');
    expect(statSync(join(dir, 'edge.env')).mode & 0o777).toBe(0o600);
    const t = await yiwang(dir, ['edge', 'device', 'test', '34010200001320000001', '--config', cfg], { unset: ['YIWANG_DEVICE_34010200001320000001_PASSWORD'] });
    expect(t.out).toContain('GetDeviceInformation: Hikvision DS-2CD2T47, firmware V5.7.3, serial DS2CD-0001');
    expect(t.out).toMatch(/online\s+Stream reachable \(视频在线\)\s+video_online\s+true bool\s+true\s+good/);
    expect(t.out).toMatch(/fps\s+Video frame rate \(视频帧率\)\s+video_fps\s+[\d.]+ fps\s+[\d.]+ fps\s+good/);
    expect(t.code, t.out).toBe(0);
  }, 90_000);
});

describe('with the agent running', () => {
  let agent: LongRunning;
  let hj: Hj212Station;
  let sl: Sl651Station;
  let opcua: OpcuaSim;
  let dir = '';
  let cfg = '';
  let brokerPort = 0;

  beforeAll(async () => {
    opcua = await startOpcuaServer({ simulateIntervalMs: 0 });
    brokerPort = await freePort();
    const hjPort = await freePort();
    const slPort = await freePort();
    ({ dir, cfg } = site('agent', {
      admin: { host: '127.0.0.1', port: await freePort() },
      protocols: {
        mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: brokerPort, allowAnonymous: true } },
        hj212: { host: '127.0.0.1', port: hjPort },
        sl651: { host: '127.0.0.1', port: slPort },
      },
    }));
    const add = async (...args: string[]) => expect((await yiwang(dir, ['edge', 'device', 'add', '--config', cfg, '--no-apply', ...args])).code).toBe(0);
    await add('--profile', 'air-quality-mqtt', '--id', 'AQ-1', '--address', 'aq1');
    await add('--profile', 'hj212-water-quality-station', '--id', 'WQS-1', '--connection', '{"mn":"WQ0000000000000000000001","password":"123456"}');
    await add('--profile', 'sl651-hydrology-station', '--id', 'HY-1', '--connection', '{"station":"0012345678","password":"1234"}');
    await add('--profile', 'water-quality-opcua', '--id', 'WQ-9', '--address', opcua.endpoint);
    agent = start(dir, ['edge', '--config', cfg], { YIWANG_LOG_LEVEL: 'debug' });
    await agent.waitFor(/edge agent started/);
    hj = startHj212Station({ host: '127.0.0.1', port: hjPort, mn: 'WQ0000000000000000000001', password: '123456', kind: 'water', intervalMs: 300 });
    sl = startSl651Station({ host: '127.0.0.1', port: slPort, station: '0012345678', password: '1234', intervalMs: 300 });
    await Promise.all([hj.connected, sl.connected]);
  }, 90_000);
  afterAll(async () => {
    await hj?.stop();
    await sl?.stop();
    await agent?.stop();
    await opcua?.stop();
  });

  it('MQTT, HJ 212 and SL 651 devices show the age and content of their last message at the agent', async () => {
    const aqBefore = await yiwang(dir, ['edge', 'device', 'test', 'AQ-1', '--config', cfg]);
    expect(aqBefore.code).toBe(1);
    expect(aqBefore.out).toMatch(/no message from this device since the agent started \d+ s ago/);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`);
    await client.publishAsync('aq/aq1/data', JSON.stringify({ ts: Date.now(), pm25: 35, pm10: 60, so2: 0.012, no2: 0.04, o3: 0.07, co: 0.6, env: { t: 21.5, rh: 55, p: 101.2 }, noise: 52 }), { qos: 1 });
    await client.endAsync();
    await expect.poll(async () => (await yiwang(dir, ['edge', 'device', 'test', 'AQ-1', '--config', cfg])).out, { timeout: 10_000 }).toMatch(/last message \d+ s ago/);
    const aq = await yiwang(dir, ['edge', 'device', 'test', 'AQ-1', '--config', cfg]);
    expect(aq.out).toMatch(/so2\s+Sulphur dioxide \(SO₂\) \(二氧化硫\)\s+so2\s+0\.012 mg\/m³\s+12 µg\/m³\s+good/);
    expect(aq.code).toBe(0);

    const wq = await yiwang(dir, ['edge', 'device', 'test', 'WQS-1', '--config', cfg]);
    expect(wq.out).toMatch(/last message \d+ s ago/);
    expect(wq.out).toMatch(/w01018\s+[\d.]+ mg\/L\s+[\d.]+ mg\/L\s+good/);
    const hy = await yiwang(dir, ['edge', 'device', 'test', 'HY-1', '--config', cfg]);
    expect(hy.out).toMatch(/last message \d+ s ago/);
    expect(hy.out).toMatch(/element 39\s+[\d.]+ m\s+[\d.]+ m\s+good/);
  }, 60_000);

  it('logs only JSON lines, node-opcua\'s own messages included', async () => {
    await expect.poll(() => agent.stdout(), { timeout: 20_000 }).toMatch(/"source":"node-opcua"/);
    const lines = agent.stdout().split('\n').filter(Boolean);
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  }, 30_000);
});

describe('doctor', () => {
  it('flags the starter placeholders, reads edge.env, and checks the site broker without calling its devices "push to this box"', async () => {
    const dir = join(root, 'doctor');
    mkdirSync(dir);
    const cfg = join(dir, 'edge.yaml');
    expect((await yiwang(dir, ['edge', 'init', '--site-type', 'street', '--buffer-dir', './buffer', '--out', cfg])).code).toBe(0);
    // A site broker with a login; its password only in edge.env.
    const broker = await Aedes.createBroker();
    broker.authenticate = (_c, user, pw, cb) => cb(null, user === 'edge' && pw?.toString() === 'site-pw');
    const server = net.createServer(broker.handle);
    const sitePort = await freePort();
    await new Promise<void>((r) => server.listen(sitePort, '127.0.0.1', r));
    const publisher = setInterval(() => broker.publish({ cmd: 'publish', topic: 'fire/hydrant/HY-7/telemetry', payload: Buffer.from(JSON.stringify({ data: { pressure: 350, battery: 90 } })), qos: 0, retain: false, dup: false }, () => undefined), 200);
    try {
      const doc = YAML.parseDocument(readFileSync(cfg, 'utf8'));
      doc.setIn(['protocols', 'mqtt'], { siteBroker: { url: `mqtt://127.0.0.1:${sitePort}`, username: 'edge', passwordEnv: 'SITE_BROKER_PW' } });
      writeFileSync(cfg, doc.toString());
      writeFileSync(join(dir, 'edge.env'), 'SITE_BROKER_PW=site-pw\nYIWANG_UPLINK_PASSWORD=x\n', { mode: 0o600 });
      expect((await yiwang(dir, ['edge', 'device', 'add', '--config', cfg, '--profile', 'hydrant-pressure-mqtt', '--id', 'HY-7', '--connection', '{"broker":"site"}', '--no-apply'])).code).toBe(0);

      const d = await yiwang(dir, ['edge', 'doctor', '--config', cfg, '--timeout-ms', '1500'], { unset: ['SITE_BROKER_PW', 'YIWANG_UPLINK_PASSWORD'] });
      expect(d.code).toBe(1);
      expect(d.out).toContain('[FAIL] not filled in');
      expect(d.out).toContain('site.name: still the placeholder "站点名称"');
      expect(d.out).toContain('site.location.address: still the placeholder "安装地址"');
      expect(d.out).toContain('uplink.url: still the example collector mqtt://collector.example.gov.cn:1883');
      expect(d.out).toMatch(/\[ ok \] site broker mqtt:\/\/127\.0\.0\.1:\d+: logged in as edge, subscribed to 1 topic filter\(s\), \d+ message\(s\) in 1500 ms \(HY-7: [1-9]\d*\)/);
      expect(d.out).toMatch(/device HY-7: the agent is not running; received a message after \d+ ms/);
      expect(d.out).not.toContain('pushes its data to this box');
    } finally {
      clearInterval(publisher);
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    }
  }, 60_000);
});

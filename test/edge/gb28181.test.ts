// GB/T 28181 at the edge, end to end on 127.0.0.1: GStreamer RTSP streams + ONVIF simulators → edge agent (real
// onvif adapter, health model, quality diagnosis) → GB/T 28181 northbound → a platform simulator built on
// hand-written SIP (independent of the product's `sip` package): registration, keepalives, Catalog in GB2312 with
// the 一机一档 fields, DeviceInfo, SUBSCRIBE/NOTIFY on a camera going offline and on removal, an Alarm for a black
// picture, live view over UDP and TCP whose PS stream ffprobe reads as H.264 320×240 at 10 fps, BYE reaping ffmpeg,
// the stream limit and malformed input.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { startOnvifSimulator, type OnvifSimulator } from '../../demo/simulators/onvif-simulator.js';
import { startRtspServer, type RtspServer } from '../../demo/simulators/rtsp-server.js';
import { h, startPlatform, type PlatformSimulator, type PlaySession, type SipMsg } from '../fixtures/gb28181-platform.js';
import { until } from '../helpers/until.js';

const PLATFORM_ID = '34020000002000000001';
const EDGE_GB_ID = '34020000001180000001';
const CAM1 = '34020300001320000001';
const CAM2 = '34020300001320000002';
const CAM3 = '34020300001320000003';
const PASSWORD_ENV = 'YIWANG_TEST_GB28181_PASSWORD';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-gb28181-'));
let rtsp: RtspServer;
const sims: OnvifSimulator[] = [];
let profileDir: string;

/** A TCP relay in front of the RTSP server, so one camera's stream can be cut off. */
async function startRelay(targetPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    const up = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    c.pipe(up).pipe(c);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

function camera(id: string, name: string, sim: OnvifSimulator, extra: Record<string, unknown> = {}) {
  return {
    id, name, kind: 'camera', profile: 'onvif-gb-test', sharingScope: ['public_security'], maintainer: '城关派出所',
    location: { longitude: 117.2834, latitude: 31.8612, address: '城关镇人民路12号', divisionCode: '340203' },
    connection: { host: '127.0.0.1', port: sim.port, username: 'admin', password: 'cam-pass' },
    camera: { cameraType: 'dome', fillLight: 'infrared', direction: 'SE' },
    ...extra,
  };
}

function edgeConfig(name: string, platform: PlatformSimulator, devices: unknown[], gb: Record<string, unknown> = {}) {
  return {
    edge: { id: name },
    site: { id: `${name}-site`, name: '城关镇', type: 'street' },
    uplink: { url: 'mqtt://127.0.0.1:1' }, // no collector needed: the buffer keeps everything
    buffer: { dir: join(dir, name, 'buffer'), commitIntervalMs: 50 },
    admin: { host: '127.0.0.1', port: 0 },
    profileDirs: [profileDir],
    protocols: { onvif: { concurrency: 2, checkTimeoutS: 10, probeSeconds: 1 } },
    gb28181: {
      deviceId: EDGE_GB_ID,
      name: '城关镇边缘网关',
      platform: { id: PLATFORM_ID, host: '127.0.0.1', port: platform.port, transport: platform.o.transport },
      passwordEnv: PASSWORD_ENV,
      local: { host: '127.0.0.1', port: 0 },
      keepaliveIntervalS: 1,
      ...gb,
    },
    devices,
  };
}

async function startAgent(name: string, cfg: object): Promise<{ agent: EdgeAgent; file: string }> {
  mkdirSync(join(dir, name), { recursive: true });
  const file = join(dir, name, 'edge.yaml');
  writeFileSync(file, YAML.stringify(cfg));
  return { agent: await startEdge({ configFile: file, adminPort: 0, log: silentLogger }), file };
}

async function metricsText(agent: EdgeAgent): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${agent.adminPort}/metrics`, { headers: { authorization: `Bearer ${agent.adminToken}` } });
  return r.text();
}

/** "10/1" → 10 */
const fps = (rate: string) => {
  const [a, b] = rate.split('/').map(Number);
  return a! / (b || 1);
};

function ffprobe(ps: Buffer, name: string): { codec_name: string; width: number; height: number; r_frame_rate: string; avg_frame_rate: string } {
  const file = join(dir, `${name}.ps`);
  writeFileSync(file, ps);
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { streams: { codec_name: string; width: number; height: number; r_frame_rate: string; avg_frame_rate: string }[] }).streams[0]!;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // also succeeds on a zombie: passing means not reaped
    return true;
  } catch {
    return false;
  }
}

/** Plays a channel for a while and checks what arrived: RTP PT 96 with the y= SSRC, PS that ffprobe reads as the camera's H.264. */
async function playAndCheck(agent: EdgeAgent, platform: PlatformSimulator, channel: string, media: { transport: 'udp' | 'tcp'; setup?: 'active' | 'passive' }, label: string): Promise<void> {
  const s = (await platform.invite(channel, media, '0100000042')) as PlaySession;
  expect((s as unknown as SipMsg).status, `INVITE answered ${(s as unknown as SipMsg).status}`).toBeUndefined();
  const sdp = s.answer.body.toString();
  expect(sdp).toMatch(/^y=0100000042$/m);
  expect(sdp).toMatch(/a=sendonly/);
  expect(sdp).toMatch(media.transport === 'tcp' ? /m=video \d+ TCP\/RTP\/AVP 96/ : /m=video \d+ RTP\/AVP 96/);
  if (media.transport === 'tcp') expect(sdp).toMatch(new RegExp(`a=setup:${media.setup === 'active' ? 'passive' : 'active'}`));
  const view = await until('stream with an ffmpeg pid', () => agent.gb28181?.status()?.streams.find((x) => x.callId === s.callId && x.pid));
  const pid = view.pid!;
  await until('3 s of frames', () => s.packets.filter((p) => p.marker).length >= 30, 30_000);
  const odd = s.packets.find((p) => p.pt !== 96 || p.ssrc !== 100000042);
  expect(odd && { pt: odd.pt, ssrc: odd.ssrc, seq: odd.seq }).toBeUndefined();
  const bye = await s.bye();
  expect(bye.status, bye.startLine).toBe(200);
  await until('ffmpeg reaped after BYE', () => !isRunning(pid), 5000);
  expect(agent.gb28181?.status()?.streams.find((x) => x.callId === s.callId)).toBeUndefined();
  const v = ffprobe(s.ps(), label);
  // The camera's frame rate is the average over the received frames; ffprobe's r_frame_rate is its guess of a base
  // rate that represents every timestamp exactly, which a jittery source (a loaded machine) can double.
  expect(v, `${s.packets.length} packets, ${s.packets.filter((p) => p.marker).length} frames: ${JSON.stringify(v)}`).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
  expect(fps(v.avg_frame_rate), JSON.stringify(v)).toBeCloseTo(10, 0);
}

beforeAll(async () => {
  process.env[PASSWORD_ENV] = 'gb-secret';
  rtsp = await startRtspServer();
  profileDir = join(dir, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  // the demo camera profile, probing every 2 s so that a camera going away is seen within seconds
  const profile = YAML.parse(readFileSync(join(process.cwd(), 'examples/demo/profiles/onvif-ip-camera-demo.yaml'), 'utf8'));
  Object.assign(profile, { id: 'onvif-gb-test', onvif: { ...profile.onvif, probeIntervalS: 2, qualityIntervalS: 3600, sampleSeconds: 2 } });
  writeFileSync(join(profileDir, 'onvif-gb-test.yaml'), YAML.stringify(profile));
}, 30_000);

afterAll(async () => {
  for (const s of sims) await s.stop();
  await rtsp?.stop();
  delete process.env[PASSWORD_ENV];
  rmSync(dir, { recursive: true, force: true });
});

describe('GB/T 28181 northbound over UDP', () => {
  let platform: PlatformSimulator;
  let agent: EdgeAgent;
  let file: string;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let sim3: OnvifSimulator;

  beforeAll(async () => {
    platform = await startPlatform({ transport: 'udp', id: PLATFORM_ID, domain: '3402000000', password: 'gb-secret' });
    relay = await startRelay(rtsp.port);
    const sim1 = await startOnvifSimulator({ rtspUrl: rtsp.url('normal'), username: 'admin', password: 'cam-pass', manufacturer: 'HIKVISION', model: 'DS-2DE4425IW-DE', serial: 'C1' });
    const sim2 = await startOnvifSimulator({ rtspUrl: rtsp.url('black'), username: 'admin', password: 'cam-pass', manufacturer: 'Dahua', model: 'IPC-HFW2431S', serial: 'C2' });
    sim3 = await startOnvifSimulator({ rtspUrl: `rtsp://127.0.0.1:${relay.port}/normal`, username: 'admin', password: 'cam-pass', manufacturer: 'Uniview', model: 'IPC2124', serial: 'C3' });
    sims.push(sim1, sim2, sim3);
    ({ agent, file } = await startAgent('edge-gb-udp', edgeConfig('edge-gb-udp', platform, [
      camera(CAM1, '村口球机', sim1),
      camera(CAM2, '河堤枪机', sim2, { camera: { cameraType: 'fixed_bullet', fillLight: 'white_light', direction: 'N' } }),
      camera(CAM3, '桥头半球', sim3, { camera: { cameraType: 'half_dome', fillLight: 'none', direction: 'W' } }),
    ], { maxStreams: 1 })));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
    await relay?.stop();
  });

  it('registers through a 401 digest challenge and keeps alive', async () => {
    await until('registration', () => agent.gb28181?.status()?.state === 'registered');
    expect(platform.registers[0]).toMatchObject({ status: 401, authorized: false });
    expect(platform.registers.find((r) => r.authorized)?.status).toBe(200);
    expect(h(platform.registers[1]!.msg, 'authorization')).toMatch(/^Digest .*username="34020000001180000001"/);
    await until('a keepalive', () => platform.messages.find((m) => m.cmdType === 'Keepalive' && m.deviceId === EDGE_GB_ID));
    // what `yiwang edge status --json` shows
    const status = (await (await fetch(`http://127.0.0.1:${agent.adminPort}/api/v1/status`, { headers: { authorization: `Bearer ${agent.adminToken}` } })).json()) as { gb28181?: { state: string; deviceId: string; platform: string } };
    expect(status.gb28181).toMatchObject({ state: 'registered', deviceId: EDGE_GB_ID, platform: `${PLATFORM_ID}@127.0.0.1:${platform.port}` });
  });

  it('answers Catalog with the three cameras and their 一机一档 fields in GB2312, and DeviceInfo / DeviceStatus', async () => {
    await until('all cameras online', () => agent.deviceViews().every((d) => d.health?.state === 'online'));
    const { sn, answer } = await platform.query('Catalog', EDGE_GB_ID);
    expect(answer.status).toBe(200);
    const pages = await until('every catalog item', () => {
      const r = platform.responses(sn, 'Catalog');
      return r.flatMap((p) => p.items()).length === 3 ? r : undefined;
    });
    for (const p of pages) {
      expect(p.tag('SumNum')).toBe('3');
      expect(p.declaredEncoding).toBe('GB2312');
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(p.raw)).toThrow(); // really GB2312 bytes, not UTF-8
    }
    const items = pages.flatMap((p) => p.items());
    expect(items.map((i) => i.DeviceID).sort()).toEqual([CAM1, CAM2, CAM3]);
    expect(items.find((i) => i.DeviceID === CAM1)).toMatchObject({
      Name: '村口球机', Manufacturer: 'HIKVISION', Model: 'DS-2DE4425IW-DE', Owner: '城关派出所', CivilCode: '340203',
      Address: '城关镇人民路12号', Parental: '0', ParentID: EDGE_GB_ID, SafetyWay: '0', RegisterWay: '1', Secrecy: '0',
      IPAddress: '127.0.0.1', Status: 'ON', Longitude: '117.2834', Latitude: '31.8612',
      PTZType: '1', SupplyLightType: '2', DirectionType: '5',
    });
    expect(items.find((i) => i.DeviceID === CAM2)).toMatchObject({ Name: '河堤枪机', PTZType: '3', SupplyLightType: '3', DirectionType: '4' });

    const info = await platform.query('DeviceInfo', EDGE_GB_ID);
    const di = await until('DeviceInfo', () => platform.responses(info.sn, 'DeviceInfo')[0]);
    expect(di.tag('DeviceName')).toBe('城关镇边缘网关');
    expect(di.tag('Channel')).toBe('3');
    const st = await platform.query('DeviceStatus', CAM1);
    const ds = await until('DeviceStatus', () => platform.responses(st.sn, 'DeviceStatus')[0]);
    expect(ds.tag('Online')).toBe('ONLINE');
  });

  it('sends an Alarm for the camera whose picture is black', async () => {
    const alarm = await until('black-picture alarm', () => platform.messages.find((m) => m.cmdType === 'Alarm' && m.deviceId === CAM2), 40_000);
    expect(alarm.root).toBe('Notify');
    expect(alarm.tag('AlarmMethod')).toBe('5');
    expect(alarm.tag('AlarmType')).toBe('11');
    expect(alarm.tag('AlarmDescription')).toMatch(/^黑屏/);
    expect(alarm.tag('AlarmPriority')).toBe('2'); // a FAULT verdict (MAJOR)
    expect(alarm.tag('AlarmTime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(platform.messages.some((m) => m.cmdType === 'Alarm' && m.deviceId === CAM1)).toBe(false);
  }, 60_000);

  it('plays a camera over UDP as PS in RTP, refuses a stream beyond the limit, and BYE stops ffmpeg', async () => {
    const s = (await platform.invite(CAM1, { transport: 'udp' }, '0100000042')) as PlaySession;
    expect(s.answer.status).toBe(200);
    const view = await until('stream with an ffmpeg pid', () => agent.gb28181?.status()?.streams.find((x) => x.pid));
    expect(view).toMatchObject({ channelId: CAM1, transport: 'udp', ssrc: 100000042 });
    await until('3 s of frames', () => s.packets.filter((p) => p.marker).length >= 30, 30_000);
    expect(s.packets.every((p) => p.pt === 96 && p.ssrc === 100000042)).toBe(true);

    const refused = (await platform.invite(CAM2, { transport: 'udp' })) as SipMsg;
    expect(refused.status).toBe(486);
    expect(refused.reason).toBe('Busy Here (stream limit 1 reached)');
    expect(h(refused, 'warning')).toMatch(/stream limit 1 reached/);

    const bye = await s.bye();
    expect(bye.status).toBe(200);
    await until('ffmpeg reaped after BYE', () => !isRunning(view.pid!), 5000);
    expect(agent.gb28181?.status()?.streams).toEqual([]);
    const v = ffprobe(s.ps(), 'udp');
    expect(v).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(fps(v.avg_frame_rate), JSON.stringify(v)).toBeCloseTo(10, 0);
    const m = await metricsText(agent);
    expect(m).toMatch(/yiwang_edge_gb28181_streams_refused_total\{reason="stream_limit"\} 1/);
    expect(m).toMatch(/yiwang_edge_gb28181_registered\{state="registered"\} 1/);
  }, 60_000);

  it('NOTIFYs a catalog subscriber when a camera goes offline and when one is removed', async () => {
    const sub = await platform.subscribeCatalog(600);
    expect(sub.status).toBe(200);
    expect(h(sub, 'expires')).toBe('600');
    const initial = await until('initial NOTIFY', () => platform.notifies.find((n) => n.cmdType === 'Catalog'));
    expect(initial.items().map((i) => i.Event)).toEqual(['ADD', 'ADD', 'ADD']);

    await relay.stop(); // camera 3's stream is cut off: probes fail, the health model takes it offline
    const off = await until('OFF notify for camera 3', () =>
      platform.notifies.flatMap((n) => n.items()).find((i) => i.DeviceID === CAM3 && i.Event === 'OFF'), 40_000);
    expect(off.Status).toBe('OFF');
    expect(agent.deviceViews().find((d) => d.record.id === CAM3)?.health?.state).toBe('offline');
    const refused = (await platform.invite(CAM3, { transport: 'udp' })) as SipMsg;
    expect(refused.status).toBe(480);

    const cfg = YAML.parse(readFileSync(file, 'utf8'));
    cfg.devices = cfg.devices.filter((d: { id: string }) => d.id !== CAM3);
    writeFileSync(file, YAML.stringify(cfg));
    expect((await agent.reload()).removed).toEqual([CAM3]);
    await until('DEL notify for camera 3', () => platform.notifies.flatMap((n) => n.items()).find((i) => i.DeviceID === CAM3 && i.Event === 'DEL'));
  }, 60_000);

  it('counts and ignores a malformed SIP datagram and a malformed MANSCDP body', async () => {
    platform.sendRaw(Buffer.from('GARBAGE\r\n\r\n'));
    const bad = await platform.messageWithBody(Buffer.from('<?xml version="1.0" encoding="GB2312"?><Query><CmdType>Catalog'));
    expect(bad.status).toBe(400);
    await until('malformed counted', async () => /yiwang_edge_gb28181_malformed_total\{kind="sip"\} 1/.test(await metricsText(agent)));
    expect(await metricsText(agent)).toMatch(/yiwang_edge_gb28181_malformed_total\{kind="manscdp"\} 1/);
    const { sn } = await platform.query('DeviceInfo', EDGE_GB_ID);
    await until('still answering', () => platform.responses(sn, 'DeviceInfo')[0]);
  });

  it('unregisters on stop', async () => {
    await agent.stop();
    const last = platform.registers.at(-1)!;
    expect(h(last.msg, 'expires')).toBe('0');
    expect(last.status).toBe(200);
    agent = undefined as unknown as EdgeAgent;
  });
});

describe('GB/T 28181 northbound over TCP', () => {
  let platform: PlatformSimulator;
  let agent: EdgeAgent;
  let file: string;

  beforeAll(async () => {
    platform = await startPlatform({ transport: 'tcp', id: PLATFORM_ID, domain: '3402000000', password: 'gb-secret' });
    const sim = await startOnvifSimulator({ rtspUrl: rtsp.url('normal'), username: 'admin', password: 'cam-pass', manufacturer: 'HIKVISION', model: 'DS-2CD', serial: 'T1' });
    sims.push(sim);
    ({ agent, file } = await startAgent('edge-gb-tcp', edgeConfig('edge-gb-tcp', platform, [camera(CAM1, '村口球机', sim)], { charset: 'UTF-8', local: { host: '127.0.0.1', port: await freePort() } })));
    await until('registration over TCP', () => agent.gb28181?.status()?.state === 'registered');
    await until('camera online', () => agent.deviceViews().every((d) => d.health?.state === 'online'));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
  });

  it('answers Catalog over TCP in UTF-8 when so configured', async () => {
    const { sn } = await platform.query('Catalog', EDGE_GB_ID);
    const page = await until('catalog', () => platform.responses(sn, 'Catalog')[0]);
    expect(page.declaredEncoding).toBe('UTF-8');
    expect(page.items()[0]).toMatchObject({ DeviceID: CAM1, Name: '村口球机', Status: 'ON' });
  });

  it('streams over TCP to a passive platform (we connect, RFC 4571 framing)', async () => {
    await playAndCheck(agent, platform, CAM1, { transport: 'tcp', setup: 'passive' }, 'tcp-passive');
  }, 60_000);

  it('streams over TCP to an active platform (it connects to our media port)', async () => {
    await playAndCheck(agent, platform, CAM1, { transport: 'tcp', setup: 'active' }, 'tcp-active');
  }, 60_000);

  it('ends a live stream with a BYE when its camera is removed from the config', async () => {
    const s = (await platform.invite(CAM1, { transport: 'tcp', setup: 'passive' }, '0100000077')) as PlaySession;
    expect(s.answer.status).toBe(200);
    const view = await until('streaming', () => agent.gb28181?.status()?.streams.find((x) => x.callId === s.callId && x.pid && x.stats.frames > 0));
    const cfg = YAML.parse(readFileSync(file, 'utf8'));
    const removed = cfg.devices;
    cfg.devices = [];
    writeFileSync(file, YAML.stringify(cfg));
    expect((await agent.reload()).removed).toEqual([CAM1]);
    await until('BYE from the edge', () => platform.requests.find((r) => r.method === 'BYE' && h(r, 'call-id') === s.callId));
    await until('ffmpeg reaped', () => !isRunning(view.pid!), 5000);
    expect(agent.gb28181?.status()?.streams).toEqual([]);
    s.close();
    cfg.devices = removed;
    writeFileSync(file, YAML.stringify(cfg));
    expect((await agent.reload()).added).toEqual([CAM1]);
  }, 60_000);

  it('re-registers when a reload changes the gb28181 block, and unregisters when the block goes away', async () => {
    const cfg = YAML.parse(readFileSync(file, 'utf8'));
    const before = platform.registers.length;
    cfg.gb28181.maxStreams = 3;
    writeFileSync(file, YAML.stringify(cfg));
    await agent.reload();
    await until('unregister then register again', () => {
      const later = platform.registers.slice(before);
      const bye = later.findIndex((r) => h(r.msg, 'expires') === '0' && r.status === 200);
      return bye >= 0 && later.slice(bye + 1).some((r) => r.authorized && h(r.msg, 'expires') !== '0');
    });
    await until('registered', () => agent.gb28181?.status()?.state === 'registered');
    delete cfg.gb28181;
    writeFileSync(file, YAML.stringify(cfg));
    await agent.reload();
    expect(agent.gb28181?.status()).toBeUndefined();
    expect(h(platform.registers.at(-1)!.msg, 'expires')).toBe('0');
  }, 60_000);
});

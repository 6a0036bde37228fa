// The GB/T 28181 device against the platform simulator (hand-written SIP, independent of the `sip` package) on
// 127.0.0.1: registration with a digest challenge, keepalives, re-registration when the platform forgets us,
// wrong password with backoff, malformed SIP and MANSCDP counted and ignored.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ProblemLog } from '../../../core/problem-log.js';
import { Registry } from '../../../core/prom.js';
import { gb28181Settings } from '../../../protocols/gb28181/config.js';
import { Gb28181Counters, Gb28181Device, type Channel } from '../../../protocols/gb28181/device.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { startPlatform, type PlatformSimulator } from '../../fixtures/gb28181-platform.js';
import { until } from '../../helpers/until.js';

const PLATFORM_ID = '34020000002000000001';
const DEVICE_ID = '34020000001180000001';
const CAMERA_ID = '34020000001320000001';

const channel: Channel = {
  item: {
    DeviceID: CAMERA_ID, Name: '村口球机', Manufacturer: 'Hikvision', CivilCode: '340200', Parental: 0, ParentID: DEVICE_ID,
    SafetyWay: 0, RegisterWay: 1, Secrecy: 0, Status: 'ON',
  },
  rtspUrl: () => undefined,
};

// assigned by every test (setUp) before use; stop() is idempotent
let platform: PlatformSimulator;
let device: Gb28181Device | undefined;

afterEach(async () => {
  await device?.stop();
  await platform?.stop();
  device = undefined;
});

function makeDevice(p: PlatformSimulator, password: string | undefined, extra: { keepaliveIntervalS?: number; retryBaseMs?: number; host?: string; localPort?: number } = {}) {
  const metrics = new Registry();
  const log = new MemoryLogger();
  const counters = new Gb28181Counters(metrics);
  const d = new Gb28181Device({
    settings: gb28181Settings({
      deviceId: DEVICE_ID,
      name: '测试边缘',
      platform: { id: PLATFORM_ID, host: extra.host ?? '127.0.0.1', port: p.port, transport: p.o.transport },
      local: { host: '127.0.0.1', port: extra.localPort ?? 0 },
      keepaliveIntervalS: extra.keepaliveIntervalS ?? 1,
    }),
    password,
    channels: { channels: () => [channel], channel: (id) => (id === CAMERA_ID ? channel : undefined) },
    counters,
    problems: new ProblemLog(log),
    log,
    info: { manufacturer: 'yiwang', model: 'test', firmware: '0' },
    retryBaseMs: extra.retryBaseMs ?? 200,
    maxRetryMs: 5000,
  });
  return { d, metrics, log, counters };
}

/** A platform simulator and a started device talking to it (optionally waiting for the registration). */
async function setUp(transport: 'udp' | 'tcp', platformPassword: string, devicePassword: string | undefined, extra: Parameters<typeof makeDevice>[2] = {}, registered = true) {
  platform = await startPlatform({ transport, id: PLATFORM_ID, domain: '3402000000', password: platformPassword });
  const made = makeDevice(platform, devicePassword, extra);
  device = made.d;
  await made.d.start();
  if (registered) await until('registration', () => made.d.status().state === 'registered');
  return made;
}

describe.each(['udp', 'tcp'] as const)('GB/T 28181 device over %s', (transport) => {
  it('registers through a 401 digest challenge, sends keepalives and answers DeviceInfo', async () => {
    const { d } = await setUp(transport, 'gb-secret', 'gb-secret', {}, true);
    expect(platform.registers.map((r) => r.status)).toEqual([401, 200]);
    expect(platform.registers[0]!.authorized).toBe(false);
    const keepalives = await until('two keepalives', () => {
      const k = platform.messages.filter((m) => m.cmdType === 'Keepalive');
      return k.length >= 2 ? k : undefined;
    }, 5000);
    expect(keepalives[0]!.deviceId).toBe(DEVICE_ID);
    expect(keepalives[0]!.tag('Status')).toBe('OK');
    expect(keepalives[0]!.declaredEncoding).toBe('GB2312');

    const { sn, answer } = await platform.query('DeviceInfo');
    expect(answer.status).toBe(200);
    const info = await until('DeviceInfo response', () => platform.responses(sn, 'DeviceInfo')[0]);
    expect(info.tag('DeviceName')).toBe('测试边缘');
    expect(info.tag('Channel')).toBe('1');
    expect(info.tag('Result')).toBe('OK');
  });
});

describe('GB/T 28181 device registration failures and bad input', () => {
  it('re-registers when the platform stops acknowledging keepalives', async () => {
    const { d } = await setUp('udp', 'gb-secret', 'gb-secret', {}, true);
    const before = platform.registers.filter((r) => r.authorized).length;
    platform.forgetDevice = true; // keepalives now answered 404, like a restarted platform
    await until('a new registration', () => platform.registers.filter((r) => r.authorized).length > before, 10_000);
    expect(platform.messages.filter((m) => m.cmdType === 'Keepalive').length).toBeGreaterThanOrEqual(3);
    await until('registered again', () => d.status().state === 'registered');
  });

  it('reports a wrong password clearly and retries with growing delays', async () => {
    const { d, counters, log } = await setUp('udp', 'right', 'wrong', { retryBaseMs: 200 }, false);
    await until('four refused attempts', () => platform.registers.filter((r) => r.status === 403).length >= 4, 10_000);
    const st = d.status();
    expect(st.state).toBe('auth_failed');
    expect(st.lastError).toMatch(/wrong password for device 34020000001180000001/);
    expect(log.text()).toMatch(/wrong password/);
    expect(counters.registerFailures.get({ reason: 'auth' })).toBeGreaterThanOrEqual(4);
    // each attempt = an unauthenticated REGISTER (401) then a signed one (403); backoff doubles between attempts
    const starts = platform.registers.filter((r) => r.status === 401).map((r) => r.msg.at);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!); // base·[0.5,1] vs 4·base·[0.5,1]
  });

  it('says when the platform asks for a password and none is configured', async () => {
    const { d } = await setUp('udp', 'x', undefined, {}, false);
    await until('refusal', () => d.status().state === 'auth_failed');
    expect(d.status().lastError).toMatch(/none is configured \(set gb28181\.passwordEnv/);
  });

  it('drops malformed SIP and MANSCDP with a count and a rate-limited log line, and keeps answering', async () => {
    const { d, counters, log } = await setUp('udp', 'gb-secret', 'gb-secret', { keepaliveIntervalS: 60 }, true);
    for (let i = 0; i < 5; i++) platform.sendRaw(Buffer.from(`HELLO ${i}\r\nnot sip at all\r\n\r\n`));
    platform.sendRaw(Buffer.from('MESSAGE sip:x@y SIP/2.0\r\nContent-Length: 0\r\n\r\n')); // no Via/From/To/Call-ID/CSeq
    const bad = await platform.messageWithBody(Buffer.from('<?xml version="1.0" encoding="GB2312"?><Query><CmdType>Catalog</CmdType><SN>1</Query>'));
    expect(bad.status).toBe(400);
    const noCmd = await platform.messageWithBody(Buffer.from('<?xml version="1.0"?><Query><SN>7</SN><DeviceID>1</DeviceID></Query>'));
    expect(noCmd.status).toBe(400);
    await until('six malformed SIP counted', () => counters.malformed.get({ kind: 'sip' }) === 6);
    expect(counters.malformed.get({ kind: 'manscdp' })).toBe(2);
    const lines = log.lines.filter((l) => l.msg === 'malformed SIP message ignored');
    expect(lines.length).toBe(1); // one line per peer and kind per interval
    expect(JSON.stringify(lines[0]!.obj)).toMatch(/not a SIP message|no Via/);
    const { sn } = await platform.query('DeviceStatus');
    const st = await until('DeviceStatus after the garbage', () => platform.responses(sn, 'DeviceStatus')[0]);
    expect(st.tag('Online')).toBe('ONLINE');
  });

  it('keeps trying when the platform host cannot be resolved (an edge booting before its network)', async () => {
    const { d, counters } = await setUp('udp', 'x', 'x', { host: 'gb-platform.invalid', retryBaseMs: 100 }, false); // binds and returns: resolution is part of each registration attempt
    await until('two failed attempts', () => counters.registerFailures.get({ reason: 'unreachable' }) >= 2);
    expect(d.status().state).toBe('unreachable');
    expect(d.status().lastError).toMatch(/gb-platform\.invalid:\d+ not reachable from here: ENOTFOUND|EAI_AGAIN/);
  });

  it('fails to start with a clear message when its SIP port is taken', async () => {
    platform = await startPlatform({ transport: 'udp', id: PLATFORM_ID, domain: '3402000000', password: 'x' });
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
    try {
      const port = holder.address().port;
      const { d } = makeDevice(platform, 'x', { localPort: port });
      await expect(d.start()).rejects.toThrow(`cannot bind SIP UDP 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      holder.close();
    }
  });

  it('refuses requests from any address but the platform with 403, keeping no state for them', async () => {
    const { d, counters, log } = await setUp('udp', 'gb-secret', 'gb-secret', { keepaliveIntervalS: 60 }, true);
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.2', r)); // another loopback address: not the platform
    try {
      const answers: string[] = [];
      stranger.on('message', (m) => answers.push(m.toString('latin1').split('\r\n')[0]!));
      for (let i = 0; i < 3; i++) {
        const body = `<?xml version="1.0"?><Query><CmdType>Catalog</CmdType><SN>${i}</SN><DeviceID>${DEVICE_ID}</DeviceID></Query>`;
        stranger.send(Buffer.from([
          `MESSAGE sip:${DEVICE_ID}@127.0.0.1:${d.sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.2:${stranger.address().port};branch=z9hG4bKx${i}`,
          'From: <sip:34020000002000000009@3402000000>;tag=s', `To: <sip:${DEVICE_ID}@3402000000>`, `Call-ID: stranger-${i}`, `CSeq: ${i + 1} MESSAGE`,
          'Content-Type: Application/MANSCDP+xml', `Content-Length: ${body.length}`, '', body,
        ].join('\r\n')), d.sipPort, '127.0.0.1');
      }
      await until('three refusals', () => answers.length === 3);
      expect(answers).toEqual(['SIP/2.0 403 Forbidden', 'SIP/2.0 403 Forbidden', 'SIP/2.0 403 Forbidden']);
      expect(counters.foreign.get()).toBe(3);
      expect(log.lines.filter((l) => l.msg?.startsWith('SIP request from an address other than the platform')).length).toBe(1);
      expect(platform.responses('0').length).toBe(0); // no catalog was sent anywhere
    } finally {
      stranger.close();
    }
  });
});

// The adapter's embedded aedes broker on an ephemeral port, with real mqtt clients as field devices:
// JSON, plain and Sparkplug B payloads arrive as samples; bad credentials and anonymous clients are refused.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import type { DeviceProfile } from '../../../core/profiles.js';
import { EventKind } from '../../../schema/types.js';
import { hashSecret } from '../../../core/secrets.js';
import { MqttAdapter } from '../../../protocols/mqtt/index.js';
import { PacketSizeGuard } from '../../../protocols/mqtt/broker.js';
import { decodeSparkplugPayload, encodeSparkplugPayload } from '../../../protocols/mqtt/sparkplug.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { MemoryLogger } from '../../helpers/logger.js';

const PASSWORD = 'field-device-secret';
const base = { manufacturer: 'test', model: 'test', kind: 'sensor', protocol: 'mqtt' } as const;
const jsonProfile: DeviceProfile = {
  ...base, id: 'json-level',
  mqtt: { topic: 'water/{deviceId}/up', format: 'json', timestampPath: 'ts', timestampUnit: 'ms' },
  points: [
    { name: 'level', metric: 'water_level', mqtt: { path: '$.d.level' } },
    { name: 'battery', metric: 'battery', mqtt: { path: 'bat' } },
  ],
};
const plainProfile: DeviceProfile = {
  ...base, id: 'plain-rain',
  mqtt: { format: 'plain' },
  points: [{ name: 'rain', metric: 'rainfall', mqtt: { topic: 'rain/{deviceId}/mm' } }],
};
const spProfile: DeviceProfile = {
  ...base, id: 'sp-pump',
  mqtt: { topic: 'spBv1.0/water/DDATA/edge1/{deviceId}', format: 'sparkplugb' },
  points: [
    { name: 'pressure', metric: 'pipe_pressure', mqtt: { path: 'Pressure' } },
    { name: 'running', metric: 'smoke_alarm', mqtt: { path: 'Alarm' } },
  ],
};

describe('mqtt adapter with its embedded broker', () => {
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  let adapter: MqttAdapter;
  let url: string;
  const clients: MqttClient[] = [];

  const device = async (extra: Parameters<typeof connectAsync>[1] = {}) => {
    const c = await connectAsync(url, { username: 'field', password: PASSWORD, reconnectPeriod: 0, ...extra });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    adapter = new MqttAdapter({
      dataDir: '/tmp',
      settings: { localBroker: { enabled: true, host: '127.0.0.1', port: 0, maxPacketBytes: 64 * 1024, users: [{ username: 'field', passwordHash: hashSecret(PASSWORD) }] } },
    });
    await adapter.start(sink, log);
    expect(adapter.localPort).toBeGreaterThan(0);
    url = `mqtt://127.0.0.1:${adapter.localPort}`;
    await adapter.addDevice({ id: 'wl-1', profile: jsonProfile, connection: {} });
    await adapter.addDevice({ id: 'rg-1', profile: plainProfile, connection: { broker: 'local' } });
    await adapter.addDevice({ id: 'pump-1', profile: spProfile, connection: { topicId: 'pump7' } });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await adapter.stop();
  });

  it('turns JSON and plain publications into samples with source timestamps', async () => {
    const c = await device();
    await c.publishAsync('water/wl-1/up', JSON.stringify({ ts: 1714550400000, d: { level: 3.5 }, bat: 97 }), { qos: 1 });
    await c.publishAsync('rain/rg-1/mm', '0.5', { qos: 1 });
    await sink.waitFor((s) => s.samplesOf('wl-1').length >= 2 && s.samplesOf('rg-1').length >= 1, 'json + plain samples');
    expect(sink.samplesOf('wl-1')).toEqual([
      { deviceId: 'wl-1', point: 'level', value: 3.5, quality: 'good', ts: 1714550400000 },
      { deviceId: 'wl-1', point: 'battery', value: 97, quality: 'good', ts: 1714550400000 },
    ]);
    expect(sink.samplesOf('rg-1')).toEqual([{ deviceId: 'rg-1', point: 'rain', value: 0.5, quality: 'good' }]);
    expect(sink.statusLog.filter((s) => s.deviceId === 'wl-1')).toEqual([{ deviceId: 'wl-1', ok: true }]);
  });

  it('counts malformed payloads while good ones keep flowing', async () => {
    const c = await device();
    const before = sink.samplesOf('wl-1').length;
    await c.publishAsync('water/wl-1/up', '{not json', { qos: 1 });
    await c.publishAsync('water/wl-1/up', JSON.stringify({ ts: 1714550460000, d: { level: 'n/a' }, bat: 96 }), { qos: 1 });
    await c.publishAsync('water/wl-1/up', JSON.stringify({ ts: 1714550520000, d: { level: 3.6 }, bat: 95 }), { qos: 1 });
    await sink.waitFor((s) => s.samplesOf('wl-1', 'level').some((x) => x.value === 3.6), 'the good message after the bad ones');
    const malformed = sink.errorLog.filter((e) => e.kind === 'malformed' && e.deviceId === 'wl-1');
    expect(malformed.map((e) => e.detail)).toEqual([
      expect.stringMatching(/^water\/wl-1\/up: not valid JSON/),
      'water/wl-1/up: point level ($.d.level): expected a number, got string "n/a"',
    ]);
    expect(sink.samplesOf('wl-1').slice(before).map((s) => [s.point, s.value])).toEqual([['battery', 96], ['level', 3.6], ['battery', 95]]);
    const statuses = sink.statusLog.filter((s) => s.deviceId === 'wl-1').slice(-3);
    expect(statuses.map((s) => s.reason ?? 'ok')).toEqual(['malformed', 'malformed', 'ok']);
    expect(log.text()).toContain('malformed mqtt payload');
  });

  it('counts and drops publications of unknown devices', async () => {
    const c = await device();
    await c.publishAsync('water/nobody/up', JSON.stringify({ d: { level: 1 } }), { qos: 1 });
    await sink.waitFor((s) => s.errorLog.some((e) => e.kind === 'unknown_device'), 'unknown_device count');
    expect(sink.errorLog.find((e) => e.kind === 'unknown_device')?.detail).toBe('water/nobody/up: no device has topic id "nobody"');
    expect(sink.sampleLog.some((s) => s.deviceId === 'nobody')).toBe(false);
  });

  /** MQTT 3.1.1 packets by hand (remaining lengths < 128 here): what a device's bytes look like on the wire. */
  const str = (s: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)]);
  const packet = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, body.length]), body]);

  it('cuts a connection that announces a packet over maxPacketBytes before buffering it', async () => {
    const connect = packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 0]), str('big'), str('field'), str(PASSWORD)]));
    // A PUBLISH header announcing 200 MB, then a trickle of body: a broker without a limit would keep collecting.
    const header = Buffer.from([0x30, 0x80, 0x80, 0xe8, 0x5f]); // remaining length 0x5f·128³ + 0x68·128² = 200,933,376 (varint)
    const s = net.connect(Number(new URL(url).port), '127.0.0.1');
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => {});
    s.resume(); // read (and drop) the CONNACK, so the close is seen
    s.write(connect);
    await new Promise((r) => setTimeout(r, 300)); // scrypt login
    s.write(Buffer.concat([header, Buffer.alloc(1000, 0x41)]));
    await closed;
    await sink.waitFor((k) => k.errorLog.some((e) => e.kind === 'oversized_packet'), 'oversized_packet counted');
    expect(sink.errorLog.find((e) => e.kind === 'oversized_packet')?.detail).toMatch(/packet of 200933376 bytes over maxPacketBytes 65536/);
    // The guard reads fixed headers only, split anywhere.
    const g = new PacketSizeGuard(100);
    const ok = packet(0x30, Buffer.concat([str('a/b'), Buffer.alloc(80)]));
    const stream = Buffer.concat([ok, ok, header]);
    expect([...stream].map((b) => g.feed(Buffer.from([b]))).filter(Boolean)).toEqual([200_933_376]);
    expect(new PacketSizeGuard(100).feed(Buffer.concat([ok, ok, ok]))).toBe(0);
  });

  it('refuses a wrong password and anonymous clients without logging the password', async () => {
    await expect(connectAsync(url, { username: 'field', password: 'guess', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
    await expect(connectAsync(url, { username: 'intruder', password: PASSWORD, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
    await expect(connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
    const auth = sink.errorLog.filter((e) => e.kind === 'auth_failure').map((e) => e.detail);
    expect(auth).toHaveLength(3);
    expect(auth[2]).toContain('anonymous connections are not allowed');
    expect(JSON.stringify(sink.errorLog) + log.text()).not.toContain(PASSWORD);
  });

  it('lets field devices subscribe only to Sparkplug commands', async () => {
    const c = await device();
    // A refused SUBACK (0x80): mqtt.js reports it as an error, the connection stays up.
    await expect(c.subscribeAsync('water/#')).rejects.toThrow(/Subscribe error/);
    await expect(c.subscribeAsync('spBv1.0/+/NCMD/+')).rejects.toThrow(/Subscribe error/);
    expect(c.connected).toBe(true);
    const allowed = await c.subscribeAsync('spBv1.0/water/NCMD/edge1');
    expect(allowed[0]?.qos).toBe(0);
  });

  it('decodes Sparkplug B: births with aliases, alias-only DDATA, seq gaps, rebirth and node death', async () => {
    // The edge node's session: its will is the NDEATH, as Sparkplug requires.
    const node = await device({
      clientId: 'edge1',
      will: { topic: 'spBv1.0/water/NDEATH/edge1', payload: Buffer.from(encodeSparkplugPayload({ metrics: [{ name: 'bdSeq', datatype: 'UInt64', value: 0 }] })), qos: 0, retain: false },
    });
    const commands: Buffer[] = [];
    node.on('message', (_t, p) => commands.push(p));
    await node.subscribeAsync('spBv1.0/water/NCMD/edge1');
    const pub = (type: string, body: Parameters<typeof encodeSparkplugPayload>[0], dev = '/pump7') =>
      node.publishAsync(`spBv1.0/water/${type}/edge1${type.startsWith('N') ? '' : dev}`, Buffer.from(encodeSparkplugPayload(body)), { qos: 1 });

    await pub('NBIRTH', { seq: 0, timestamp: 1714550400000, metrics: [{ name: 'bdSeq', datatype: 'UInt64', value: 0 }] });
    await pub('DBIRTH', {
      seq: 1, timestamp: 1714550400000,
      metrics: [{ name: 'Pressure', alias: 1, datatype: 'Float', value: 0.42 }, { name: 'Alarm', alias: 2, datatype: 'Boolean', value: false }],
    });
    await pub('DDATA', { seq: 2, timestamp: 1714550401000, metrics: [{ alias: 1, datatype: 'Float', value: 0.44, timestamp: 1714550400900 }] });
    await sink.waitFor((s) => s.samplesOf('pump-1').length >= 3, 'Sparkplug birth and data samples');
    expect(sink.samplesOf('pump-1')).toEqual([
      { deviceId: 'pump-1', point: 'pressure', value: 0.42, quality: 'good', ts: 1714550400000 },
      { deviceId: 'pump-1', point: 'running', value: false, quality: 'good', ts: 1714550400000 },
      { deviceId: 'pump-1', point: 'pressure', value: 0.44, quality: 'good', ts: 1714550400900 },
    ]);
    expect(sink.eventLog).toEqual([]);

    await pub('DDATA', { seq: 5, metrics: [{ alias: 2, datatype: 'Boolean', value: true }] }); // 3 and 4 lost
    await sink.waitFor((s) => s.eventLog.length > 0, 'DATA_GAP event');
    expect(sink.eventLog[0]).toMatchObject({ deviceId: 'pump-1', kind: EventKind.DATA_GAP, code: 'sparkplug_seq_gap' });
    expect(sink.errorLog.find((e) => e.kind === 'sparkplug_seq_gap')?.detail).toBe(
      'Sparkplug edge node water/edge1: expected seq 3, got 5 (2 message(s) lost)',
    );
    expect(sink.samplesOf('pump-1', 'running').at(-1)?.value).toBe(true); // the data after the gap still counts
    const waitCmd = Date.now() + 5000;
    while (!commands.length && Date.now() < waitCmd) await new Promise((r) => setTimeout(r, 20));
    const rebirth = decodeSparkplugPayload(commands[0]!).metrics[0];
    expect(rebirth).toMatchObject({ name: 'Node Control/Rebirth', booleanValue: true });

    node.stream.destroy(); // connection lost: the broker publishes the will (NDEATH)
    await sink.waitFor((s) => s.statusLog.some((x) => x.deviceId === 'pump-1' && x.reason === 'unreachable'), 'NDEATH -> unreachable');
    expect(sink.statusLog.filter((x) => x.deviceId === 'pump-1').at(-1)).toMatchObject({ ok: false, reason: 'unreachable', detail: 'Sparkplug NDEATH of water/edge1' });
  });
});

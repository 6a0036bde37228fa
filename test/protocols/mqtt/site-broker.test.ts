// Site-broker mode against a real Mosquitto: the edge subscribes as a client; devices publish to Mosquitto.
// Mosquitto must be installed (Debian package mosquitto): without it this test fails, it does not skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { freePort } from '../../../core/net.js';
import type { DeviceProfile } from '../../../core/profiles.js';
import { MqttAdapter } from '../../../protocols/mqtt/index.js';
import { encodeSparkplugPayload } from '../../../protocols/mqtt/sparkplug.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { MemoryLogger } from '../../helpers/logger.js';

function findMosquitto(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  const hit = dirs.map((d) => join(d, 'mosquitto')).find((p) => existsSync(p));
  if (!hit) throw new Error('mosquitto binary not found (PATH, /usr/sbin): install the Debian package "mosquitto" — .ci/run installs it');
  return hit;
}

async function waitForPort(port: number, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${stderr()}`);
}

const base = { manufacturer: 'test', model: 'test', kind: 'sensor', protocol: 'mqtt' } as const;
const aqProfile: DeviceProfile = {
  ...base, id: 'site-aq',
  mqtt: { topic: 'district/{deviceId}/aq', format: 'json' },
  points: [{ name: 'pm25', metric: 'pm2_5', mqtt: { path: 'pm25' } }, { name: 'noise', metric: 'noise', mqtt: { path: 'laeq' } }],
};
const spProfile: DeviceProfile = {
  ...base, id: 'site-sp',
  mqtt: { topic: 'spBv1.0/district/+/gw1/{deviceId}', format: 'sparkplugb' },
  points: [{ name: 'level', metric: 'water_level', mqtt: { path: 'Level' } }],
};

describe('mqtt adapter on a site broker (Mosquitto)', () => {
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let port: number;
  let adapter: MqttAdapter;
  let field: MqttClient;
  const sink = new RecordingSink();

  beforeAll(async () => {
    const bin = findMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'yiwang-mosquitto-'));
    port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    let err = '';
    mosquitto = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    mosquitto.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitForPort(port, mosquitto, () => err);

    adapter = new MqttAdapter({ dataDir: dir, settings: { siteBroker: { url: `mqtt://127.0.0.1:${port}`, clientId: 'yiwang-edge-test' } } });
    await adapter.start(sink, new MemoryLogger());
    await adapter.addDevice({ id: 'aq-1', profile: aqProfile, connection: { broker: 'site' } });
    await adapter.addDevice({ id: 'aq-2', profile: aqProfile, connection: { broker: 'site', topicId: 'AQ2' } });
    await adapter.addDevice({ id: 'lvl-1', profile: spProfile, connection: { broker: 'site' } });
    field = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await field?.endAsync(true);
    await adapter?.stop();
    if (mosquitto && mosquitto.exitCode === null) mosquitto.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('receives JSON publications through its subscriptions, mapping topic ids to devices', async () => {
    await field.publishAsync('district/aq-1/aq', JSON.stringify({ pm25: 41, laeq: 55.2 }), { qos: 1 });
    await field.publishAsync('district/AQ2/aq', JSON.stringify({ pm25: 12, laeq: 48 }), { qos: 1 });
    await sink.waitFor((s) => s.samplesOf('aq-1').length === 2 && s.samplesOf('aq-2').length === 2, 'site broker samples');
    expect(sink.samplesOf('aq-1').map((s) => [s.point, s.value])).toEqual([['pm25', 41], ['noise', 55.2]]);
    expect(sink.samplesOf('aq-2').map((s) => [s.point, s.value])).toEqual([['pm25', 12], ['noise', 48]]);
  });

  it('decodes Sparkplug B from the site broker', async () => {
    const pub = (topic: string, body: Parameters<typeof encodeSparkplugPayload>[0]) =>
      field.publishAsync(topic, Buffer.from(encodeSparkplugPayload(body)), { qos: 1 });
    await pub('spBv1.0/district/NBIRTH/gw1', { seq: 0, metrics: [{ name: 'bdSeq', datatype: 'UInt64', value: 3 }] });
    await pub('spBv1.0/district/DBIRTH/gw1/lvl-1', { seq: 1, metrics: [{ name: 'Level', alias: 5, datatype: 'Double', value: 1.25 }] });
    await pub('spBv1.0/district/DDATA/gw1/lvl-1', { seq: 2, metrics: [{ alias: 5, datatype: 'Double', value: 1.5 }] });
    await sink.waitFor((s) => s.samplesOf('lvl-1').length === 2, 'sparkplug samples via mosquitto');
    expect(sink.samplesOf('lvl-1').map((s) => s.value)).toEqual([1.25, 1.5]);
  });

  it('stops delivering a removed device (its publications become unknown)', async () => {
    await adapter.removeDevice('aq-2');
    await field.publishAsync('district/AQ2/aq', JSON.stringify({ pm25: 13, laeq: 47 }), { qos: 1 });
    await sink.waitFor((s) => s.errorLog.some((e) => e.kind === 'unknown_device' && e.detail.includes('"AQ2"')), 'unknown_device for the removed device');
    expect(sink.samplesOf('aq-2')).toHaveLength(2);
  });

  it('reports site devices unreachable when the site broker goes away', async () => {
    mosquitto!.kill('SIGTERM');
    await sink.waitFor((s) => s.statusLog.some((x) => x.deviceId === 'aq-1' && x.reason === 'unreachable'), 'unreachable status');
    expect(sink.statusLog.find((x) => x.deviceId === 'aq-1' && !x.ok)).toMatchObject({ ok: false, reason: 'unreachable' });
  });
});

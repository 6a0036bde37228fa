// Data-driven cases from protocols/mqtt/testcases/*.yaml: a profile fragment, devices, publications
// (fed through the adapter's message entry point) and the samples / errors / statuses / events expected.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { validateProfile, type DeviceProfile } from '../../../core/profiles.js';
import { EventKind } from '../../../schema/types.js';
import { MqttAdapter } from '../../../protocols/mqtt/index.js';
import { encodeSparkplugPayload, type SpPayloadInput } from '../../../protocols/mqtt/sparkplug.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { MemoryLogger } from '../../helpers/logger.js';

const DIR = fileURLToPath(new URL('../../../protocols/mqtt/testcases/', import.meta.url));

interface Case {
  description: string;
  profile: Pick<DeviceProfile, 'mqtt' | 'points'>;
  devices: { id: string; connection?: Record<string, unknown> }[];
  messages: { topic: string; json?: unknown; text?: string; base64?: string; sparkplug?: SpPayloadInput }[];
  expect: {
    samples?: Record<string, unknown>[];
    errors?: { kind: string; detail?: string; deviceId?: string }[];
    statuses?: Record<string, unknown>[];
    events?: { deviceId: string; kind: keyof typeof EventKind }[];
  };
}

function payloadOf(m: Case['messages'][number]): Uint8Array {
  if (m.sparkplug) return encodeSparkplugPayload(m.sparkplug);
  if (m.base64 !== undefined) return Buffer.from(m.base64, 'base64');
  if (m.text !== undefined) return Buffer.from(m.text, 'utf8');
  return Buffer.from(JSON.stringify(m.json), 'utf8');
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

describe('mqtt testcases', () => {
  let adapter: MqttAdapter | undefined;
  afterEach(async () => {
    await adapter?.stop();
    adapter = undefined;
  });

  it('has cases', () => expect(files.length).toBeGreaterThanOrEqual(6));

  for (const file of files) {
    const c = YAML.parse(readFileSync(join(DIR, file), 'utf8')) as Case;
    it(`${file}: ${c.description}`, async () => {
      const profile = { id: 'testcase', manufacturer: 'test', model: 'test', kind: 'sensor', protocol: 'mqtt', ...c.profile } as DeviceProfile;
      expect(validateProfile(profile), 'the case profile must be a valid profile').toEqual([]);
      adapter = new MqttAdapter({ dataDir: '/tmp', settings: { localBroker: { enabled: true, host: '127.0.0.1', port: 0, allowAnonymous: true } } });
      const sink = new RecordingSink();
      await adapter.start(sink, new MemoryLogger());
      for (const d of c.devices) {
        expect(adapter.validateConnection(d.connection ?? {}, profile)).toEqual([]);
        await adapter.addDevice({ id: d.id, profile, connection: d.connection ?? {} });
      }
      for (const m of c.messages) adapter.handleMessage('local', m.topic, payloadOf(m));

      const samples = sink.sampleLog.map((s) => {
        const o: Record<string, unknown> = { deviceId: s.deviceId, point: s.point, value: s.value, quality: s.quality };
        if (s.ts !== undefined) o.ts = s.ts;
        return o;
      });
      expect(samples).toEqual(c.expect.samples ?? []);

      const errs = c.expect.errors ?? [];
      expect(sink.errorLog.map((e) => e.kind), JSON.stringify(sink.errorLog, null, 1)).toEqual(errs.map((e) => e.kind));
      errs.forEach((e, i) => {
        const got = sink.errorLog[i]!;
        expect(got.protocol).toBe('mqtt');
        if (e.detail) expect(got.detail).toContain(e.detail);
        if (e.deviceId) expect(got.deviceId).toBe(e.deviceId);
      });

      const statuses = c.expect.statuses ?? [];
      expect(sink.statusLog).toHaveLength(statuses.length);
      statuses.forEach((s, i) => expect(sink.statusLog[i]).toMatchObject(s));

      const events = c.expect.events ?? [];
      expect(sink.eventLog.map((e) => ({ deviceId: e.deviceId, kind: e.kind }))).toEqual(
        events.map((e) => ({ deviceId: e.deviceId, kind: EventKind[e.kind] })),
      );
    });
  }
});

describe('device registration', () => {
  it('refuses a second device with the same topic id and keeps the first one routed', async () => {
    const profile = {
      id: 'p', manufacturer: 'm', model: 'x', kind: 'sensor', protocol: 'mqtt',
      mqtt: { topic: 'x/{deviceId}', format: 'json' }, points: [{ name: 'a', metric: 'ph', mqtt: { path: 'a' } }],
    } as DeviceProfile;
    const adapter = new MqttAdapter({ dataDir: '/tmp', settings: { localBroker: { enabled: true, host: '127.0.0.1', port: 0 } } });
    const sink = new RecordingSink();
    await adapter.start(sink, new MemoryLogger());
    try {
      await adapter.addDevice({ id: 'a', profile, connection: { topicId: 'T1' } });
      await adapter.addDevice({ id: 'b', profile, connection: {} });
      await expect(adapter.addDevice({ id: 'c', profile, connection: { topicId: 'T1' } })).rejects.toThrow('topic id "T1" on x/{deviceId} is already used by device a');
      await expect(adapter.updateDevice({ id: 'b', profile, connection: { topicId: 'T1' } })).rejects.toThrow(/already used by device a/);
      await expect(adapter.addDevice({ id: 'd', profile, connection: { broker: 'site' } })).rejects.toThrow(/siteBroker is not configured/);
      adapter.handleMessage('local', 'x/T1', Buffer.from('{"a": 7}'));
      adapter.handleMessage('local', 'x/b', Buffer.from('{"a": 8}'));
      expect(sink.sampleLog.map((s) => [s.deviceId, s.value])).toEqual([['a', 7], ['b', 8]]);
      expect(sink.errorLog.map((e) => e.kind)).toEqual(['invalid_device', 'invalid_device', 'invalid_device']);
    } finally {
      await adapter.stop();
    }
  });
});

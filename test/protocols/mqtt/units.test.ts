// Pure parts of the MQTT adapter: password hashes, topic patterns, settings and connection validation.
import { describe, expect, it } from 'vitest';
import type { DeviceProfile } from '../../../core/profiles.js';
import { hashProblem, hashSecret, verifySecret, verifySecretAsync } from '../../../core/secrets.js';
import { connectionProblems, MqttConfigError, parseSettings } from '../../../protocols/mqtt/config.js';
import { MqttAdapter, profileProblems } from '../../../protocols/mqtt/index.js';
import { parseJsonPath } from '../../../protocols/mqtt/payload-json.js';
import { compileTopicPattern, filterMatches } from '../../../protocols/mqtt/topics.js';
import { toEpochMs } from '../../../protocols/mqtt/values.js';

describe('auth', () => {
  const stored = hashSecret('correct horse');

  it('hashes in the scrypt$N$r$p$salt$hash format with a fresh salt', () => {
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(hashSecret('correct horse')).not.toBe(stored);
    expect(hashProblem(stored)).toBeUndefined();
  });

  it('verifies the right secret and rejects others', async () => {
    expect(verifySecret('correct horse', stored)).toBe(true);
    expect(verifySecret('correct hors', stored)).toBe(false);
    expect(verifySecret('', stored)).toBe(false);
    expect(await verifySecretAsync('correct horse', stored)).toBe(true);
    expect(await verifySecretAsync('wrong', stored)).toBe(false);
  });

  it('treats unusable hashes as a mismatch and explains them', () => {
    expect(verifySecret('x', 'plaintext')).toBe(false);
    expect(verifySecret('x', 'scrypt$3$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==')).toBe(false);
    expect(hashProblem('scrypt$3$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==')).toContain('power of two');
    expect(hashProblem('md5$abc')).toContain('scrypt$N$r$p$saltB64$hashB64');
  });
});

describe('topic patterns', () => {
  it('captures {deviceId} and builds the subscription filter', () => {
    const p = compileTopicPattern('site/+/{deviceId}/data');
    expect(p.filter).toBe('site/+/+/data');
    expect(p.match('site/a/dev-1/data')).toBe('dev-1');
    expect(p.match('site/a/dev-1/data/x')).toBeUndefined();
    expect(p.match('site/a/b/dev-1/data')).toBeUndefined();
  });

  it('supports # (including the parent level) and ids inside a level', () => {
    const p = compileTopicPattern('t/dev-{deviceId}.v1/#');
    expect(p.filter).toBe('t/+/#');
    expect(p.match('t/dev-42.v1')).toBe('42');
    expect(p.match('t/dev-42.v1/a/b')).toBe('42');
    expect(p.match('t/xdev-42.v1/a')).toBeUndefined();
    expect(compileTopicPattern('{deviceId}/#').match('$SYS/x')).toBeUndefined();
  });

  it('rejects unusable patterns with the reason', () => {
    expect(() => compileTopicPattern('a/b')).toThrow(/exactly one \{deviceId\}/);
    expect(() => compileTopicPattern('a/#/{deviceId}')).toThrow(/# must be the last level/);
    expect(() => compileTopicPattern('a+/{deviceId}')).toThrow(/\+ must fill a whole level/);
  });

  it('matches MQTT filters', () => {
    expect(filterMatches('spBv1.0/+/NCMD/+', 'spBv1.0/g/NCMD/n')).toBe(true);
    expect(filterMatches('spBv1.0/+/NCMD/+', 'spBv1.0/g/NCMD/n/d')).toBe(false);
    expect(filterMatches('a/#', 'a')).toBe(true);
  });
});

describe('json paths and timestamps', () => {
  it('parses dotted, $ and bracket paths', () => {
    expect(parseJsonPath('a.b')).toEqual(['a', 'b']);
    expect(parseJsonPath('$.a[0].b')).toEqual(['a', 0, 'b']);
    expect(parseJsonPath("$['x y'].z")).toEqual(['x y', 'z']);
    expect(() => parseJsonPath('a..b')).toThrow(/cannot parse/);
  });

  it('converts timestamps and refuses garbage', () => {
    expect(toEpochMs(1700000000, 's')).toEqual({ ok: true, ts: 1700000000000 });
    expect(toEpochMs(1700000000123, undefined)).toEqual({ ok: true, ts: 1700000000123 });
    expect(toEpochMs('2024-05-01T08:00:00+08:00', 'iso')).toEqual({ ok: true, ts: Date.UTC(2024, 4, 1) });
    expect(toEpochMs(5, 'ms')).toMatchObject({ ok: false, reason: expect.stringContaining('outside 2000..2100') });
    expect(toEpochMs('yesterday', 'iso')).toMatchObject({ ok: false });
  });
});

describe('settings and connections', () => {
  it('reports every settings problem', () => {
    try {
      parseSettings({ localBroker: { enabled: 'yes', port: 70000, users: [{ username: 'a', passwordHash: 'plain' }] }, siteBroker: { url: 'http://x' }, extra: 1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MqttConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('protocols.mqtt.extra: unknown field');
      expect(msg).toContain('protocols.mqtt.localBroker.enabled: must be true or false');
      expect(msg).toContain('protocols.mqtt.localBroker.port: must be an integer 0..65535');
      expect(msg).toContain('protocols.mqtt.localBroker.users[0].passwordHash: must look like');
      expect(msg).toContain('protocols.mqtt.siteBroker.url: must be mqtt://');
    }
  });

  it('applies localBroker defaults', () => {
    expect(parseSettings({ localBroker: { enabled: true } }).localBroker).toEqual({
      enabled: true, host: '0.0.0.0', port: 1883, users: [], allowAnonymous: false, maxPacketBytes: 1048576, maxConnections: 1024,
    });
    expect(() => parseSettings({ localBroker: { maxPacketBytes: 0 } })).toThrow('protocols.mqtt.localBroker.maxPacketBytes: must be a positive integer');
  });

  it('validates device connections against the configured brokers', () => {
    const s = parseSettings({ localBroker: { enabled: true } });
    expect(connectionProblems({}, s)).toEqual([]);
    expect(connectionProblems({ broker: 'site' }, s)).toEqual(['connection.broker: site, but protocols.mqtt.siteBroker is not configured']);
    expect(connectionProblems({ topicId: 'a/b', port: 1 }, s)).toEqual([
      'connection.port: unknown field (allowed: broker, topicId)',
      'connection.topicId: must be a non-empty topic level (no /, + or #)',
    ]);
    expect(connectionProblems({}, parseSettings({}))[0]).toContain('embedded broker is off');
  });

  it('validates profiles as the adapter reads them', () => {
    const base = { id: 'p', manufacturer: 'm', model: 'x', kind: 'sensor', protocol: 'mqtt' } as const;
    const bad = { ...base, mqtt: { format: 'sparkplugb', topic: 'plant/{deviceId}' }, points: [{ name: 'a', metric: 'ph', mqtt: {} }] } as DeviceProfile;
    expect(profileProblems(bad)).toEqual([
      'profile p: mqtt.topic "plant/{deviceId}" must start with spBv1.0/',
      'profile p: points[0] (a) needs mqtt.path',
    ]);
    const adapter = new MqttAdapter({ dataDir: '/tmp', settings: { localBroker: { enabled: true } } });
    const json = { ...base, mqtt: { format: 'json', topic: 'x/{deviceId}' }, points: [{ name: 'a', metric: 'ph', mqtt: { path: 'a[' } }] } as DeviceProfile;
    expect(adapter.validateConnection({ broker: 'local' }, json)).toEqual(['profile p: path "a[": cannot parse at "["']);
  });
});

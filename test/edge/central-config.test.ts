// The collector's part of an edge configuration: merged over the local file of a managed edge and checked by the
// same schema; a managed edge's own file may not set what the collector owns; secrets found wherever they are.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError } from '../../core/config-file.js';
import { centralStructureProblems, loadEffectiveConfig, mapSecrets, mergeCentral, saveLastGood } from '../../edge/central-config.js';
import { checkEdgeConfig, loadEdgeConfig, profilesFor } from '../../edge/config.js';
import { LogRing } from '../../core/log-ring.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-central-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const local = {
  edge: { id: 'e1', managed: true },
  site: { id: 'S1', type: 'village' },
  uplink: { url: 'mqtts://collector.city.example:8883', password: 'x' },
  buffer: { dir: join(dir, 'buf') },
  protocols: { hj212: { port: 9212 }, modbus: { maxConnections: 4 } },
};

function write(name: string, cfg: object): string {
  const f = join(dir, name);
  writeFileSync(f, YAML.stringify(cfg));
  return f;
}

describe('central configuration', () => {
  it('a managed edge\'s own file may not list devices: the error names the collector and where to register them', () => {
    const f = write('managed-with-devices.yaml', { ...local, devices: [{ id: 'WL-1', profile: 'radar-level-modbus', connection: { host: 'h' } }] });
    let err: unknown;
    try {
      loadEdgeConfig(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${f}: devices: this edge is managed by the collector (edge.managed: true): its devices come from the collector at mqtts://collector.city.example:8883`);
    expect((err as ConfigError).message).toContain('yiwang collector device add --edge e1');
  });

  it('merges over the local file: devices/profiles/thresholds from the collector, protocol blocks replaced one by one', () => {
    const cfg = loadEdgeConfig(write('managed.yaml', local));
    const merged = mergeCentral(cfg, {
      devices: [{ id: 'WL-1', profile: 'my-level', connection: { host: '10.0.0.5', port: 502 } }],
      profiles: [{ id: 'my-level', manufacturer: 'X', model: 'Y', kind: 'sensor', protocol: 'modbus', points: [{ name: 'l', metric: 'water_level', unit: 'cm', modbus: { area: 'holding', address: 0, type: 'uint16' } }] }],
      thresholds: { sites: { S1: { water_level: { warning: 2.8 } } } },
      protocols: { hj212: { port: 9300 } },
    });
    expect(merged.uplink).toEqual(cfg.uplink);
    expect(merged.protocols).toEqual({ hj212: { port: 9300 }, modbus: { maxConnections: 4 } });
    expect(checkEdgeConfig('collector config v3', merged).devices).toHaveLength(1);
    expect(profilesFor(merged, join(dir, 'managed.yaml')).get('my-level')?.model).toBe('Y');
  });

  it('reports problems with the paths of the edge config (schema, inline profiles)', () => {
    expect(centralStructureProblems({ devices: [{ id: 'A', connection: {} }], ghost: 1 })).toEqual(
      expect.arrayContaining([{ path: '(top level)', message: 'unknown key "ghost"' }, { path: 'devices.0', message: "must have required property 'profile'" }]),
    );
    const cfg = mergeCentral(loadEdgeConfig(join(dir, 'managed.yaml')), {
      profiles: [{ id: 'bad', manufacturer: 'X', model: 'Y', kind: 'sensor', protocol: 'modbus', points: [{ name: 'l', metric: 'water_level', unit: 'kg', modbus: { area: 'holding', address: 0, type: 'uint16' } }] }],
    });
    expect(() => profilesFor(cfg, 'edge.yaml')).toThrow(/edge\.yaml: profiles\[0\]\.points\[0\]\.unit: .*kg/);
  });

  it('the last good configuration is kept 0600 and is what device list/test/doctor see', () => {
    const f = join(dir, 'managed.yaml');
    expect(loadEffectiveConfig(f).devices).toEqual([]);
    saveLastGood(join(dir, 'buf'), { version: 4, appliedAt: 1, config: { devices: [{ id: 'WL-1', profile: 'radar-level-modbus', connection: { host: '10.0.0.5' } }] } });
    expect(statSync(join(dir, 'buf', 'central-config.json')).mode & 0o777).toBe(0o600);
    expect(loadEffectiveConfig(f).devices.map((d) => d.id)).toEqual(['WL-1']);
  });

  it('finds every secret (device connections, protocol settings) and nothing else', () => {
    const doc = { devices: [{ id: 'A', profile: 'p', connection: { password: 'a', passwordEnv: 'X', username: 'u' } }], protocols: { mqtt: { siteBroker: { password: 'b' } } } };
    const seen: string[] = [];
    const masked = mapSecrets(doc, (v, path) => (seen.push(`${path}=${v}`), '***'));
    expect(seen).toEqual(['devices[0].connection.password=a', 'protocols.mqtt.siteBroker.password=b']);
    expect(masked.devices[0]!.connection).toEqual({ password: '***', passwordEnv: 'X', username: 'u' });
    expect(doc.devices[0]!.connection.password).toBe('a'); // the input is not changed
  });
});

describe('recent problem log lines', () => {
  it('keep the newest lines within the ring, oldest first', () => {
    const ring = new LogRing(3, 40);
    for (let i = 0; i < 5; i++) ring.write(`${JSON.stringify({ level: 40, msg: `w${i}` })}\n`);
    ring.write(JSON.stringify({ level: 50, msg: 'x'.repeat(100) }));
    expect(ring.recent().map((l) => [l.level, String(l.msg).slice(0, 3)])).toEqual([['warn', 'w3'], ['warn', 'w4'], ['warn', '{"l']]);
    expect(ring.recent(1)).toHaveLength(1);
    expect(ring.seen).toBe(6);
  });
});

// Data-driven cases from protocols/opcua/testcases/*.json (input + expected output) plus config resolution.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StatusCodes, type StatusCode } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadProfileFile } from '../../../core/profiles.js';
import type { DeviceProfile, OpcuaPoint } from '../../../core/profiles.js';
import { parseSettings, resolveConnection, subscriptionSpec, validateConnection, type OpcuaConnection } from '../../../protocols/opcua/config.js';
import { statusToQuality } from '../../../protocols/opcua/quality.js';
import { DT, variantToValue } from '../../../protocols/opcua/values.js';

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../protocols/opcua/testcases/${name}`, import.meta.url)), 'utf8')) as T;

interface QualityCase {
  status?: string;
  raw?: { value: string; name: string };
  expected: { quality: string; reason?: string };
}
interface ValueCase {
  dataType: keyof typeof DT;
  arrayType?: number;
  value?: unknown;
  date?: string;
  expected: unknown;
}
interface ConnectionCase {
  connection: unknown;
  nodeId?: string;
  deadband?: OpcuaPoint['deadband'];
  expected: string[];
}

function profile(opcua: OpcuaPoint, extra: Partial<DeviceProfile> = {}): DeviceProfile {
  return { id: 'p', manufacturer: 'm', model: 'x', kind: 'sensor', protocol: 'opcua', points: [{ name: 'ph', metric: 'ph', opcua }], ...extra };
}

describe('opcua status code → quality (testcases/quality.json)', () => {
  const { cases } = load<{ cases: QualityCase[] }>('quality.json');
  it.each(cases.map((c) => [c.status ?? c.raw?.value, c] as const))('%s', (_label, c) => {
    let input: { value: number; name: string };
    if (c.status) {
      const sc = (StatusCodes as unknown as Record<string, StatusCode | undefined>)[c.status];
      expect(sc, `node-opcua knows ${c.status}`).toBeDefined();
      input = sc as StatusCode;
    } else {
      input = { value: Number(c.raw?.value), name: c.raw?.name ?? '' };
    }
    expect(statusToQuality(input)).toEqual(c.expected);
  });
});

describe('opcua variant → point value (testcases/values.json)', () => {
  const { cases } = load<{ cases: ValueCase[] }>('values.json');
  it.each(cases.map((c, i) => [`${i} ${c.dataType} ${JSON.stringify(c.value ?? c.date)}`, c] as const))('%s', (_label, c) => {
    const value = c.date !== undefined ? new Date(c.date) : c.value;
    expect(variantToValue({ dataType: DT[c.dataType], arrayType: c.arrayType ?? 0, value })).toEqual(c.expected);
  });
});

describe('opcua connection validation (testcases/connection.json)', () => {
  const data = load<{ cases: ConnectionCase[]; resolved: { connection: OpcuaConnection; expected: object }[] }>('connection.json');
  it.each(data.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const p = profile({ nodeId: c.nodeId ?? 'ns=1;s=WQ.pH', ...(c.deadband ? { deadband: c.deadband } : {}) });
    expect(validateConnection(c.connection, p)).toEqual(c.expected);
  });
  it('reads the password from passwordEnv at connect time', () => {
    process.env.YIWANG_OPCUA_TEST_PW = 'from-env';
    try {
      expect(resolveConnection({ endpoint: 'opc.tcp://h:1', username: 'op', passwordEnv: 'YIWANG_OPCUA_TEST_PW' }).password).toBe('from-env');
    } finally {
      delete process.env.YIWANG_OPCUA_TEST_PW;
    }
  });
  it.each(data.resolved.map((c, i) => [i, c] as const))('resolves security defaults %i', (_i, c) => {
    expect(resolveConnection(c.connection)).toMatchObject(c.expected);
  });
});

describe('opcua monitoring parameters and settings', () => {
  it('takes point values over the profile block over defaults, and drops zero deadbands', () => {
    const p: DeviceProfile = {
      ...profile({ nodeId: 'ns=1;s=A' }),
      opcua: { samplingIntervalMs: 500, publishingIntervalMs: 2000 },
      points: [
        { name: 'a', metric: 'ph', opcua: { nodeId: 'ns=1;s=A' } },
        { name: 'b', metric: 'ph', opcua: { nodeId: 'ns=1;s=B', samplingIntervalMs: 100, queueSize: 3, deadband: { type: 'absolute', value: 0.1 } } },
        { name: 'c', metric: 'ph', opcua: { nodeId: 'ns=1;s=C', deadband: { type: 'percent', value: 0 } } },
        { name: 'd', metric: 'ph' },
      ],
    };
    expect(subscriptionSpec(p)).toEqual({
      publishingIntervalMs: 2000,
      items: [
        { point: 'a', nodeId: 'ns=1;s=A', samplingIntervalMs: 500, queueSize: 10 },
        { point: 'b', nodeId: 'ns=1;s=B', samplingIntervalMs: 100, queueSize: 3, deadband: { type: 'absolute', value: 0.1 } },
        { point: 'c', nodeId: 'ns=1;s=C', samplingIntervalMs: 500, queueSize: 10 },
      ],
    });
  });

  it('parses protocol settings and rejects bad ones precisely', () => {
    expect(parseSettings({ reconnectInitialDelayMs: 500, acceptUnknownCertificates: false })).toMatchObject({
      reconnectInitialDelayMs: 500,
      reconnectMaxDelayMs: 30_000,
      acceptUnknownCertificates: false,
    });
    expect(() => parseSettings({ connectTimeoutMs: 'soon' })).toThrow('protocols.opcua.connectTimeoutMs: must be a number >= 0');
    expect(() => parseSettings({ acceptUnknownCertificates: 'yes' })).toThrow('protocols.opcua.acceptUnknownCertificates: must be true or false');
  });
});

describe('opcua sample.yaml', () => {
  it('has valid connections for the shipped water-quality profile and valid protocol settings', () => {
    const text = readFileSync(fileURLToPath(new URL('../../../protocols/opcua/sample.yaml', import.meta.url)), 'utf8');
    const sample = YAML.parse(text) as { protocols: { opcua: Record<string, unknown> }; devices: { id: string; profile: string; connection: unknown }[] };
    expect(parseSettings(sample.protocols.opcua)).toEqual(parseSettings({}));
    process.env.WQ02_OPCUA_PASSWORD = 'x';
    try {
      expect(sample.devices.length).toBe(2);
      for (const d of sample.devices) {
        const p = loadProfileFile(fileURLToPath(new URL(`../../../device-profiles/${d.profile}.yaml`, import.meta.url)));
        expect(validateConnection(d.connection, p), d.id).toEqual([]);
      }
    } finally {
      delete process.env.WQ02_OPCUA_PASSWORD;
    }
  });
});

// The edge config's gb28181 block: structure (JSON Schema in edge/config.ts) and GB/T 28181 id rules, each
// problem reported as `file: gb28181.path: reason`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseEdgeConfig } from '../../../edge/config.js';
import { gb28181Settings } from '../../../protocols/gb28181/config.js';

const base = {
  edge: { id: 'edge-1' },
  site: { id: 'site-1' },
  uplink: { url: 'mqtt://127.0.0.1:1883' },
  gb28181: {
    deviceId: '34020000001180000001',
    platform: { id: '34020000002000000001', host: '192.0.2.10' },
    passwordEnv: 'YIWANG_GB28181_PASSWORD',
  },
};

function parse(gb: Record<string, unknown>): () => unknown {
  return () => parseEdgeConfig('edge.yaml', YAML.stringify({ ...base, gb28181: { ...base.gb28181, ...gb } }));
}

describe('gb28181 config block', () => {
  it('accepts a minimal block and fills the defaults', () => {
    const cfg = parseEdgeConfig('edge.yaml', YAML.stringify(base));
    expect(gb28181Settings(cfg.gb28181!)).toMatchObject({
      platform: { domain: '3402000000', port: 5060, transport: 'udp' },
      local: { host: '0.0.0.0', port: 5060 },
      registerExpiresS: 3600, keepaliveIntervalS: 60, keepaliveMaxMissed: 3, charset: 'GB2312', maxStreams: 4,
    });
  });

  it('accepts the block in protocols/gb28181/sample.yaml as documented', () => {
    const sample = YAML.parse(readFileSync(new URL('../../../protocols/gb28181/sample.yaml', import.meta.url), 'utf8')) as { gb28181: object };
    const cfg = parseEdgeConfig('edge.yaml', YAML.stringify({ ...base, ...sample }));
    expect(gb28181Settings(cfg.gb28181!)).toMatchObject({ name: '城关镇边缘网关', charset: 'GB2312', maxStreams: 4, passwordEnv: 'YIWANG_GB28181_PASSWORD' });
  });

  it.each([
    [{ deviceId: '3402000000118000000' }, 'edge.yaml: gb28181.deviceId: GB/T 28181 id must have 20 digits, "3402000000118000000" has 19'],
    [{ deviceId: '34020000001320000001' }, 'edge.yaml: gb28181.deviceId: digits 11-13 "132" (网络摄像机(IPC)) do not name a device with channels; use 118 (NVR), 111 (DVR), 112, 113, 130 or 209'],
    [{ platform: { id: '99020000002000000001', host: 'x' } }, 'edge.yaml: gb28181.platform.id: GB/T 28181 id "99020000002000000001": digits 1-2 "99" are not a province code'],
    [{ platform: { id: '34020000002000000001', host: 'x', transport: 'sctp' } }, 'edge.yaml: gb28181.platform.transport: must be one of udp, tcp'],
    [{ password: 'inline' }, 'edge.yaml: gb28181: unknown key "password"'],
    [{ charset: 'GBK' }, 'edge.yaml: gb28181.charset: must be one of GB2312, UTF-8'],
    [{ keepaliveIntervalS: 0 }, 'edge.yaml: gb28181.keepaliveIntervalS: must be >= 1'],
    [{ maxStreams: 100 }, 'edge.yaml: gb28181.maxStreams: must be <= 64'],
    [{ deviceId: '34020000002000000001' }, 'edge.yaml: gb28181.deviceId: must differ from platform.id'],
  ])('rejects %j', (gb, message) => {
    expect(parse(gb)).toThrow(message);
  });
});

// The edge config's `gb28181:` block: JSON Schema (structure, used by edge/config.ts), semantic checks
// (GB/T 28181 ids through core/gb28181.ts) and defaults.
import { parseGb28181Id } from '../../core/gb28181.js';
import type { Charset } from './manscdp.js';
import type { SipTransport } from './sip.js';

export interface Gb28181Config {
  enabled?: boolean;
  /** The edge's own 20-digit id: it registers as an NVR-like device whose channels are the cameras. */
  deviceId: string;
  name?: string;
  platform: {
    id: string;               // the upper platform's SIP id (20 digits)
    domain?: string;          // SIP domain / realm, default the first 10 digits of platform.id
    host: string;
    port?: number;            // 5060
    transport?: SipTransport; // udp
  };
  /** Environment variable holding the SIP password (never inline in the YAML). */
  passwordEnv?: string;
  local?: {
    host?: string;            // bind address, 0.0.0.0
    port?: number;            // SIP port, 5060 (0 = any, for tests)
    /** Our address as the platform reaches it (Contact, Via, SDP); default the address routed towards the platform. */
    advertisedAddress?: string;
  };
  registerExpiresS?: number;  // 3600
  keepaliveIntervalS?: number; // 60
  /** Keepalives in a row without a 200 before we register again (GB/T 28181: 3). */
  keepaliveMaxMissed?: number;
  charset?: Charset;          // GB2312
  maxStreams?: number;        // 4
  ffmpegPath?: string;
}

export interface Gb28181Settings {
  deviceId: string;
  name: string;
  platform: { id: string; domain: string; host: string; port: number; transport: SipTransport };
  passwordEnv?: string;
  local: { host: string; port: number; advertisedAddress?: string };
  registerExpiresS: number;
  keepaliveIntervalS: number;
  keepaliveMaxMissed: number;
  charset: Charset;
  maxStreams: number;
  ffmpegPath?: string;
}

// structure only: parseGb28181Id gives the precise reason ("has 19 digits", "not a province code")
const id20 = { type: 'string', minLength: 1 };

export const GB28181_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['deviceId', 'platform'],
  properties: {
    enabled: { type: 'boolean' },
    deviceId: id20,
    name: { type: 'string', minLength: 1, maxLength: 64 },
    platform: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'host'],
      properties: {
        id: id20,
        domain: { type: 'string', pattern: '^[0-9A-Za-z.-]{1,64}$' },
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        transport: { enum: ['udp', 'tcp'] },
      },
    },
    passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    local: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        advertisedAddress: { type: 'string', minLength: 1 },
      },
    },
    registerExpiresS: { type: 'integer', minimum: 60, maximum: 86400 },
    keepaliveIntervalS: { type: 'integer', minimum: 1, maximum: 3600 },
    keepaliveMaxMissed: { type: 'integer', minimum: 1, maximum: 10 },
    charset: { enum: ['GB2312', 'UTF-8'] },
    maxStreams: { type: 'integer', minimum: 0, maximum: 64 },
    ffmpegPath: { type: 'string', minLength: 1 },
  },
} as const;

/** Type codes the edge may register as: recorders/encoders whose channels are cameras. */
export const EDGE_TYPE_CODES = new Set(['111', '112', '113', '118', '130', '209']);

/** Problems the schema cannot see, as `gb28181.path: reason`. */
export function gb28181Problems(c: Gb28181Config): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const dev = parseGb28181Id(c.deviceId);
  if (!dev.ok) problems.push({ path: 'gb28181.deviceId', message: dev.error });
  else if (!EDGE_TYPE_CODES.has(dev.value.typeCode)) {
    problems.push({
      path: 'gb28181.deviceId',
      message: `digits 11-13 "${dev.value.typeCode}" (${dev.value.typeName}) do not name a device with channels; use 118 (NVR), 111 (DVR), 112, 113, 130 or 209`,
    });
  }
  const plat = parseGb28181Id(c.platform.id);
  if (!plat.ok) problems.push({ path: 'gb28181.platform.id', message: plat.error });
  if (c.deviceId === c.platform.id) problems.push({ path: 'gb28181.deviceId', message: 'must differ from platform.id' });
  return problems;
}

export function gb28181Settings(c: Gb28181Config): Gb28181Settings {
  return {
    deviceId: c.deviceId,
    name: c.name ?? 'yiwang edge',
    platform: {
      id: c.platform.id,
      domain: c.platform.domain ?? c.platform.id.slice(0, 10),
      host: c.platform.host,
      port: c.platform.port ?? 5060,
      transport: c.platform.transport ?? 'udp',
    },
    passwordEnv: c.passwordEnv,
    local: { host: c.local?.host ?? '0.0.0.0', port: c.local?.port ?? 5060, advertisedAddress: c.local?.advertisedAddress },
    registerExpiresS: c.registerExpiresS ?? 3600,
    keepaliveIntervalS: c.keepaliveIntervalS ?? 60,
    keepaliveMaxMissed: c.keepaliveMaxMissed ?? 3,
    charset: c.charset ?? 'GB2312',
    maxStreams: c.maxStreams ?? 4,
    ffmpegPath: c.ffmpegPath,
  };
}

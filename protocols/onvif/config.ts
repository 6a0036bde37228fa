// Device connection, edge settings and profile options of the ONVIF adapter, with defaults and validation.
import { passwordEnvProblems, passwordOf } from '../../core/env.js';
import type { DeviceProfile } from '../../core/profiles.js';

export interface OnvifConnection {
  host: string;
  port: number;          // ONVIF device service HTTP port (default 80)
  username?: string;
  password?: string;     // resolved from passwordEnv when that is given
  path: string;          // device service path (default /onvif/device_service)
  /** Use this stream URL instead of the one ONVIF reports (NAT'd cameras, NVR channels). */
  streamUri?: string;
}

export interface OnvifSettings {
  concurrency: number;        // ffmpeg checks at once (default 1: edge boxes have 1–2 cores)
  checkTimeoutS: number;      // hard limit of one check; ffmpeg is killed after it (default 20)
  ffmpegPath?: string;
  /** Share of one core the checks may use on average over a minute (e.g. 0.25); unset = no budget. */
  cpuBudget?: number;
  infoIntervalS: number;      // how often ONVIF device information is re-read (default 3600)
  probeSeconds: number;       // stream window of a probe (default 2)
  /** WS-Discovery probe targets "host:port" (default the multicast group 239.255.255.250:3702). */
  discoveryTargets: string[];
}

export interface OnvifProfileOptions {
  streamProfile?: string;
  probeIntervalS: number;     // default 60
  qualityIntervalS: number;   // default 600
  sampleSeconds: number;      // default 3
  snapshotMaxBytes: number;   // default 32 KiB
}

export function profileOptions(p: DeviceProfile): OnvifProfileOptions {
  const o = p.onvif ?? {};
  return {
    streamProfile: o.streamProfile,
    probeIntervalS: o.probeIntervalS ?? 60,
    qualityIntervalS: o.qualityIntervalS ?? 600,
    sampleSeconds: o.sampleSeconds ?? 3,
    snapshotMaxBytes: o.snapshotMaxBytes ?? 32 * 1024,
  };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export function validateConnection(c: unknown): string[] {
  if (!isObj(c)) return ['connection: must be an object with host, port, username, password, path'];
  const problems: string[] = [];
  if (typeof c.host !== 'string' || !c.host.trim()) problems.push('connection.host: required, the camera\'s IP address or host name');
  if (c.port !== undefined && (!Number.isInteger(c.port) || (c.port as number) < 1 || (c.port as number) > 65535)) {
    problems.push('connection.port: must be an integer 1–65535 (the ONVIF HTTP port, default 80)');
  }
  for (const k of ['username', 'password', 'passwordEnv', 'path', 'streamUri'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') problems.push(`connection.${k}: must be a string`);
  }
  if (typeof c.path === 'string' && !c.path.startsWith('/')) problems.push('connection.path: must start with / (default /onvif/device_service)');
  if (typeof c.streamUri === 'string' && !/^(rtsps?|https?|file):/i.test(c.streamUri)) problems.push('connection.streamUri: must be an rtsp:// URL');
  problems.push(...passwordEnvProblems(c, 'connection'));
  if ((c.password !== undefined || c.passwordEnv !== undefined) && c.username === undefined) problems.push('connection.username: required when a password is given');
  const known = new Set(['host', 'port', 'username', 'password', 'passwordEnv', 'path', 'streamUri']);
  for (const k of Object.keys(c)) if (!known.has(k)) problems.push(`connection.${k}: unknown field`);
  return problems;
}

export function parseConnection(c: Record<string, unknown>): OnvifConnection {
  return {
    host: String(c.host),
    port: typeof c.port === 'number' ? c.port : 80,
    username: typeof c.username === 'string' ? c.username : undefined,
    password: passwordOf(c),
    path: typeof c.path === 'string' ? c.path : '/onvif/device_service',
    streamUri: typeof c.streamUri === 'string' ? c.streamUri : undefined,
  };
}

function positive(v: unknown, name: string, dflt: number, problems: string[]): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0)) {
    problems.push(`protocols.onvif.${name}: must be a positive number`);
    return dflt;
  }
  return v;
}

/** Settings with defaults; problems are returned so the adapter can count and log them. */
export function parseSettings(s: Record<string, unknown> | undefined): { settings: OnvifSettings; problems: string[] } {
  const x = s ?? {};
  const problems: string[] = [];
  const targets = x.discoveryTargets;
  const settings: OnvifSettings = {
    concurrency: Math.max(1, Math.floor(positive(x.concurrency, 'concurrency', 1, problems))),
    checkTimeoutS: positive(x.checkTimeoutS, 'checkTimeoutS', 20, problems),
    ffmpegPath: typeof x.ffmpegPath === 'string' ? x.ffmpegPath : undefined,
    cpuBudget: x.cpuBudget === undefined ? undefined : positive(x.cpuBudget, 'cpuBudget', 1, problems),
    infoIntervalS: positive(x.infoIntervalS, 'infoIntervalS', 3600, problems),
    probeSeconds: positive(x.probeSeconds, 'probeSeconds', 2, problems),
    discoveryTargets: Array.isArray(targets) && targets.every((t) => typeof t === 'string') ? (targets as string[]) : ['239.255.255.250:3702'],
  };
  if (targets !== undefined && !Array.isArray(targets)) problems.push('protocols.onvif.discoveryTargets: must be a list of "host:port"');
  return { settings, problems };
}

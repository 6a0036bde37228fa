// ONVIF side of a camera: connect (GetSystemDateAndTime, GetServices/GetCapabilities, GetProfiles,
// GetVideoSources), device information, media profiles, stream and snapshot URIs, PTZ presence, clock offset.
import onvif from 'onvif';
import type { CameraInfo } from '../../schema/types.js';
import type { HealthReason } from '../adapter.js';
import type { OnvifConnection } from './config.js';

type Cam = InstanceType<typeof onvif.Cam>;

export interface MediaProfile {
  token: string;
  name?: string;
  encoding?: string;
  width?: number;
  height?: number;
  frameRate?: number;
  bitrateKbps?: number;
  ptz: boolean;
}

export interface CameraFacts {
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serialNumber?: string;
  hardwareId?: string;
  profiles: MediaProfile[];
  streamUris: string[];          // per profile, in profile order
  streamProfile: MediaProfile;   // the one the probe and diagnosis use
  streamUri: string;
  snapshotUri?: string;
  ptz: boolean;
  clockOffsetMs?: number;        // camera clock − our clock
}

/** An ONVIF failure classified into the shared health reasons. */
export class OnvifError extends Error {
  constructor(
    readonly reason: HealthReason,
    message: string,
  ) {
    super(message);
  }
}

const AUTH = /not ?authori[sz]ed|unauthori[sz]ed|authentication failed|401|sender not authorized|FailedAuthentication/i;

export function classifyOnvifError(err: unknown): OnvifError {
  if (err instanceof OnvifError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code;
  if (AUTH.test(msg)) return new OnvifError('auth_failure', `ONVIF authentication rejected: ${msg}`);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'ECONNRESET') {
    return new OnvifError('unreachable', `ONVIF service unreachable: ${code}`);
  }
  if (/timeout/i.test(msg)) return new OnvifError('unreachable', `ONVIF service did not answer: ${msg}`);
  return new OnvifError('protocol_error', `ONVIF error: ${msg}`);
}

function call<T>(fn: (cb: (err: Error | null, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

export async function connectCamera(c: OnvifConnection, timeoutMs: number): Promise<Cam> {
  const cam = new onvif.Cam({
    hostname: c.host,
    port: c.port,
    path: c.path,
    username: c.username,
    password: c.password,
    timeout: timeoutMs,
    autoconnect: false,
  });
  try {
    await call<unknown>((cb) => cam.connect(cb as (err: Error | null) => void));
  } catch (err) {
    throw classifyOnvifError(err);
  }
  return cam;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** Maps the onvif package's (linerased) Media1 profile into what the record needs. */
// The package types profiles as `any`-valued records; we read known ONVIF fields defensively.
export function mediaProfile(p: Record<string, unknown>): MediaProfile {
  const attrs = (p.$ ?? {}) as { token?: string };
  const enc = (p.videoEncoderConfiguration ?? {}) as {
    encoding?: string;
    resolution?: { width?: unknown; height?: unknown };
    rateControl?: { frameRateLimit?: unknown; bitrateLimit?: unknown };
  };
  return {
    token: String(attrs.token ?? p.token ?? ''),
    name: typeof p.name === 'string' ? p.name : undefined,
    encoding: enc.encoding,
    width: num(enc.resolution?.width),
    height: num(enc.resolution?.height),
    frameRate: num(enc.rateControl?.frameRateLimit),
    bitrateKbps: num(enc.rateControl?.bitrateLimit),
    ptz: p.PTZConfiguration !== undefined,
  };
}

/** "main" = first profile, "sub" = second, otherwise a profile token. */
export function pickProfile(profiles: MediaProfile[], wanted: string | undefined): MediaProfile | undefined {
  if (!wanted || wanted === 'main') return profiles[0];
  if (wanted === 'sub') return profiles[1] ?? profiles[0];
  return profiles.find((p) => p.token === wanted);
}

/** Everything the camera's record needs, one ONVIF session. */
export async function readCameraFacts(cam: Cam, streamProfile: string | undefined): Promise<CameraFacts> {
  try {
    const info = await call<Record<string, unknown>>((cb) => cam.getDeviceInformation(cb as never));
    const t0 = Date.now();
    const camTime = await call<Date>((cb) => cam.getSystemDateAndTime(cb as never));
    const rtt = Date.now() - t0;
    // ONVIF gives whole seconds: offsets under ~1 s are noise.
    const clockOffsetMs = camTime instanceof Date ? camTime.getTime() - (t0 + rtt / 2) : undefined;
    const profiles = (cam.profiles ?? []).map((p) => mediaProfile(p as Record<string, unknown>));
    if (!profiles.length) throw new OnvifError('protocol_error', 'camera has no media profiles');
    const chosen = pickProfile(profiles, streamProfile);
    if (!chosen) throw new OnvifError('protocol_error', `no media profile "${streamProfile}" (have ${profiles.map((p) => p.token).join(', ')})`);
    const streamUris: string[] = [];
    for (const p of profiles) {
      const r = await call<{ uri: string }>((cb) => cam.getStreamUri({ protocol: 'RTSP', profileToken: p.token }, cb as never));
      streamUris.push(r.uri);
    }
    let snapshotUri: string | undefined;
    try {
      snapshotUri = (await call<{ uri: string }>((cb) => cam.getSnapshotUri({ profileToken: chosen.token }, cb as never))).uri;
    } catch {
      snapshotUri = undefined; // optional: snapshots fall back to a frame of the stream
    }
    const str = (k: string) => (info[k] === undefined ? undefined : String(info[k]));
    return {
      manufacturer: str('manufacturer'),
      model: str('model'),
      firmware: str('firmwareVersion'),
      serialNumber: str('serialNumber'),
      hardwareId: str('hardwareId'),
      profiles,
      streamUris,
      streamProfile: chosen,
      streamUri: streamUris[profiles.indexOf(chosen)] ?? '',
      snapshotUri,
      ptz: profiles.some((p) => p.ptz) || cam.uri?.ptz !== undefined,
      clockOffsetMs: clockOffsetMs === undefined ? undefined : Math.round(clockOffsetMs),
    };
  } catch (err) {
    throw classifyOnvifError(err);
  }
}

/** The 一机一档 camera block from ONVIF facts (stream URIs without credentials). */
export function cameraInfo(f: CameraFacts): CameraInfo {
  const p = f.streamProfile;
  return {
    hardwareId: f.hardwareId,
    encoding: p.encoding,
    resolution: p.width && p.height ? `${p.width}x${p.height}` : undefined,
    frameRate: p.frameRate,
    bitrateKbps: p.bitrateKbps,
    streamUris: f.streamUris,
    snapshotUri: f.snapshotUri,
    ptz: f.ptz,
    clockOffsetMs: f.clockOffsetMs,
  };
}

/** The stream URL with the camera's credentials inserted (RTSP servers of cameras ask for them). */
export function withCredentials(uri: string, c: OnvifConnection): string {
  if (!c.username || !/^rtsps?:\/\//i.test(uri) || /^rtsps?:\/\/[^/]*@/i.test(uri)) return uri;
  const auth = `${encodeURIComponent(c.username)}:${encodeURIComponent(c.password ?? '')}@`;
  return uri.replace(/^(rtsps?:\/\/)/i, `$1${auth}`);
}

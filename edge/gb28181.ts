// GB/T 28181 northbound service of the edge: the configured cameras become channels of a GB/T 28181 device
// (protocols/gb28181) — their 一机一档 records as catalog items, their health as ON/OFF, their video faults as
// Alarm notifications, catalog changes as NOTIFYs — started and stopped with the agent, reconfigured on reload.
import { parseGb28181Id, CAMERA_TYPE_CODES } from '../core/gb28181.js';
import { ConfigError } from '../core/config-file.js';
import type { Logger } from '../core/log.js';
import { ProblemLog } from '../core/problem-log.js';
import type { Registry } from '../core/prom.js';
import { gb28181Settings } from '../protocols/gb28181/config.js';
import { Gb28181Counters, Gb28181Device, type Channel, type DeviceStatusView } from '../protocols/gb28181/device.js';
import { gbTime, type AlarmFields, type CatalogItem } from '../protocols/gb28181/manscdp.js';
import { parseConnection } from '../protocols/onvif/config.js';
import { withCredentials } from '../protocols/onvif/device.js';
import { EventKind, Severity, type DeviceRecord, type SensingEvent } from '../schema/types.js';
import type { EdgeConfig } from './config.js';
import type { ConfiguredDevice, DeviceManager } from './devices.js';
import type { EdgePipeline } from './pipeline.js';

/** Catalog changes within this window go out as one NOTIFY. */
const CHANGE_DEBOUNCE_MS = 300;

const PTZ_TYPE: Record<string, number> = { dome: 1, half_dome: 2, fixed_bullet: 3, ptz_bullet: 4, checkpoint_bullet: 3 };
const SUPPLY_LIGHT: Record<string, number> = { none: 1, infrared: 2, white_light: 3 };
const DIRECTION: Record<string, number> = { E: 1, W: 2, S: 3, N: 4, SE: 5, NE: 6, SW: 7, NW: 8 };

/** Video-fault codes of the quality diagnosis (protocols/onvif) with their 一机一档 audit names. */
const FAULT_NAMES: Record<string, string> = {
  signal_loss: '信号丢失', black: '黑屏', frozen: '画面冻结', blur: '图像模糊', too_dark: '亮度异常(过暗)',
  too_bright: '亮度异常(过亮)', color_cast: '图像偏色', noise: '雪花干扰', occlusion: '视频遮挡',
};

export interface Gb28181Deps {
  pipeline: EdgePipeline;
  devices: DeviceManager;
  metrics: Registry;
  log: Logger;
  version: string;
}

/** Whether a device is published as a channel: a camera whose id is a GB/T 28181 camera code. */
export function isChannel(d: ConfiguredDevice): boolean {
  if ((d.record.kind ?? d.profile.kind) !== 'camera') return false;
  const id = parseGb28181Id(d.record.id);
  return id.ok && CAMERA_TYPE_CODES.has(id.value.typeCode);
}

/** A camera's 一机一档 record and health as a GB/T 28181 catalog item. */
export function catalogItem(r: DeviceRecord, online: boolean, parentId: string, connection: Record<string, unknown>): Omit<CatalogItem, 'Event'> {
  const cam = r.camera ?? {};
  return {
    DeviceID: r.id,
    Name: r.name ?? r.id,
    Manufacturer: r.manufacturer,
    Model: r.model,
    Owner: r.maintainer,
    // the record's administrative division, else the division in the code itself (digits 1-8)
    CivilCode: r.location?.divisionCode ?? r.id.slice(0, 8),
    Address: r.location?.address,
    Parental: 0,
    ParentID: parentId,
    SafetyWay: 0,
    RegisterWay: 1,
    Secrecy: 0,
    IPAddress: typeof connection.host === 'string' ? connection.host : undefined,
    Port: typeof connection.port === 'number' ? connection.port : undefined,
    Status: online ? 'ON' : 'OFF',
    Longitude: r.location?.longitude,
    Latitude: r.location?.latitude,
    Info: {
      PTZType: cam.cameraType ? PTZ_TYPE[cam.cameraType] : undefined,
      SupplyLightType: cam.fillLight ? SUPPLY_LIGHT[cam.fillLight] : undefined,
      DirectionType: cam.direction ? DIRECTION[cam.direction] : undefined,
    },
  };
}

/** A raised video fault as a GB/T 28181 alarm (GB/T 28181-2016 §A.2.4: method 5 视频报警 type 11 视频异常检测; signal loss: method 2 设备报警 type 1 视频丢失). */
export function videoFaultAlarm(e: Omit<SensingEvent, 'seq'>, r: DeviceRecord | undefined): AlarmFields {
  const code = e.code ?? 'video_fault';
  const priority = e.severity === Severity.CRITICAL ? 1 : e.severity === Severity.MAJOR ? 2 : e.severity === Severity.WARNING ? 3 : 4;
  return {
    priority,
    method: code === 'signal_loss' ? 2 : 5,
    alarmType: code === 'signal_loss' ? 1 : 11,
    time: gbTime(e.ts),
    description: `${FAULT_NAMES[code] ?? code}: ${e.message}`.slice(0, 200),
    longitude: r?.location?.longitude,
    latitude: r?.location?.latitude,
  };
}

export class Gb28181Northbound {
  private device?: Gb28181Device;
  private parentId = '';
  private configKey = '';
  private readonly counters: Gb28181Counters;
  private readonly problems: ProblemLog;
  private readonly published = new Map<string, { key: string; status: 'ON' | 'OFF' }>();
  private changeTimer?: NodeJS.Timeout;
  private readonly unobserve: () => void;
  private readonly log: Logger;

  constructor(private readonly deps: Gb28181Deps) {
    this.log = deps.log.child({ service: 'gb28181' });
    this.counters = new Gb28181Counters(deps.metrics);
    this.problems = new ProblemLog(this.log);
    deps.metrics.gauge('yiwang_edge_gb28181_registered', 'Whether the edge is registered with its GB/T 28181 platform (1/0)', () =>
      this.device ? [[{ state: this.device.status().state }, this.device.status().state === 'registered' ? 1 : 0]] : [],
    );
    deps.metrics.gauge('yiwang_edge_gb28181_streams', 'Live-view streams being sent to the GB/T 28181 platform', () =>
      this.device ? [[{}, this.device.streams().length]] : [],
    );
    this.unobserve = deps.pipeline.observe({
      recordChanged: () => this.scheduleCatalogDiff(),
      recordDropped: () => this.scheduleCatalogDiff(),
      event: (e) => this.onEvent(e),
    });
  }

  /** Starts, restarts (settings changed) or stops the device to match `cfg.gb28181`. */
  async apply(cfg: EdgeConfig, file: string): Promise<void> {
    const g = cfg.gb28181;
    const enabled = !!g && g.enabled !== false;
    const password = g?.passwordEnv ? process.env[g.passwordEnv] : undefined;
    if (enabled && g?.passwordEnv && !password) {
      throw new ConfigError(file, [{ path: 'gb28181.passwordEnv', message: `environment variable ${g.passwordEnv} is not set (put it in the edge's env file)` }]);
    }
    const key = enabled ? JSON.stringify({ g, password }) : '';
    if (key === this.configKey) {
      this.scheduleCatalogDiff();
      return;
    }
    await this.stopDevice();
    this.configKey = key;
    if (!enabled || !g) return;
    this.parentId = g.deviceId;
    const device = new Gb28181Device({
      settings: gb28181Settings(g),
      password,
      channels: { channels: () => this.channels(), channel: (id) => this.channel(id) },
      counters: this.counters,
      problems: this.problems,
      log: this.log,
      info: { manufacturer: 'yiwang', model: 'yiwang edge gateway', firmware: this.deps.version },
    });
    try {
      await device.start();
    } catch (err) {
      throw new ConfigError(file, [{ path: 'gb28181.local', message: (err as Error).message }]);
    }
    this.device = device;
    this.published.clear();
    for (const c of this.channels()) this.published.set(c.item.DeviceID, { key: JSON.stringify(c.item), status: c.item.Status });
  }

  status(): DeviceStatusView | undefined {
    return this.device?.status();
  }

  async stop(): Promise<void> {
    clearTimeout(this.changeTimer);
    this.unobserve();
    await this.stopDevice();
  }

  private async stopDevice(): Promise<void> {
    const d = this.device;
    this.device = undefined;
    this.configKey = '';
    await d?.stop();
  }

  private cameras(): ConfiguredDevice[] {
    return this.deps.devices.devices().filter(isChannel);
  }

  private toChannel(d: ConfiguredDevice, parentId: string): Channel {
    const record = this.deps.pipeline.getRecord(d.record.id) ?? d.record;
    const state = this.deps.pipeline.health.get(d.record.id)?.state;
    const conn = d.config.connection;
    return {
      item: catalogItem(record, state === 'online' || state === 'degraded', parentId, conn),
      rtspUrl: (streamNumber) => {
        const uris = record.camera?.streamUris ?? [];
        const sub = streamNumber === 1 || (streamNumber === undefined && d.profile.onvif?.streamProfile === 'sub');
        const uri = typeof conn.streamUri === 'string' ? conn.streamUri : (sub ? uris[1] : undefined) ?? uris[0];
        return uri ? withCredentials(uri, parseConnection(conn)) : undefined;
      },
    };
  }

  private channels(): Channel[] {
    return this.cameras().map((d) => this.toChannel(d, this.parentId));
  }

  private channel(id: string): Channel | undefined {
    const d = this.cameras().find((c) => c.record.id === id);
    return d && this.toChannel(d, this.parentId);
  }

  private scheduleCatalogDiff(): void {
    if (!this.device || this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      void this.publishCatalogDiff();
    }, CHANGE_DEBOUNCE_MS);
    this.changeTimer.unref();
  }

  /** Compares the channels with what the platform was last told and sends ADD / DEL / ON / OFF / UPDATE. */
  private async publishCatalogDiff(): Promise<void> {
    const device = this.device;
    if (!device) return;
    const now = new Map(this.channels().map((c) => [c.item.DeviceID, c.item]));
    const changes: CatalogItem[] = [];
    for (const [id, item] of now) {
      const before = this.published.get(id);
      const key = JSON.stringify(item);
      if (!before) changes.push({ ...item, Event: 'ADD' });
      else if (before.key !== key) {
        const onlyStatus = JSON.stringify({ ...item, Status: before.status }) === before.key;
        changes.push({ ...item, Event: onlyStatus ? (item.Status === 'ON' ? 'ON' : 'OFF') : 'UPDATE' });
      }
      this.published.set(id, { key, status: item.Status });
    }
    for (const [id, before] of this.published) {
      if (now.has(id)) continue;
      this.published.delete(id);
      const last = JSON.parse(before.key) as CatalogItem;
      changes.push({ ...last, Event: 'DEL' });
    }
    if (changes.length) {
      this.log.info({ changes: changes.map((c) => `${c.DeviceID}:${c.Event}`) }, 'catalog changed');
      await device.catalogChanged(changes);
    }
  }

  private onEvent(e: Omit<SensingEvent, 'seq'>): void {
    if (!this.device || e.kind !== EventKind.VIDEO_FAULT_RAISED) return;
    const d = this.cameras().find((c) => c.record.id === e.deviceId);
    if (!d) return;
    void this.device.alarm(e.deviceId, videoFaultAlarm(e, this.deps.pipeline.getRecord(e.deviceId)));
  }
}

// The edge as a GB/T 28181 device towards one upper platform: REGISTER with digest authentication and refresh,
// Keepalive, MANSCDP queries (Catalog, DeviceInfo, DeviceStatus), catalog SUBSCRIBE/NOTIFY, Alarm notifications
// and live view (INVITE/ACK/BYE → LiveStream). What the channels are comes from a ChannelSource; the edge module
// (edge/gb28181.ts) maps cameras onto it.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import sip from 'sip';
import digest, { type DigestContext } from 'sip/digest.js';
import type { Registry } from '../../core/prom.js';
import type { AdapterLogger } from '../adapter.js';
import { excerpt, type ProblemLog } from '../../core/problem-log.js';
import type { Gb28181Settings } from './config.js';
import {
  alarmNotify, catalogNotify, catalogResponses, CONTENT_TYPE, decodeManscdp, deviceInfoResponse, deviceStatusResponse,
  encodeManscdp, errorResponse, gbTime, keepalive, type AlarmFields, type CatalogItem, type ManscdpMessage,
} from './manscdp.js';
import { dialogFrom, inDialogRequest, newCallId, newTag, USER_AGENT, type Dialog } from './dialog.js';
import { LiveViews } from './live-view.js';
import { localAddressTowards, SipEndpoint, type Peer, type SipMessage } from './sip.js';
import type { StreamStats } from './stream.js';

export interface Channel {
  item: Omit<CatalogItem, 'Event'>;
  /** RTSP URL with credentials, or undefined while the camera has not told us its stream. */
  rtspUrl(streamNumber?: number): string | undefined;
}

export interface ChannelSource {
  channels(): Channel[];
  channel(id: string): Channel | undefined;
}

/** The device logs like an adapter does. */
export type DeviceLogger = AdapterLogger;

/** Counters shared by every device instance (created once per registry: Prometheus names are unique). */
export class Gb28181Counters {
  readonly malformed;
  readonly messages;
  readonly registerFailures;
  readonly streamsRefused;
  readonly alarms;
  readonly notifies;
  readonly foreign;

  constructor(r: Registry) {
    this.malformed = r.counter('yiwang_edge_gb28181_malformed_total', 'GB/T 28181 input dropped as malformed, by kind (sip, manscdp, sdp)');
    this.messages = r.counter('yiwang_edge_gb28181_messages_total', 'MANSCDP messages handled, by direction (in/out) and CmdType');
    this.registerFailures = r.counter('yiwang_edge_gb28181_register_failures_total', 'Failed REGISTER attempts, by reason');
    this.streamsRefused = r.counter('yiwang_edge_gb28181_streams_refused_total', 'INVITEs refused, by reason');
    this.alarms = r.counter('yiwang_edge_gb28181_alarms_total', 'Alarm notifications, by result (sent, rejected by the platform, dropped_not_registered: the 100-alarm queue overflowed while unregistered)');
    this.notifies = r.counter('yiwang_edge_gb28181_catalog_notifies_total', 'Catalog NOTIFYs sent to subscribers, by result');
    this.foreign = r.counter('yiwang_edge_gb28181_foreign_requests_total', 'SIP requests refused because they did not come from the platform');
  }
}

export type RegistrationState = 'stopped' | 'registering' | 'registered' | 'auth_failed' | 'unreachable' | 'rejected';

export interface StreamView {
  callId: string;
  channelId: string;
  transport: 'udp' | 'tcp';
  setup?: 'active' | 'passive';
  ssrc: number;
  destination: string;
  pid?: number;
  startedAt: number;
  stats: StreamStats;
}

export interface DeviceStatusView {
  deviceId: string;
  platform: string;
  transport: string;
  state: RegistrationState;
  lastError?: string;
  registeredAt?: number;
  nextAttemptAt?: number;
  keepalivesMissed: number;
  subscriptions: number;
  streams: StreamView[];
}

export interface Gb28181DeviceOptions {
  settings: Gb28181Settings;
  password?: string;
  channels: ChannelSource;
  counters: Gb28181Counters;
  problems: ProblemLog;
  log: DeviceLogger;
  /** Device information for DeviceInfo answers. */
  info: { manufacturer: string; model: string; firmware: string };
  /** First retry delay after a failed REGISTER; doubles up to maxRetryMs (defaults 5 s / 5 min). */
  retryBaseMs?: number;
  maxRetryMs?: number;
}

interface Subscription {
  dialog: Dialog;
  event: string;
  expiresAt: number;
}

const MAX_PENDING_ALARMS = 100;
const MAX_SUBSCRIPTIONS = 8;
/** Largest MESSAGE body: keeps UDP datagrams under a 1,500-byte MTU; TCP allows larger catalog pages. */
const MAX_BODY = { udp: 1300, tcp: 16_000 };


export class Gb28181Device {
  private readonly s: Gb28181Settings;
  private sipEp?: SipEndpoint;
  private platform: Peer = { address: '', port: 0 };
  private advertised = '';
  private state: RegistrationState = 'stopped';
  private lastError?: string;
  private registeredAt?: number;
  private nextAttemptAt?: number;
  private failures = 0;
  private missed = 0;
  private sn = 1;
  private cseq = 1;
  private readonly regCallId = newCallId();
  private readonly regTag = newTag();
  private auth?: DigestContext;
  private regTimer?: NodeJS.Timeout;
  private kaTimer?: NodeJS.Timeout;
  private registering?: Promise<void>;
  private stopped = false;
  private readonly live: LiveViews;
  private readonly subscriptions = new Map<string, Subscription>();
  private pendingAlarms: { channelId: string; a: AlarmFields }[] = [];

  constructor(private readonly o: Gb28181DeviceOptions) {
    this.s = o.settings;
    this.live = new LiveViews({
      settings: o.settings,
      sip: () => this.sipEp!,
      platform: () => this.platform,
      advertised: () => this.advertised,
      channels: o.channels,
      counters: o.counters,
      problems: o.problems,
      log: o.log,
      malformed: (kind, peer, detail) => this.malformed(kind, peer, detail),
    });
  }

  get sipPort(): number {
    return this.sipEp?.port ?? 0;
  }

  /**
   * Binds SIP and starts registering; resolves once bound. The platform's address is resolved at each registration
   * attempt, so an edge that boots before its network (or whose platform moves) keeps trying instead of failing.
   */
  async start(): Promise<void> {
    const p = this.s.platform;
    this.sipEp = new SipEndpoint({
      transport: p.transport,
      host: this.s.local.host,
      port: this.s.local.port,
      advertisedAddress: () => this.advertised,
      onRequest: (rq, from) => this.onRequest(rq, from),
      onMalformed: (from, detail) => this.malformed('sip', `${from.address}:${from.port}`, detail),
      // only the upper platform may query or pull video through us
      allow: (from) => from.address === this.platform.address,
      onRefused: (rq, from) => {
        this.o.counters.foreign.inc();
        this.o.problems.report(from.address, 'gb28181_foreign', 'SIP request from an address other than the platform refused', { method: rq.method });
      },
    });
    await this.sipEp.start();
    this.o.log.info({ deviceId: this.s.deviceId, platform: `${p.id}@${p.host}:${p.port}`, transport: p.transport, sipPort: this.sipEp.port }, 'GB/T 28181 device started');
    this.scheduleRegister(0);
  }

  /** Ends every stream (ffmpeg reaped), unregisters (Expires: 0, bounded wait) and closes SIP. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.regTimer);
    clearInterval(this.kaTimer);
    await this.live.endAll('device stopping');
    for (const sub of this.subscriptions.values()) void this.notify(sub, [], 'terminated;reason=noresource');
    this.subscriptions.clear();
    if (this.state === 'registered') {
      await Promise.race([this.sendRegister(0), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.state = 'stopped';
    await this.sipEp?.stop();
  }

  status(): DeviceStatusView {
    return {
      deviceId: this.s.deviceId,
      platform: `${this.s.platform.id}@${this.s.platform.host}:${this.s.platform.port}`,
      transport: this.s.platform.transport,
      state: this.state,
      lastError: this.lastError,
      registeredAt: this.registeredAt,
      nextAttemptAt: this.state === 'registered' ? undefined : this.nextAttemptAt,
      keepalivesMissed: this.missed,
      subscriptions: this.subscriptions.size,
      streams: this.streams(),
    };
  }

  streams(): StreamView[] {
    return this.live.views();
  }

  // ---- registration -----------------------------------------------------------------------------------------

  private scheduleRegister(delayMs: number): void {
    clearTimeout(this.regTimer);
    if (this.stopped) return;
    this.nextAttemptAt = Date.now() + delayMs;
    this.regTimer = setTimeout(() => void this.registerNow(), delayMs);
    this.regTimer.unref();
  }

  private registerNow(): Promise<void> {
    this.registering ??= this.runRegister().finally(() => (this.registering = undefined));
    return this.registering;
  }

  /** Where the platform is and which of our addresses it reaches; undefined (with lastError set) when unknown. */
  private async locatePlatform(): Promise<boolean> {
    const p = this.s.platform;
    try {
      const address = isIP(p.host) ? p.host : (await lookup(p.host, { family: 4 })).address;
      this.advertised = this.s.local.advertisedAddress ?? (await localAddressTowards(address, p.port));
      this.platform = { address, port: p.port };
      return true;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.lastError = `GB/T 28181 platform ${p.host}:${p.port} not reachable from here: ${e.code ?? e.message}`;
      return false;
    }
  }

  private async runRegister(): Promise<void> {
    if (this.stopped) return;
    if (this.state !== 'registered') this.state = 'registering';
    const located = await this.locatePlatform();
    const rs = located ? await this.sendRegister(this.s.registerExpiresS) : sip.makeResponse({ headers: {} } as SipMessage, 503, `Service Unavailable (${this.lastError})`);
    if (this.stopped) return;
    const status = rs.status ?? 0;
    if (status >= 200 && status < 300) {
      const granted = Number(rs.headers.expires ?? rs.headers.contact?.[0]?.params?.expires ?? this.s.registerExpiresS);
      const expires = Number.isFinite(granted) && granted > 0 ? granted : this.s.registerExpiresS;
      const wasRegistered = this.state === 'registered';
      this.state = 'registered';
      this.registeredAt = Date.now();
      this.failures = 0;
      this.lastError = undefined;
      this.missed = 0;
      // refresh well before expiry: 80 %, at least 5 s ahead
      this.scheduleRegister(Math.max(1000, Math.min(expires * 800, (expires - 5) * 1000)));
      if (!wasRegistered) {
        this.o.log.info({ deviceId: this.s.deviceId, expiresS: expires }, 'registered with the GB/T 28181 platform');
        this.startKeepalives();
        void this.sendKeepalive();
        const queued = this.pendingAlarms.splice(0);
        void (async () => {
          for (const q of queued) await this.alarm(q.channelId, q.a);
        })();
      }
      return;
    }
    const { state, reason, message } = classifyRegisterFailure(rs, this.o.password !== undefined, this.s);
    this.state = state;
    this.lastError = message;
    this.failures++;
    this.auth = undefined; // the next attempt starts from a fresh challenge
    this.o.counters.registerFailures.inc({ reason });
    clearInterval(this.kaTimer);
    const base = this.o.retryBaseMs ?? 5000;
    const max = this.o.maxRetryMs ?? 300_000;
    const backoff = Math.min(max, base * 2 ** Math.min(this.failures - 1, 16));
    const delay = Math.round(backoff * (0.5 + Math.random() * 0.5)); // jitter: many edges restarting together
    this.o.log.error({ deviceId: this.s.deviceId, status, reason, retryInS: Math.round(delay / 100) / 10 }, message);
    this.scheduleRegister(delay);
  }

  /** REGISTER (Expires given), answering one digest challenge; resolves with the final response. */
  private async sendRegister(expires: number): Promise<SipMessage> {
    const p = this.s.platform;
    const aor = `sip:${this.s.deviceId}@${p.domain}`;
    const build = (): SipMessage => ({
      method: 'REGISTER',
      uri: `sip:${p.id}@${p.domain}`,
      headers: {
        to: { uri: aor, params: {} },
        from: { uri: aor, params: { tag: this.regTag } },
        'call-id': this.regCallId,
        cseq: { method: 'REGISTER', seq: this.cseq++ },
        contact: [{ uri: this.contactUri(), params: {} }],
        expires: String(expires),
        'max-forwards': 70,
        'user-agent': USER_AGENT,
      },
    });
    let rq = build();
    // a remembered challenge lets a refresh go out signed at once; the platform may still answer 401 (new nonce)
    if (this.auth && this.o.password !== undefined) digest.signRequest(this.auth, rq, undefined, this.creds());
    let rs = await this.sipEp!.request(rq, this.platform);
    for (let round = 0; round < 2 && (rs.status === 401 || rs.status === 407) && this.o.password !== undefined; round++) {
      const stale = /stale\s*=\s*"?true/i.test(JSON.stringify(rs.headers['www-authenticate'] ?? rs.headers['proxy-authenticate'] ?? ''));
      if (round === 1 && !stale && this.auth) break; // a second plain 401: the password is wrong
      this.auth = {};
      rq = build();
      try {
        digest.signRequest(this.auth, rq, rs, this.creds());
      } catch (err) {
        return sip.makeResponse(rq, 401, `Unauthorized (cannot answer the challenge: ${(err as Error).message})`);
      }
      rs = await this.sipEp!.request(rq, this.platform);
    }
    return rs;
  }

  private creds(): { user: string; password: string } {
    return { user: this.s.deviceId, password: this.o.password ?? '' };
  }

  private contactUri(): string {
    return `sip:${this.s.deviceId}@${this.advertised}:${this.sipEp?.port ?? 0}`;
  }

  // ---- keepalive --------------------------------------------------------------------------------------------

  private startKeepalives(): void {
    clearInterval(this.kaTimer);
    this.kaTimer = setInterval(() => void this.sendKeepalive(), this.s.keepaliveIntervalS * 1000);
    this.kaTimer.unref();
  }

  private async sendKeepalive(): Promise<void> {
    if (this.state !== 'registered') return;
    const rs = await this.message(keepalive(this.nextSn(), this.s.deviceId, this.s.charset), 'Keepalive');
    if (this.stopped || this.state !== 'registered') return;
    if ((rs.status ?? 0) >= 200 && (rs.status ?? 0) < 300) {
      this.missed = 0;
      return;
    }
    this.missed++;
    this.o.log.warn({ deviceId: this.s.deviceId, status: rs.status, reason: rs.reason, missed: this.missed }, 'keepalive not answered');
    if (this.missed >= this.s.keepaliveMaxMissed) {
      // the platform has likely dropped us (restart, failover): register from scratch
      this.state = 'unreachable';
      this.lastError = `${this.missed} keepalives in a row not answered (last: ${rs.status} ${rs.reason ?? ''})`.trim();
      clearInterval(this.kaTimer);
      this.auth = undefined;
      this.scheduleRegister(0);
    }
  }

  private nextSn(): string {
    const n = this.sn;
    this.sn = this.sn >= 999_999_999 ? 1 : this.sn + 1;
    return String(n);
  }

  // ---- outgoing MESSAGE / NOTIFY ---------------------------------------------------------------------------------

  /** Out-of-dialog MESSAGE to the platform; answers one digest challenge with the registration's credentials. */
  private async message(body: Buffer, cmdType: string): Promise<SipMessage> {
    const p = this.s.platform;
    const build = (): SipMessage => ({
      method: 'MESSAGE',
      uri: `sip:${p.id}@${p.domain}`,
      headers: {
        to: { uri: `sip:${p.id}@${p.domain}`, params: {} },
        from: { uri: `sip:${this.s.deviceId}@${p.domain}`, params: { tag: newTag() } },
        'call-id': newCallId(),
        cseq: { method: 'MESSAGE', seq: this.cseq++ },
        'content-type': CONTENT_TYPE,
        'max-forwards': 70,
        'user-agent': USER_AGENT,
      },
      content: body.toString('latin1'),
    });
    this.o.counters.messages.inc({ direction: 'out', cmd: cmdType });
    let rq = build();
    let rs = await this.sipEp!.request(rq, this.platform);
    if ((rs.status === 401 || rs.status === 407) && this.o.password !== undefined) {
      const ctx: DigestContext = {};
      rq = build();
      try {
        digest.signRequest(ctx, rq, rs, this.creds());
        rs = await this.sipEp!.request(rq, this.platform);
      } catch {
        /* keep the 401 */
      }
    }
    return rs;
  }

  /**
   * Sends a video-fault (or other) alarm for a channel. While not registered, alarms wait in a bounded queue
   * (oldest dropped and counted) and go out after the next successful registration.
   */
  async alarm(channelId: string, a: AlarmFields): Promise<boolean> {
    if (this.state !== 'registered') {
      this.pendingAlarms.push({ channelId, a });
      if (this.pendingAlarms.length > MAX_PENDING_ALARMS) {
        this.pendingAlarms.shift();
        this.o.counters.alarms.inc({ result: 'dropped_not_registered' });
      }
      return false;
    }
    const rs = await this.message(alarmNotify(this.nextSn(), channelId, a, this.s.charset), 'Alarm');
    const ok = (rs.status ?? 0) >= 200 && (rs.status ?? 0) < 300;
    this.o.counters.alarms.inc({ result: ok ? 'sent' : 'rejected' });
    if (!ok) this.o.log.warn({ channelId, status: rs.status, reason: rs.reason }, 'alarm notification not accepted');
    return ok;
  }

  /** Tells catalog subscribers about added/removed/changed channels; ends the streams of removed ones. */
  async catalogChanged(items: CatalogItem[]): Promise<void> {
    for (const it of items) {
      if (it.Event !== 'DEL') continue;
      await this.live.endChannel(it.DeviceID, 'camera removed');
    }
    if (!items.length) return;
    for (const sub of [...this.subscriptions.values()]) {
      if (sub.expiresAt <= Date.now()) {
        this.subscriptions.delete(sub.dialog.callId);
        continue;
      }
      await this.notify(sub, items);
    }
  }

  /** Ends the streams of a channel (e.g. its camera went away). */
  async endChannelStreams(channelId: string, why: string): Promise<void> {
    await this.live.endChannel(channelId, why);
  }

  private async notify(sub: Subscription, items: CatalogItem[], state?: string): Promise<void> {
    const remaining = Math.max(0, Math.round((sub.expiresAt - Date.now()) / 1000));
    const body = catalogNotify(this.nextSn(), this.s.deviceId, items, this.s.charset);
    const rs = await inDialogRequest(
      this.sipEp!,
      this.platform,
      sub.dialog,
      'NOTIFY',
      { event: sub.event, 'subscription-state': state ?? `active;expires=${remaining}`, 'content-type': CONTENT_TYPE },
      body,
    );
    const ok = (rs.status ?? 0) >= 200 && (rs.status ?? 0) < 300;
    this.o.counters.notifies.inc({ result: ok ? 'sent' : 'rejected' });
    this.o.counters.messages.inc({ direction: 'out', cmd: 'Catalog' });
    if (rs.status === 481) this.subscriptions.delete(sub.dialog.callId); // the platform forgot the subscription
  }

  // ---- incoming requests -------------------------------------------------------------------------------------

  private malformed(kind: 'sip' | 'manscdp' | 'sdp', peer: string, detail: string): void {
    this.o.counters.malformed.inc({ kind });
    this.o.problems.report(peer, `gb28181_${kind}`, `malformed ${kind === 'sip' ? 'SIP message' : kind === 'sdp' ? 'SDP' : 'MANSCDP body'} ignored`, { detail: excerpt(detail, 160) });
  }

  private onRequest(rq: SipMessage, from: Peer): void {
    const run = async () => {
      switch (rq.method) {
        case 'MESSAGE': return this.onMessage(rq, from);
        case 'SUBSCRIBE': return this.onSubscribe(rq, from);
        case 'INVITE': return this.live.onInvite(rq, from);
        case 'ACK': return this.live.onAck(rq);
        case 'BYE': return this.live.onBye(rq);
        case 'CANCEL': return this.live.onCancel(rq);
        case 'OPTIONS': return this.sipEp!.respond(rq, 200, 'OK', { headers: { allow: 'INVITE, ACK, BYE, CANCEL, MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS' } });
        default: return this.sipEp!.respond(rq, 405, 'Method Not Allowed');
      }
    };
    run().catch((err: Error) => this.o.log.error({ method: rq.method, err: err.message }, 'GB/T 28181 request failed'));
  }

  private decodeBody(rq: SipMessage, from: Peer): ManscdpMessage | undefined {
    const r = decodeManscdp(Buffer.from(rq.content ?? '', 'latin1'), this.s.charset);
    if (!r.ok) {
      this.malformed('manscdp', `${from.address}:${from.port}`, r.error);
      this.sipEp!.respond(rq, 400, 'Bad Request (MANSCDP body)');
      return undefined;
    }
    this.o.counters.messages.inc({ direction: 'in', cmd: r.message.cmdType });
    return r.message;
  }

  private async onMessage(rq: SipMessage, from: Peer): Promise<void> {
    const m = this.decodeBody(rq, from);
    if (!m) return;
    this.sipEp!.respond(rq, 200, 'OK');
    if (m.root !== 'Query') return; // Responses to our notifications, Control (PTZ etc. unsupported): answered 200 and done
    const cs = this.s.charset;
    const target = m.deviceId;
    const isUs = target === this.s.deviceId;
    const channel = isUs ? undefined : this.o.channels.channel(target);
    let bodies: Buffer[];
    switch (m.cmdType) {
      case 'Catalog': {
        const items = this.o.channels.channels().map((c) => c.item);
        bodies = catalogResponses(m.sn, this.s.deviceId, items, cs, MAX_BODY[this.s.platform.transport]);
        break;
      }
      case 'DeviceInfo':
        if (isUs) {
          bodies = [deviceInfoResponse(m.sn, target, {
            DeviceName: this.s.name, Manufacturer: this.o.info.manufacturer, Model: this.o.info.model, Firmware: this.o.info.firmware,
            Channel: this.o.channels.channels().length,
          }, cs)];
        } else if (channel) {
          bodies = [deviceInfoResponse(m.sn, target, {
            DeviceName: channel.item.Name, Manufacturer: channel.item.Manufacturer ?? '', Model: channel.item.Model ?? '', Firmware: '', Channel: 1,
          }, cs)];
        } else bodies = [errorResponse('DeviceInfo', m.sn, target, 'unknown device', cs)];
        break;
      case 'DeviceStatus':
        if (isUs || channel) {
          const online = isUs ? true : channel!.item.Status === 'ON';
          bodies = [deviceStatusResponse(m.sn, target, { online, status: online ? 'OK' : 'OFFLINE', deviceTime: gbTime(Date.now()) }, cs)];
        } else bodies = [errorResponse('DeviceStatus', m.sn, target, 'unknown device', cs)];
        break;
      default:
        bodies = [errorResponse(m.cmdType, m.sn, target, `query ${m.cmdType} not supported`, cs)];
    }
    for (const b of bodies) {
      const rs = await this.message(b, m.cmdType);
      if ((rs.status ?? 0) >= 300) {
        this.o.log.warn({ cmd: m.cmdType, status: rs.status, reason: rs.reason }, 'query response not accepted');
        break;
      }
    }
  }

  private async onSubscribe(rq: SipMessage, from: Peer): Promise<void> {
    const event = String(rq.headers.event ?? '');
    if (!/^catalog\b/i.test(event)) {
      this.sipEp!.respond(rq, 489, 'Bad Event (only Catalog)');
      return;
    }
    const m = this.decodeBody(rq, from);
    if (!m) return;
    const callId: string = rq.headers['call-id'];
    const expires = Math.max(0, Math.min(86_400, Number(rq.headers.expires ?? 3600) || 0));
    const existing = this.subscriptions.get(callId);
    const localTag = existing?.dialog.localTag ?? rq.headers.to.params?.tag ?? newTag();
    rq.headers.to.params = { ...rq.headers.to.params, tag: localTag };
    const body = encodeManscdp('Response', { CmdType: 'Catalog', SN: m.sn, DeviceID: this.s.deviceId, Result: 'OK' }, this.s.charset);
    this.sipEp!.respond(rq, 200, 'OK', {
      headers: { expires: String(expires), contact: [{ uri: this.contactUri(), params: {} }], 'content-type': CONTENT_TYPE },
      content: body.toString('latin1'),
    });
    if (expires === 0) {
      if (existing) await this.notify(existing, [], 'terminated;reason=timeout');
      this.subscriptions.delete(callId);
      return;
    }
    const sub: Subscription = existing ?? { dialog: dialogFrom(rq, localTag), event, expiresAt: 0 };
    sub.expiresAt = Date.now() + expires * 1000;
    this.subscriptions.set(callId, sub);
    // a platform that re-subscribes without unsubscribing must not grow this without bound
    for (const [id, other] of this.subscriptions) if (this.subscriptions.size > MAX_SUBSCRIPTIONS && other !== sub) this.subscriptions.delete(id);
    this.o.log.info({ callId, expiresS: expires, refresh: !!existing }, 'catalog subscription');
    // RFC 6665: a NOTIFY right away, with the current catalog
    if (!existing) await this.notify(sub, this.o.channels.channels().map((c) => ({ ...c.item, Event: 'ADD' as const })));
  }

}

/** A failed REGISTER as a state, a metric reason and a sentence an installer can act on. */
export function classifyRegisterFailure(rs: SipMessage, hasPassword: boolean, s: Gb28181Settings): { state: RegistrationState; reason: string; message: string } {
  const status = rs.status ?? 0;
  const at = `platform ${s.platform.id} at ${s.platform.host}:${s.platform.port}/${s.platform.transport}`;
  if (status === 401 || status === 407 || status === 403) {
    if (!hasPassword) {
      return { state: 'auth_failed', reason: 'no_password', message: `GB/T 28181 registration refused by ${at}: it asks for a password and none is configured (set gb28181.passwordEnv and the variable)` };
    }
    return { state: 'auth_failed', reason: 'auth', message: `GB/T 28181 registration refused by ${at} (${status} ${rs.reason ?? ''}): wrong password for device ${s.deviceId}, or the device is not registered there`.replace(/\s+\)/, ')') };
  }
  if (status === 408 || status === 503) {
    return { state: 'unreachable', reason: status === 408 ? 'timeout' : 'unreachable', message: `GB/T 28181 platform unreachable: ${at} (${status} ${rs.reason ?? ''})` };
  }
  return { state: 'rejected', reason: `status_${status}`, message: `GB/T 28181 registration rejected by ${at}: ${status} ${rs.reason ?? ''}` };
}

// One device = one OPC UA client + session + subscription with a monitored item per point.
// Reconnection is ours, not node-opcua's: its client is created with maxRetry 0, and every loss
// (socket closed, subscription terminated, no publish responses) tears the whole client down and
// builds a new one after a backoff, re-creating the session, the subscription and every monitored item.
// That also covers a restarted server, whose old session and subscription no longer exist.
import {
  AttributeIds,
  ClientMonitoredItem,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type OPCUACertificateManager,
  type UserIdentityInfo,
} from 'node-opcua';
import type { AdapterLogger, AdapterSink, HealthReason, PointSample } from '../adapter.js';
import type { MonitorSpec, OpcuaSettings, ResolvedConnection, SubscriptionSpec } from './config.js';
import { isFilterRejection, statusToQuality } from './quality.js';
import { variantToValue } from './values.js';

const PROTOCOL = 'opcua';
const KEEP_ALIVE_COUNT = 10;

export interface SessionDeps {
  sink: AdapterSink;
  log: AdapterLogger;
  settings: OpcuaSettings;
  certificateManager: OPCUACertificateManager;
}

/** Connection failure → health reason. Security/identity rejections are auth failures. */
export function classifyError(err: unknown): { reason: HealthReason; detail: string } {
  const detail = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').slice(0, 400);
  const auth = /Bad(UserAccessDenied|IdentityToken|Certificate|SecurityPolicyRejected|SecurityModeRejected|SecurityChecksFailed|UserSignatureInvalid)/;
  if (auth.test(detail)) return { reason: 'auth_failure', detail };
  if (/timed? ?out|ETIMEDOUT|BadTimeout|BadRequestTimeout/i.test(detail)) return { reason: 'timeout', detail };
  if (/cannot be established|has been aborted|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket|closed|BadConnection|BadServerNotConnected|BadNotConnected|BadSecureChannelClosed|BadTcp/i.test(detail)) {
    return { reason: 'unreachable', detail };
  }
  return { reason: 'protocol_error', detail };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function deadbandFilter(spec: MonitorSpec): DataChangeFilter | null {
  if (!spec.deadband) return null;
  return new DataChangeFilter({
    trigger: DataChangeTrigger.StatusValue,
    deadbandType: spec.deadband.type === 'percent' ? DeadbandType.Percent : DeadbandType.Absolute,
    deadbandValue: spec.deadband.value,
  });
}

/** Everything that belongs to one connection attempt; dropped as a whole on loss. */
interface Live {
  client: OPCUAClient;
  session?: ClientSession;
  subscription?: ClientSubscription;
  watchdog?: NodeJS.Timeout;
  lastPublishAt: number;
  startedAt: number;
  connectedAt: number; // 0 until the subscription exists
  dataFlowing: boolean;
}

export class DeviceSession {
  private live: Live | undefined;
  private generation = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastOkReport = 0;
  private lastFailure = '';
  private pending: PointSample[] = [];

  constructor(
    readonly deviceId: string,
    private readonly conn: ResolvedConnection,
    private readonly spec: SubscriptionSpec,
    private readonly deps: SessionDeps,
  ) {}

  /** Starts connecting in the background; failures are reported through the sink and retried. */
  start(): void {
    this.connectSafely();
  }

  /** connect() handles its own failures; this only guards against a throw outside its try (a bug). */
  private connectSafely(): void {
    this.connect().catch((err: unknown) => {
      const { reason, detail } = classifyError(err);
      this.reportFailure(reason, detail);
      this.scheduleReconnect();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    await this.teardown();
  }

  private logCtx(extra: object = {}): object {
    // Credentials never go into log objects: endpoint, mode and policy only.
    return { protocol: PROTOCOL, deviceId: this.deviceId, endpoint: this.conn.endpoint, ...extra };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    const { settings, certificateManager } = this.deps;
    const started = Date.now();
    const client = OPCUAClient.create({
      applicationName: 'yiwang-edge',
      endpointMustExist: false,
      securityMode: MessageSecurityMode[this.conn.securityMode],
      securityPolicy: SecurityPolicy[this.conn.securityPolicy],
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 }, // we reconnect ourselves
      clientCertificateManager: certificateManager,
      keepSessionAlive: false, // the subscription's keep-alives prove liveness
      requestedSessionTimeout: 60_000,
    });
    const live: Live = { client, lastPublishAt: Date.now(), startedAt: started, connectedAt: 0, dataFlowing: false };
    this.live = live;
    // Before the subscription exists, failures surface as the rejected setup step (classified below).
    const lost = (why: string, reason: HealthReason = 'unreachable') => {
      if (live.connectedAt > 0 && gen === this.generation && !this.stopped) void this.onLost(gen, reason, why);
    };
    client.on('connection_lost', () => lost('connection lost'));
    client.on('close', (err?: Error | null) => {
      if (err) lost(`connection closed: ${err.message}`);
    });

    try {
      await withTimeout(client.connect(this.conn.endpoint), settings.connectTimeoutMs, 'connect');
      if (gen !== this.generation) return;
      const identity: UserIdentityInfo =
        this.conn.username !== undefined
          ? { type: UserTokenType.UserName, userName: this.conn.username, password: this.conn.password ?? '' }
          : { type: UserTokenType.Anonymous };
      live.session = await withTimeout(client.createSession(identity), settings.connectTimeoutMs, 'createSession');
      if (gen !== this.generation) return;
      live.session.on('session_closed', () => lost('session closed by server'));
      live.subscription = await withTimeout(
        live.session.createSubscription2({
          requestedPublishingInterval: this.spec.publishingIntervalMs,
          requestedLifetimeCount: KEEP_ALIVE_COUNT * 6,
          requestedMaxKeepAliveCount: KEEP_ALIVE_COUNT,
          maxNotificationsPerPublish: 0,
          publishingEnabled: true,
          priority: 1,
        }),
        settings.connectTimeoutMs,
        'createSubscription',
      );
      if (gen !== this.generation) return;
      live.connectedAt = Date.now();
      this.watch(gen, live, live.subscription);
      for (const item of this.spec.items) this.monitor(gen, live.subscription, item, true);
      this.deps.log.info(this.logCtx({ securityMode: this.conn.securityMode, ms: Date.now() - started }), 'opcua session established');
    } catch (err) {
      if (gen !== this.generation || this.stopped) return;
      const { reason, detail } = classifyError(err);
      this.reportFailure(reason, detail);
      await this.teardown();
      // Retrying rejected credentials quickly can lock the account on the server: wait the longest delay.
      if (reason === 'auth_failure') this.attempt = Math.max(this.attempt, 20);
      this.scheduleReconnect();
    }
  }

  /** Watches publish responses (data or keep-alive): they prove the session is alive and mark data flowing. */
  private watch(gen: number, live: Live, sub: ClientSubscription): void {
    const onPublish = () => {
      if (gen !== this.generation) return;
      live.lastPublishAt = Date.now();
      if (!live.dataFlowing) {
        live.dataFlowing = true;
        this.attempt = 0;
        this.lastFailure = '';
        this.reportOk(live, true);
      } else {
        this.reportOk(live, false);
      }
    };
    sub.on('keepalive', onPublish);
    sub.on('received_notifications', onPublish);
    sub.on('terminated', () => {
      if (gen === this.generation && !this.stopped) void this.onLost(gen, 'unreachable', 'subscription terminated');
    });
    sub.on('status_changed', (status) => {
      if (gen === this.generation && status.isNotGood()) void this.onLost(gen, 'timeout', `subscription status ${status.name}`);
    });
    // Publish responses come at least every publishingInterval * keepAliveCount; three missed windows = dead.
    const keepAliveMs = (sub.publishingInterval || this.spec.publishingIntervalMs) * (sub.maxKeepAliveCount || KEEP_ALIVE_COUNT);
    const limit = keepAliveMs * 3 + 5000;
    live.watchdog = setInterval(() => {
      if (gen === this.generation && Date.now() - live.lastPublishAt > limit) {
        void this.onLost(gen, 'timeout', `no publish response for ${Date.now() - live.lastPublishAt} ms`);
      }
    }, Math.min(limit, 5000));
    live.watchdog.unref();
  }

  private monitor(gen: number, sub: ClientSubscription, item: MonitorSpec, withFilter: boolean): void {
    const filter = withFilter ? deadbandFilter(item) : null;
    const mi = ClientMonitoredItem.create(
      sub,
      { nodeId: item.nodeId, attributeId: AttributeIds.Value },
      { samplingInterval: item.samplingIntervalMs, queueSize: item.queueSize, discardOldest: true, filter },
      TimestampsToReturn.Both,
    );
    mi.on('changed', (dv: DataValue) => {
      if (gen === this.generation) this.emitSample(item, dv);
    });
    mi.on('err', (message: string) => {
      if (gen !== this.generation) return;
      const name = mi.statusCode?.name ?? message;
      if (filter && isFilterRejection(name)) {
        // Percent deadbands need the node's EURange; fall back to no filter rather than no data.
        const detail = `${item.point} (${item.nodeId}): deadband ${item.deadband?.type} rejected: ${name}`;
        this.deps.sink.error(PROTOCOL, 'deadband_rejected', detail, this.deviceId);
        this.deps.log.warn(this.logCtx({ point: item.point, nodeId: item.nodeId, status: name }), 'opcua deadband rejected, monitoring without it');
        this.monitor(gen, sub, item, false);
        return;
      }
      const reason = name.startsWith('Bad') ? name : `BadMonitoredItem: ${name}`;
      this.deps.sink.error(PROTOCOL, 'bad_node', `${item.point} (${item.nodeId}): ${reason}`, this.deviceId);
      this.deps.log.warn(this.logCtx({ point: item.point, nodeId: item.nodeId, status: reason }), 'opcua monitored item rejected');
      this.queue({ deviceId: this.deviceId, point: item.point, value: null, quality: 'bad', reason, ts: Date.now() });
    });
  }

  private emitSample(item: MonitorSpec, dv: DataValue): void {
    const ts = (dv.sourceTimestamp ?? dv.serverTimestamp)?.getTime() ?? Date.now();
    const verdict = statusToQuality(dv.statusCode);
    const base = { deviceId: this.deviceId, point: item.point, ts };
    if (verdict.quality === 'bad') {
      this.queue({ ...base, value: null, quality: 'bad', reason: verdict.reason });
      return;
    }
    const conv = variantToValue(dv.value);
    if (!conv.ok) {
      this.deps.sink.error(PROTOCOL, 'unsupported_type', `${item.point} (${item.nodeId}): ${conv.reason}`, this.deviceId);
      this.queue({ ...base, value: null, quality: 'bad', reason: conv.reason });
      return;
    }
    if (conv.value === null) {
      this.queue({ ...base, value: null, quality: 'bad', reason: verdict.reason ?? 'null_value' });
      return;
    }
    this.queue({ ...base, value: conv.value, quality: verdict.quality, ...(verdict.reason ? { reason: verdict.reason } : {}) });
  }

  /** Samples of one publish response arrive as separate events; deliver them as one batch. */
  private queue(s: PointSample): void {
    this.pending.push(s);
    if (this.pending.length === 1) {
      queueMicrotask(() => {
        const batch = this.pending;
        this.pending = [];
        if (!this.stopped) this.deps.sink.samples(batch);
      });
    }
  }

  private reportOk(live: Live, first: boolean): void {
    const now = Date.now();
    if (!first && now - this.lastOkReport < this.deps.settings.okReportIntervalMs) return;
    this.lastOkReport = now;
    this.deps.sink.status({ deviceId: this.deviceId, ok: true, ts: now, ...(first ? { latencyMs: live.connectedAt - live.startedAt } : {}) /* connect+session+subscription time */ });
  }

  private reportFailure(reason: HealthReason, detail: string): void {
    this.deps.sink.status({ deviceId: this.deviceId, ok: false, reason, detail, ts: Date.now() });
    const key = `${reason}|${detail}`;
    // Log a failure once, not on every retry of the same failure.
    if (key !== this.lastFailure) {
      this.lastFailure = key;
      this.deps.log.warn(this.logCtx({ reason, detail }), 'opcua connection failed');
    } else {
      this.deps.log.debug(this.logCtx({ reason, attempt: this.attempt }), 'opcua connection still failing');
    }
  }

  private async onLost(gen: number, reason: HealthReason, why: string): Promise<void> {
    if (gen !== this.generation || this.stopped) return;
    this.generation++; // invalidate every callback of the lost connection before anything async
    this.reportFailure(reason, why);
    await this.teardown();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const { reconnectInitialDelayMs: first, reconnectMaxDelayMs: max } = this.deps.settings;
    const base = Math.min(max, first * 2 ** Math.min(this.attempt, 20));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4)); // jitter: devices behind one gateway don't retry in step
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connectSafely(), delay);
  }

  private async teardown(): Promise<void> {
    const live = this.live;
    this.live = undefined;
    if (!live) return;
    clearInterval(live.watchdog);
    // Best effort: on a dead connection these fail or hang; never let them block the reconnect.
    const quietly = (p: Promise<unknown> | undefined) => (p ? withTimeout(p, 2000, 'close').catch(() => undefined) : undefined);
    if (live.subscription) await quietly(live.subscription.terminate());
    if (live.session) await quietly(live.session.close(true));
    await quietly(live.client.disconnect());
  }
}

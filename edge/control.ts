// The edge's side of edge–cloud coordination (边云协同), on the uplink's MQTT connection:
//   config   (collector -> edge, retained)  a ConfigPush sealed to this edge's key: applied by live reload, or
//                                           refused with precise problems (the edge stays on its last good one)
//   report   (edge -> collector)            applied / failed version and problems, device health counts, buffer
//                                           facts, the edge's clock; unmanaged edges add their own config, read-only
//   request  (collector -> edge)            a diagnostic: device test read, doctor, recent problem log lines
//   response (edge -> collector)            its result
// Config pushes are applied one at a time, newest wins; diagnostics run one at a time with a short queue.
import type { Logger } from '../core/log.js';
import { openSealed, type EdgeKeyPair } from '../core/seal.js';
import { decodeConfigPush, decodeDiagnosticRequest, encodeDiagnosticResponse, encodeEdgeReport } from '../schema/codec.js';
import { topics } from '../schema/topics.js';
import type { ConfigProblem, ConfigPush, DeviceHealthCounts, DiagnosticRequest, EdgeReport, EdgeStatus } from '../schema/types.js';
import { mapSecrets, SECRET_MASK, type AppliedCentral, type CentralConfig } from './central-config.js';
import type { UplinkControl } from './uplink/uplink.js';

/** What the control link needs from the agent. */
export interface ControlHost {
  managed(): boolean;
  /** Validates and applies a central configuration; its problems, or [] when it is in effect. */
  applyCentral(version: number, config: CentralConfig, meta: { issuedAt?: number; issuedBy?: string }): Promise<ConfigProblem[]>;
  applied(): AppliedCentral | undefined;
  /** The central part of the local file (what an unmanaged edge reports). */
  localConfig(): CentralConfig;
  deviceCounts(): DeviceHealthCounts;
  buffer(): { fill: number; maxBytes: number; bytes: number; backlogItems: number; dropped: number };
  /** One real exchange with the device (edge/device-test.ts); timeoutMs undefined: the protocol's default. */
  deviceTest(deviceId: string, timeoutMs: number | undefined): Promise<unknown>;
  doctor(timeoutMs: number): Promise<unknown>;
  logs(limit: number): unknown[];
}

export interface ControlPublisher {
  publish(topic: string, payload: Uint8Array, retain?: boolean): boolean;
  refreshStatus(): void;
}

/** A diagnostic that cannot be answered because of what was asked (unknown device, unknown kind). */
export class DiagnosticError extends Error {}

const MAX_QUEUED_DIAGNOSTICS = 4;
/** How often device health counts are compared with the last report. */
const HEALTH_CHECK_MS = 5_000;

export class EdgeControl implements UplinkControl {
  readonly topics: string[];
  private link?: ControlPublisher;
  private failed?: { version: number; errors: ConfigProblem[] };
  private nextPush?: ConfigPush;
  private applying = false;
  private idle: Promise<void> = Promise.resolve();
  /** The local config last reported on this connection (unmanaged edges): sent again only when it changes. */
  private reportedLocal?: string;
  private readonly queue: DiagnosticRequest[] = [];
  private diagnosing = false;
  private timer?: NodeJS.Timeout;
  private lastReportAt = 0;
  /** Device health counts as last reported: a change is reported within a few seconds, not only every minute. */
  private reportedCounts = '';

  constructor(
    private readonly edgeId: string,
    private readonly version: string,
    private readonly host: ControlHost,
    private readonly key: EdgeKeyPair,
    private readonly log: Logger,
    private readonly reportIntervalMs = 60_000,
  ) {
    this.topics = [topics.config(edgeId), topics.request(edgeId)];
  }

  attach(link: ControlPublisher): void {
    this.link = link;
    this.timer = setInterval(() => {
      const counts = JSON.stringify(this.host.deviceCounts());
      if (counts !== this.reportedCounts || Date.now() - this.lastReportAt >= this.reportIntervalMs) this.report();
    }, Math.min(HEALTH_CHECK_MS, this.reportIntervalMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  status(): Partial<EdgeStatus> {
    return { configKey: this.key.publicKey, managed: this.host.managed(), appliedConfigVersion: this.host.applied()?.version ?? 0 };
  }

  connected(): void {
    this.reportedLocal = undefined;
    this.report();
  }

  /** The mode or the local config changed (reload): tell the collector now. */
  changed(): void {
    this.link?.refreshStatus();
    this.report();
  }

  /** Resolves when no configuration push is being applied (tests, shutdown). */
  settled(): Promise<void> {
    return this.idle;
  }

  onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topics[0]) this.onConfig(payload);
    else if (topic === this.topics[1]) this.onRequest(payload);
  }

  // ---- configuration ----

  private onConfig(payload: Buffer): void {
    let push: ConfigPush;
    try {
      push = decodeConfigPush(payload);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'control: undecodable configuration message ignored');
      return;
    }
    if (push.edgeId !== this.edgeId || !push.version) {
      this.log.warn({ edgeId: push.edgeId, version: push.version }, 'control: configuration message for another edge or without a version ignored');
      return;
    }
    this.nextPush = push;
    if (!this.applying) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.applying = true;
    try {
      while (this.nextPush) {
        const push = this.nextPush;
        this.nextPush = undefined;
        await this.applyPush(push);
      }
    } finally {
      this.applying = false;
    }
  }

  private async applyPush(push: ConfigPush): Promise<void> {
    const applied = this.host.applied();
    if (applied && push.version <= applied.version) {
      if (push.version < applied.version) this.log.warn({ offered: push.version, applied: applied.version }, 'control: the collector offers an older configuration than the one in effect; kept the newer one');
      this.report();
      return;
    }
    if (Buffer.compare(Buffer.from(push.edgeKey), this.key.publicKey) !== 0) {
      // Sealed to a key this edge no longer has (its buffer directory was replaced): the collector seals it again
      // when it sees the key in this edge's status.
      this.log.warn({ version: push.version }, 'control: configuration sealed to an earlier key of this edge; waiting for the collector to seal it again');
      return;
    }
    let config: CentralConfig;
    try {
      config = JSON.parse(openSealed(this.key, push, `${this.edgeId}:${push.version}`).toString('utf8')) as CentralConfig;
    } catch (err) {
      this.fail(push.version, [{ path: '(config)', message: (err as Error).message }]);
      return;
    }
    const problems = await this.host.applyCentral(push.version, config, { issuedAt: push.issuedAt, issuedBy: push.issuedBy });
    if (problems.length) this.fail(push.version, problems);
    else {
      this.failed = undefined;
      this.log.info({ version: push.version, by: push.issuedBy }, 'control: configuration from the collector applied');
      this.link?.refreshStatus();
      this.report();
    }
  }

  /** A version this edge could not use (also its last good one at start-up, after a local change): reported as refused. */
  refused(version: number, errors: ConfigProblem[]): void {
    this.failed = { version, errors };
  }

  private fail(version: number, errors: ConfigProblem[]): void {
    this.failed = { version, errors };
    this.log.error({ version, errors: errors.slice(0, 20).map((e) => `${e.path}: ${e.message}`) }, 'control: configuration from the collector refused; keeping the last good one');
    this.report();
  }

  /**
   * Sends the state report (applied/failed version, health counts, buffer, clock) if connected: on connect, after
   * each push, when device health counts change (checked every 5 s), and at least every reportIntervalMs.
   */
  report(): void {
    if (!this.link) return;
    const managed = this.host.managed();
    const applied = this.host.applied();
    const b = this.host.buffer();
    const devices = this.host.deviceCounts();
    let localConfig = '';
    if (!managed) {
      const local = JSON.stringify(mapSecrets(this.host.localConfig(), () => SECRET_MASK));
      if (local !== this.reportedLocal) localConfig = local;
    }
    const r: EdgeReport = {
      edgeId: this.edgeId,
      ts: Date.now(),
      version: this.version,
      managed,
      appliedVersion: applied?.version ?? 0,
      appliedAt: applied?.appliedAt ?? 0,
      failedVersion: this.failed?.version ?? 0,
      errors: this.failed?.errors.slice(0, 200) ?? [],
      localConfig,
      devices,
      bufferFill: b.fill,
      bufferMaxBytes: b.maxBytes,
      bufferBytes: b.bytes,
      backlogItems: b.backlogItems,
      droppedReadings: b.dropped,
    };
    if (!this.link.publish(topics.report(this.edgeId), encodeEdgeReport(r))) return;
    this.lastReportAt = Date.now();
    this.reportedCounts = JSON.stringify(devices);
    if (localConfig) this.reportedLocal = localConfig;
  }

  // ---- diagnostics ----

  private onRequest(payload: Buffer): void {
    let req: DiagnosticRequest;
    try {
      req = decodeDiagnosticRequest(payload);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'control: undecodable diagnostic request ignored');
      return;
    }
    if (!req.requestId || req.edgeId !== this.edgeId) return;
    if (this.queue.length >= MAX_QUEUED_DIAGNOSTICS) {
      this.respond(req, { ok: false, error: `busy: ${this.queue.length} diagnostics are waiting; try again shortly` });
      return;
    }
    this.queue.push(req);
    if (!this.diagnosing) void this.runDiagnostics();
  }

  private async runDiagnostics(): Promise<void> {
    this.diagnosing = true;
    try {
      for (let req = this.queue.shift(); req; req = this.queue.shift()) {
        try {
          const result = await this.diagnose(req);
          this.respond(req, { ok: true, result: JSON.stringify(result) });
        } catch (err) {
          this.respond(req, { ok: false, error: (err as Error).message });
        }
      }
    } finally {
      this.diagnosing = false;
    }
  }

  private diagnose(req: DiagnosticRequest): Promise<unknown> {
    switch (req.kind) {
      case 'device_test':
        if (!req.deviceId) throw new DiagnosticError('device_test needs a device id');
        return this.host.deviceTest(req.deviceId, req.timeoutMs || undefined);
      case 'doctor':
        return this.host.doctor(3000); // per check; the whole run takes longer (it reads every device)
      case 'logs':
        return Promise.resolve({ lines: this.host.logs(req.limit || 100) });
      default:
        throw new DiagnosticError(`unknown diagnostic "${req.kind}" (this edge knows device_test, doctor, logs)`);
    }
  }

  private respond(req: DiagnosticRequest, r: { ok: boolean; result?: string; error?: string }): void {
    const sent = this.link?.publish(topics.response(this.edgeId), encodeDiagnosticResponse({ edgeId: this.edgeId, requestId: req.requestId, ts: Date.now(), ...r }));
    if (!sent) this.log.warn({ requestId: req.requestId, kind: req.kind }, 'control: diagnostic answer not sent (uplink down)');
  }
}

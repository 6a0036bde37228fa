// The collector as its edges' control plane (边云协同), over the MQTT link they already have:
// - desired configurations are sealed to each edge's key and published retained on yiwang/v1/edges/{id}/config,
//   so an edge that was offline gets the newest one when it subscribes again; this process republishes what
//   changed elsewhere (another collector node, the CLI) every few seconds, and after a restart everything once;
// - an edge's status (its key, mode, applied version) and reports (applied or refused version with problems,
//   health counts, buffer, clock) are stored for the fleet view;
// - diagnostics are request/response with a timeout, answered at once when the edge is not connected.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/log.js';
import { ProblemLog } from '../../core/problem-log.js';
import { sealTo, type SecretBox } from '../../core/seal.js';
import { decodeDiagnosticResponse, decodeEdgeReport, decodeEdgeStatus, encodeConfigPush, encodeDiagnosticRequest } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import type { DiagnosticKind, DiagnosticResponse } from '../../schema/types.js';
import type { EdgeMessageSink } from '../ingest/embedded.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore } from '../store/index.js';
import { parseDesired } from './desired.js';
import { decryptSecrets } from './secrets.js';

export interface ControlTransport {
  publish(topic: string, payload: Buffer, retain: boolean): Promise<void>;
  /** Whether the edge holds a connection now. */
  connected(edgeId: string): Promise<boolean>;
}

/** The edge cannot be asked now (not connected, or its software has no remote diagnostics). */
export class EdgeUnavailableError extends Error {}
/** The edge did not answer in time. */
export class EdgeTimeoutError extends Error {}

/** How long an edge may take per diagnostic (the collector waits a little longer for the answer to travel). */
export const DIAGNOSTIC_TIMEOUT_MS: Record<DiagnosticKind, number> = { device_test: 40_000, doctor: 180_000, logs: 10_000 };

/** Republish to an edge whose status says it runs another version than the desired one at most this often. */
const NUDGE_INTERVAL_MS = 60_000;

interface Pending {
  edgeId: string;
  resolve(r: DiagnosticResponse): void;
  timer: NodeJS.Timeout;
}

export class ControlPlane implements EdgeMessageSink {
  private transport?: ControlTransport;
  /** What this process last published per edge: the version and the key it was sealed to. */
  private readonly published = new Map<string, { version: number; key: string }>();
  private readonly nudged = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private readonly problems: ProblemLog;
  private timer?: NodeJS.Timeout;
  private syncing = false;

  constructor(
    private readonly store: CollectorStore,
    readonly secrets: () => SecretBox,
    private readonly log: Logger,
    private readonly metrics: CollectorMetrics,
    private readonly syncIntervalMs = 2000,
  ) {
    this.problems = new ProblemLog(log);
  }

  attach(transport: ControlTransport): void {
    this.transport = transport;
  }

  start(): void {
    this.timer = setInterval(() => void this.sync(), this.syncIntervalMs);
    this.timer.unref();
    void this.sync();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ edgeId: p.edgeId, requestId: id, ok: false, error: 'the collector is stopping' });
    }
    this.pending.clear();
  }

  /** Publishes every desired configuration whose version this process has not published yet. */
  async sync(): Promise<void> {
    if (this.syncing || !this.transport) return;
    this.syncing = true;
    try {
      for (const { edgeId, version } of await this.store.edgeConfigs.versions()) {
        if (this.published.get(edgeId)?.version !== version) await this.publish(edgeId);
      }
    } catch (err) {
      this.problems.report('control', 'sync', 'control: cannot publish edge configurations', { err: (err as Error).message });
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Seals the edge's desired configuration to its key and publishes it (retained). Returns why it was not
   * published (no configuration, the edge's key not known yet), or undefined.
   */
  async publish(edgeId: string): Promise<string | undefined> {
    if (!this.transport) return 'the broker is not ready';
    const desired = await this.store.edgeConfigs.get(edgeId);
    if (!desired) return 'no configuration for this edge';
    const state = await this.store.edgeConfigs.state(edgeId);
    if (!state?.configKey) return 'waiting for the edge to connect with a yiwang version that takes configurations (its key is not known yet)';
    const doc = decryptSecrets(parseDesired(desired), this.secrets);
    const edgeKey = Buffer.from(state.configKey, 'base64');
    const sealed = sealTo(edgeKey, Buffer.from(JSON.stringify(doc)), `${edgeId}:${desired.version}`);
    const push = encodeConfigPush({ edgeId, version: desired.version, issuedAt: desired.updatedAt, issuedBy: desired.updatedBy, edgeKey, ...sealed });
    await this.transport.publish(topics.config(edgeId), Buffer.from(push), true);
    this.published.set(edgeId, { version: desired.version, key: state.configKey });
    this.metrics.configPushes.inc();
    this.log.info({ edgeId, version: desired.version }, 'edge configuration published');
    return undefined;
  }

  onEdgeMessage(edgeId: string, kind: 'status' | 'report' | 'response', payload: Buffer, receivedAt: number): void {
    const handle = kind === 'status' ? this.onStatus(edgeId, payload) : kind === 'report' ? this.onReport(edgeId, payload, receivedAt) : this.onResponse(edgeId, payload);
    handle.catch((err: Error) => {
      this.metrics.rejected.inc({ reason: `bad_${kind}` });
      this.problems.report(edgeId, `bad_${kind}`, `control: ${kind} message not used`, { edgeId, err: err.message.slice(0, 300) });
    });
  }

  private async onStatus(edgeId: string, payload: Buffer): Promise<void> {
    const s = decodeEdgeStatus(payload);
    if (s.edgeId && s.edgeId !== edgeId) throw new Error(`status edge_id "${s.edgeId}" does not match topic edge "${edgeId}"`);
    if (!s.configKey?.length) return; // software without edge–cloud coordination
    const key = Buffer.from(s.configKey).toString('base64');
    await this.store.edgeConfigs.noteStatus(edgeId, { configKey: key, managed: s.managed ?? false, appliedVersion: s.appliedConfigVersion ?? 0, softwareVersion: s.version });
    if (!s.online) return;
    const pub = this.published.get(edgeId);
    if (pub && pub.key === key) {
      // A broker that lost its retained messages (restart without persistence) leaves an edge behind: offer again.
      const desired = await this.store.edgeConfigs.get(edgeId);
      const last = this.nudged.get(edgeId) ?? 0;
      if (!desired || desired.version === (s.appliedConfigVersion ?? 0) || Date.now() - last < NUDGE_INTERVAL_MS) return;
      this.nudged.set(edgeId, Date.now());
    }
    // First contact with this key (new edge, regenerated key, or this process has not published yet): seal to it.
    await this.publish(edgeId);
  }

  private async onReport(edgeId: string, payload: Buffer, receivedAt: number): Promise<void> {
    const r = decodeEdgeReport(payload);
    if (r.edgeId !== edgeId) throw new Error(`report edge_id "${r.edgeId}" does not match topic edge "${edgeId}"`);
    await this.store.edgeConfigs.noteReport(edgeId, {
      managed: r.managed ?? false,
      appliedVersion: r.appliedVersion ?? 0,
      appliedAt: r.appliedAt || undefined,
      failedVersion: r.failedVersion || undefined,
      errors: r.errors ?? [],
      localConfig: r.localConfig || undefined,
      devices: { online: r.devices?.online ?? 0, degraded: r.devices?.degraded ?? 0, offline: r.devices?.offline ?? 0, unknown: r.devices?.unknown ?? 0 },
      bufferFill: r.bufferFill ?? 0,
      bufferMaxBytes: r.bufferMaxBytes,
      bufferBytes: r.bufferBytes,
      backlogItems: r.backlogItems,
      droppedReadings: r.droppedReadings,
      softwareVersion: r.version,
      reportAt: receivedAt,
      clockOffsetMs: r.ts ? r.ts - receivedAt : undefined,
    });
  }

  private async onResponse(edgeId: string, payload: Buffer): Promise<void> {
    const r = decodeDiagnosticResponse(payload);
    const p = this.pending.get(r.requestId);
    if (!p) return; // asked by another collector node, or answered after its timeout
    if (p.edgeId !== edgeId) throw new Error(`response to request ${r.requestId} came from edge ${edgeId}, not ${p.edgeId}`);
    this.pending.delete(r.requestId);
    clearTimeout(p.timer);
    p.resolve(r);
  }

  /**
   * Runs a diagnostic on the edge and returns its result (parsed JSON). EdgeUnavailableError when the edge is not
   * connected or cannot do it; EdgeTimeoutError when it does not answer in time; Error with the edge's reason
   * when it could not run it.
   */
  async request(edgeId: string, kind: DiagnosticKind, params: { deviceId?: string; limit?: number } = {}, waitMs = DIAGNOSTIC_TIMEOUT_MS[kind]): Promise<unknown> {
    const transport = this.transport;
    if (!transport || !(await transport.connected(edgeId))) {
      const seen = (await this.store.edges.list()).find((e) => e.id === edgeId)?.statusTs;
      throw new EdgeUnavailableError(`edge ${edgeId} is not connected${seen ? ` (last status ${new Date(seen).toISOString()})` : ''}: remote diagnostics need the edge online`);
    }
    if (!(await this.store.edgeConfigs.state(edgeId))?.configKey) {
      throw new EdgeUnavailableError(`edge ${edgeId} runs a yiwang version without remote diagnostics (it announced no configuration key): upgrade it`);
    }
    const requestId = randomUUID();
    const answer = new Promise<DiagnosticResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve({ edgeId, requestId, ok: false, error: '\u0000timeout' });
      }, waitMs);
      timer.unref();
      this.pending.set(requestId, { edgeId, resolve, timer });
    });
    await transport.publish(
      topics.request(edgeId),
      Buffer.from(encodeDiagnosticRequest({ edgeId, requestId, kind, deviceId: params.deviceId, limit: params.limit, timeoutMs: Math.max(1000, waitMs - 5000), sentAt: Date.now() })),
      false,
    );
    this.metrics.diagnostics.inc({ kind });
    const r = await answer;
    if (r.error === '\u0000timeout') throw new EdgeTimeoutError(`edge ${edgeId} did not answer the ${kind} request within ${Math.round(waitMs / 1000)} s (its link may be slow, or it is busy with another diagnostic)`);
    if (!r.ok) throw new Error(r.error || `edge ${edgeId} could not run ${kind}`);
    return r.result ? (JSON.parse(r.result) as unknown) : null;
  }
}

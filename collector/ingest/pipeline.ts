// The ingest pipeline shared by the embedded broker and the external-broker consumer:
// validate -> bounded queue -> group commit (one store transaction per group) -> acks and metrics.
// Admission control: offer() resolves only while the queue has room, so transports pause reading
// from their sockets instead of buffering when storage falls behind.
// Several groups may commit at once (PostgreSQL: the database does the work while this process waits on it);
// a group never holds a batch of an edge that another group in flight holds, so each edge's batches commit in
// arrival order. SQLite commits one group at a time (one writer).
import type { Logger } from '../../core/log.js';
import { ProblemLog } from '../../core/problem-log.js';
import { decodeEdgeStatus } from '../../schema/codec.js';
import type { Ack } from '../../schema/types.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore, IngestJob } from '../store/index.js';
import { BatchRejection, decodeAndValidate } from './validate.js';

export type AckPublisher = (edgeId: string, ack: Ack) => void;

const MAX_ITEMS_PER_COMMIT = 200_000;
const MAX_COMMIT_ATTEMPTS = 3;

const itemsOf = (j: IngestJob) => {
  const b = j.batch;
  return (b.readings?.length ?? 0) + (b.events?.length ?? 0) + (b.records?.length ?? 0) + (b.videoQuality?.length ?? 0) + (b.snapshots?.length ?? 0) + 1;
};

export class IngestPipeline {
  private queue: IngestJob[] = [];
  private queuedItems = 0;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** Edges with a batch in a group being committed. */
  private readonly busyEdges = new Set<string>();
  private attempts = 0;
  /** After a group failed to commit: this many next commits take one batch each, to single out a poison batch. */
  private isolate = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly problems: ProblemLog;
  private readonly parallel: number;
  publishAck: AckPublisher = () => undefined;

  constructor(
    private readonly store: CollectorStore,
    private readonly cfg: CollectorConfig['ingest'],
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
    private readonly influx: boolean,
  ) {
    this.problems = new ProblemLog(log);
    this.parallel = store.kind === 'sqlite' ? 1 : Math.max(1, cfg.parallelCommits ?? 4);
  }

  get depth(): number {
    return this.queue.length;
  }

  /**
   * Takes one batch payload published on edge `edgeId`'s batch topic. A batch that cannot be used at all is
   * refused at once with an Ack carrying its own batch id (when it could be read) so the edge can set it aside;
   * good ones are queued. Resolves when the transport may read the next message.
   */
  offer(edgeId: string, payload: Buffer, receivedAt = Date.now()): Promise<void> {
    let batch;
    try {
      batch = decodeAndValidate(payload, edgeId, this.cfg);
    } catch (err) {
      const reason = err instanceof BatchRejection ? err.reason : 'internal';
      const batchId = err instanceof BatchRejection ? err.batchId : 0;
      this.metrics.rejected.inc({ reason });
      this.metrics.batchesIn.inc({ outcome: 'rejected' });
      this.problems.report(edgeId, `batch_${reason}`, 'batch rejected', { edgeId, batchId, detail: (err as Error).message.slice(0, 300), bytes: payload.length });
      this.publishAck(edgeId, { edgeId, batchId, rejected: true, error: `${reason}: ${(err as Error).message}` });
      return Promise.resolve();
    }
    const job = { edgeId, batch, receivedAt };
    this.queue.push(job);
    this.queuedItems += itemsOf(job);
    this.kick();
    if (this.queue.length < this.cfg.maxQueue) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Edge status messages (retained; the offline one is the edge's last will). */
  status(edgeId: string, payload: Buffer): void {
    let s;
    try {
      s = decodeEdgeStatus(payload);
      if (s.edgeId && s.edgeId !== edgeId) throw new Error(`status edge_id "${s.edgeId}" does not match topic edge "${edgeId}"`);
    } catch (err) {
      this.metrics.rejected.inc({ reason: 'bad_status' });
      this.problems.report(edgeId, 'bad_status', 'status message rejected', { edgeId, detail: (err as Error).message.slice(0, 300) });
      return;
    }
    // Ordered by arrival, not by the payload's ts: a last will carries the ts of the connect it was set at.
    this.store.edges.setConnected(edgeId, s.online, Date.now(), s.version).catch((err: Error) => this.log.error({ edgeId, err: err.message }, 'cannot record edge status'));
  }

  private kick(): void {
    if (this.timer || this.inFlight >= this.parallel || !this.queue.length) return;
    const soon = this.queuedItems >= MAX_ITEMS_PER_COMMIT / 4 || this.inFlight > 0 ? 0 : this.cfg.commitIntervalMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startCommits();
    }, soon);
  }

  /** Starts as many group commits as allowed and possible. */
  private startCommits(): void {
    while (this.inFlight < this.parallel) {
      const group = this.takeGroup();
      if (!group) break;
      this.inFlight++;
      void this.commitGroup(group.jobs, group.items).finally(() => {
        this.inFlight--;
        for (const j of group.jobs) this.busyEdges.delete(j.edgeId);
        this.releaseWaiters();
        if (this.queue.length) this.kick();
        else if (this.inFlight === 0) this.notifyIdle();
      });
    }
    if (!this.queue.length && this.inFlight === 0) this.notifyIdle();
  }

  /** Queued jobs of edges not being committed, oldest first; later jobs of a skipped edge wait their turn too. */
  private takeGroup(): { jobs: IngestJob[]; items: number } | undefined {
    const take: IngestJob[] = [];
    const keep: IngestJob[] = [];
    const skipped = new Set<string>();
    let items = 0;
    const maxJobs = this.isolate > 0 ? 1 : Number.MAX_SAFE_INTEGER;
    for (const j of this.queue) {
      const full = take.length >= maxJobs || (take.length > 0 && items >= MAX_ITEMS_PER_COMMIT);
      if (full || this.busyEdges.has(j.edgeId) || skipped.has(j.edgeId)) {
        keep.push(j);
        skipped.add(j.edgeId);
        continue;
      }
      take.push(j);
      items += itemsOf(j);
    }
    if (!take.length) return undefined;
    this.queue = keep;
    this.queuedItems -= items;
    for (const j of take) this.busyEdges.add(j.edgeId);
    return { jobs: take, items };
  }

  /** Puts a group back at the head of the queue (its commit failed; nothing of it was stored). */
  private requeue(jobs: IngestJob[], items: number): void {
    this.queue = [...jobs, ...this.queue];
    this.queuedItems += items;
  }

  private async commitGroup(jobs: IngestJob[], items: number): Promise<void> {
    let result;
    try {
      result = await this.store.ingest(jobs, { unknownDevices: this.cfg.unknownDevices, influx: this.influx });
    } catch (err) {
      this.attempts++;
      const message = (err as Error).message;
      this.log.error({ err: message, batches: jobs.length, attempt: this.attempts }, 'ingest commit failed');
      if (this.attempts >= MAX_COMMIT_ATTEMPTS) {
        this.attempts = 0;
        if (jobs.length > 1) this.isolate = jobs.length; // retry the group one batch at a time to find the batch that fails
        else if (await this.store.ping().then(() => true, () => false)) {
          // The database answers but this batch alone cannot be stored: refuse it (the edge parks it for an
          // operator) instead of blocking every batch behind it. Nothing of it was committed.
          const job = jobs[0]!;
          this.metrics.rejected.inc({ reason: 'commit_failed' });
          this.metrics.batchesIn.inc({ outcome: 'rejected' });
          this.problems.report(job.edgeId, 'commit_failed', 'batch cannot be stored; refused', { batchId: job.batch.batchId, err: message.slice(0, 300) });
          this.publishAck(job.edgeId, { edgeId: job.edgeId, batchId: job.batch.batchId, rejected: true, error: `commit_failed: ${message}` });
          return;
        }
        // Otherwise the database is down: keep everything queued (transports are held back) and keep trying.
      }
      this.requeue(jobs, items);
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** this.attempts)));
      return;
    }
    this.attempts = 0;
    if (this.isolate > 0) this.isolate--;
    this.metrics.commits.inc();
    const now = Date.now();
    for (const o of result.outcomes) {
      this.publishAck(o.job.edgeId, o.ack);
      this.metrics.ackLatency.observe((now - o.job.receivedAt) / 1000);
      this.metrics.batchesIn.inc({ outcome: o.duplicate ? 'duplicate' : 'stored' });
      if (o.stored.readings) this.metrics.readingsIn.inc({}, o.stored.readings);
      if (o.stored.events) this.metrics.eventsIn.inc({}, o.stored.events);
      if (o.dedupItems) this.metrics.dedupHits.inc({}, o.dedupItems);
      for (const [reason, count] of o.quarantined) {
        this.metrics.quarantined.inc({ reason }, count);
        this.problems.report(o.job.edgeId, `quarantine_${reason}`, 'items quarantined', {
          edgeId: o.job.edgeId, batchId: o.job.batch.batchId, items: count, detail: o.quarantineDetail,
        });
      }
    }
    this.metrics.pointsWritten.inc({}, result.pointsWritten);
  }

  private releaseWaiters(): void {
    while (this.waiters.length && this.queue.length < this.cfg.maxQueue) this.waiters.shift()!();
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /**
   * Resolves once everything queued has been committed, or after `timeoutMs` (the database may be down while we
   * stop: what is left was never acked, so the edges send it again).
   */
  drain(timeoutMs = 10_000): Promise<void> {
    if (!this.queue.length && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.kick();
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.releaseAll();
  }

  private releaseAll(): void {
    for (const w of this.waiters.splice(0)) w();
    this.notifyIdle();
  }
}

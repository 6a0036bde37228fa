// MQTT uplink: ships the buffer's chunks to the collector as Batches (QoS 1) and deletes a chunk only when
// the collector's application-level Ack for it arrives. A rejected chunk is parked (kept on disk, counted,
// never resent on its own) so one bad chunk never blocks the others. See README.md for ordering and failure
// behaviour.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { decodeAck, encodeBatch, encodeEdgeStatus, SchemaError } from '../../schema/codec.js';
import { topics, isValidEdgeId } from '../../schema/topics.js';
import type { Ack, EdgeStatus } from '../../schema/types.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { excerpt, ProblemLog } from '../../core/problem-log.js';
import type { EdgeBuffer, StoredChunk } from '../buffer/index.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { TokenBucket } from './token-bucket.js';

export interface UplinkOptions {
  edgeId: string;
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  username?: string;
  password?: string;
  /** PEM (mqtts): CA bundle to trust, client certificate and key for mutual TLS. */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true; false only for test setups with self-signed brokers. */
  rejectUnauthorized?: boolean;
  buffer: EdgeBuffer;
  /** Items per second drained from the backlog after an outage (live data is not limited). Default 50000. */
  backlogRateLimit?: number;
  /** Largest Batch the collector accepts, in items; must be ≥ the buffer's maxChunkItems (a chunk is one Batch). */
  maxBatchItems?: number;
  /** Batches sent and not yet acked. Default 8. */
  maxInFlight?: number;
  /** Resend an un-acked batch after this long. Default 15000. */
  ackTimeoutMs?: number;
  /**
   * Park a batch that got no answer this many times in a row while the collector answered other batches
   * (e.g. it rejected it as undecodable, batch_id 0). Default 3.
   */
  maxUnansweredSends?: number;
  /** stop() gives up on a polite disconnect (offline status, in-flight packets) after this long. Default 2000. */
  stopTimeoutMs?: number;
  reconnect?: BackoffOptions;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** Reported in EdgeStatus. */
  version?: string;
  logger?: Logger;
  /** Edge–cloud coordination on this same connection (edge/control.ts). */
  control?: UplinkControl;
}

/** What the edge–cloud coordination adds to the uplink connection. */
export interface UplinkControl {
  /** Subscribed after the ack topic; a refusal (an older collector) is logged and the uplink works on without them. */
  topics: string[];
  onMessage(topic: string, payload: Buffer): void;
  /** Fields added to every EdgeStatus (config key, managed, applied config version). */
  status(): Partial<EdgeStatus>;
  /** Each time a connection is up and the control topics are subscribed. */
  connected(): void;
}

export interface UplinkState {
  connected: boolean;
  inFlight: number;
  lastAckAt: number | null;
  sentBatches: number;
  liveBatchesSent: number;
  historicalBatchesSent: number;
  resentBatches: number;
  ackedBatches: number;
  /** Batches the collector rejected (each parked). */
  rejectedBatches: number;
  /** Rejections with batch_id 0: the collector could not tell which batch it rejected. */
  unattributedRejections: number;
  /** Batches parked because they went unanswered while the collector answered others. */
  unansweredParked: number;
  unknownAcks: number;
  badAcks: number;
  /** Chunks from before the current connection still waiting for their first send in it. */
  backlogChunks: number;
  connects: number;
  reconnectAttempt: number;
  lastError: string | null;
}

interface InFlight {
  sentAt: number;
  historical: boolean;
  /** Sends of this batch that timed out although the collector answered something after them. */
  unanswered: number;
}

/** Longest park reason kept (the collector's error text). */
const MAX_REASON = 300;

/** Backlog batches in flight at most (see pump). */
const BACKLOG_IN_FLIGHT = 2;

export class Uplink {
  private readonly o: Required<Omit<UplinkOptions, 'username' | 'password' | 'ca' | 'cert' | 'key' | 'logger' | 'version' | 'control'>> & UplinkOptions;
  private readonly log: Logger;
  private readonly problems: ProblemLog;
  private readonly buffer: EdgeBuffer;
  private client: MqttClient | undefined;
  private connected = false;
  private running = false;
  private inFlight = new Map<number, InFlight>();
  /** Chunk ids ≤ boundary existed when the connection came up: backlog. Above it: live. */
  private boundary = 0;
  private liveCursor = 0;
  private backlogCursor = 0;
  private bucket: TokenBucket;
  private pumpTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private unsubscribeCommit: (() => void) | undefined;
  /** When the collector last answered anything (ack or rejection). */
  private lastAnswerAt = 0;
  private counters = {
    sentBatches: 0,
    liveBatchesSent: 0,
    historicalBatchesSent: 0,
    resentBatches: 0,
    ackedBatches: 0,
    rejectedBatches: 0,
    unattributedRejections: 0,
    unansweredParked: 0,
    unknownAcks: 0,
    badAcks: 0,
    connects: 0,
  };
  private lastAckAt: number | null = null;
  private reconnectAttempt = 0;
  private lastError: string | null = null;

  constructor(opts: UplinkOptions) {
    if (!isValidEdgeId(opts.edgeId)) throw new Error(`uplink: invalid edge id ${JSON.stringify(opts.edgeId)}`);
    if (!/^mqtts?:\/\//.test(opts.url)) throw new Error(`uplink: url must start with mqtt:// or mqtts://, got ${opts.url}`);
    const maxBatchItems = opts.maxBatchItems ?? opts.buffer.maxChunkItems;
    if (maxBatchItems < opts.buffer.maxChunkItems) {
      throw new Error(
        `uplink: maxBatchItems ${maxBatchItems} is below the buffer's maxChunkItems ${opts.buffer.maxChunkItems}; a chunk travels as one Batch, so lower the buffer's maxChunkItems`,
      );
    }
    const reconnect = opts.reconnect ?? { minMs: 500, maxMs: 30_000 };
    if (!(reconnect.minMs > 0 && reconnect.maxMs >= reconnect.minMs)) throw new Error('uplink: reconnect needs 0 < minMs <= maxMs');
    this.o = {
      ...opts,
      rejectUnauthorized: opts.rejectUnauthorized ?? true,
      backlogRateLimit: opts.backlogRateLimit ?? 50_000,
      maxBatchItems,
      maxInFlight: Math.max(1, opts.maxInFlight ?? 8),
      ackTimeoutMs: opts.ackTimeoutMs ?? 15_000,
      maxUnansweredSends: Math.max(1, opts.maxUnansweredSends ?? 3),
      stopTimeoutMs: opts.stopTimeoutMs ?? 2000,
      reconnect,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      keepaliveS: opts.keepaliveS ?? 30,
    };
    this.buffer = opts.buffer;
    this.log = opts.logger ?? silentLogger;
    this.problems = new ProblemLog(this.log);
    this.bucket = new TokenBucket(this.o.backlogRateLimit);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribeCommit = this.buffer.onCommit(() => this.pump());
    const tickMs = Math.max(20, Math.min(1000, Math.floor(this.o.ackTimeoutMs / 4)));
    this.tickTimer = setInterval(() => this.tick(), tickMs);
    this.connect();
  }

  /**
   * Publishes the offline status (when connected) and disconnects, within `stopTimeoutMs` whatever the network
   * does: a collector link that black-holes packets cannot hold the agent's shutdown. Un-acked chunks stay in
   * the buffer.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribeCommit?.();
    clearInterval(this.tickTimer);
    clearTimeout(this.pumpTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    const wasConnected = this.connected;
    this.connected = false;
    this.inFlight.clear();
    if (!client) return;
    const deadline = Date.now() + this.o.stopTimeoutMs;
    if (wasConnected) {
      await within(deadline - Date.now() - this.o.stopTimeoutMs / 2, (done) =>
        client.publish(topics.status(this.o.edgeId), this.statusPayload(false), { qos: 1, retain: true }, () => done()),
      );
    }
    // A polite end waits for every packet in flight to be acknowledged: bounded, then the socket is cut.
    const ended = await within(deadline - Date.now(), (done) => client.end(!wasConnected, {}, () => done()));
    if (!ended) {
      this.log.warn({ waitedMs: this.o.stopTimeoutMs }, 'uplink: collector did not answer while stopping; connection cut');
      // end() again would be a no-op while the polite one is pending (mqtt.js `disconnecting`): cut the socket.
      client.stream?.destroy();
    }
  }

  /** Makes parked chunks sendable again (an operator's request); they go out as backlog. Returns how many. */
  retryParked(ids: number[] | 'all'): number {
    const n = this.buffer.unpark(ids);
    if (n > 0) {
      this.log.info({ chunks: n, ids: ids === 'all' ? 'all' : ids.slice(0, 20) }, 'uplink: parked chunks offered again');
      // Everything sent so far becomes backlog again: the unparked chunks are found behind live data.
      this.boundary = Math.max(this.boundary, this.liveCursor);
      this.backlogCursor = 0;
      this.pump();
    }
    return n;
  }

  state(): UplinkState {
    return {
      connected: this.connected,
      inFlight: this.inFlight.size,
      lastAckAt: this.lastAckAt,
      ...this.counters,
      backlogChunks: this.connected ? this.buffer.countChunks(this.backlogCursor, this.boundary) : this.buffer.countChunks(0, Number.MAX_SAFE_INTEGER),
      reconnectAttempt: this.reconnectAttempt,
      lastError: this.lastError,
    };
  }

  // ---- connection ----

  private statusPayload(online: boolean): Buffer {
    return Buffer.from(encodeEdgeStatus({ ...this.o.control?.status(), edgeId: this.o.edgeId, online, ts: Date.now(), version: this.o.version }));
  }

  /** Publishes on one of this edge's topics (QoS 1); false when not connected (the caller decides to retry). */
  publish(topic: string, payload: Uint8Array, retain = false): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    client.publish(topic, Buffer.from(payload), { qos: 1, retain }, (err) => {
      if (err) this.log.warn({ topic, err: err.message }, 'uplink: publish failed');
    });
    return true;
  }

  /** Publishes the retained online status again (its control fields changed). */
  refreshStatus(): void {
    this.publish(topics.status(this.o.edgeId), this.statusPayload(true), true);
  }

  private connect(): void {
    const o = this.o;
    const options: IClientOptions = {
      clientId: `yiwang-edge-${o.edgeId}`,
      username: o.username,
      password: o.password,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: o.rejectUnauthorized,
      clean: true,
      reconnectPeriod: 0, // reconnects are ours: jittered backoff and a fresh client (no stale in-flight store)
      connectTimeout: o.connectTimeoutMs,
      keepalive: o.keepaliveS,
      will: { topic: topics.status(o.edgeId), payload: this.statusPayload(false), qos: 1, retain: true },
    };
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    const ackTopic = topics.ack(o.edgeId);
    client.on('message', (topic, payload) => (topic === ackTopic ? this.onAck(payload) : this.o.control?.onMessage(topic, payload)));
    client.on('error', (err) => {
      // The error text never contains the password (mqtt.js reports codes and reasons only).
      this.lastError = err.message;
      this.log.warn({ url: o.url, err: err.message }, 'uplink: connection error');
    });
    client.on('close', () => this.onClose(client));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    const o = this.o;
    // Subscribe to acks before anything is sent, so no ack can pass by unheard.
    client.subscribe(topics.ack(o.edgeId), { qos: 1 }, (err, granted) => {
      if (client !== this.client) return;
      if (err || !granted || granted.some((g) => g.qos === 128)) {
        this.lastError = `ack subscription refused: ${err?.message ?? 'broker returned 128'}`;
        this.log.error({ err: this.lastError }, 'uplink: cannot subscribe to acks; reconnecting');
        client.end(true);
        return;
      }
      client.publish(topics.status(o.edgeId), this.statusPayload(true), { qos: 1, retain: true });
      this.connected = true;
      this.counters.connects++;
      this.reconnectAttempt = 0;
      this.lastError = null;
      // Everything stored now is backlog; whatever was in flight on the old connection is resent as backlog.
      this.inFlight.clear();
      this.boundary = this.buffer.maxChunkId();
      this.liveCursor = this.boundary;
      this.backlogCursor = 0;
      this.log.info({ url: o.url, backlogChunks: this.buffer.countChunks(0, this.boundary) }, 'uplink: connected');
      this.pump();
      this.subscribeControl(client);
    });
  }

  private subscribeControl(client: MqttClient): void {
    const control = this.o.control;
    if (!control?.topics.length) return;
    client.subscribe(control.topics, { qos: 1 }, (err, granted) => {
      if (client !== this.client) return;
      if (err || !granted || granted.some((g) => g.qos === 128)) {
        this.log.warn({ err: err?.message ?? 'broker returned 128' }, 'uplink: the collector refused the configuration topics (does it predate edge–cloud coordination?); data flows on');
        return;
      }
      control.connected();
    });
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    const wasConnected = this.connected;
    this.connected = false;
    this.inFlight.clear();
    this.client = undefined;
    client.removeAllListeners('close');
    client.end(true);
    if (!this.running) return;
    const delay = backoffDelay(this.reconnectAttempt++, this.o.reconnect);
    if (wasConnected) this.log.warn({ delayMs: delay }, 'uplink: connection lost; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      if (this.running) this.connect();
    }, delay);
  }

  // ---- sending ----

  /** Fills the in-flight window: live chunks first, then the backlog oldest-first under its rate cap. */
  private pump(): void {
    if (!this.connected || !this.running) return;
    const max = this.o.maxInFlight;
    while (this.inFlight.size < max) {
      const live = this.buffer.listChunks(this.liveCursor, max - this.inFlight.size);
      if (live.length === 0) break;
      for (const c of live) {
        this.liveCursor = c.id;
        this.send(c, false);
      }
    }
    // At most two backlog batches in flight (one being stored, one queued at the collector keeps it busy) and
    // never the last slots: a live batch then waits behind at most two historical ones, so live delivery stays
    // well under 2 s even while the backlog drains at full speed.
    const backlogMax = Math.min(BACKLOG_IN_FLIGHT, max > 2 ? max - 2 : max);
    let backlogInFlight = 0;
    for (const f of this.inFlight.values()) if (f.historical) backlogInFlight++;
    while (this.inFlight.size < max && backlogInFlight < backlogMax && this.backlogCursor < this.boundary) {
      const [c] = this.buffer.listChunks(this.backlogCursor, 1, this.boundary);
      if (!c) {
        this.backlogCursor = this.boundary;
        break;
      }
      if (this.inFlight.has(c.id)) {
        this.backlogCursor = c.id;
        continue;
      }
      const t = this.bucket.take(c.items);
      if (!t.ok) {
        clearTimeout(this.pumpTimer);
        this.pumpTimer = setTimeout(() => this.pump(), t.waitMs);
        break;
      }
      this.backlogCursor = c.id;
      this.send(c, true);
      backlogInFlight++;
    }
  }

  private send(c: StoredChunk, historical: boolean, resend = false): void {
    const client = this.client;
    if (!client) return;
    const header = encodeBatch({
      edgeId: this.o.edgeId,
      batchId: c.id,
      firstSeq: c.firstSeq,
      lastSeq: c.lastSeq,
      historical,
      sentAt: Date.now(),
      stats: this.buffer.edgeStats(),
    });
    // The stored payload holds only the repeated item fields: appending the header's fields makes a
    // complete Batch (protobuf concatenation = merge), so chunks are never decoded or re-encoded here.
    const message = Buffer.concat([c.payload, header]);
    client.publish(topics.batch(this.o.edgeId), message, { qos: 1 }, (err) => {
      if (err) this.problems.report('collector', 'publish_failed', 'uplink: publish failed; will resend', { batchId: c.id, err: err.message });
    });
    this.inFlight.set(c.id, { sentAt: Date.now(), historical, unanswered: this.inFlight.get(c.id)?.unanswered ?? 0 });
    this.counters.sentBatches++;
    if (resend) this.counters.resentBatches++;
    else if (historical) this.counters.historicalBatchesSent++;
    else this.counters.liveBatchesSent++;
  }

  /** Resends batches whose ack is overdue; parks one that the collector keeps ignoring while it answers others. */
  private tick(): void {
    if (!this.connected) return;
    const now = Date.now();
    for (const [id, f] of this.inFlight) {
      if (now - f.sentAt < this.o.ackTimeoutMs) continue;
      const c = this.buffer.getChunk(id);
      if (!c) {
        this.inFlight.delete(id); // dropped by the byte limit or retention meanwhile
        continue;
      }
      if (this.lastAnswerAt > f.sentAt && ++f.unanswered >= this.o.maxUnansweredSends) {
        // The collector is alive and answering, just never this batch (e.g. it could not decode it and said
        // so with batch_id 0): park it like a rejected one instead of letting it hold a slot forever.
        this.inFlight.delete(id);
        this.counters.unansweredParked++;
        this.buffer.park(id, `no answer from the collector after ${f.unanswered} sends while it answered other batches`);
        this.problems.report('collector', 'unanswered', 'uplink: batch never answered; parked until an operator retries it', { batchId: id, sends: f.unanswered });
        continue;
      }
      this.problems.report('collector', 'ack_timeout', 'uplink: no ack in time; resending', { batchId: id, waitedMs: now - f.sentAt });
      this.send(c, f.historical, true);
    }
    this.pump();
  }

  private onAck(payload: Buffer): void {
    let ack: Ack;
    try {
      ack = decodeAck(payload);
    } catch (err) {
      this.counters.badAcks++;
      this.problems.report('collector', 'bad_ack', 'uplink: undecodable ack ignored', { err: err instanceof SchemaError ? err.message : String(err) });
      return;
    }
    if (ack.edgeId && ack.edgeId !== this.o.edgeId) {
      this.counters.unknownAcks++;
      return;
    }
    this.lastAnswerAt = Date.now();
    const id = ack.batchId;
    if (ack.rejected) {
      const reason = excerpt(ack.error || 'rejected', MAX_REASON);
      if (!id) {
        // The collector could not tell which batch it was (an undecodable payload): nothing to park by id. A
        // batch that keeps going unanswered is parked by tick() once the collector is seen answering others.
        this.counters.unattributedRejections++;
        this.problems.report('collector', 'unattributed_rejection', 'uplink: collector rejected a batch it could not identify (batch_id 0)', { err: reason });
        return;
      }
      if (!this.inFlight.has(id) && !this.buffer.getChunk(id)) {
        this.counters.unknownAcks++;
        return;
      }
      this.counters.rejectedBatches++;
      this.inFlight.delete(id);
      this.buffer.park(id, reason);
      this.problems.report('collector', 'rejected', 'uplink: collector rejected a batch; parked until an operator retries it', { batchId: id, err: reason });
    } else if (this.buffer.ack(id)) {
      this.counters.ackedBatches++;
      this.lastAckAt = Date.now();
      this.inFlight.delete(id);
    } else {
      this.counters.unknownAcks++; // already acked, dropped, or never ours
      this.inFlight.delete(id);
    }
    this.pump();
  }
}

/** Runs `start(done)` and resolves true when done is called, false after `ms` (≤ 0: at once) — never hangs. */
function within(ms: number, start: (done: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    start(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

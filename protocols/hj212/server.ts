// TCP listener for HJ 212 stations (stations are the clients; many per port, each identified by MN).
// Each connection gets its own framer; bad frames are counted and skipped (one log line per peer and kind per
// minute), the connection stays up unless it sends nothing but garbage. Answers (9014/9011) go out only once
// the packet's readings are committed to the edge buffer.
import { ProblemLog, excerpt } from '../../core/problem-log.js';
import type { AdapterLogger, AdapterSink } from '../adapter.js';
import { DurableAnswers } from '../common/durable-answers.js';
import { StationTcpListener, peerOf, type StationLimits } from '../common/station-listener.js';
import type { HistoryTracker, PeriodKind } from '../common/history-periods.js';
import { dataAnswer, historyRequest, qnFor, requestAnswer } from './encode.js';
import { Hj212Framer } from './framer.js';
import { mapPacket } from './map.js';
import { Hj212ParseError, REQUEST_CNS, UPLOAD_CNS, parseSegment, toUtcMs, wantsAnswer, type Hj212Packet } from './parse.js';

export const PROTOCOL = 'hj212';

/** What a session needs to know about a registered station. */
export interface StationEntry {
  id: string;
  password: string;
  factors: Map<string, string[]>;
  /** Minute / hourly data the station keeps and the edge asks for again when periods are missing (keyed by data CN; ../common/history-periods.ts). */
  backfill?: PeriodKind[];
}

export interface SessionContext {
  sink: AdapterSink;
  log: AdapterLogger;
  station(mn: string): StationEntry | undefined;
  /** Rate-limited bad-input log shared by all connections of the listener (one per session when absent). */
  problems?: ProblemLog;
  limits?: StationLimits;
  /** Periods seen per station: missing ones are asked for with history requests (no backfill when absent). */
  history?: HistoryTracker;
}

/** Handles one station connection: bytes in, samples/status/errors out, answers back. */
export class Hj212Session {
  private readonly framer = new Hj212Framer();
  private deviceId: string | undefined; // last authenticated device on this connection
  private readonly splitDataTime = new Map<string, string>(); // QN → DataTime of split packets
  private readonly problems: ProblemLog;
  private readonly peer: string;
  private readonly answers: DurableAnswers<string>;
  /** History requests sent on this connection ("cn:begin:end"): one per hole per connection. */
  private readonly requested = new Set<string>();
  private readonly greeted = new Set<string>(); // MNs whose first packet on this connection was seen
  readonly remote: string;

  constructor(
    private readonly ctx: SessionContext,
    private readonly write: (data: string) => void,
    remote = '',
  ) {
    this.remote = remote;
    this.peer = peerOf(remote);
    this.problems = ctx.problems ?? new ProblemLog(ctx.log);
    this.answers = new DurableAnswers(write, (what, err) =>
      this.problems.report(this.peer, 'answer_withheld', `hj212 ${what}`, { protocol: PROTOCOL, remote: this.remote, deviceId: this.deviceId, err: (err as Error | undefined)?.message }),
    );
  }

  get garbageBytes(): number {
    return this.framer.garbageBytes;
  }

  onData(chunk: Uint8Array | string): void {
    for (const ev of this.framer.push(chunk)) {
      if (ev.ok) this.onSegment(ev.segment);
      else this.reject(ev.kind, ev.detail, this.deviceId);
    }
  }

  private onSegment(segment: string): void {
    const { sink, log } = this.ctx;
    let packet;
    try {
      packet = parseSegment(segment);
    } catch (err) {
      if (!(err instanceof Hj212ParseError)) throw err;
      const id = err.mn !== undefined ? this.ctx.station(err.mn)?.id : undefined;
      this.reject(err.kind, err.message, id ?? this.deviceId);
      return;
    }
    const station = this.ctx.station(packet.mn);
    if (!station) {
      const detail = `MN ${excerpt(packet.mn, 32)} is not a registered station`;
      this.problems.report(this.peer, 'unknown_mn', 'hj212 packet refused: unknown MN', { protocol: PROTOCOL, remote: this.remote, mn: excerpt(packet.mn, 32), cn: excerpt(packet.cn, 8) });
      sink.error(PROTOCOL, 'unknown_mn', detail);
      return;
    }
    if (packet.pw !== station.password) {
      // The password itself is never logged.
      this.problems.report(this.peer, 'auth_failure', 'hj212 packet refused: wrong password', { protocol: PROTOCOL, remote: this.remote, deviceId: station.id, mn: packet.mn });
      sink.error(PROTOCOL, 'auth_failure', `wrong PW for MN ${packet.mn}`, station.id);
      sink.status({ deviceId: station.id, ok: false, reason: 'auth_failure', detail: 'HJ 212 PW does not match the device record', ts: Date.now() });
      return;
    }
    this.deviceId = station.id;
    let fallback: string | undefined;
    if (packet.pnum !== undefined && packet.qn !== undefined) {
      if (packet.dataTime) this.splitDataTime.set(packet.qn, packet.dataTime);
      else fallback = this.splitDataTime.get(packet.qn);
      if (packet.pno === packet.pnum) this.splitDataTime.delete(packet.qn);
      if (this.splitDataTime.size > 64) this.splitDataTime.clear(); // abandoned splits must not pile up
    }
    // A minute / hourly period the edge holds already (a station resending after a history request) is answered
    // but not stored twice.
    const period = this.period(packet, station);
    const fresh = !period || this.ctx.history!.claim(packet.mn, period.kind, period.at);
    const samples = fresh ? mapPacket(packet, station.id, station.factors, fallback) : [];
    if (!fresh) log.debug({ protocol: PROTOCOL, deviceId: station.id, cn: packet.cn, dataTime: packet.dataTime }, 'hj212 period already held: not stored again');
    const stored = samples.length ? sink.samples(samples) : undefined;
    this.backfill(packet, station, fresh ? period : undefined, stored);
    sink.status({ deviceId: station.id, ok: true, ts: Date.now() });
    if (wantsAnswer(packet)) {
      if (UPLOAD_CNS.has(packet.cn)) this.answers.send(stored, () => dataAnswer(packet));
      else if (REQUEST_CNS.has(packet.cn)) this.answers.send(stored, () => requestAnswer(packet));
    }
    log.debug({ protocol: PROTOCOL, deviceId: station.id, cn: packet.cn, qn: packet.qn, samples: samples.length }, 'hj212 packet');
  }

  /** The backfill kind and DataTime of a minute / hourly data packet (undefined without backfill). */
  private period(packet: Hj212Packet, station: StationEntry): { kind: PeriodKind; at: number } | undefined {
    if (!this.ctx.history) return undefined;
    const kind = station.backfill?.find((k) => k.key === packet.cn);
    const at = packet.dataTime ? toUtcMs(packet.dataTime) : undefined;
    return kind && at !== undefined ? { kind, at } : undefined;
  }

  /**
   * Backfill: a station seen for the first time on this connection is asked for every period it never delivered;
   * a minute / hourly period counts as seen once its data is durable, and a hole behind it is asked for then.
   */
  private backfill(packet: Hj212Packet, station: StationEntry, period: { kind: PeriodKind; at: number } | undefined, stored: ReturnType<AdapterSink['samples']> | undefined): void {
    const history = this.ctx.history;
    if (!history || !station.backfill?.length) return;
    if (!this.greeted.has(packet.mn)) {
      this.greeted.add(packet.mn);
      this.askForHistory(packet, station, Infinity);
    }
    if (!period) return;
    void Promise.resolve(stored ?? true).then((ok) => {
      history.settle(packet.mn, period.kind, period.at, ok, Date.now());
      if (ok) this.askForHistory(packet, station, period.at);
    });
  }

  /** Asks for the holes that end before `before` (a period just arrived: only what is behind it). */
  private askForHistory(packet: Hj212Packet, station: StationEntry, before: number): void {
    const now = Date.now();
    for (const kind of station.backfill ?? []) {
      for (const r of this.ctx.history!.missing(packet.mn, kind, now)) {
        if (r.end >= before) continue;
        const key = `${r.key}:${r.begin}:${r.end}`;
        if (this.requested.has(key) || this.requested.size >= 1000) continue;
        this.requested.add(key);
        try {
          this.write(historyRequest({ qn: qnFor(now + this.requested.size), st: packet.st, cn: r.key, pw: station.password, mn: packet.mn, begin: r.begin, end: r.end }));
        } catch {
          return; // the connection is gone; the next one asks again
        }
        this.ctx.log.info({ protocol: PROTOCOL, deviceId: station.id, cn: r.key, begin: new Date(r.begin).toISOString(), end: new Date(r.end).toISOString(), periods: r.periods }, 'hj212 history requested');
      }
    }
  }

  private reject(kind: string, detail: string, deviceId: string | undefined): void {
    this.problems.report(this.peer, kind, 'hj212 frame rejected', { protocol: PROTOCOL, remote: this.remote, deviceId, kind, detail: excerpt(detail, 160) });
    this.ctx.sink.error(PROTOCOL, kind, detail, deviceId);
  }
}

/** A listening TCP server that runs one Hj212Session per connection. */
export class Hj212Server extends StationTcpListener {
  constructor(ctx: SessionContext) {
    const problems = ctx.problems ?? new ProblemLog(ctx.log);
    const shared = { ...ctx, problems };
    super({ protocol: PROTOCOL, sink: ctx.sink, log: ctx.log, limits: ctx.limits, problems, session: (write, remote) => new Hj212Session(shared, write, remote) });
  }
}

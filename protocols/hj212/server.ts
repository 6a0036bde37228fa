// TCP listener for HJ 212 stations (stations are the clients; many per port, each identified by MN).
// Each connection gets its own framer; bad frames are counted and skipped (one log line per peer and kind per
// minute), the connection stays up unless it sends nothing but garbage. Answers (9014/9011) go out only once
// the packet's readings are committed to the edge buffer.
import { ProblemLog, excerpt } from '../../core/problem-log.js';
import type { AdapterLogger, AdapterSink } from '../adapter.js';
import { DurableAnswers } from '../common/durable-answers.js';
import { StationTcpListener, peerOf, type StationLimits } from '../common/station-listener.js';
import { dataAnswer, requestAnswer } from './encode.js';
import { Hj212Framer } from './framer.js';
import { mapPacket } from './map.js';
import { Hj212ParseError, REQUEST_CNS, UPLOAD_CNS, parseSegment, wantsAnswer } from './parse.js';

export const PROTOCOL = 'hj212';

/** What a session needs to know about a registered station. */
export interface StationEntry {
  id: string;
  password: string;
  factors: Map<string, string[]>;
}

export interface SessionContext {
  sink: AdapterSink;
  log: AdapterLogger;
  station(mn: string): StationEntry | undefined;
  /** Rate-limited bad-input log shared by all connections of the listener (one per session when absent). */
  problems?: ProblemLog;
  limits?: StationLimits;
}

/** Handles one station connection: bytes in, samples/status/errors out, answers back. */
export class Hj212Session {
  private readonly framer = new Hj212Framer();
  private deviceId: string | undefined; // last authenticated device on this connection
  private readonly splitDataTime = new Map<string, string>(); // QN → DataTime of split packets
  private readonly problems: ProblemLog;
  private readonly peer: string;
  private readonly answers: DurableAnswers<string>;
  readonly remote: string;

  constructor(
    private readonly ctx: SessionContext,
    write: (data: string) => void,
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
    const samples = mapPacket(packet, station.id, station.factors, fallback);
    const stored = samples.length ? sink.samples(samples) : undefined;
    sink.status({ deviceId: station.id, ok: true, ts: Date.now() });
    if (wantsAnswer(packet)) {
      if (UPLOAD_CNS.has(packet.cn)) this.answers.send(stored, () => dataAnswer(packet));
      else if (REQUEST_CNS.has(packet.cn)) this.answers.send(stored, () => requestAnswer(packet));
    }
    log.debug({ protocol: PROTOCOL, deviceId: station.id, cn: packet.cn, qn: packet.qn, samples: samples.length }, 'hj212 packet');
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

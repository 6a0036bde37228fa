// TCP listener for HJ 212 stations (stations are the clients; many per port, each identified by MN).
// Each connection gets its own framer; bad frames are counted and skipped, the connection stays up.
import type { AdapterLogger, AdapterSink } from '../adapter.js';
import { StationTcpListener } from '../common/station-listener.js';
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
}

/** Handles one station connection: bytes in, samples/status/errors out, answers back. */
export class Hj212Session {
  private readonly framer = new Hj212Framer();
  private deviceId: string | undefined; // last authenticated device on this connection
  private readonly splitDataTime = new Map<string, string>(); // QN → DataTime of split packets
  readonly remote: string;

  constructor(
    private readonly ctx: SessionContext,
    private readonly write: (data: string) => void,
    remote = '',
  ) {
    this.remote = remote;
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
      const detail = `MN ${packet.mn} is not a registered station`;
      log.warn({ protocol: PROTOCOL, remote: this.remote, mn: packet.mn, cn: packet.cn }, 'hj212 packet refused: unknown MN');
      sink.error(PROTOCOL, 'unknown_mn', detail);
      return;
    }
    if (packet.pw !== station.password) {
      // The password itself is never logged.
      log.warn({ protocol: PROTOCOL, remote: this.remote, deviceId: station.id, mn: packet.mn }, 'hj212 packet refused: wrong password');
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
    if (samples.length) sink.samples(samples);
    sink.status({ deviceId: station.id, ok: true, ts: Date.now() });
    if (wantsAnswer(packet)) {
      if (UPLOAD_CNS.has(packet.cn)) this.write(dataAnswer(packet));
      else if (REQUEST_CNS.has(packet.cn)) this.write(requestAnswer(packet));
    }
    log.debug({ protocol: PROTOCOL, deviceId: station.id, cn: packet.cn, qn: packet.qn, samples: samples.length }, 'hj212 packet');
  }

  private reject(kind: string, detail: string, deviceId: string | undefined): void {
    this.ctx.log.warn({ protocol: PROTOCOL, remote: this.remote, deviceId, kind, detail }, 'hj212 frame rejected');
    this.ctx.sink.error(PROTOCOL, kind, detail, deviceId);
  }
}

/** A listening TCP server that runs one Hj212Session per connection. */
export class Hj212Server extends StationTcpListener {
  constructor(ctx: SessionContext) {
    super({ protocol: PROTOCOL, sink: ctx.sink, log: ctx.log, session: (write, remote) => new Hj212Session(ctx, write, remote) });
  }
}

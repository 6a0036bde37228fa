// SL 651 listeners: TCP (one session per connection) and UDP (one session per peer address).
// A session frames bytes, checks station/password/centre, reassembles SYN multi-packet reports,
// delivers samples and status, and confirms reports (M2 mode) when configured to — only once the report's
// readings are committed to the edge buffer. Bad input is logged at most once per peer and kind per minute.
import dgram from 'node:dgram';
import { ProblemLog, excerpt } from '../../core/problem-log.js';
import type { AdapterLogger, AdapterSink } from '../adapter.js';
import { DurableAnswers } from '../common/durable-answers.js';
import { StationTcpListener, feedSession, peerOf, type StationLimits, DEFAULT_STATION_LIMITS } from '../common/station-listener.js';
import type { HistoryTracker } from '../common/history-periods.js';
import { BackfillSession, type QueryOrder, type Sl651Backfill } from './backfill.js';
import { confirmation, timeRangeQuery } from './encode.js';
import { hexId } from './elements.js';
import { EOT, ESC, ETB, Sl651Framer, type Sl651Frame } from './framer.js';
import { mapMessage } from './map.js';
import { FN, REPORT_FNS, Sl651ParseError, parseBody } from './parse.js';

export const PROTOCOL = 'sl651';

export interface StationEntry {
  id: string;
  password?: string; // 4 upper-case hex digits
  centre?: number;
  elements: Map<string, string[]>;
  /** Report times the edge asks the station for again when missing (backfill.ts); none: no backfill. */
  backfill?: Sl651Backfill;
}

export interface SessionContext {
  sink: AdapterSink;
  log: AdapterLogger;
  station(address: string): StationEntry | undefined;
  /** Confirm every report (M2). */
  confirm: boolean;
  /** End character of confirmations: ESC keeps the station online, EOT lets it hang up. */
  confirmEnd: typeof ESC | typeof EOT;
  /** Rate-limited bad-input log shared by all connections of the listener (one per session when absent). */
  problems?: ProblemLog;
  limits?: StationLimits;
  /** Report times seen per station: missing ones are asked for with time-range queries (no backfill when absent). */
  history?: HistoryTracker;
}

interface Reassembly {
  total: number;
  parts: (Buffer | undefined)[];
  first: Sl651Frame;
  startedAt: number;
}

const REASSEMBLY_TIMEOUT_MS = 5 * 60_000;
/** Bytes of multi-packet parts a session holds at most (a whole SL 651 message is far smaller). */
const MAX_REASSEMBLY_BYTES = 64 * 1024;

export class Sl651Session {
  private readonly framer = new Sl651Framer();
  private deviceId: string | undefined;
  private readonly multi = new Map<string, Reassembly>(); // station:fn → parts
  private multiBytes = 0;
  private readonly problems: ProblemLog;
  private readonly peer: string;
  private readonly answers: DurableAnswers<Buffer>;
  private readonly backfill: BackfillSession | undefined;

  constructor(
    private readonly ctx: SessionContext,
    write: (data: Buffer) => void,
    readonly remote = '',
  ) {
    this.peer = peerOf(remote);
    this.problems = ctx.problems ?? new ProblemLog(ctx.log);
    this.answers = new DurableAnswers(write, (what, err) =>
      this.problems.report(this.peer, 'confirmation_withheld', `sl651 ${what}`, { protocol: PROTOCOL, remote: this.remote, deviceId: this.deviceId, err: (err as Error | undefined)?.message }),
    );
    if (ctx.history) this.backfill = new BackfillSession(ctx.history, (f, station, queries) => this.query(f, station, queries));
  }

  get garbageBytes(): number {
    return this.framer.garbageBytes;
  }

  onData(chunk: Uint8Array): void {
    for (const ev of this.framer.push(chunk)) {
      if (ev.ok) this.onFrame(ev.frame);
      else this.reject(ev.kind, ev.detail, this.deviceId);
    }
  }

  /** A datagram ended: a frame never continues in the next one, so a partial frame is garbage. */
  endOfDatagram(): void {
    const n = this.framer.discardPartial();
    if (n > 0) this.reject('bad_length', `datagram ended inside a frame (${n} bytes)`, this.deviceId);
  }

  private onFrame(f: Sl651Frame): void {
    const { sink, log } = this.ctx;
    if (!f.up) return this.reject('wrong_direction', `downlink frame (direction 1000) from station ${f.station}`, this.deviceId);
    const station = this.ctx.station(f.station);
    if (!station) {
      this.problems.report(this.peer, 'unknown_station', 'sl651 frame refused: unknown station', { protocol: PROTOCOL, remote: this.remote, station: f.station, fn: hexId(f.fn) });
      sink.error(PROTOCOL, 'unknown_station', `station ${f.station} is not registered`);
      return;
    }
    if (station.password !== undefined && f.password !== station.password) {
      this.problems.report(this.peer, 'auth_failure', 'sl651 frame refused: wrong password', { protocol: PROTOCOL, remote: this.remote, deviceId: station.id, station: f.station });
      sink.error(PROTOCOL, 'auth_failure', `wrong password for station ${f.station}`, station.id);
      sink.status({ deviceId: station.id, ok: false, reason: 'auth_failure', detail: 'SL 651 password does not match the device record', ts: Date.now() });
      return;
    }
    if (station.centre !== undefined && f.centre !== station.centre) {
      return this.reject('wrong_centre', `frame addressed to centre ${hexId(f.centre)}, expected ${hexId(station.centre)}`, station.id);
    }
    this.deviceId = station.id;
    let body = f.body;
    if (f.packet) {
      const whole = this.reassemble(f, station.id);
      if (!whole) return;
      body = whole;
    }
    let msg;
    try {
      msg = parseBody(f.fn, body, f.mode);
    } catch (err) {
      if (!(err instanceof Sl651ParseError)) throw err;
      return this.reject(err.kind, `fn ${hexId(f.fn)}: ${err.message}`, station.id);
    }
    const admitted = this.backfill?.admit(f, station, msg);
    if (admitted && admitted.elements.length < msg.elements.length && f.fn === FN.TIME_RANGE) {
      log.debug({ protocol: PROTOCOL, deviceId: station.id, values: msg.elements.length - admitted.elements.length }, 'sl651 time-range values already held: not stored again');
    }
    const samples = mapMessage(admitted ? { ...msg, elements: admitted.elements } : msg, station.id, station.elements);
    const stored = samples.length ? sink.samples(samples) : undefined;
    sink.status({ deviceId: station.id, ok: true, ts: Date.now() });
    if (this.ctx.confirm && REPORT_FNS.has(f.fn) && f.fn !== FN.REALTIME_QUERY) {
      const serial = msg.serial;
      this.answers.send(stored, () => confirmation(f, serial, Date.now(), this.ctx.confirmEnd));
    }
    admitted?.stored(stored || undefined);
    log.debug({ protocol: PROTOCOL, deviceId: station.id, fn: hexId(f.fn), serial: msg.serial, samples: samples.length }, 'sl651 frame');
  }

  /** Sends time-range queries (38H) in the frame's mode, after the confirmations already on their way. */
  private query(f: Sl651Frame, station: StationEntry, queries: QueryOrder[]): void {
    const to = { mode: f.mode, centre: f.centre, station: f.station, password: station.password ?? f.password };
    for (const q of queries) this.answers.send(undefined, () => timeRangeQuery(to, { serial: 0, sendTime: Date.now(), ...q }));
    const iso = (t: number) => new Date(t).toISOString();
    const windows = [...new Set(queries.map((q) => `${iso(q.start)}/${iso(q.end)}`))];
    this.ctx.log.info(
      { protocol: PROTOCOL, deviceId: station.id, queries: queries.length, windows: windows.slice(0, 10).join(' ') + (windows.length > 10 ? ' …' : ''), stepS: queries[0]!.stepMs / 1000 },
      'sl651 time-range data requested',
    );
  }

  /** Collects SYN packets; returns the joined body when all have arrived. */
  private reassemble(f: Sl651Frame, deviceId: string): Buffer | undefined {
    const p = f.packet as NonNullable<Sl651Frame['packet']>;
    if (p.total < 1 || p.seq < 1 || p.seq > p.total) {
      this.reject('malformed', `packet ${p.seq} of ${p.total} is out of range`, deviceId);
      return undefined;
    }
    const key = `${f.station}:${f.fn}`;
    let r = this.multi.get(key);
    const now = Date.now();
    if (!r || r.total !== p.total || p.seq === 1 || now - r.startedAt > REASSEMBLY_TIMEOUT_MS) {
      if (r) this.dropReassembly(key, r);
      r = { total: p.total, parts: new Array(p.total).fill(undefined), first: f, startedAt: now };
      this.multi.set(key, r);
    }
    this.multiBytes += f.body.length - (r.parts[p.seq - 1]?.length ?? 0);
    r.parts[p.seq - 1] = f.body;
    if (this.multiBytes > MAX_REASSEMBLY_BYTES) {
      this.dropReassembly(key, r);
      this.reject('incomplete_multipacket', `fn ${hexId(f.fn)}: multi-packet parts exceed ${MAX_REASSEMBLY_BYTES} bytes; dropped`, deviceId);
      return undefined;
    }
    if (f.end === ETB && p.seq < p.total) return undefined; // more to come
    const missing = r.parts.flatMap((x, i) => (x ? [] : [i + 1]));
    this.dropReassembly(key, r);
    if (missing.length) {
      this.reject('incomplete_multipacket', `fn ${hexId(f.fn)}: packets ${missing.join(',')} of ${p.total} missing`, deviceId);
      return undefined;
    }
    return Buffer.concat(r.parts as Buffer[]);
  }

  private dropReassembly(key: string, r: Reassembly): void {
    for (const part of r.parts) this.multiBytes -= part?.length ?? 0;
    this.multi.delete(key);
  }

  private reject(kind: string, detail: string, deviceId: string | undefined): void {
    this.problems.report(this.peer, kind, 'sl651 frame rejected', { protocol: PROTOCOL, remote: this.remote, deviceId, kind, detail: excerpt(detail, 160) });
    this.ctx.sink.error(PROTOCOL, kind, detail, deviceId);
  }
}

/** The context with one problem log for all sessions of a listener, so rate limits hold across connections. */
const shared = (ctx: SessionContext): SessionContext & { problems: ProblemLog } => ({ ...ctx, problems: ctx.problems ?? new ProblemLog(ctx.log) });

export class Sl651TcpServer extends StationTcpListener {
  constructor(ctx: SessionContext) {
    const c = shared(ctx);
    super({ protocol: PROTOCOL, transport: 'tcp', sink: c.sink, log: c.log, limits: c.limits, problems: c.problems, session: (write, remote) => new Sl651Session(c, write, remote) });
  }
}

const MAX_UDP_PEERS = 4096;

export class Sl651UdpServer {
  private readonly socket = dgram.createSocket('udp4');
  private readonly sessions = new Map<string, Sl651Session>();
  private readonly ctx: SessionContext & { problems: ProblemLog };

  constructor(ctx: SessionContext) {
    this.ctx = shared(ctx);
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket.on('error', (err) => ctx.log.error({ protocol: PROTOCOL, err: err.message }, 'sl651 udp error'));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, host, () => {
        this.socket.off('error', reject);
        resolve(this.socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      if (this.sessions.size >= MAX_UDP_PEERS) this.sessions.delete(this.sessions.keys().next().value as string);
      session = new Sl651Session(this.ctx, (data) => this.socket.send(data, rinfo.port, rinfo.address), key);
      this.sessions.set(key, session);
    }
    feedSession({ protocol: PROTOCOL, sink: this.ctx.sink, log: this.ctx.log }, session, msg, key);
    session.endOfDatagram();
    const max = (this.ctx.limits ?? DEFAULT_STATION_LIMITS).maxGarbageBytes;
    if (session.garbageBytes >= max) {
      // No connection to close: forget the peer's session (its state) and count it like a closed connection.
      this.sessions.delete(key);
      this.ctx.sink.error(PROTOCOL, 'garbage_closed', `${key} (udp): session dropped after ${session.garbageBytes} bytes without a valid frame`);
      this.ctx.problems.report(rinfo.address, 'garbage_closed', 'sl651 udp peer sent only garbage; session dropped', { protocol: PROTOCOL, remote: key });
    }
  }
}

// The TCP side of the "stations dial in" protocols (HJ 212, SL 651): the edge listens, many stations
// connect to one port, and each connection gets its own protocol session. A bug in a session is counted
// and logged, never thrown into the socket's event loop. Bad input costs bounded memory and log: framers hold
// at most one frame, problem lines are rate-limited per peer address and kind (core/problem-log.ts), and a
// connection that sends nothing but garbage for `maxGarbageBytes` is closed (counted as `garbage_closed`).
import net from 'node:net';
import { ProblemLog } from '../../core/problem-log.js';
import type { AdapterLogger, AdapterSink } from '../adapter.js';

/** One station connection's protocol state: bytes in, answers out through the `write` it was made with. */
export interface StationSession {
  onData(chunk: Buffer): void;
  /** Framing garbage received since the last good frame (bytes); the listener closes connections that send only this. */
  readonly garbageBytes: number;
}

/** Sends an answer to the station: strings as latin1 (one char per byte), bytes as they are. */
export type StationWrite = (data: string | Uint8Array) => void;

/** Limits every station listener takes (protocols.<name>.maxGarbageBytes / .maxConnections). */
export interface StationLimits {
  /** Close a connection after this many bytes of framing garbage without a good frame. Default 64 KiB. */
  maxGarbageBytes: number;
  /** Concurrent TCP connections; more are refused by the OS listener. Default 1024. */
  maxConnections: number;
}

export const DEFAULT_STATION_LIMITS: StationLimits = { maxGarbageBytes: 64 * 1024, maxConnections: 1024 };

export interface StationListenerOptions {
  protocol: string;
  sink: AdapterSink;
  log: AdapterLogger;
  /** Makes the session for a new connection; `remote` is "address:port". */
  session: (write: StationWrite, remote: string) => StationSession;
  /** Named in log messages when the protocol also listens on another transport (e.g. "tcp"). */
  transport?: string;
  limits?: StationLimits;
  /** The protocol's rate-limited problem log (shared with its sessions); one is made when absent. */
  problems?: ProblemLog;
}

/** Feeds a chunk to a session; an exception (our bug, not bad input) is counted as `internal` and logged. */
export function feedSession(o: Pick<StationListenerOptions, 'protocol' | 'sink' | 'log'>, session: StationSession, chunk: Buffer, remote: string): void {
  try {
    session.onData(chunk);
  } catch (err) {
    o.sink.error(o.protocol, 'internal', (err as Error).message);
    o.log.error({ protocol: o.protocol, remote, err: (err as Error).message }, `${o.protocol} session error`);
  }
}

/** The address part of "address:port" (IPv4 or IPv6): problems are rate-limited per host, not per source port. */
export function peerOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i > 0 ? remote.slice(0, i) : remote;
}

/** A ProblemLog that writes at info level: for routine but floodable lines such as connects and disconnects. */
export function infoProblemLog(log: AdapterLogger): ProblemLog {
  return new ProblemLog({ warn: (obj, msg) => log.info(obj, msg) });
}

export class StationTcpListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly limits: StationLimits;
  private readonly problems: ProblemLog;
  private readonly connectionLog: ProblemLog;

  constructor(private readonly o: StationListenerOptions) {
    this.limits = o.limits ?? DEFAULT_STATION_LIMITS;
    this.problems = o.problems ?? new ProblemLog(o.log);
    this.connectionLog = infoProblemLog(o.log);
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = this.limits.maxConnections;
  }

  /** Binds and resolves with the bound port (useful with port 0); rejects if binding fails. */
  listen(host: string, port: number): Promise<number> {
    const { protocol, log, transport } = this.o;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => log.error({ protocol, err: err.message }, `${protocol}${transport ? ` ${transport}` : ''} listener error`));
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const { protocol, transport, sink } = this.o;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const peer = socket.remoteAddress ?? remote;
    const on = transport ? ` (${transport})` : '';
    this.sockets.add(socket);
    socket.setKeepAlive(true, 60_000);
    const session = this.o.session((data) => (typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data)), remote);
    this.connectionLog.report(peer, 'connected', `${protocol} station connected${on}`, { protocol, remote });
    socket.on('data', (chunk) => {
      feedSession(this.o, session, chunk, remote);
      if (session.garbageBytes >= this.limits.maxGarbageBytes && !socket.destroyed) {
        sink.error(protocol, 'garbage_closed', `${remote}: closed after ${session.garbageBytes} bytes without a valid frame`);
        this.problems.report(peer, 'garbage_closed', `${protocol} connection closed: only garbage`, { protocol, remote, garbageBytes: session.garbageBytes });
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.o.log.debug({ protocol, remote, err: err.message }, `${protocol} socket error`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.connectionLog.report(peer, 'disconnected', `${protocol} station disconnected${on}`, { protocol, remote });
    });
  }
}

/** The `host` and `port` settings every station listener takes (protocols.<name>.host / .port). */
export function parseListenAddress(protocol: string, s: Record<string, unknown>, defaultPort: number): { host: string; port: number } {
  const host = s.host ?? '0.0.0.0';
  const port = s.port ?? defaultPort;
  if (typeof host !== 'string' || host === '') throw new Error(`protocols.${protocol}.host: must be a host name or address`);
  if (!isPort(port)) throw new Error(`protocols.${protocol}.port: must be an integer 0-65535`);
  return { host, port };
}

/** `maxGarbageBytes` and `maxConnections` of protocols.<name>, with their defaults. */
export function parseStationLimits(protocol: string, s: Record<string, unknown>): StationLimits {
  const out = { ...DEFAULT_STATION_LIMITS };
  for (const key of ['maxGarbageBytes', 'maxConnections'] as const) {
    const v = s[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`protocols.${protocol}.${key}: must be a positive integer`);
    out[key] = v;
  }
  return out;
}

export function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

// The TCP side of the "stations dial in" protocols (HJ 212, SL 651): the edge listens, many stations
// connect to one port, and each connection gets its own protocol session. A bug in a session is counted
// and logged, never thrown into the socket's event loop.
import net from 'node:net';
import type { AdapterLogger, AdapterSink } from '../adapter.js';

/** One station connection's protocol state: bytes in, answers out through the `write` it was made with. */
export interface StationSession {
  onData(chunk: Buffer): void;
}

/** Sends an answer to the station: strings as latin1 (one char per byte), bytes as they are. */
export type StationWrite = (data: string | Uint8Array) => void;

export interface StationListenerOptions {
  protocol: string;
  sink: AdapterSink;
  log: AdapterLogger;
  /** Makes the session for a new connection; `remote` is "address:port". */
  session: (write: StationWrite, remote: string) => StationSession;
  /** Named in log messages when the protocol also listens on another transport (e.g. "tcp"). */
  transport?: string;
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

export class StationTcpListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly o: StationListenerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
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
    const { protocol, log, transport } = this.o;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sockets.add(socket);
    socket.setKeepAlive(true, 60_000);
    const session = this.o.session((data) => (typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data)), remote);
    log.info({ protocol, remote }, `${protocol} station connected${transport ? ` (${transport})` : ''}`);
    socket.on('data', (chunk) => feedSession(this.o, session, chunk, remote));
    socket.on('error', (err) => log.debug({ protocol, remote, err: err.message }, `${protocol} socket error`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      log.info({ protocol, remote }, `${protocol} station disconnected`);
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

export function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

// A simulated station's TCP link to the centre: dials, redials 1 s after the centre drops the connection
// (unless stopped or told not to), and hangs up politely (end, then destroy if the peer lingers).
import net from 'node:net';

export interface StationLinkOptions {
  host: string;
  port: number;
  /** Redial after the centre drops the connection (default true). */
  reconnect?: boolean;
  /** Runs on every (re)connection, before any of its bytes reach onData. */
  onConnect(): void;
  onData(chunk: Buffer): void;
}

export class StationTcpLink {
  private socket: net.Socket | undefined;
  private stopped = false;

  constructor(private readonly o: StationLinkOptions) {
    this.connect();
  }

  /** Writes if connected (strings as latin1); returns whether anything was written. */
  write(data: string | Uint8Array): boolean {
    const s = this.socket;
    if (!s || !s.writable) return false;
    if (typeof data === 'string') s.write(data, 'latin1');
    else s.write(data);
    return true;
  }

  /** Cuts the connection as a lost link would; the station redials a second later (if reconnect is on). */
  drop(): void {
    this.socket?.destroy();
  }

  async close(): Promise<void> {
    this.stopped = true;
    const s = this.socket;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 500).unref();
    });
  }

  private connect(): void {
    const s = net.connect({ host: this.o.host, port: this.o.port }, () => this.o.onConnect());
    this.socket = s;
    s.on('data', (chunk) => this.o.onData(chunk));
    s.on('error', () => undefined); // refused or reset: the close handler redials
    s.on('close', () => {
      if (!this.stopped && (this.o.reconnect ?? true)) setTimeout(() => this.connect(), 1000).unref();
    });
  }
}

// SIP for the GB/T 28181 device: the `sip` package (kirm/sip.js) parses and writes messages and runs the
// RFC 3261 transaction layer (retransmissions over UDP, timers E/F/G/H/J, response absorption); this module owns
// the transports — one UDP socket, or TCP connections with Content-Length framing — because the package's own
// transports drop unparseable messages without a trace, crash the process on a bind error and print to stdout.
// Why this package and not another: README.md ("SIP stack").
import dgram from 'node:dgram';
import net from 'node:net';
import sip, { type SipConnection, type SipMessage, type SipTransactionLayer } from 'sip';

export type { SipMessage } from 'sip';
export type SipTransport = 'udp' | 'tcp';

export interface Peer {
  address: string;
  port: number;
}

export interface SipEndpointOptions {
  transport: SipTransport;
  /** Address to bind (UDP socket or TCP listener). */
  host: string;
  /** Port to bind; 0 = any (tests). */
  port: number;
  /** Our address as the platform reaches it (Via); asked at every send, as a 4G address can change. */
  advertisedAddress: () => string;
  /** Called for every new request (not for retransmissions, which the transaction layer absorbs). */
  onRequest: (rq: SipMessage, from: Peer) => void;
  /** Called for input that is not a SIP message; the input is dropped. */
  onMalformed: (from: Peer, detail: string) => void;
  /**
   * Who may send requests. Others get 403 without a transaction (a flood costs no state) and `onRefused`.
   * Responses are matched to our own transactions whoever sends them.
   */
  allow?: (from: Peer) => boolean;
  onRefused?: (rq: SipMessage, from: Peer) => void;
  /** Largest message accepted on a TCP connection (headers + body); beyond it the connection is closed. */
  maxMessageBytes?: number;
}

const MAX_MESSAGE_BYTES = 256 * 1024;
/** TCP connections we accept at once, and how long an accepted one may stay silent. */
const MAX_INBOUND_CONNECTIONS = 32;
const INBOUND_IDLE_MS = 10 * 60_000;

/** What the transaction layer needs to send: every message goes out as latin1 (one char per byte). */
function wire(m: SipMessage): Buffer {
  return Buffer.from(sip.stringify(m), 'latin1');
}

/** Structural check of a parsed message (the same rule the package applies internally). */
export function sipMessageProblem(m: SipMessage | undefined): string | undefined {
  if (!m) return 'not a SIP message (no start line or headers)';
  if (!m.method && !(m.status && m.status >= 100 && m.status <= 699)) return 'neither a request nor a response';
  const h = m.headers;
  if (!Array.isArray(h.via) || !h.via.length) return 'no Via header';
  for (const k of ['call-id', 'to', 'from', 'cseq']) if (!h[k]) return `no ${k} header`;
  if (typeof h.cseq !== 'object' || !Number.isFinite(h.cseq.seq)) return 'bad CSeq header';
  return undefined;
}

interface Pending {
  resolve: (rs: SipMessage) => void;
  socket?: net.Socket;
  transaction?: { shutdown(): void };
}

/**
 * A SIP user agent endpoint (UAC + UAS) on one transport. Requests out: `request()` resolves with the final
 * response (408 from timer F, 503 when the TCP connection fails). Requests in: `onRequest`, answered with `respond()`.
 */
export class SipEndpoint {
  private udp?: dgram.Socket;
  private server?: net.Server;
  private readonly connections = new Map<string, net.Socket>();
  private readonly transactions: SipTransactionLayer = sip.makeTransactionLayer({});
  private readonly pending = new Set<Pending>();
  private boundPort = 0;
  private stopped = false;

  constructor(private readonly opts: SipEndpointOptions) {}

  get transport(): SipTransport {
    return this.opts.transport;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Binds the UDP socket or the TCP listener; rejects (no crash) with a clear message when the port is taken. */
  async start(): Promise<number> {
    try {
      return await this.bind();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`cannot bind SIP ${this.opts.transport.toUpperCase()} ${this.opts.host}:${this.opts.port}: ${e.code ?? e.message}`);
    }
  }

  private async bind(): Promise<number> {
    if (this.opts.transport === 'udp') {
      const s = dgram.createSocket('udp4');
      s.on('message', (data, rinfo) => this.onData(data, { address: rinfo.address, port: rinfo.port }, undefined));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(this.opts.port, this.opts.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('error', () => undefined); // sends to unreachable peers: the transaction's timers decide
      this.udp = s;
      this.boundPort = s.address().port;
    } else {
      const srv = net.createServer((sock) => {
        sock.setTimeout(INBOUND_IDLE_MS, () => sock.destroy());
        this.adopt(sock);
      });
      srv.maxConnections = MAX_INBOUND_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(this.opts.port, this.opts.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      srv.on('error', () => undefined);
      this.server = srv;
      this.boundPort = (srv.address() as net.AddressInfo).port;
    }
    return this.boundPort;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.transactions.destroy();
    for (const p of this.pending) p.resolve(sip.makeResponse({ headers: {} } as SipMessage, 503, 'Service Unavailable (stopping)'));
    this.pending.clear();
    for (const s of this.connections.values()) s.destroy();
    this.connections.clear();
    await new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r()));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.udp = undefined;
    this.server = undefined;
  }

  /**
   * Sends a request to `to` and resolves with its final response. The caller fills From/To/Call-ID/CSeq/Contact;
   * Via (with a fresh branch) is set here.
   */
  request(rq: SipMessage, to: Peer): Promise<SipMessage> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(sip.makeResponse(rq, 503, 'Service Unavailable (stopping)'));
      const protocol = this.opts.transport.toUpperCase();
      rq.headers.via = [{ version: '2.0', protocol, host: this.opts.advertisedAddress(), port: this.boundPort, params: protocol === 'UDP' ? { rport: null } : {} }];
      const p: Pending = { resolve: () => undefined };
      let settled = false;
      p.resolve = (rs) => {
        if (settled) return;
        settled = true;
        this.pending.delete(p);
        resolve(rs);
      };
      this.pending.add(p);
      let cn: SipConnection;
      try {
        cn = this.connectionTo(to, p);
      } catch (err) {
        return p.resolve(sip.makeResponse(rq, 503, `Service Unavailable (${(err as Error).message})`));
      }
      p.transaction = this.transactions.createClientTransaction(cn, rq, (rs) => {
        if ((rs.status ?? 0) >= 200) p.resolve(rs);
      });
    });
  }

  /** Answers a request received through onRequest (through its server transaction). */
  respond(rq: SipMessage, status: number, reason: string, extension: { headers?: Record<string, unknown>; content?: string } = {}): void {
    const rs = sip.makeResponse(rq, status, reason, extension);
    const t = this.transactions.getServer(rq);
    t?.send?.(rs);
  }

  /** Sends a message outside any transaction (ACK for a 2xx, 2xx retransmissions). */
  sendStateless(m: SipMessage, to: Peer): void {
    if (m.method && !m.headers.via?.length) {
      m.headers.via = [{ version: '2.0', protocol: this.opts.transport.toUpperCase(), host: this.opts.advertisedAddress(), port: this.boundPort, params: { branch: sip.generateBranch() } }];
    }
    const cn = this.connectionTo(to);
    cn.send(m);
    cn.release();
  }

  private connectionTo(to: Peer, p?: Pending): SipConnection {
    if (this.opts.transport === 'udp') {
      const udp = this.udp;
      if (!udp) throw new Error('not started');
      return { protocol: 'UDP', release: () => undefined, send: (m) => udp.send(wire(m), to.port, to.address) };
    }
    const key = `${to.address}:${to.port}`;
    let sock = this.connections.get(key);
    if (!sock || sock.destroyed) {
      sock = net.connect({ host: to.address, port: to.port });
      this.adopt(sock, key);
    }
    const s = sock;
    if (p) p.socket = s;
    return { protocol: 'TCP', release: () => undefined, send: (m) => void (s.destroyed || s.write(wire(m))) };
  }

  /** Frames SIP messages on a TCP connection by Content-Length (RFC 3261 §18.3). */
  private adopt(sock: net.Socket, key?: string): void {
    const peer = (): Peer => ({ address: (sock.remoteAddress ?? '').replace(/^::ffff:/, ''), port: sock.remotePort ?? 0 });
    const k = key ?? `${peer().address}:${peer().port}`;
    this.connections.set(k, sock);
    sock.setNoDelay(true);
    const max = this.opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        // CRLF keep-alives (RFC 5626) between messages
        let start = 0;
        while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
        if (start) buf = buf.subarray(start);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > max) {
            this.opts.onMalformed(peer(), `no end of headers within ${max} bytes; connection closed`);
            sock.destroy();
          }
          return;
        }
        const head = buf.subarray(0, end).toString('latin1');
        const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
        const length = m ? Number(m[1]) : 0;
        if (end + 4 + length > max) {
          this.opts.onMalformed(peer(), `message of ${end + 4 + length} bytes exceeds ${max}; connection closed`);
          sock.destroy();
          return;
        }
        if (buf.length < end + 4 + length) return;
        const msg = buf.subarray(0, end + 4 + length);
        buf = buf.subarray(end + 4 + length);
        this.onData(msg, peer(), sock);
      }
    });
    const fail = (why: string) => {
      if (this.connections.get(k) === sock) this.connections.delete(k);
      for (const p of this.pending) {
        if (p.socket !== sock) continue;
        p.transaction?.shutdown();
        p.resolve(sip.makeResponse({ headers: {} } as SipMessage, 503, `Service Unavailable (${why})`));
      }
    };
    sock.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    sock.on('close', () => fail('connection closed'));
  }

  /** A response back the way its request came: the same TCP connection, or the UDP source address. */
  private reply(r: SipMessage, to: Peer, sock: net.Socket | undefined): void {
    if (sock) {
      if (!sock.destroyed) sock.write(wire(r));
    } else this.udp?.send(wire(r), to.port, to.address);
  }

  private onData(data: Buffer, from: Peer, sock: net.Socket | undefined): void {
    if (this.stopped) return;
    let m: SipMessage | undefined;
    try {
      m = sip.parse(data);
    } catch {
      m = undefined;
    }
    const problem = sipMessageProblem(m);
    if (problem || !m) {
      this.opts.onMalformed(from, problem ?? 'unparseable');
      return;
    }
    if (m.method) {
      if (this.opts.allow && !this.opts.allow(from)) {
        if (m.method !== 'ACK') this.reply(sip.makeResponse(m, 403, 'Forbidden'), from, sock);
        this.opts.onRefused?.(m, from);
        return;
      }
      const via = m.headers.via[0];
      via.params.received = from.address;
      if ('rport' in via.params) via.params.rport = from.port;
      const existing = this.transactions.getServer(m);
      if (existing) {
        existing.message?.(m);
        return;
      }
      if (m.method !== 'ACK') {
        const cn: SipConnection = { protocol: sock ? 'TCP' : 'UDP', release: () => undefined, send: (r) => this.reply(r, from, sock) };
        this.transactions.createServerTransaction(m, cn);
      }
      this.opts.onRequest(m, from);
    } else {
      this.transactions.getClient(m)?.message?.(m, from);
    }
  }
}

/** The local IPv4 address the kernel routes to `host` through (for Via/Contact/SDP when bound to 0.0.0.0). */
export async function localAddressTowards(host: string, port: number): Promise<string> {
  const s = dgram.createSocket('udp4');
  try {
    // connect() on a UDP socket only selects the route; nothing is sent
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(port, host, () => resolve());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}

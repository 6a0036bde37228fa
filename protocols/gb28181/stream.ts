// One live-view stream: ffmpeg pulls the camera's RTSP stream and remuxes it (-c copy, no transcoding) into
// MPEG-TS on stdout; we cut it into frames, frame them as GB/T 28181 PS, packetize as RTP and send them to the
// platform over UDP or TCP (RFC 4571). Stopping kills ffmpeg and resolves only once the process is reaped.
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { psFrame, rfc4571Frame, RtpPacketizer, TsDemuxer, type VideoCodec } from './ps.js';
import type { PlayOffer } from './sdp.js';

/** Bytes queued on a TCP media connection beyond which frames are dropped until the next key frame. */
const TCP_BACKLOG_LIMIT = 2 * 1024 * 1024;
/** How long a platform that said a=setup:active has to connect to our media port. */
const ACCEPT_TIMEOUT_MS = 15_000;

export interface StreamStats {
  frames: number;
  keyframes: number;
  packets: number;
  bytes: number;
  droppedFrames: number;
  codec?: VideoCodec;
}

/** Where RTP goes: bound before the SDP answer (we must name our port), connected/used after ACK. */
export class MediaOutput {
  private udp?: dgram.Socket;
  private listener?: net.Server;
  private socket?: net.Socket;
  /** A platform that is 'active' may connect before its ACK is processed: held here until connect(). */
  private accepted?: net.Socket;
  private onAccept?: (sock: net.Socket) => void;
  private closed = false;
  port = 9; // RFC 4145: an active TCP endpoint names the discard port

  private constructor(
    readonly offer: PlayOffer,
    private readonly allowedPeers: string[],
  ) {}

  /** Binds what the answer must name: a UDP socket, or (platform active) a TCP listener. */
  static async open(offer: PlayOffer, bindHost: string, allowedPeers: string[]): Promise<MediaOutput> {
    const m = new MediaOutput(offer, allowedPeers);
    if (offer.transport === 'udp') {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, bindHost, () => resolve());
      });
      s.on('error', () => undefined); // ICMP unreachable and the like: the platform's BYE ends the stream
      m.udp = s;
      m.port = s.address().port;
    } else if (offer.setup === 'active') {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, bindHost, () => resolve());
      });
      srv.on('connection', (sock) => {
        sock.on('error', () => undefined);
        const from = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
        // the media port is open to the platform only, and for one connection
        if (!m.allowedPeers.includes(from) || m.accepted || m.closed) {
          sock.destroy();
          return;
        }
        m.accepted = sock;
        m.onAccept?.(sock);
      });
      m.listener = srv;
      m.port = (srv.address() as net.AddressInfo).port;
    }
    return m;
  }

  /** TCP: connect to the platform (it is passive) or wait for its connection (it is active). */
  async connect(): Promise<void> {
    if (this.offer.transport === 'udp') return;
    if (this.offer.setup === 'active') {
      const srv = this.listener!;
      this.socket =
        this.accepted ??
        (await new Promise<net.Socket>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the platform did not connect to media port ${this.port} within ${ACCEPT_TIMEOUT_MS / 1000} s`)), ACCEPT_TIMEOUT_MS);
          this.onAccept = (sock) => {
            clearTimeout(timer);
            resolve(sock);
          };
        }));
      srv.close();
      this.listener = undefined;
    } else {
      const sock = net.connect({ host: this.offer.address, port: this.offer.port });
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('error', (err) => reject(new Error(`cannot connect to the platform's media port ${this.offer.address}:${this.offer.port}: ${err.message}`)));
      });
      this.socket = sock;
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', () => undefined);
  }

  /** Resolves when the TCP peer goes away (never for UDP). */
  onClose(f: () => void): void {
    this.socket?.once('close', () => {
      if (!this.closed) f();
    });
  }

  /** Whether a TCP connection is backed up past the limit (then the sender skips to the next key frame). */
  get congested(): boolean {
    return (this.socket?.writableLength ?? 0) > TCP_BACKLOG_LIMIT;
  }

  send(rtp: Buffer[]): void {
    if (this.closed) return;
    if (this.udp) {
      for (const p of rtp) this.udp.send(p, this.offer.port, this.offer.address);
    } else if (this.socket && !this.socket.destroyed) {
      this.socket.write(Buffer.concat(rtp.map(rfc4571Frame)));
    }
  }

  close(): void {
    this.closed = true;
    this.accepted?.destroy();
    this.udp?.close();
    this.listener?.close();
    this.socket?.destroy();
  }
}

export interface LiveStreamOptions {
  rtspUrl: string;
  ffmpegPath?: string;
  output: MediaOutput;
  /** Called once when the stream ends by itself (camera stream failed, platform closed TCP), with why. */
  onEnd: (reason: string) => void;
  /** ffmpeg's stderr lines (errors only: -loglevel error). */
  onStderr?: (line: string) => void;
}

export class LiveStream {
  readonly stats: StreamStats = { frames: 0, keyframes: 0, packets: 0, bytes: 0, droppedFrames: 0 };
  private cmd?: ReturnType<typeof ffmpeg>;
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  private stopping = false;
  private skipToKeyframe = false;
  private readonly rtp: RtpPacketizer;

  constructor(private readonly opts: LiveStreamOptions) {
    this.rtp = new RtpPacketizer(opts.output.offer.ssrc);
  }

  /** The ffmpeg process id while it runs (for status and tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    const demux = new TsDemuxer((au) => {
      this.stats.codec = au.codec;
      if (this.opts.output.congested || (this.skipToKeyframe && !au.keyframe)) {
        this.skipToKeyframe = true;
        this.stats.droppedFrames++;
        return;
      }
      this.skipToKeyframe = false;
      const packets = this.rtp.packets(psFrame(au), au.pts);
      this.opts.output.send(packets);
      this.stats.frames++;
      if (au.keyframe) this.stats.keyframes++;
      this.stats.packets += packets.length;
      for (const p of packets) this.stats.bytes += p.length;
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        demux.push(chunk);
        cb();
      },
    });
    sink.on('error', () => undefined);
    const cmd = ffmpeg({ stdoutLines: 0 })
      .input(this.opts.rtspUrl)
      // spread: fluent-ffmpeg splits a lone option string on its space
      .inputOptions(...['-hide_banner', '-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-timeout', '10000000'])
      .output(sink, { end: true })
      .outputOptions(...[
        '-map', '0:v:0', '-c:v', 'copy',
        // RTSP cameras often send SPS/PPS only in the SDP: repeat them before every key frame
        '-bsf:v', 'dump_extra=freq=keyframe',
        '-f', 'mpegts', '-muxdelay', '0', '-muxpreload', '0', '-flush_packets', '1',
      ]);
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    this.cmd = cmd;
    this.exited = new Promise<void>((resolve) => {
      cmd.on('start', () => {
        this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
        // resolved on 'exit' of the child itself: the process is reaped by then
        this.proc?.once('exit', () => resolve());
        if (this.stopping) this.kill(); // stop() came before the process existed
      });
      cmd.on('stderr', (line: string) => this.opts.onStderr?.(line));
      const ended = (why: string) => {
        if (!this.proc) resolve();
        if (!this.stopping) this.opts.onEnd(why);
      };
      cmd.on('end', () => ended('the camera stream ended'));
      cmd.on('error', (err: Error) => ended(`ffmpeg: ${err.message.split('\n')[0]}`));
    });
    this.opts.output.onClose(() => {
      if (!this.stopping) this.opts.onEnd('the platform closed the media connection');
    });
    cmd.run();
  }

  /** Kills ffmpeg and closes the media socket; resolves once the ffmpeg process has exited and been reaped. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.opts.output.close();
    this.kill();
    await this.exited;
  }

  private kill(): void {
    if (!this.cmd || !this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      this.cmd.kill('SIGKILL'); // -c copy holds no state worth a graceful end
    } catch {
      /* already gone */
    }
  }
}

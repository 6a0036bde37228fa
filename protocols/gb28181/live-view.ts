// Live view (GB/T 28181 §9.2 实时视音频点播): INVITE with the platform's SDP offer → refusal or 200 OK with our
// answer → ACK starts a LiveStream (ffmpeg remux → PS → RTP) → BYE (either side) stops it and reaps ffmpeg.
import { excerpt, type ProblemLog } from '../../core/problem-log.js';
import type { Gb28181Settings } from './config.js';
import type { ChannelSource, DeviceLogger, Gb28181Counters, StreamView } from './device.js';
import { dialogFrom, inDialogRequest, newTag, userOf, USER_AGENT, type Dialog } from './dialog.js';
import { buildPlayAnswer, parsePlayOffer } from './sdp.js';
import type { Peer, SipEndpoint, SipMessage } from './sip.js';
import { LiveStream, MediaOutput } from './stream.js';

const T1 = 500;
const T2 = 4000;
const ACK_WAIT_MS = 32_000;

interface Session {
  dialog: Dialog;
  channelId: string;
  output: MediaOutput;
  stream?: LiveStream;
  invite: SipMessage;
  answer: { status: number; reason: string; headers: Record<string, unknown>; content: string };
  acked: boolean;
  retransmit?: NodeJS.Timeout;
  startedAt: number;
  ended: boolean;
}

export interface LiveViewDeps {
  settings: Gb28181Settings;
  sip: () => SipEndpoint;
  platform: () => Peer;
  advertised: () => string;
  channels: ChannelSource;
  counters: Gb28181Counters;
  problems: ProblemLog;
  log: DeviceLogger;
  malformed: (kind: 'sdp', peer: string, detail: string) => void;
}

export class LiveViews {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly d: LiveViewDeps) {}

  views(): StreamView[] {
    return [...this.sessions.values()].map((x) => ({
      callId: x.dialog.callId,
      channelId: x.channelId,
      transport: x.output.offer.transport,
      setup: x.output.offer.setup,
      ssrc: x.output.offer.ssrc,
      destination: `${x.output.offer.address}:${x.output.offer.port}`,
      pid: x.stream?.pid,
      startedAt: x.startedAt,
      stats: x.stream?.stats ?? { frames: 0, keyframes: 0, packets: 0, bytes: 0, droppedFrames: 0 },
    }));
  }

  /** Ends the streams of a channel (its camera went away), telling the platform with BYE. */
  async endChannel(channelId: string, why: string): Promise<void> {
    for (const sess of [...this.sessions.values()]) if (sess.channelId === channelId) await this.endSession(sess, why, true);
  }

  /** Ends every stream (device stopping). */
  async endAll(why: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map((sess) => this.endSession(sess, why, true)));
  }

  private refuse(rq: SipMessage, status: number, reason: string, why: string, detail: Record<string, unknown> = {}): void {
    this.d.counters.streamsRefused.inc({ reason: why });
    this.d.log.warn({ callId: rq.headers['call-id'], status, reason, ...detail }, 'INVITE refused');
    this.d.sip().respond(rq, status, reason, { headers: { warning: `399 ${this.d.settings.deviceId} "${reason.replace(/"/g, "'")}"` } });
  }

  async onInvite(rq: SipMessage, from: Peer): Promise<void> {
    const callId: string = rq.headers['call-id'];
    if (this.sessions.has(callId)) {
      this.refuse(rq, 491, 'Request Pending (re-INVITE not supported)', 'reinvite');
      return;
    }
    const channelId = userOf(rq.uri) ?? userOf(rq.headers.to?.uri) ?? '';
    const channel = this.d.channels.channel(channelId);
    if (!channel) return this.refuse(rq, 404, `Not Found (no channel ${channelId} at this device)`, 'unknown_channel');
    const parsed = parsePlayOffer(Buffer.from(rq.content ?? '', 'latin1').toString('utf8'));
    if (!parsed.ok) {
      if (parsed.status === 400) this.d.malformed('sdp', `${from.address}:${from.port}`, parsed.reason);
      return this.refuse(rq, parsed.status, parsed.reason, 'bad_offer');
    }
    const offer = parsed.offer;
    if (this.sessions.size >= this.d.settings.maxStreams) {
      return this.refuse(rq, 486, `Busy Here (stream limit ${this.d.settings.maxStreams} reached)`, 'stream_limit', { channelId });
    }
    if (channel.item.Status !== 'ON') return this.refuse(rq, 480, 'Temporarily Unavailable (camera offline)', 'camera_offline', { channelId });
    const url = channel.rtspUrl(offer.streamNumber);
    if (!url) return this.refuse(rq, 480, 'Temporarily Unavailable (camera stream not known yet)', 'no_stream_uri', { channelId });
    let output: MediaOutput;
    try {
      output = await MediaOutput.open(offer, this.d.settings.local.host, [this.d.platform().address, offer.address]);
    } catch (err) {
      return this.refuse(rq, 500, `Server Internal Error (media port: ${(err as Error).message})`, 'media_port');
    }
    const localTag = newTag();
    rq.headers.to.params = { ...rq.headers.to.params, tag: localTag };
    const sdp = buildPlayAnswer({ deviceId: channelId, address: this.d.advertised(), port: output.port, offer });
    const answer = {
      status: 200,
      reason: 'OK',
      headers: { contact: [{ uri: `sip:${channelId}@${this.d.advertised()}:${this.d.sip().port}`, params: {} }], 'content-type': 'application/sdp', 'user-agent': USER_AGENT },
      content: sdp,
    };
    const sess: Session = { dialog: dialogFrom(rq, localTag), channelId, output, invite: rq, answer, acked: false, startedAt: Date.now(), ended: false };
    this.sessions.set(callId, sess);
    this.d.sip().respond(rq, 200, 'OK', answer);
    // RFC 3261 §13.3.1.4: the UAS retransmits its 2xx until the ACK comes (UDP loses datagrams)
    let interval = T1;
    const resend = () => {
      if (sess.acked || sess.ended) return;
      if (Date.now() - sess.startedAt > ACK_WAIT_MS) {
        void this.endSession(sess, 'no ACK for the 200 OK', true);
        return;
      }
      if (this.d.settings.platform.transport === 'udp') this.d.sip().respond(rq, 200, 'OK', answer);
      interval = Math.min(interval * 2, T2);
      sess.retransmit = setTimeout(resend, interval);
    };
    sess.retransmit = setTimeout(resend, interval);
    this.d.log.info({ callId, channelId, transport: offer.transport, setup: offer.setup, to: `${offer.address}:${offer.port}`, ssrc: offer.ssrcText }, 'live view accepted');
  }

  async onAck(rq: SipMessage): Promise<void> {
    const sess = this.sessions.get(rq.headers['call-id']);
    if (!sess || sess.acked || sess.ended) return;
    sess.acked = true;
    clearTimeout(sess.retransmit);
    const url = this.d.channels.channel(sess.channelId)?.rtspUrl(sess.output.offer.streamNumber);
    if (!url) return this.endSession(sess, 'camera stream not known', true);
    try {
      await sess.output.connect();
    } catch (err) {
      return this.endSession(sess, (err as Error).message, true);
    }
    if (sess.ended) return;
    sess.stream = new LiveStream({
      rtspUrl: url,
      ffmpegPath: this.d.settings.ffmpegPath,
      output: sess.output,
      onEnd: (why) => void this.endSession(sess, why, true),
      onStderr: (line) => this.d.problems.report(sess.channelId, 'gb28181_ffmpeg', 'ffmpeg reported a problem with the camera stream', { line: excerpt(line.replace(/rtsps?:\/\/[^@/\s]*@/g, 'rtsp://***@'), 200) }),
    });
    sess.stream.start();
    this.d.log.info({ callId: sess.dialog.callId, channelId: sess.channelId, pid: sess.stream.pid }, 'live view streaming');
  }

  async onBye(rq: SipMessage): Promise<void> {
    const callId: string = rq.headers['call-id'];
    const sess = this.sessions.get(callId);
    if (!sess) {
      this.d.sip().respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.d.sip().respond(rq, 200, 'OK');
    await this.endSession(sess, 'BYE from the platform', false);
  }

  async onCancel(rq: SipMessage): Promise<void> {
    const sess = this.sessions.get(rq.headers['call-id']);
    // we answer INVITEs at once, so there is never a pending one to cancel: RFC 3261 §9.2 says 481 then
    this.d.sip().respond(rq, sess && !sess.acked ? 200 : 481, sess && !sess.acked ? 'OK' : 'Call/Transaction Does Not Exist');
    if (sess && !sess.acked) await this.endSession(sess, 'CANCEL from the platform', false);
  }

  /** Stops a session's media (ffmpeg reaped) and, when we end it, tells the platform with a BYE. */
  async endSession(sess: Session, why: string, sendBye: boolean): Promise<void> {
    if (sess.ended) return;
    sess.ended = true;
    clearTimeout(sess.retransmit);
    this.sessions.delete(sess.dialog.callId);
    const stats = sess.stream?.stats;
    if (sess.stream) await sess.stream.stop();
    else sess.output.close();
    this.d.log.info({ callId: sess.dialog.callId, channelId: sess.channelId, why, frames: stats?.frames, bytes: stats?.bytes, droppedFrames: stats?.droppedFrames }, 'live view ended');
    if (sendBye && sess.acked && this.d.sip()) await inDialogRequest(this.d.sip(), this.d.platform(), sess.dialog, 'BYE');
  }
}

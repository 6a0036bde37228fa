// SDP of a GB/T 28181 live-view INVITE (the platform's offer) and the device's answer. Standard lines through
// sdp-transform; the GB/T 28181 additions `y=` (SSRC, 10 decimal digits) and `f=` (media format) by hand,
// because no SDP library knows them.
import sdpTransform from 'sdp-transform';

export type MediaTransport = 'udp' | 'tcp';

export interface PlayOffer {
  session: string;            // s= (Play, Playback, Download, Talk)
  address: string;            // c= of the video media (or session)
  port: number;               // m=video port
  transport: MediaTransport;
  /** TCP only: the platform's role. 'passive' = the platform listens and we connect; 'active' = it connects to us. */
  setup?: 'active' | 'passive';
  ssrc: number;
  ssrcText: string;           // y= as sent (kept for the answer)
  /** Main (0) or sub (1) stream when the platform asks for one (GB/T 28181-2022 a=streamnumber, vendor a=streamprofile / a=stream). */
  streamNumber?: number;
}

export type OfferResult = { ok: true; offer: PlayOffer } | { ok: false; status: number; reason: string };

const refuse = (status: number, reason: string): OfferResult => ({ ok: false, status, reason });

/** Parses the platform's offer; refusals carry the SIP status and a reason phrase for the answer. */
export function parsePlayOffer(text: string): OfferResult {
  if (!/^v=0/m.test(text)) return refuse(400, 'Bad Request (no SDP body)');
  let sdp: sdpTransform.SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    return refuse(400, `Bad Request (SDP: ${(err as Error).message})`);
  }
  const session = (sdp.name ?? '').trim();
  if (session.toLowerCase() !== 'play') return refuse(488, `Not Acceptable Here (s=${session || '?'}: only live Play is supported)`);
  const video = sdp.media.find((m) => m.type === 'video');
  if (!video) return refuse(488, 'Not Acceptable Here (no m=video line)');
  const payloads = String(video.payloads ?? '').split(/\s+/).map(Number);
  const ps = video.rtp.find((r) => r.codec.toUpperCase() === 'PS');
  if (!payloads.includes(96) && !ps) return refuse(488, 'Not Acceptable Here (the offer has no PS/90000 payload)');
  const proto = video.protocol.toUpperCase();
  const transport: MediaTransport | undefined = proto === 'RTP/AVP' ? 'udp' : proto === 'TCP/RTP/AVP' ? 'tcp' : undefined;
  if (!transport) return refuse(488, `Not Acceptable Here (media protocol ${video.protocol}; RTP/AVP or TCP/RTP/AVP)`);
  const address = video.connection?.ip ?? sdp.connection?.ip;
  if (!address) return refuse(488, 'Not Acceptable Here (no c= address)');
  if (!Number.isInteger(video.port) || video.port < 1 || video.port > 65535) {
    // an 'active' platform connects to us and may offer port 9 (discard) or 0
    if (!(transport === 'tcp' && video.setup === 'active')) return refuse(488, `Not Acceptable Here (m= port ${video.port})`);
  }
  const y = /^y=(\d{1,10})\s*$/m.exec(text)?.[1];
  if (!y) return refuse(488, 'Not Acceptable Here (no y= SSRC)');
  const ssrc = Number(y);
  if (ssrc > 0xffffffff) return refuse(488, `Not Acceptable Here (y=${y} does not fit a 32-bit SSRC)`);
  let setup: PlayOffer['setup'];
  if (transport === 'tcp') {
    const s = (video.setup ?? 'passive').toLowerCase();
    if (s !== 'active' && s !== 'passive') return refuse(488, `Not Acceptable Here (a=setup:${s}; active or passive)`);
    setup = s;
  }
  const stream = /^a=(?:streamnumber|streamprofile|stream):(\d)\s*$/m.exec(text)?.[1];
  return {
    ok: true,
    offer: { session, address, port: video.port, transport, setup, ssrc, ssrcText: y, streamNumber: stream === undefined ? undefined : Number(stream) },
  };
}

export interface PlayAnswer {
  deviceId: string;      // the channel (camera) id
  address: string;       // our media address
  port: number;          // our media port (UDP source port, TCP listening port, or 9 when we connect)
  offer: PlayOffer;
}

/** The device's 200 OK SDP: same transport, a=sendonly, PS/90000 on 96, the platform's y=. */
export function buildPlayAnswer(a: PlayAnswer): string {
  const tcp = a.offer.transport === 'tcp';
  const body = sdpTransform.write({
    version: 0,
    origin: { username: a.deviceId, sessionId: 0, sessionVersion: 0, netType: 'IN', ipVer: 4, address: a.address },
    name: 'Play',
    connection: { version: 4, ip: a.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'video',
        port: a.port,
        protocol: tcp ? 'TCP/RTP/AVP' : 'RTP/AVP',
        payloads: '96',
        rtp: [{ payload: 96, codec: 'PS', rate: 90000 }],
        fmtp: [],
        direction: 'sendonly',
        // our role is the opposite of the platform's
        ...(tcp ? { setup: a.offer.setup === 'active' ? 'passive' : 'active', connectionType: 'new' } : {}),
      },
    ],
  });
  return `${body}y=${a.offer.ssrcText}\r\nf=\r\n`;
}

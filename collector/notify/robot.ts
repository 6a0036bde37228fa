// What the WeCom and DingTalk group robots have in common: a JSON POST to a keyed URL, an answer
// `{"errcode":0,"errmsg":"ok"}` where anything but 0 is a failure (with HTTP 200), and about 20 messages a minute
// per robot — past that the robot drops messages, so we hold them back ourselves and say when to retry.
import { deliverHttp, startResult } from './http.js';
import { RateLimiter } from './policy.js';
import type { ChannelType, DeliveryResult } from './types.js';

export interface RobotSend {
  channel: string;
  channelType: ChannelType;
  attempt: number;
  /** Shown in the delivery log (no key or token). */
  target: string;
  /** Full URL including the key/token. */
  url: string;
  body: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  /** errcodes that mean "too fast / busy, try later". */
  retryableErrcodes: ReadonlySet<number>;
}

export class Robot {
  private readonly limiter: RateLimiter;

  constructor(ratePerMinute: number) {
    this.limiter = new RateLimiter(ratePerMinute, 60_000, 1);
  }

  async send(s: RobotSend): Promise<DeliveryResult> {
    const finish = startResult(s.channel, s.channelType, s.attempt, s.target);
    const wait = this.limiter.take('robot', Date.now());
    if (wait > 0) {
      return { ...finish({ ok: false, error: `held back: the robot's limit of ${this.limiter.limit} messages per minute is reached`, retryable: true, retryAfterMs: wait }), status: 'rate_limited' };
    }
    const body = JSON.stringify(s.body);
    return deliverHttp(finish, { url: s.url, headers: { 'content-type': 'application/json; charset=utf-8' }, body, timeoutMs: s.timeoutMs, signal: s.signal }, (a) => {
      let answer: { errcode?: unknown; errmsg?: unknown };
      try {
        answer = JSON.parse(a.body) as typeof answer;
      } catch {
        return { ok: false, error: `answer is not JSON: ${a.body.slice(0, 120)}`, retryable: true };
      }
      const errcode = typeof answer?.errcode === 'number' ? answer.errcode : undefined;
      const errmsg = typeof answer?.errmsg === 'string' ? answer.errmsg : undefined;
      if (errcode === undefined) return { ok: false, error: 'answer has no errcode', retryable: true, errmsg };
      if (errcode !== 0) {
        return { ok: false, errcode, errmsg, error: `errcode ${errcode}: ${errmsg ?? ''}`.trim(), retryable: s.retryableErrcodes.has(errcode) };
      }
      return { ok: true, errcode, errmsg };
    });
  }
}

/** Cuts a text to at most `maxBytes` of UTF-8 without splitting a character, marking the cut with "…". */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = '…';
  let out = '';
  let bytes = Buffer.byteLength(ellipsis);
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out + ellipsis;
}

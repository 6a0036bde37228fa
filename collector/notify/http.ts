// The HTTP exchange every webhook-style channel makes (webhook, WeCom, DingTalk, SMS gateway): one request with a
// timeout, and every way it can go wrong (refused, DNS, TLS, timeout, 5xx, 4xx) turned into a DeliveryResult
// field set with a plain-words error and whether a retry may help.
import type { ChannelType, DeliveryResult } from './types.js';

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Headers;
}

/** Receivers' answers are small; a huge one is read only this far (the rest is not needed to judge success). */
const MAX_ANSWER_BYTES = 64 * 1024;

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Sends one request. Throws DeliveryError (with `retryable`) when no HTTP answer came back. */
export async function httpExchange(req: HttpRequest): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  try {
    const res = await fetch(req.url, { method: req.method ?? 'POST', headers: req.headers, body: req.body, signal, redirect: 'manual' });
    return { status: res.status, body: await readCapped(res), headers: res.headers };
  } catch (err) {
    if (timeout.aborted) throw new DeliveryError(`no answer within ${req.timeoutMs} ms`, true);
    if (req.signal?.aborted) throw new DeliveryError('cancelled', true);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? '';
    const why: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset',
      ENOTFOUND: 'host name not found',
      EAI_AGAIN: 'host name lookup failed (temporary)',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      UND_ERR_SOCKET: 'connection closed by the receiver',
      UND_ERR_HEADERS_TIMEOUT: 'no answer headers in time',
    };
    const text = why[code] ?? cause?.message ?? (err as Error).message;
    // A certificate problem does not go away by retrying; network trouble may.
    const permanent = /CERT|SELF_SIGNED|ERR_TLS|ERR_INVALID_URL/i.test(code) || (err as Error).name === 'TypeError' && !cause;
    throw new DeliveryError(`${text}${code && !why[code] ? ` (${code})` : ''}`, !permanent);
  }
}

/** A retry helps for 408, 425, 429 and 5xx; other 4xx mean our request (key, token, body) is wrong. */
export const retryableStatus = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

/** Retry-After (seconds or an HTTP date) in ms, if the receiver sent one. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const v = headers.get('retry-after');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** scheme://host/path of a URL: no query string (robot keys and tokens live there) and no user info. */
export function safeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Starts a result; `finish` fills in the duration. */
export function startResult(channel: string, channelType: ChannelType, attempt: number, target: string, now: () => number = Date.now) {
  const startedAt = now();
  return (fields: Partial<DeliveryResult> & Pick<DeliveryResult, 'ok'>): DeliveryResult => ({
    channel,
    channelType,
    status: fields.ok ? 'sent' : 'failed',
    attempt,
    target,
    startedAt,
    durationMs: now() - startedAt,
    ...fields,
  });
}

/** The result of an HTTP delivery whose success is decided by `judge` once an answer came back. */
export async function deliverHttp(
  finish: ReturnType<typeof startResult>,
  req: HttpRequest,
  judge: (a: HttpAnswer) => Partial<DeliveryResult> & Pick<DeliveryResult, 'ok'>,
): Promise<DeliveryResult> {
  let answer: HttpAnswer;
  try {
    answer = await httpExchange(req);
  } catch (err) {
    const e = err as DeliveryError;
    return finish({ ok: false, error: e.message, retryable: e instanceof DeliveryError ? e.retryable : true });
  }
  if (answer.status < 200 || answer.status >= 300) {
    const snippet = answer.body.slice(0, 200).trim();
    return finish({
      ok: false,
      httpStatus: answer.status,
      error: `HTTP ${answer.status}${snippet ? `: ${snippet}` : ''}`,
      retryable: retryableStatus(answer.status),
      retryAfterMs: retryAfterMs(answer.headers, Date.now()),
    });
  }
  return finish({ httpStatus: answer.status, ...judge(answer) });
}

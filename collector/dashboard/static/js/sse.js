// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, and tokens must not go into
// URLs. Parses text/event-stream per the WHATWG rules and reconnects with Last-Event-ID.

/** Incremental text/event-stream parser: push() decoded text, get complete events back. */
export class SseParser {
  constructor() {
    this.buf = '';
    this.data = [];
    this.event = '';
    this.id = undefined;
    this.retry = undefined;
  }

  push(text) {
    this.buf += text;
    const out = [];
    let start = 0;
    for (;;) {
      // A line ends at \n, \r\n or \r; a trailing lone \r may still be followed by \n, so wait for more.
      const m = /\r\n|\n|\r/g;
      m.lastIndex = start;
      const hit = m.exec(this.buf);
      if (!hit || (hit[0] === '\r' && hit.index === this.buf.length - 1)) break;
      const line = this.buf.slice(start, hit.index);
      start = hit.index + hit[0].length;
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  line(line) {
    if (line === '') {
      if (!this.data.length) {
        this.event = '';
        return undefined;
      }
      const ev = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
      this.data = [];
      this.event = '';
      return ev;
    }
    if (line.startsWith(':')) return undefined; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return undefined;
  }
}

/**
 * A live feed: calls onMessage({ id, event, data }) for each event; onState('connecting'|'live'|'reconnecting'|'stopped').
 * headers() is called on every (re)connect so a new token is picked up.
 */
export class FeedClient {
  constructor({ url, headers, onMessage, onState, onUnauthorized }) {
    Object.assign(this, { url, headers, onMessage, onState, onUnauthorized });
    this.lastEventId = undefined;
    this.retryMs = 2000;
    this.ctrl = undefined;
    this.stopped = true;
    this.failures = 0;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  stop() {
    this.stopped = true;
    this.ctrl?.abort();
    this.onState('stopped');
  }

  async loop() {
    while (!this.stopped) {
      this.onState(this.failures ? 'reconnecting' : 'connecting');
      this.ctrl = new AbortController();
      try {
        const headers = { ...this.headers(), accept: 'text/event-stream' };
        if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
        const res = await fetch(this.url, { headers, signal: this.ctrl.signal, cache: 'no-store' });
        if (res.status === 401) {
          this.stopped = true;
          this.onState('stopped');
          this.onUnauthorized?.();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`feed answered HTTP ${res.status}`);
        this.failures = 0;
        this.onState('live');
        await this.read(res.body);
      } catch (err) {
        if (this.stopped) return;
        console.warn('live feed interrupted:', err?.message ?? err);
      }
      if (this.stopped) return;
      this.failures++;
      // The server's retry: hint, growing gently while the collector stays unreachable.
      const wait = Math.min(30_000, this.retryMs * Math.min(8, 2 ** Math.max(0, this.failures - 1)));
      this.onState('reconnecting');
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          if (ev.id !== undefined) this.lastEventId = ev.id;
          try {
            this.onMessage({ ...ev, data: JSON.parse(ev.data) });
          } catch (err) {
            console.warn('live feed: bad event', ev.event, err?.message ?? err);
          }
        }
        if (parser.retry !== undefined) this.retryMs = parser.retry;
      }
    } finally {
      reader.releaseLock();
    }
  }
}

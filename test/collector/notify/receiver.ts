// A real HTTP server on 127.0.0.1 standing in for a webhook receiver, a WeCom/DingTalk robot or an SMS gateway:
// it records every request (raw body bytes included) and answers with whatever the test says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Answer = { status?: number; json?: unknown; text?: string; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  url: string;
  requests: Received[];
  answer: (r: Received) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: (r: Received) => Answer = () => ({ json: { errcode: 0, errmsg: 'ok' } })): Promise<Receiver> {
  const requests: Received[] = [];
  const rec: Receiver = { url: '', requests, answer, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: new URL(req.url ?? '/', rec.url), headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      const a = rec.answer(r);
      if (a === 'hang') return; // never answers: the sender's timeout must fire
      const body = a.json !== undefined ? JSON.stringify(a.json) : (a.text ?? '');
      res.writeHead(a.status ?? 200, { 'content-type': a.json !== undefined ? 'application/json' : 'text/plain', ...a.headers });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rec.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return rec;
}

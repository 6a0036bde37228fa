// The demo's notification receiver: a webhook endpoint on 127.0.0.1 that checks each request's HMAC signature
// and prints the message, so `npm run demo` shows alarms reaching people without any WeCom/DingTalk/e-mail
// account. The demo's collector sends every bureau's alarm transitions here (see runDemo).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../collector/notify/index.js';

export interface DemoReceiver {
  url: string;
  /** The HMAC secret the collector signs with (give it through the environment variable the channel names). */
  secret: string;
  /** Messages received, newest last (bounded). */
  received: { event: string; title: string; text: string; signed: boolean; at: number }[];
  close(): Promise<void>;
}

const KEEP = 200;

export async function startDemoReceiver(say: (line: string) => void): Promise<DemoReceiver> {
  const secret = randomBytes(16).toString('hex');
  const received: DemoReceiver['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const signed = verifyWebhookSignature(secret, String(req.headers['x-yiwang-timestamp'] ?? ''), body, String(req.headers['x-yiwang-signature'] ?? ''));
      if (!signed) {
        res.writeHead(401).end('bad signature');
        say('  通知 · 收到一条签名不对的请求，已拒绝 (bad signature)');
        return;
      }
      let msg: { title?: string; text?: string };
      try {
        msg = JSON.parse(body.toString('utf8')) as { title?: string; text?: string };
      } catch {
        res.writeHead(400).end('not JSON');
        return;
      }
      const entry = { event: String(req.headers['x-yiwang-event'] ?? ''), title: msg.title ?? '', text: msg.text ?? '', signed, at: Date.now() };
      received.push(entry);
      if (received.length > KEEP) received.shift();
      say(`  通知 · ${entry.title}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/yiwang`,
    secret,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

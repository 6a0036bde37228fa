// A real SMTP server (the smtp-server package) on 127.0.0.1 for the e-mail tests: AUTH against a fixed account,
// optional STARTTLS with a throwaway certificate, every message parsed back with mailparser.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Smtp {
  port: number;
  received: { raw: Buffer; mail: ParsedMail; from: string; to: string[]; user?: string }[];
  close(): Promise<void>;
}

export const SMTP_USER = 'alarm@city.example';
export const SMTP_PASSWORD = '密码-pw-123';

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem), for STARTTLS trusted through caFile. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

/** STARTTLS with the certificate made by makeCert. */
export const tlsOptions = (c: { cert: string; key: string }): Partial<SMTPServerOptions> => ({ key: readFileSync(c.key), cert: readFileSync(c.cert) });

export async function startSmtp(opts: Partial<SMTPServerOptions>): Promise<Smtp> {
  const received: Smtp['received'] = [];
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('full@')) return cb(Object.assign(new Error('Mailbox full, try later'), { responseCode: 452 }));
      if (address.address.startsWith('nobody@')) return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        received.push({
          raw,
          mail: await simpleParser(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
    logger: false,
    ...opts,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

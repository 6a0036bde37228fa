// E-mail over SMTP with nodemailer: the rendered message as a UTF-8 text part and a small HTML part, subject = the
// title. STARTTLS is required by default (a relay that cannot do TLS is refused, not silently used in the clear);
// the password comes from an environment variable.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import type { EmailChannelConfig } from './config.js';
import { startResult } from './http.js';
import { asHtml, asText, render } from './render.js';
import type { Channel, DeliveryResult, Message, SendOptions } from './types.js';

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  permanent?: boolean;
}

/** "a***@example.org": enough to recognise the mailbox in a log, not to harvest it. */
export const maskAddress = (a: string) => a.replace(/^([^@<]{1,2})[^@<]*@/, '$1***@');

export function createEmailChannel(cfg: EmailChannelConfig, env: NodeJS.ProcessEnv, defaults: { dashboardUrl?: string } = {}): Channel {
  const security = cfg.security ?? 'starttls';
  const port = cfg.port ?? (security === 'tls' ? 465 : security === 'none' ? 25 : 587);
  const user = cfg.userEnv ? env[cfg.userEnv] : cfg.user;
  const pass = cfg.passwordEnv ? env[cfg.passwordEnv] : undefined;
  if (cfg.userEnv && !user) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.userEnv} (the SMTP user) is not set`);
  if (cfg.passwordEnv && !pass) throw new Error(`notify channel ${cfg.id}: environment variable ${cfg.passwordEnv} (the SMTP password) is not set`);
  const timeout = cfg.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    tls: { rejectUnauthorized: cfg.rejectUnauthorized ?? true, ...(cfg.caFile ? { ca: readFileSync(cfg.caFile) } : {}), ...(isIP(cfg.host) ? {} : { servername: cfg.host }) },
    ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const target = `smtp://${cfg.host}:${port} → ${cfg.to.map(maskAddress).join(', ')}`;
  return {
    id: cfg.id,
    type: 'email',
    async send(message: Message, opts: SendOptions = {}): Promise<DeliveryResult> {
      const lang = opts.lang ?? 'zh';
      const finish = startResult(cfg.id, 'email', opts.attempt ?? 1, target);
      const r = render(message, { lang, dashboardUrl: defaults.dashboardUrl });
      try {
        const info = await transport.sendMail({
          from: cfg.from,
          to: cfg.to,
          ...(cfg.cc?.length ? { cc: cfg.cc } : {}),
          subject: r.title,
          text: asText(r, lang),
          html: asHtml(r, lang),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        if (info.rejected.length && !info.accepted.length) {
          return finish({ ok: false, messageId: info.messageId, error: `every recipient was rejected: ${info.rejected.map((a) => maskAddress(String(a))).join(', ')}`, retryable: false });
        }
        const partial = info.rejected.length ? `; rejected: ${info.rejected.map((a) => maskAddress(String(a))).join(', ')}` : '';
        return finish({ ok: true, messageId: info.messageId, ...(partial ? { error: `partly delivered${partial}` } : {}) });
      } catch (err) {
        const e = err as SmtpError;
        const reply = e.responseCode ? `SMTP ${e.responseCode}: ${(e.response ?? e.message).slice(0, 200)}` : e.message;
        // Bad credentials and 5xx replies come back the same next time; network trouble and 4xx may not.
        const retryable = e.code === 'EAUTH' || e.code === 'ECONFIG' ? false : e.permanent !== undefined ? !e.permanent : e.responseCode ? e.responseCode < 500 : true;
        const why = e.code === 'ETLS' ? ' (TLS could not be started; security: starttls never sends in the clear)' : '';
        return finish({ ok: false, error: `${e.code ? `${e.code}: ` : ''}${reply}${why}`, retryable });
      }
    },
    async close() {
      transport.close();
    },
  };
}

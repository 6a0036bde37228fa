// The e-mail channel against a real SMTP server (the smtp-server package) on 127.0.0.1: STARTTLS with a private
// CA, AUTH from an environment variable, the message parsed back with mailparser so Chinese subject and body are
// checked as a mail client would see them; refusals and unreachable servers reported as failed results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../core/net.js';
import { createChannel } from '../../../collector/notify/index.js';
import type { EmailChannelConfig } from '../../../collector/notify/config.js';
import { makeCert, SMTP_PASSWORD as PASSWORD, SMTP_USER as USER, startSmtp, tlsOptions, type Smtp } from '../../helpers/smtp.js';
import { tempDir } from '../helpers.js';
import { AT, raised } from './fixtures.js';

describe('e-mail over SMTP', () => {
  const tmp = tempDir('yiwang-smtp-');
  let cert: string;
  let tlsServer: Smtp;
  let plainServer: Smtp;
  const env = { SMTP_PASSWORD: PASSWORD, WRONG_PASSWORD: 'nope' };
  const base = (port: number): EmailChannelConfig => ({
    id: 'mail', type: 'email', host: '127.0.0.1', port, caFile: cert, user: USER, passwordEnv: 'SMTP_PASSWORD',
    from: '一网统管告警 <alarm@city.example>', to: ['duty@water.example'], timeoutMs: 3000,
  });

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1 that the client trusts through caFile (no rejectUnauthorized: false).
    const pair = makeCert(tmp.dir);
    cert = pair.cert;
    tlsServer = await startSmtp(tlsOptions(pair));
    plainServer = await startSmtp({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
  });

  afterAll(async () => {
    await tlsServer?.close();
    await plainServer?.close();
    tmp.remove();
  });

  it('delivers over STARTTLS with AUTH from the environment; Chinese subject and body arrive intact as UTF-8', async () => {
    const ch = createChannel(base(tlsServer.port), env, { dashboardUrl: 'https://yiwang.example/dashboard/' });
    const res = await ch.send(raised);
    await ch.close();
    expect(res).toMatchObject({ ok: true, status: 'sent', channelType: 'email' });
    expect(res.messageId).toMatch(/^<.+@.+>$/);
    expect(res.target).toBe(`smtp://127.0.0.1:${tlsServer.port} → du***@water.example`);
    expect(tlsServer.received).toHaveLength(1);
    const got = tlsServer.received[0]!;
    expect(got.user).toBe(USER);
    expect(got.from).toBe('alarm@city.example');
    expect(got.to).toEqual(['duty@water.example']);
    expect(got.mail.subject).toBe('【告警·重要】东村 村口河道水位计 水位超过报警线');
    expect(got.mail.from?.value[0]).toEqual({ address: 'alarm@city.example', name: '一网统管告警' });
    expect(got.mail.text).toContain('监测值：水位 4.36 m');
    expect(got.mail.text).toContain('时间：2026-11-30 08:15:00（北京时间）');
    expect(got.mail.text).toContain('查看：https://yiwang.example/dashboard/#/device/wl-01');
    expect(got.mail.html).toContain('<th align="left" style="padding:2px 12px 2px 0;color:#555">阈值</th><td>报警线 4.2 m</td>');
    // The raw message declares UTF-8 and encodes non-ASCII headers (no raw 8-bit bytes in the header block).
    const raw = got.raw.toString('latin1');
    const headerBlock = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(headerBlock).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    expect(/[\x80-\xff]/.test(headerBlock)).toBe(false);
    expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8/i);
  });

  it('renders English when asked', async () => {
    const ch = createChannel(base(tlsServer.port), env);
    expect((await ch.send({ ...raised, at: AT + 1000 }, { lang: 'en' })).ok).toBe(true);
    await ch.close();
    expect(tlsServer.received.at(-1)!.mail.subject).toBe('[Alarm · major] 东村 村口河道水位计: Water level above alarm level');
  });

  it('refuses to send in the clear when the server offers no STARTTLS', async () => {
    const before = plainServer.received.length;
    const ch = createChannel(base(plainServer.port), env);
    const res = await ch.send(raised);
    await ch.close();
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/^ETLS: .*never sends in the clear/);
    expect(plainServer.received.length).toBe(before);
  });

  it('reports a wrong password as a permanent failure', async () => {
    const ch = createChannel({ ...base(tlsServer.port), passwordEnv: 'WRONG_PASSWORD' }, env);
    const res = await ch.send(raised);
    await ch.close();
    expect(res).toMatchObject({ ok: false, status: 'failed', retryable: false });
    expect(res.error).toContain('EAUTH');
    expect(res.error).toContain('535');
  });

  it('tells a refused mailbox (550, permanent) from a full one (452, retry later)', async () => {
    const nobody = createChannel({ ...base(tlsServer.port), to: ['nobody@water.example'] }, env);
    const r1 = await nobody.send(raised);
    await nobody.close();
    expect(r1).toMatchObject({ ok: false, retryable: false });
    expect(r1.error).toContain('550');
    const full = createChannel({ ...base(tlsServer.port), to: ['full@water.example'] }, env);
    const r2 = await full.send(raised);
    await full.close();
    expect(r2).toMatchObject({ ok: false, retryable: true });
    expect(r2.error).toContain('452');
  });

  it('reports an unreachable server as a retryable failure', async () => {
    const ch = createChannel(base(await freePort()), env);
    const res = await ch.send(raised);
    await ch.close();
    expect(res).toMatchObject({ ok: false, status: 'failed', retryable: true });
    expect(res.error).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
  });
});

// `yiwang edge doctor`: checks an edge box's config, devices and uplink and explains problems in plain words.
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import mqtt from 'mqtt';
import { ConfigError } from '../core/config-file.js';
import { BUILTIN_PROFILE_DIR, ProfileCatalog } from '../core/profiles.js';
import { loadEdgeConfig, type EdgeConfig } from './config.js';
import { unstartedAdapter, validateDevices } from './devices.js';
import { resolvePaths, uplinkPassword } from './agent.js';

export interface Finding {
  ok: boolean;
  what: string;
  detail: string;
  hint?: string;
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = tcpConnect({ host, port });
    const done = (ok: boolean, detail: string) => {
      s.destroy();
      resolve({ ok, detail });
    };
    s.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms (cable, power, IP address or firewall?)`));
    s.once('connect', () => done(true, `answers in ${Date.now() - started} ms`));
    s.once('error', (err: NodeJS.ErrnoException) =>
      done(false, err.code === 'ECONNREFUSED' ? 'the address is up but nothing listens on that port (wrong port, or the service is off)' : `${err.code ?? err.message}`),
    );
  });
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

async function checkUplink(cfg: EdgeConfig, rel: (p: string) => string, timeoutMs: number): Promise<Finding> {
  const u = cfg.uplink;
  let password: string | undefined;
  try {
    password = uplinkPassword(cfg, rel);
  } catch (err) {
    return { ok: false, what: 'uplink password', detail: (err as Error).message, hint: 'check uplink.passwordFile' };
  }
  if (u.passwordEnv && password === undefined) {
    return { ok: false, what: 'uplink password', detail: `environment variable ${u.passwordEnv} is not set`, hint: `export ${u.passwordEnv}=... (or set it in the systemd unit)` };
  }
  return new Promise((resolve) => {
    const client = mqtt.connect(u.url, {
      username: u.username ?? cfg.edge.id,
      password,
      clientId: `${cfg.edge.id}-doctor-${process.pid}`,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      rejectUnauthorized: u.rejectUnauthorized ?? true,
    });
    const finish = (f: Finding) => {
      client.end(true);
      resolve(f);
    };
    client.once('connect', () => finish({ ok: true, what: `uplink ${u.url}`, detail: 'connected and logged in as this edge' }));
    client.once('error', (err: Error & { code?: string | number }) => {
      const code = String(err.code ?? '');
      if (code === '4' || code === '5' || /Not authorized|Bad username/i.test(err.message)) {
        finish({ ok: false, what: `uplink ${u.url}`, detail: 'the collector refused this edge\'s login', hint: 'check edge.id and the uplink password with the collector administrator (yiwang collector edge add)' });
      } else {
        finish({ ok: false, what: `uplink ${u.url}`, detail: err.message, hint: 'check the URL, DNS, the 4G/ethernet link and firewall; the agent still buffers everything while the uplink is down' });
      }
    });
    setTimeout(() => finish({ ok: false, what: `uplink ${u.url}`, detail: `no answer within ${timeoutMs} ms`, hint: 'is the collector reachable from this box?' }), timeoutMs + 500).unref();
  });
}

export async function runDoctor(configFile: string, timeoutMs = 3000): Promise<Finding[]> {
  const out: Finding[] = [];
  let cfg: EdgeConfig;
  try {
    cfg = loadEdgeConfig(configFile);
    out.push({ ok: true, what: 'config file', detail: `${configFile} is well-formed (${cfg.devices.length} devices)` });
  } catch (err) {
    out.push({ ok: false, what: 'config file', detail: (err as Error).message, hint: 'fix the lines named above; `yiwang edge init` writes a commented example' });
    return out;
  }
  const { bufferDir, profileDirs, rel } = resolvePaths(cfg, configFile);
  try {
    mkdirSync(bufferDir, { recursive: true });
    accessSync(bufferDir, constants.W_OK);
    const fs = statfsSync(bufferDir);
    const free = fs.bavail * fs.bsize;
    const need = cfg.buffer?.maxBytes ?? 2 * 1024 ** 3;
    out.push({
      ok: free > need * 0.1,
      what: 'buffer directory',
      detail: `${bufferDir} is writable, ${(free / 1024 ** 3).toFixed(1)} GiB free (buffer limit ${(need / 1024 ** 3).toFixed(1)} GiB)`,
      hint: free < need ? 'less free disk than the buffer limit: lower buffer.maxBytes or free space, or a long outage will fill the disk' : undefined,
    });
  } catch (err) {
    out.push({ ok: false, what: 'buffer directory', detail: `${bufferDir}: ${(err as Error).message}`, hint: 'create it and give the yiwang user write access' });
  }
  try {
    const catalog = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...profileDirs]);
    await validateDevices(cfg, configFile, catalog, (protocol) => unstartedAdapter(protocol, bufferDir, cfg.protocols));
    out.push({ ok: true, what: 'devices', detail: 'every device has a known profile, a valid 一机一档 record and valid connection settings' });
  } catch (err) {
    out.push({ ok: false, what: 'devices', detail: err instanceof ConfigError ? err.message : (err as Error).message, hint: 'fix the device entries named above' });
  }
  for (const d of cfg.devices) {
    if (d.enabled === false) continue;
    const c = d.connection as Record<string, unknown>;
    const what = `device ${d.id}${d.name ? ` (${d.name})` : ''}`;
    if (typeof c.endpoint === 'string') {
      const u = new URL(c.endpoint.replace(/^opc\.tcp:/, 'http:'));
      const r = await tcpReachable(u.hostname, Number(u.port || 4840), timeoutMs);
      out.push({ ok: r.ok, what, detail: `OPC UA ${c.endpoint}: ${r.detail}` });
    } else if (typeof c.serialPort === 'string') {
      const ok = existsSync(c.serialPort);
      out.push({ ok, what, detail: ok ? `serial port ${c.serialPort} exists` : `serial port ${c.serialPort} does not exist`, hint: ok ? undefined : 'check the USB/RS-485 adapter (ls /dev/ttyUSB* /dev/ttyS*) and that the yiwang user is in the dialout group' });
    } else if (typeof c.host === 'string') {
      const port = Number(c.port ?? (d.profile.includes('onvif') || d.profile.includes('camera') ? 80 : 502));
      const r = await tcpReachable(c.host, port, timeoutMs);
      out.push({ ok: r.ok, what, detail: `${c.host}:${port}: ${r.detail}` });
    } else {
      out.push({ ok: true, what, detail: 'pushes its data to this box (reachability shows once it sends)' });
    }
  }
  const listeners: [string, string, number][] = [];
  const p = cfg.protocols ?? {};
  const lb = (p.mqtt?.localBroker ?? {}) as { enabled?: boolean; host?: string; port?: number };
  if (lb.enabled) listeners.push(['embedded MQTT broker', lb.host ?? '0.0.0.0', lb.port ?? 1883]);
  if (cfg.devices.some((d) => d.profile.startsWith('hj212'))) listeners.push(['HJ 212 listener', String(p.hj212?.host ?? '0.0.0.0'), Number(p.hj212?.port ?? 9212)]);
  if (cfg.devices.some((d) => d.profile.startsWith('sl651'))) listeners.push(['SL 651 listener', String(p.sl651?.host ?? '0.0.0.0'), Number(p.sl651?.port ?? 9651)]);
  for (const [what, host, port] of listeners) {
    const free = await portFree(host, port);
    out.push({ ok: free, what, detail: free ? `port ${port} is free` : `port ${port} is taken`, hint: free ? undefined : 'is the agent already running, or another program (mosquitto?) using the port?' });
  }
  out.push(await checkUplink(cfg, rel, timeoutMs));
  return out;
}

export function formatFindings(findings: Finding[]): string {
  return (
    findings.map((f) => `${f.ok ? '[ ok ]' : '[FAIL]'} ${f.what}: ${f.detail}${f.hint && !f.ok ? `\n       what to do: ${f.hint}` : ''}`).join('\n') +
    `\n\n${findings.filter((f) => !f.ok).length === 0 ? 'All checks passed.' : `${findings.filter((f) => !f.ok).length} problem(s) found.`}\n`
  );
}

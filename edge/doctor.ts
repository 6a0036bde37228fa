// `yiwang edge doctor`: checks an edge box's config, devices and uplink and explains problems in plain words.
// It reads edge.env next to the config (as the systemd unit does), reports the starter's placeholders left in,
// reads every device once through its profile (edge/device-test.ts), and checks the site broker and the
// collector login.
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import mqtt from 'mqtt';
import { ConfigError } from '../core/config-file.js';
import type { Logger } from '../core/log.js';
import type { DeviceProfile } from '../core/profiles.js';
import { brokerOf, parseSettings, type MqttConnection } from '../protocols/mqtt/config.js';
import { devicePatterns } from '../protocols/mqtt/router.js';
import { compileTopicPattern } from '../protocols/mqtt/topics.js';
import { AgentNotRunning, adminCall } from './admin-client.js';
import { loadEffectiveConfig } from './central-config.js';
import { envFileFor, profilesFor, resolvePaths, uplinkPassword, type EdgeConfig } from './config.js';
import { formatTestResult, testConfiguredDevices } from './device-test.js';
import { unstartedAdapter, validateDevices } from './devices.js';
import { starterPlaceholders } from './init/templates.js';

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

/** Where a polled device is on the network (undefined for push devices and serial lines). */
function networkAddress(c: Record<string, unknown>, protocol: string): { host: string; port: number } | undefined {
  if (typeof c.endpoint === 'string') {
    const u = new URL(c.endpoint.replace(/^opc\.tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 4840) };
  }
  if (typeof c.host === 'string' && (protocol === 'modbus' || protocol === 'onvif')) return { host: c.host, port: Number(c.port ?? (protocol === 'onvif' ? 80 : 502)) };
  return undefined;
}

interface MqttLoginResult {
  ok: boolean;
  detail: string;
  refused?: boolean;
  client?: mqtt.MqttClient;
}

/** Connects and logs in; the caller ends the client. */
function mqttLogin(url: string, o: { username?: string; password?: string; clientId: string; timeoutMs: number; rejectUnauthorized?: boolean; ca?: string }): Promise<MqttLoginResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      username: o.username,
      password: o.password,
      clientId: o.clientId,
      reconnectPeriod: 0,
      connectTimeout: o.timeoutMs,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
      ...(o.ca ? { ca: o.ca } : {}),
    });
    let settled = false;
    const finish = (r: MqttLoginResult) => {
      if (settled) return;
      settled = true;
      if (!r.ok) client.end(true);
      resolve(r.ok ? { ...r, client } : r);
    };
    client.once('connect', () => finish({ ok: true, detail: 'connected and logged in' }));
    client.once('error', (err: Error & { code?: string | number }) => {
      const code = String(err.code ?? '');
      const refused = code === '4' || code === '5' || code === '134' || code === '135' || /Not authorized|Bad username/i.test(err.message);
      finish({ ok: false, refused, detail: refused ? 'the broker refused the login' : err.message });
    });
    setTimeout(() => finish({ ok: false, detail: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs + 500).unref();
  });
}

async function checkUplink(cfg: EdgeConfig, rel: (p: string) => string, timeoutMs: number, configFile: string): Promise<Finding> {
  const u = cfg.uplink;
  let password: string | undefined;
  try {
    password = uplinkPassword(cfg, rel);
  } catch (err) {
    return { ok: false, what: 'uplink password', detail: (err as Error).message, hint: 'check uplink.passwordFile' };
  }
  if (u.passwordEnv && password === undefined) {
    return {
      ok: false,
      what: 'uplink password',
      detail: `environment variable ${u.passwordEnv} is not set, and ${envFileFor(configFile)} does not set it`,
      hint: `put ${u.passwordEnv}=<the password from \`yiwang collector edge add\`> into ${envFileFor(configFile)} (mode 0600; the systemd unit reads the same file)`,
    };
  }
  const r = await mqttLogin(u.url, { username: u.username ?? cfg.edge.id, password, clientId: `${cfg.edge.id}-doctor-${process.pid}`, timeoutMs, rejectUnauthorized: u.rejectUnauthorized });
  r.client?.end(true);
  if (r.ok) return { ok: true, what: `uplink ${u.url}`, detail: 'connected and logged in as this edge' };
  if (r.refused) return { ok: false, what: `uplink ${u.url}`, detail: 'the collector refused this edge\'s login', hint: 'check edge.id and the uplink password with the collector administrator (yiwang collector edge add)' };
  return { ok: false, what: `uplink ${u.url}`, detail: r.detail, hint: 'check the URL, DNS, the 4G/ethernet link and firewall; the agent still buffers everything while the uplink is down' };
}

/** Site broker: log in, subscribe to the site-broker devices' topics and count what arrives within timeoutMs. */
async function checkSiteBroker(cfg: EdgeConfig, profileOf: (id: string) => DeviceProfile | undefined, timeoutMs: number): Promise<Finding | undefined> {
  let settings;
  try {
    settings = parseSettings(cfg.protocols?.mqtt);
  } catch (err) {
    return { ok: false, what: 'site broker', detail: (err as Error).message, hint: 'fix protocols.mqtt in the config' };
  }
  const sb = settings.siteBroker;
  if (!sb) return undefined;
  const what = `site broker ${sb.url}`;
  const r = await mqttLogin(sb.url, { username: sb.username, password: sb.password, clientId: `${cfg.edge.id}-doctor-site-${process.pid}`, timeoutMs, ca: sb.ca });
  if (!r.ok || !r.client) {
    return { ok: false, what, detail: r.detail, hint: r.refused ? 'check protocols.mqtt.siteBroker.username and its password (passwordEnv in edge.env)' : 'check the site broker\'s address and that it runs' };
  }
  const client = r.client;
  const routes: { deviceId: string; key: string; match: (t: string) => string | undefined; filter: string }[] = [];
  for (const d of cfg.devices) {
    const p = profileOf(d.id);
    if (d.enabled === false || p?.protocol !== 'mqtt' || brokerOf(d.connection as MqttConnection) !== 'site') continue;
    for (const { pattern } of devicePatterns(p)) {
      const c = compileTopicPattern(pattern);
      routes.push({ deviceId: d.id, key: (d.connection as MqttConnection).topicId ?? d.id, match: c.match, filter: c.filter });
    }
  }
  const seen = new Map<string, number>();
  let total = 0;
  client.on('message', (topic) => {
    total++;
    for (const rt of routes) if (rt.match(topic) === rt.key) seen.set(rt.deviceId, (seen.get(rt.deviceId) ?? 0) + 1);
  });
  const filters = [...new Set(routes.map((rt) => rt.filter))];
  try {
    if (filters.length) {
      const granted = await client.subscribeAsync(filters, { qos: 0 });
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length) return { ok: false, what, detail: `logged in, but the broker refused the subscription to ${refused.join(', ')}`, hint: 'the site broker\'s ACL must let this user read the devices\' topics' };
    }
    await new Promise((resolve) => setTimeout(resolve, timeoutMs));
  } finally {
    await client.endAsync(true);
  }
  const devices = [...new Set(routes.map((rt) => rt.deviceId))];
  const per = devices.map((id) => `${id}: ${seen.get(id) ?? 0}`).join(', ');
  return {
    ok: true,
    what,
    detail: `logged in${sb.username ? ` as ${sb.username}` : ''}, subscribed to ${filters.length} topic filter(s), ${total} message(s) in ${timeoutMs} ms${devices.length ? ` (${per})` : ''}${devices.length && !seen.size ? '; devices that report rarely may show 0 here' : ''}`,
  };
}

export async function runDoctor(configFile: string, timeoutMs = 3000, log?: Logger): Promise<{ findings: Finding[]; reports: string[] }> {
  const out: Finding[] = [];
  const reports: string[] = [];
  let cfg: EdgeConfig;
  try {
    cfg = loadEffectiveConfig(configFile);
    const env = envFileFor(configFile);
    const central = cfg.edge.managed ? `; managed by the collector at ${cfg.uplink.url}, its devices from the collector's configuration` : '';
    out.push({ ok: true, what: 'config file', detail: `${configFile} is well-formed (${cfg.devices.length} devices${central})${existsSync(env) ? `; secrets from ${env}` : ''}` });
  } catch (err) {
    out.push({ ok: false, what: 'config file', detail: (err as Error).message, hint: 'fix the lines named above; `yiwang edge init` writes a commented example' });
    return { findings: out, reports };
  }
  const placeholders = starterPlaceholders(cfg);
  if (placeholders.length) {
    out.push({
      ok: false,
      what: 'not filled in',
      detail: `the starter config's placeholders are still there:\n${placeholders.map((p) => `         ${p.path}: ${p.message}`).join('\n')}`,
      hint: 'edit these values (or write the file again with `yiwang edge init --site-name ... --address ... --lon ... --lat ... --uplink-url ...`)',
    });
  }
  const { bufferDir, rel } = resolvePaths(cfg, configFile);
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
  let profiles;
  let devicesValid = false;
  try {
    profiles = profilesFor(cfg, configFile);
    await validateDevices(cfg, configFile, profiles, (protocol) => unstartedAdapter(protocol, bufferDir, cfg.protocols));
    devicesValid = true;
    out.push({ ok: true, what: 'devices', detail: 'every device has a known profile, a valid 一机一档 record and valid connection settings' });
  } catch (err) {
    out.push({ ok: false, what: 'devices', detail: err instanceof ConfigError ? err.message : (err as Error).message, hint: 'fix the device entries named above' });
  }
  let agentRunning = false;
  try {
    await adminCall(configFile, 'GET', '/api/v1/status');
    agentRunning = true;
  } catch (err) {
    if (!(err instanceof AgentNotRunning)) out.push({ ok: false, what: 'running agent', detail: (err as Error).message });
  }
  if (devicesValid && profiles) {
    const catalog = profiles;
    // Unreachable devices get the plain-words network answer; reachable ones a real read through their profile.
    const unreachable = new Set<string>();
    for (const d of cfg.devices) {
      const p = catalog.get(d.profile);
      const addr = d.enabled === false || !p ? undefined : networkAddress(d.connection, p.protocol);
      if (!addr) continue;
      const r = await tcpReachable(addr.host, addr.port, timeoutMs);
      if (!r.ok) {
        unreachable.add(d.id);
        out.push({ ok: false, what: `device ${d.id}${d.name ? ` (${d.name})` : ''}`, detail: `${addr.host}:${addr.port}: ${r.detail}` });
      }
    }
    for (const d of cfg.devices) {
      const p = catalog.get(d.profile);
      if (p?.protocol === 'modbus' && typeof d.connection.serialPort === 'string' && !existsSync(d.connection.serialPort)) {
        unreachable.add(d.id);
        out.push({ ok: false, what: `device ${d.id}${d.name ? ` (${d.name})` : ''}`, detail: `serial port ${d.connection.serialPort} does not exist`, hint: 'check the USB/RS-485 adapter (ls /dev/ttyUSB* /dev/ttyS*) and that the yiwang user is in the dialout group' });
      }
    }
    for (const r of await testConfiguredDevices(configFile, { skip: unreachable, log })) {
      const bad = r.points.filter((pt) => pt.quality !== 'good');
      out.push({
        ok: r.ok,
        what: `device ${r.deviceId}${r.name ? ` (${r.name})` : ''}`,
        detail: r.ok ? `${r.lines.join('; ')}; ${r.points.length} point(s) read, all good` : `${r.lines.join('; ')}${bad.length && r.points.length ? `; ${bad.length} of ${r.points.length} point(s) not good` : ''}`,
        hint: r.ok ? undefined : `details below; run \`yiwang edge device test ${r.deviceId}\` after a fix`,
      });
      if (!r.ok && r.points.length) reports.push(formatTestResult(r));
    }
    const siteBroker = await checkSiteBroker(cfg, (id) => catalog.get(cfg.devices.find((x) => x.id === id)?.profile ?? ''), timeoutMs);
    if (siteBroker) out.push(siteBroker);
  }
  if (agentRunning) {
    out.push({ ok: true, what: 'running agent', detail: 'answers on its admin port (so its listening ports are in use by it)' });
  } else {
    const listeners: [string, string, number][] = [];
    const p = cfg.protocols ?? {};
    const lb = (p.mqtt?.localBroker ?? {}) as { enabled?: boolean; host?: string; port?: number };
    if (lb.enabled) listeners.push(['embedded MQTT broker', lb.host ?? '0.0.0.0', lb.port ?? 1883]);
    if (cfg.devices.some((d) => d.profile.startsWith('hj212'))) listeners.push(['HJ 212 listener', String(p.hj212?.host ?? '0.0.0.0'), Number(p.hj212?.port ?? 9212)]);
    if (cfg.devices.some((d) => d.profile.startsWith('sl651'))) listeners.push(['SL 651 listener', String(p.sl651?.host ?? '0.0.0.0'), Number(p.sl651?.port ?? 9651)]);
    for (const [what, host, port] of listeners) {
      const free = await portFree(host, port);
      out.push({ ok: free, what, detail: free ? `port ${port} is free` : `port ${port} is taken`, hint: free ? undefined : 'another program (mosquitto?) uses the port' });
    }
  }
  out.push(await checkUplink(cfg, rel, timeoutMs, configFile));
  return { findings: out, reports };
}

export function formatFindings(findings: Finding[], reports: string[] = []): string {
  const problems = findings.filter((f) => !f.ok).length;
  return (
    findings.map((f) => `${f.ok ? '[ ok ]' : '[FAIL]'} ${f.what}: ${f.detail}${f.hint && !f.ok ? `\n       what to do: ${f.hint}` : ''}`).join('\n') +
    (reports.length ? `\n\n${reports.join('\n')}` : '') +
    `\n\n${problems === 0 ? 'All checks passed.' : `${problems} problem(s) found.`}\n`
  );
}

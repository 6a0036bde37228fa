// `yiwang edge ...`: run the agent and the installer's tools around it. Each sub-command's module is imported
// only when it runs, so `yiwang edge status` does not load the buffer, the uplink or any protocol stack.
import { existsSync } from 'node:fs';
import { ConfigError } from '../core/config-file.js';
import { setEnvFileVar } from '../core/env.js';
import { SITE_TYPES, type SiteType } from '../schema/types.js';
import { envFileFor, parseEdgeConfig } from '../edge/config.js';
import { readDoc, writeConfigAtomically } from '../edge/config-edit.js';
import { starterConfig } from '../edge/init/templates.js';
import { dispatch, lazyCommand, parse, UsageError, type Command } from './args.js';
import { adminCall } from '../edge/admin-client.js';
import { configOpt, requireConfig, writeNewConfig } from './edge-shared.js';

/** SIGTERM/SIGINT to exit, at most (systemd's and Docker's grace periods are longer). */
const STOP_DEADLINE_MS = 5_000;

const run: Command = {
  name: 'run',
  summary: 'run the edge agent (default when no command is given)',
  usage: `Usage: yiwang edge [--config edge.yaml] [--admin-port N]

Runs the edge agent: reads the site's devices, normalizes readings, buffers them on disk and ships them
to the collector. SIGHUP (or \`yiwang edge reload\`) applies device changes without a restart.
Logs are JSON lines on stdout. Environment: YIWANG_EDGE_CONFIG (default config path), YIWANG_LOG_LEVEL;
edge.env next to the config is read at start and on every reload.`,
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'admin-port': { type: 'string' } }, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const [{ createLogger }, { LogRing }, { startEdge }] = await Promise.all([import('../core/log.js'), import('../core/log-ring.js'), import('../edge/agent.js')]);
    const logRing = new LogRing();
    const log = createLogger('yiwang-edge', undefined, { ring: logRing });
    let agent;
    try {
      agent = await startEdge({ configFile: a.values.config, adminPort: a.values['admin-port'] ? Number(a.values['admin-port']) : undefined, log, logRing });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`configuration errors:\n${err.message}\n`);
        return 1;
      }
      throw err;
    }
    process.on('SIGHUP', () => {
      agent.reload().catch((err: Error) => log.error({ err: err.message }, 'reload rejected; still running the previous configuration'));
    });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    // agent.stop() bounds every step; these two timers only guard against what it cannot see. Neither keeps
    // the process alive on its own (unref).
    const last = setTimeout(() => {
      log.error({ waitedMs: STOP_DEADLINE_MS }, 'stop did not finish in time; closing the buffer and exiting');
      agent.buffer.close();
      process.exit(1);
    }, STOP_DEADLINE_MS);
    last.unref();
    await agent.stop();
    clearTimeout(last);
    setTimeout(() => process.exit(0), 1000).unref(); // a handle left open by a library must not keep us running
    return 0;
  },
};

const status: Command = {
  name: 'status',
  summary: 'show the running agent: uplink, buffer, devices',
  usage: 'Usage: yiwang edge status [--config edge.yaml] [--json]\n\nAsks the running agent (admin HTTP, local token) and prints its state.',
  async run(argv) {
    const a = parse(argv, { ...configOpt, json: { type: 'boolean' } }, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const s = (await adminCall(a.values.config, 'GET', '/api/v1/status')) as {
      edgeId: string; uptimeS: number; rssBytes: number;
      uplink: { connected: boolean; inFlight: number; ackedBatches: number };
      buffer: { rows: number; bytes: number; fillRatio: number; oldestTs?: number; droppedReadings: number };
      parked?: { chunks: number; items: number; byReason: Record<string, number> };
      devices: { id: string; protocol: string; state: string; reason?: string; lastSeen?: number }[];
    };
    if (a.values.json) {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    const age = s.buffer.oldestTs ? `${Math.round((Date.now() - s.buffer.oldestTs) / 1000)} s` : '-';
    process.stdout.write(
      `edge ${s.edgeId}  up ${s.uptimeS} s  RSS ${(s.rssBytes / 1048576).toFixed(0)} MB\n` +
        `uplink   ${s.uplink.connected ? 'connected' : 'DISCONNECTED'}  in flight ${s.uplink.inFlight}  acked batches ${s.uplink.ackedBatches}\n` +
        `buffer   ${s.buffer.rows} chunks, ${(s.buffer.bytes / 1048576).toFixed(1)} MB (${(s.buffer.fillRatio * 100).toFixed(1)}% full), oldest ${age}, dropped readings ${s.buffer.droppedReadings}\n` +
        (s.parked?.chunks ? `PARKED   ${s.parked.chunks} chunks (${s.parked.items} items) rejected by the collector: yiwang edge parked\n` : '') +
        `devices  ${s.devices.length}\n` +
        s.devices
          .map((d) => `  ${d.state === 'online' ? '●' : d.state === 'degraded' ? '◐' : '○'} ${d.id.padEnd(24)} ${d.protocol.padEnd(7)} ${d.state}${d.reason ? ` (${d.reason})` : ''}${d.lastSeen ? `  last seen ${new Date(d.lastSeen).toISOString()}` : ''}\n`)
          .join(''),
    );
    return 0;
  },
};

const reload: Command = {
  name: 'reload',
  summary: 'apply config changes to the running agent (same as SIGHUP)',
  usage: 'Usage: yiwang edge reload [--config edge.yaml]\n\nThe agent re-reads the config and edge.env; buffered data is never touched.',
  async run(argv) {
    const a = parse(argv, configOpt, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const r = (await adminCall(a.values.config, 'POST', '/api/v1/reload')) as { added: string[]; updated: string[]; removed: string[] };
    process.stdout.write(`reloaded: ${r.added.length} added, ${r.updated.length} updated, ${r.removed.length} removed\n`);
    return 0;
  },
};

const init: Command = {
  name: 'init',
  summary: 'write a commented starter config for a site type',
  usage: `Usage: yiwang edge init --site-type village|street|water_station|other [--out edge.yaml] [--force] [site and uplink]

  --edge-id ID            this box's id at the collector (default edge-<site type>-01)
  --site-id ID --site-name TEXT --address TEXT --lon N --lat N --division CODE
                          the site (what is not given is written as a placeholder that doctor reports)
  --uplink-url URL        the collector's broker, mqtt://host:1883 or mqtts://host:8883
  --uplink-password PW    the edge's password from \`yiwang collector edge add\`: written to edge.env next
                          to the config (mode 0600) as YIWANG_UPLINK_PASSWORD, never into the YAML
  --buffer-dir DIR        where the durable buffer lives (default /var/lib/yiwang/buffer)
  --managed               the collector owns this edge's devices, profiles and thresholds (edge–cloud
                          coordination): they are registered there, not with \`yiwang edge device add\`

The file is created with mode 0600. Next: register devices (yiwang edge device add), check each with
yiwang edge device test ID, then yiwang edge doctor.`,
  async run(argv) {
    const a = parse(
      argv,
      {
        'site-type': { type: 'string', default: 'village' }, 'edge-id': { type: 'string' }, out: { type: 'string', default: 'edge.yaml' }, force: { type: 'boolean' },
        'site-id': { type: 'string' }, 'site-name': { type: 'string' }, address: { type: 'string' }, lon: { type: 'string' }, lat: { type: 'string' },
        division: { type: 'string' }, 'uplink-url': { type: 'string' }, 'uplink-password': { type: 'string' }, 'buffer-dir': { type: 'string' },
        managed: { type: 'boolean' },
      },
      this.usage,
    );
    if (!a) return 0;
    const v = a.values;
    const t = v['site-type'] as SiteType;
    if (!SITE_TYPES.includes(t)) throw new UsageError(`--site-type must be one of ${SITE_TYPES.join(', ')}`);
    if (existsSync(v.out) && !v.force) throw new UsageError(`${v.out} exists; pass --force to overwrite`);
    if (v['uplink-url'] && !/^mqtts?:\/\/[^/]+/.test(v['uplink-url'])) throw new UsageError('--uplink-url must be mqtt://host[:port] or mqtts://host[:port]');
    const num = (x: string | undefined, flag: string) => {
      if (x === undefined) return undefined;
      if (!Number.isFinite(Number(x)) || x.trim() === '') throw new UsageError(`--${flag}: "${x}" is not a number`);
      return Number(x);
    };
    const text = starterConfig(t, {
      edgeId: v['edge-id'] ?? `edge-${t.replace('_', '-')}-01`,
      siteId: v['site-id'], siteName: v['site-name'], address: v.address, longitude: num(v.lon, 'lon'), latitude: num(v.lat, 'lat'),
      divisionCode: v.division, uplinkUrl: v['uplink-url'], bufferDir: v['buffer-dir'], managed: v.managed,
    });
    parseEdgeConfig(v.out, text); // a bad flag value (division code, coordinates) is refused before anything is written
    if (v['uplink-password']) {
      setEnvFileVar(envFileFor(v.out), 'YIWANG_UPLINK_PASSWORD', v['uplink-password']);
      process.stdout.write(`uplink password written to ${envFileFor(v.out)} (mode 0600)\n`);
    }
    writeNewConfig(v.out, text);
    process.stdout.write(
      v.managed
        ? `wrote ${v.out} (managed: devices are registered at the collector: yiwang collector device add --edge ${v['edge-id'] ?? `edge-${t.replace('_', '-')}-01`} ...), then run: yiwang edge doctor --config ${v.out}\n`
        : `wrote ${v.out}: register devices with \`yiwang edge device add\`, then run: yiwang edge doctor --config ${v.out}\n`,
    );
    return 0;
  },
};

const mqttUser: Command = {
  name: 'mqtt-user',
  summary: 'add a field-device login to the embedded MQTT broker (stored hashed)',
  usage: 'Usage: yiwang edge mqtt-user add NAME [--password P] [--config edge.yaml]\n\nWithout --password a random one is generated and printed once.',
  async run(argv) {
    const a = parse(argv, { ...configOpt, password: { type: 'string' } }, this.usage);
    if (!a) return 0;
    const [verb, name] = a.positionals;
    if (verb !== 'add' || !name) throw new UsageError(this.usage);
    requireConfig(a.values.config);
    const { DEVICE_ACCOUNT_COST, hashSecret } = await import('../core/secrets.js');
    const { randomBytes } = await import('node:crypto');
    const password = a.values.password ?? randomBytes(12).toString('base64url');
    const doc = readDoc(a.values.config);
    const users = (doc.getIn(['protocols', 'mqtt', 'localBroker', 'users']) as { items?: unknown[] } | undefined)?.items ?? [];
    doc.setIn(['protocols', 'mqtt', 'localBroker', 'users'], doc.createNode([...users, { username: name, passwordHash: hashSecret(password, DEVICE_ACCOUNT_COST) }]));
    writeConfigAtomically(a.values.config, doc.toString());
    process.stdout.write(`MQTT user ${name} added.${a.values.password ? '' : ` Password (shown once): ${password}`}\nRestart the agent for broker logins to change.\n`);
    return 0;
  },
};

const EDGE_COMMANDS: Command[] = [
  run, status, reload, init,
  lazyCommand('device', 'register, change, test and inspect devices: add, update, test, list, show, remove', async () => (await import('./edge-device.js')).deviceCommand),
  mqttUser,
  lazyCommand('doctor', 'check config, every device (a real test read), site broker and uplink, in plain words', async () => (await import('./edge-doctor.js')).doctorCommand),
  lazyCommand('parked', 'batches the collector rejected: list them, or send them again', async () => (await import('./edge-parked.js')).parkedCommand),
  lazyCommand('discover', 'find ONVIF cameras on the site LAN (WS-Discovery)', async () => (await import('./edge-camera.js')).discoverCommand),
  lazyCommand('camera', 'register an ONVIF camera with its 一机一档 fields', async () => (await import('./edge-camera.js')).cameraCommand),
];

export const edgeCommand: Command = {
  name: 'edge',
  summary: 'edge agent',
  usage: '',
  run: async (argv) => {
    // `yiwang edge --config x` (no sub-command) runs the agent.
    if (!argv.length || (argv[0]!.startsWith('-') && argv[0] !== '--help' && argv[0] !== '-h')) return run.run(argv);
    return dispatch(EDGE_COMMANDS, argv, 'Usage: yiwang edge [command] [--config edge.yaml]\n\nWithout a command, runs the agent.');
  },
};

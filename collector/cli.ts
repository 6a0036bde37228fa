// `yiwang collector ...`: run the collector, or manage tokens and edges in its data directory.
// The lead wires this into cli/; collectorCli(argv) returns a process exit code.
import { parseArgs } from 'node:util';
import { hashSecret } from '../core/secrets.js';
import { createToken, listTokens, revokeTokens } from './auth/tokens.js';
import { loadConfig, type ConfigOverrides } from './config.js';
import { createEdge, startCollector } from './index.js';
import { Store } from './store/index.js';

export const COLLECTOR_HELP = `Usage:
  yiwang collector [run] [--config collector.yaml] [--data-dir DIR] [--http-port N] [--mqtt-port N]
      Run the collector (embedded MQTT broker on 1883 and HTTP API on 8080 unless configured).
  yiwang collector token create (--bureau NAME | --admin) [--name NAME]   print a new API token once
  yiwang collector token list | token revoke --name NAME
  yiwang collector edge add --id EDGE_ID [--password PW]   register an edge; prints its password once
  yiwang collector edge list | edge remove --id EDGE_ID
  yiwang collector edge hash --password PW                 print a scrypt hash for collector.yaml edges[]

Common options: --config FILE, --data-dir DIR (token/edge commands use the same data directory as the collector).
Bureaus: water, environment, fire, emergency, public_security, urban_management, transport, or any lower-case name.
`;

const OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'http-port': { type: 'string' },
  'mqtt-port': { type: 'string' },
  bureau: { type: 'string' },
  admin: { type: 'boolean' },
  name: { type: 'string' },
  id: { type: 'string' },
  password: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const port = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: "${v}" is not a port number`);
  return n;
};

export async function collectorCli(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    out(`${(err as Error).message}\n\n${COLLECTOR_HELP}`);
    return 2;
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) {
    out(COLLECTOR_HELP);
    return 0;
  }
  const overrides: ConfigOverrides = { dataDir: v['data-dir'], httpPort: port(v['http-port'], '--http-port'), mqttPort: port(v['mqtt-port'], '--mqtt-port') };
  const [group, action] = pos;
  if (!group || group === 'run') {
    const c = await startCollector({ configPath: v.config, overrides });
    out(`collector running: http ${c.httpPort}${c.mqttPort !== undefined ? `, mqtt ${c.mqttPort}` : ' (external broker)'}, data ${c.config.dataDir}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void c.stop().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  }
  if (group === 'edge' && action === 'hash') {
    if (!v.password) throw new Error('edge hash needs --password');
    out(`${await hashSecret(v.password)}\n`);
    return 0;
  }
  const cfg = loadConfig(v.config, { dataDir: overrides.dataDir });
  const store = Store.open(cfg.dataDir);
  try {
    if (group === 'token' && action === 'create') {
      const name = v.name ?? (v.admin ? 'admin' : `${v.bureau}-bureau`);
      const token = createToken(store, { name, bureau: v.bureau, admin: v.admin });
      out(`${token}\n`);
      process.stderr.write(`token "${name}" created (${v.admin ? 'admin' : `bureau ${v.bureau}`}); it is shown only this once\n`);
      return 0;
    }
    if (group === 'token' && action === 'list') {
      for (const t of listTokens(store)) out(`${t.name}\t${t.admin ? 'admin' : t.bureau}\t${new Date(t.createdAt).toISOString()}\n`);
      return 0;
    }
    if (group === 'token' && action === 'revoke') {
      if (!v.name) throw new Error('token revoke needs --name');
      out(`revoked ${revokeTokens(store, v.name)} token(s)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'add') {
      if (!v.id) throw new Error('edge add needs --id');
      if (store.edges.get(v.id)) throw new Error(`edge ${v.id} already exists`);
      const pw = await createEdge(store, v.id, v.password);
      out(`${pw}\n`);
      process.stderr.write(`edge "${v.id}" added; configure it with this password (shown only once)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'list') {
      for (const e of store.edges.list()) out(`${e.id}\tconnected=${e.connected}\tcommitted_through=${e.committedThrough}\tmissing=${e.missing}\n`);
      return 0;
    }
    if (group === 'edge' && action === 'remove') {
      if (!v.id) throw new Error('edge remove needs --id');
      out(store.edges.remove(v.id) ? `removed ${v.id}\n` : `no edge ${v.id}\n`);
      return 0;
    }
    out(`unknown command: collector ${pos.join(' ')}\n\n${COLLECTOR_HELP}`);
    return 2;
  } finally {
    store.close();
  }
}

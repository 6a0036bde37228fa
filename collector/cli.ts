// `yiwang collector ...`: run the collector, or manage tokens, edges and the store it uses.
// collectorCli(argv) returns a process exit code.
import { parseArgs } from 'node:util';
import { hashSecret } from '../core/secrets.js';
import { createToken } from './auth/tokens.js';
import { loadConfig, type ConfigOverrides } from './config.js';
import { createEdge, startCollector } from './index.js';
import { openStore } from './store/index.js';
import { migrateData } from './store/migrate-data.js';

export const COLLECTOR_HELP = `Usage:
  yiwang collector [run] [--config collector.yaml] [--data-dir DIR] [--store postgres://user@host/db] [--http-port N] [--mqtt-port N]
      Run the collector (embedded MQTT broker on 1883 and HTTP API on 8080 unless configured). The store is the
      embedded SQLite database in the data directory unless --store (or store: in collector.yaml) names PostgreSQL;
      several collectors on one PostgreSQL and a shared-subscription broker form a cluster.
  yiwang collector token create (--bureau NAME | --admin) [--name NAME]   print a new API token once
  yiwang collector token list | token revoke --name NAME
  yiwang collector edge add --id EDGE_ID [--password PW]   register an edge; prints its password once
  yiwang collector edge list | edge remove --id EDGE_ID
  yiwang collector edge hash --password PW                 print a scrypt hash for collector.yaml edges[]
  yiwang collector migrate --from DATA_DIR --to postgres://user@host/db
      Copy an embedded collector's data (registry, history, series, events, edges, tokens, …) into an empty
      PostgreSQL database, with progress; the source is upgraded to the current schema first, never changed otherwise.

Common options: --config FILE, --data-dir DIR, --store URL (token/edge commands act on the same store as the collector).
PostgreSQL passwords: put them in PGPASSWORD (e.g. in the service's environment file), not in the URL or YAML.
Bureaus: water, environment, fire, emergency, public_security, urban_management, transport, or any lower-case name.
`;

const OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  'http-port': { type: 'string' },
  'mqtt-port': { type: 'string' },
  bureau: { type: 'string' },
  admin: { type: 'boolean' },
  name: { type: 'string' },
  id: { type: 'string' },
  password: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
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
  const overrides: ConfigOverrides = {
    dataDir: v['data-dir'],
    store: v.store,
    httpPort: port(v['http-port'], '--http-port'),
    mqttPort: port(v['mqtt-port'], '--mqtt-port'),
  };
  const [group, action] = pos;
  if (!group || group === 'run') {
    const c = await startCollector({ configPath: v.config, overrides });
    out(`collector running: http ${c.httpPort}${c.mqttPort !== undefined ? `, mqtt ${c.mqttPort}` : ' (external broker)'}, store ${c.store.kind} ${c.store.location}\n`);
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
  if (group === 'migrate') {
    if (!v.from || !v.to) throw new Error('migrate needs --from DATA_DIR and --to postgres://…');
    const report = await migrateData({ fromDataDir: v.from, toUrl: v.to, progress: (line) => process.stderr.write(`${line}\n`) });
    out(`migrated ${Object.entries(report).map(([t, n]) => `${t} ${n}`).join(', ')}\n`);
    return 0;
  }
  const cfg = loadConfig(v.config, { dataDir: overrides.dataDir, store: overrides.store });
  const store = await openStore({ url: cfg.store, dataDir: cfg.dataDir });
  try {
    if (group === 'token' && action === 'create') {
      const name = v.name ?? (v.admin ? 'admin' : `${v.bureau}-bureau`);
      const token = await createToken(store, { name, bureau: v.bureau, admin: v.admin });
      out(`${token}\n`);
      process.stderr.write(`token "${name}" created (${v.admin ? 'admin' : `bureau ${v.bureau}`}); it is shown only this once\n`);
      return 0;
    }
    if (group === 'token' && action === 'list') {
      for (const t of await store.tokens.list()) out(`${t.name}\t${t.admin ? 'admin' : t.bureau}\t${new Date(t.createdAt).toISOString()}\n`);
      return 0;
    }
    if (group === 'token' && action === 'revoke') {
      if (!v.name) throw new Error('token revoke needs --name');
      out(`revoked ${await store.tokens.revoke(v.name)} token(s)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'add') {
      if (!v.id) throw new Error('edge add needs --id');
      if (await store.edges.get(v.id)) throw new Error(`edge ${v.id} already exists`);
      const pw = await createEdge(store, v.id, v.password);
      out(`${pw}\n`);
      process.stderr.write(`edge "${v.id}" added; configure it with this password (shown only once)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'list') {
      for (const e of await store.edges.list()) out(`${e.id}\tconnected=${e.connected}\tcommitted_through=${e.committedThrough}\tmissing=${e.missing}\n`);
      return 0;
    }
    if (group === 'edge' && action === 'remove') {
      if (!v.id) throw new Error('edge remove needs --id');
      out((await store.edges.remove(v.id)) ? `removed ${v.id}\n` : `no edge ${v.id}\n`);
      return 0;
    }
    out(`unknown command: collector ${pos.join(' ')}\n\n${COLLECTOR_HELP}`);
    return 2;
  } finally {
    await store.close();
  }
}

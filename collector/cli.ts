// `yiwang collector ...`: run the collector, or manage tokens, edges and the store it uses.
// collectorCli(argv) returns a process exit code.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { hashSecret } from '../core/secrets.js';
import { closest } from '../core/suggest.js';
import { createToken } from './auth/tokens.js';
import { loadConfig, type ConfigOverrides } from './config.js';
import { deviceAddCli, deviceRemoveCli, edgeListCli, DEVICE_ADD_HELP } from './control/cli.js';
import { createEdge, startCollector } from './index.js';
import { openStore } from './store/index.js';
import { migrateData } from './store/migrate-data.js';

export const COLLECTOR_HELP = `Usage:
  yiwang collector [run] [--config collector.yaml] [--data-dir DIR] [--store postgres://user@host/db] [--http-port N] [--mqtt-port N]
      Run the collector (embedded MQTT broker on 1883 and HTTP API on 8080 unless configured). The store is the
      embedded SQLite database in the data directory unless --store (or store: in collector.yaml) names PostgreSQL;
      several collectors on one PostgreSQL and a shared-subscription broker form a cluster.
  yiwang collector token create (--bureau NAME [--role viewer|operator] | --admin) [--name NAME]   print a new API token once
  yiwang collector token list | token revoke --name NAME
  yiwang collector edge add --id EDGE_ID [--password PW]   register an edge; prints its password once
  yiwang collector edge list [--json]                      the fleet: connection, software, config versions, buffer, devices
  yiwang collector edge remove --id EDGE_ID
  yiwang collector edge hash --password PW                 print a scrypt hash for collector.yaml edges[]
  yiwang collector device add --edge EDGE --profile ID --id CODE --address ADDR [record fields] [--replace]
      Configure a device on a managed edge (no SSH to the box): the running collector pushes the new configuration.
  yiwang collector device remove --edge EDGE --id CODE
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
  role: { type: 'string' },
  admin: { type: 'boolean' },
  name: { type: 'string' },
  id: { type: 'string' },
  password: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean' },
  // device add: the device entry (the same flags as `yiwang edge device add`)
  edge: { type: 'string' },
  profile: { type: 'string' },
  address: { type: 'string' },
  connection: { type: 'string' },
  replace: { type: 'boolean' },
  share: { type: 'string' },
  lon: { type: 'string' },
  lat: { type: 'string' },
  'install-address': { type: 'string' },
  division: { type: 'string' },
  installed: { type: 'string' },
  maintainer: { type: 'string' },
  contact: { type: 'string' },
  serial: { type: 'string' },
  scenario: { type: 'string' },
  industry: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Each sub-command's own usage, for `yiwang collector token create --help` and friends. */
const SUB_HELP: Record<string, string> = {
  run: `Usage: yiwang collector [run] [--config collector.yaml] [--data-dir DIR] [--store postgres://user@host/db] [--http-port N] [--mqtt-port N]

Runs the collector: embedded MQTT broker (1883) and HTTP API + dashboard (8080) unless configured; the store is
SQLite in the data directory unless --store (or store: in collector.yaml) names PostgreSQL.`,
  migrate: `Usage: yiwang collector migrate --from DATA_DIR --to postgres://user@host/db

Copies an embedded collector's data into an empty PostgreSQL database, with progress.`,
  token: `Usage: yiwang collector token create|list|revoke [--config FILE] [--data-dir DIR | --store URL]

  token create (--bureau NAME [--role operator] | --admin) [--name NAME]   print a new API token once (stored hashed)
  token list                                             names, bureaus, roles and creation times
  token revoke --name NAME                               revoke every token with this name`,
  'token create': `Usage: yiwang collector token create (--bureau NAME [--role viewer|operator] | --admin) [--name NAME] [--config FILE] [--data-dir DIR | --store URL]

Prints a new API token once (the collector keeps only its hash). A bureau token sees only the devices whose
共享范围 includes the bureau. --role viewer (the default) reads; --role operator may also acknowledge the bureau's
alarms and manage its notification rules. An admin token may do everything. Bureaus: water, environment, fire,
emergency, public_security, urban_management, transport, or any lower-case name. --name defaults to <bureau>-bureau (or admin).`,
  'token list': 'Usage: yiwang collector token list [--config FILE] [--data-dir DIR | --store URL]',
  'token revoke': 'Usage: yiwang collector token revoke --name NAME [--config FILE] [--data-dir DIR | --store URL]',
  edge: `Usage: yiwang collector edge add|list|remove|hash [--config FILE] [--data-dir DIR | --store URL]

  edge add --id EDGE_ID [--password PW]   register an edge; prints its password once (stored hashed)
  edge list                               edges with connection state and committed sequence
  edge remove --id EDGE_ID
  edge hash --password PW                 print a scrypt hash for collector.yaml edges[]`,
  'edge add': `Usage: yiwang collector edge add --id EDGE_ID [--password PW] [--config FILE] [--data-dir DIR | --store URL]

Registers an edge and prints its password once (without --password a random one). Put it on the edge box:
yiwang edge init ... --uplink-password PW (it goes to edge.env, never into edge.yaml).`,
  'edge list': `Usage: yiwang collector edge list [--json] [--config FILE] [--data-dir DIR | --store URL]

The fleet: per edge whether it is connected and when it was last heard from, its software version, desired vs
applied configuration version (and the problems of a refused one), clock offset, buffer fill and backlog, drops,
devices by health and committed/missing sequence numbers.`,
  'edge remove': 'Usage: yiwang collector edge remove --id EDGE_ID [--config FILE] [--data-dir DIR | --store URL]',
  device: `Usage: yiwang collector device add|remove ...

  device add --edge EDGE --profile ID --id CODE --address ADDR [record fields]   configure a device on a managed edge
  device remove --edge EDGE --id CODE`,
  'device add': DEVICE_ADD_HELP,
  'device remove': 'Usage: yiwang collector device remove --edge EDGE --id CODE [--config FILE] [--data-dir DIR | --store URL]',
  'edge hash': 'Usage: yiwang collector edge hash --password PW\n\nPrints a scrypt hash for an edges[] entry of collector.yaml.',
};

/** The usage for the sub-command named by the positionals (most specific first), or the general help. */
function helpFor(pos: string[]): string {
  if (!pos.length) return COLLECTOR_HELP;
  const key = [pos.slice(0, 2).join(' '), pos[0]!].find((k) => SUB_HELP[k]);
  return key ? `${SUB_HELP[key]}\n` : COLLECTOR_HELP;
}

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
    const positionals = argv.filter((x) => !x.startsWith('-'));
    const unknown = argv.find((x) => x.startsWith('--') && !(x.slice(2).split('=')[0]! in OPTIONS))?.slice(2).split('=')[0];
    const near = unknown === undefined ? undefined : closest(unknown, Object.keys(OPTIONS));
    const message = unknown === undefined ? (err as Error).message : `unknown option --${unknown}${near ? `; did you mean --${near}?` : ''}`;
    out(`${message}\n\n${helpFor(positionals)}`);
    return 2;
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) {
    out(helpFor(pos));
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
  // Admin actions from the command line land in the audit log too, as cli:<user>.
  const actor = `cli:${userInfo().username}`;
  const audit = (what: string, target: string, detail: Record<string, unknown> = {}) => store.audit.add({ ts: Date.now(), actor, action: `cli ${what}`, target, status: 0, detail });
  try {
    if (group === 'token' && action === 'create') {
      const name = v.name ?? (v.admin ? 'admin' : `${v.bureau}-bureau`);
      const token = await createToken(store, { name, bureau: v.bureau, admin: v.admin, role: v.role });
      await audit('token create', name, v.admin ? { admin: true } : { bureau: v.bureau, role: v.role ?? 'viewer' });
      out(`${token}\n`);
      process.stderr.write(`token "${name}" created (${v.admin ? 'admin' : `bureau ${v.bureau}, ${v.role ?? 'viewer'}`}); it is shown only this once\n`);
      return 0;
    }
    if (group === 'token' && action === 'list') {
      for (const t of await store.tokens.list()) out(`${t.name}\t${t.admin ? 'admin' : t.bureau}\t${t.admin ? 'admin' : t.role}\t${new Date(t.createdAt).toISOString()}\n`);
      return 0;
    }
    if (group === 'token' && action === 'revoke') {
      if (!v.name) throw new Error('token revoke needs --name');
      const n = await store.tokens.revoke(v.name);
      await audit('token revoke', v.name, { revoked: n });
      out(`revoked ${n} token(s)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'add') {
      if (!v.id) throw new Error('edge add needs --id');
      if (await store.edges.get(v.id)) throw new Error(`edge ${v.id} already exists`);
      const pw = await createEdge(store, v.id, v.password);
      await audit('edge add', v.id);
      out(`${pw}\n`);
      process.stderr.write(`edge "${v.id}" added; configure it with this password (shown only once)\n`);
      return 0;
    }
    if (group === 'edge' && action === 'list') return await edgeListCli(store, out, !!v.json);
    if (group === 'device' && action === 'add') return await deviceAddCli(store, cfg, actor, v, out);
    if (group === 'device' && action === 'remove') return await deviceRemoveCli(store, cfg, actor, v, out);
    if (group === 'edge' && action === 'remove') {
      if (!v.id) throw new Error('edge remove needs --id');
      const removed = await store.edges.remove(v.id);
      if (removed) await audit('edge remove', v.id);
      out(removed ? `removed ${v.id}\n` : `no edge ${v.id}\n`);
      return 0;
    }
    out(`unknown command: collector ${pos.join(' ')}\n\n${COLLECTOR_HELP}`);
    return 2;
  } finally {
    await store.close();
  }
}

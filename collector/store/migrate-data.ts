// `yiwang collector migrate --from DATA_DIR --to postgres://…`: moves an embedded collector's data into an
// empty PostgreSQL store. The source database is first brought to the current schema (what starting this
// collector version on it would do), then every table is copied in its primary-key order with ids kept, so
// series ids, edge numbers and event ids stay valid; id sequences are advanced past the copied rows.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Column, ColumnType, SqlValue } from './sql/driver.js';
import { DAILY_POINTS } from './postgres/partitions.js';
import { PgStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';

/** Copy order: referenced rows first; serial columns whose sequences must move past the copied ids. */
const TABLES: { name: string; order: string; serial?: string }[] = [
  { name: 'devices', order: 'id' },
  { name: 'record_history', order: 'id', serial: 'id' },
  { name: 'edges', order: 'id' },
  { name: 'edge_state', order: 'no', serial: 'no' },
  { name: 'edge_ranges', order: 'edge_id, first' },
  { name: 'tokens', order: 'hash' },
  { name: 'series', order: 'sid', serial: 'sid' },
  { name: 'points', order: 'sid, ts, src, seq' },
  { name: 'rollup_1m', order: 'sid, bucket' },
  { name: 'rollup_1h', order: 'sid, bucket' },
  { name: 'events', order: 'id', serial: 'id' },
  { name: 'video_quality', order: 'id', serial: 'id' },
  { name: 'snapshots', order: 'device_id' },
  { name: 'quarantine', order: 'id', serial: 'id' },
  { name: 'influx_outbox', order: 'id', serial: 'id' },
  { name: 'edge_config', order: 'edge_id' },
  { name: 'edge_config_history', order: 'edge_id, version' },
  { name: 'edge_config_devices', order: 'device_id' },
  { name: 'edge_control_state', order: 'edge_id' },
  { name: 'audit_log', order: 'id', serial: 'id' },
  { name: 'alarms', order: 'id', serial: 'id' },
  { name: 'alarm_history', order: 'id', serial: 'id' },
  { name: 'notify_rules', order: 'id' },
  { name: 'notify_deliveries', order: 'id', serial: 'id' },
  { name: 'notify_attempts', order: 'id', serial: 'id' },
];

const PG_TYPES: Record<string, ColumnType> = {
  bigint: 'bigint', integer: 'int', smallint: 'int', 'double precision': 'real', text: 'text', bytea: 'bytea',
};

const BATCH = 5000;

export interface MigrateOptions {
  fromDataDir: string;
  toUrl: string;
  progress?: (line: string) => void;
}

export async function migrateData(o: MigrateOptions): Promise<Record<string, number>> {
  const file = join(o.fromDataDir, 'collector.db');
  if (!existsSync(file)) throw new Error(`${file} does not exist: --from must be the data directory of an embedded collector`);
  const say = o.progress ?? (() => undefined);
  // Bring the source to the current schema (the same upgrade a collector start performs), then read it directly.
  await (await SqliteStore.open(o.fromDataDir)).close();
  const src = new Database(file, { readonly: true });
  const dst = await PgStore.open(o.toUrl);
  const copied: Record<string, number> = {};
  try {
    const busy = await dst.db.get<{ n: number }>('SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM series) + (SELECT count(*) FROM edges) + (SELECT count(*) FROM tokens) AS n');
    if (busy && busy.n > 0) throw new Error(`${dst.location} already holds data: migrate into an empty database`);
    const days = src.prepare(`SELECT DISTINCT ts - ts % ${86_400_000} AS d FROM points`).pluck().all() as number[];
    const buckets = src.prepare(`SELECT DISTINCT bucket - bucket % ${86_400_000} AS d FROM rollup_1m`).pluck().all() as number[];
    await dst.preparePartitions([...days, ...buckets].map((d) => DAILY_POINTS.start(d)));
    for (const t of TABLES) {
      const cols = await dst.db.all<{ column_name: string; data_type: string }>(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        [t.name],
      );
      const columns: Column[] = cols.map((c) => {
        const type = PG_TYPES[c.data_type];
        if (!type) throw new Error(`${t.name}.${c.column_name}: unexpected type ${c.data_type}`);
        return { name: c.column_name, type };
      });
      const total = (src.prepare(`SELECT count(*) FROM ${t.name}`).pluck().get() as number) ?? 0;
      const stmt = src.prepare(`SELECT ${columns.map((c) => c.name).join(', ')} FROM ${t.name} ORDER BY ${t.order}`).raw();
      let n = 0;
      let batch: SqlValue[][] = [];
      let lastSaid = Date.now();
      const flush = async () => {
        if (!batch.length) return;
        await dst.db.insertMany(t.name, columns, batch);
        n += batch.length;
        batch = [];
        if (Date.now() - lastSaid > 2000) {
          lastSaid = Date.now();
          say(`${t.name}: ${n.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.round((100 * n) / Math.max(1, total))} %)`);
        }
      };
      for (const row of stmt.iterate() as Iterable<SqlValue[]>) {
        batch.push(row);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      if (t.serial) {
        await dst.db.run(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), coalesce((SELECT max(${t.serial}) FROM ${t.name}), 0) + 1, false)`);
      }
      copied[t.name] = n;
      say(`${t.name}: ${n.toLocaleString('en')} rows copied`);
    }
    return copied;
  } finally {
    src.close();
    await dst.close();
  }
}

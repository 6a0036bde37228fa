// Opens the collector's store: the embedded SQLite database in the data directory (default), or PostgreSQL
// (cluster mode: `store: postgres://…` in collector.yaml or `--store`). Everything else talks to the
// CollectorStore interface (types.ts).
import { PgStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';
import type { CollectorStore } from './types.js';
import { isPostgresUrl } from './url.js';

export type * from './types.js';
export { AGGS, AGGREGATE_NAMES, TOKEN_ROLES, VERDICT_NAMES } from './types.js';
export type { FeedBus, FeedItem } from './feed.js';

export interface OpenStoreOptions {
  /** postgres://… selects PostgreSQL; undefined or "sqlite" the embedded database in dataDir. */
  url?: string;
  dataDir: string;
  feedRingSize?: number;
  feedKeepMinutes?: number;
  onProblem?: (msg: string, detail: Record<string, unknown>) => void;
}

export { isPostgresUrl };

export async function openStore(o: OpenStoreOptions): Promise<CollectorStore> {
  if (isPostgresUrl(o.url)) return PgStore.open(o.url, { feedRingSize: o.feedRingSize, feedKeepMinutes: o.feedKeepMinutes, onProblem: o.onProblem });
  if (o.url && o.url !== 'sqlite') throw new Error(`store: "${o.url}" is neither "sqlite" nor a postgres:// URL`);
  return SqliteStore.open(o.dataDir, { feedRingSize: o.feedRingSize });
}

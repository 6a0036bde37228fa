// The collector's embedded store: one SQLite database (WAL) holding registry, events, series and edge state.
import type { Db } from './db.js';
import { openDb } from './db.js';
import { Edges } from './edges.js';
import { Events } from './events.js';
import { Registry } from './registry.js';
import { HOUR, MINUTE, SeriesReader, SeriesWriter } from './series.js';

export interface RetentionDays {
  rawDays: number;
  minuteDays: number;
  hourDays: number;
}

export class Store {
  readonly registry: Registry;
  readonly edges: Edges;
  readonly events: Events;
  readonly writer: SeriesWriter;
  readonly series: SeriesReader;

  constructor(readonly db: Db) {
    this.registry = new Registry(db);
    this.edges = new Edges(db);
    this.events = new Events(db);
    this.writer = new SeriesWriter(db);
    this.series = new SeriesReader(db);
  }

  static open(dataDir: string): Store {
    return new Store(openDb(dataDir));
  }

  /** Deletes data older than each resolution's retention; returns rows removed per table. */
  applyRetention(r: RetentionDays, now = Date.now()): { raw: number; minute: number; hour: number } {
    const day = 86_400_000;
    return {
      raw: this.db.prepare('DELETE FROM points WHERE ts < ?').run(now - r.rawDays * day).changes,
      minute: this.db.prepare('DELETE FROM rollup_1m WHERE bucket < ?').run(now - r.minuteDays * day - MINUTE).changes,
      hour: this.db.prepare('DELETE FROM rollup_1h WHERE bucket < ?').run(now - r.hourDays * day - HOUR).changes,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
